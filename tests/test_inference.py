"""Inference (colorize/inference.py, colorize/pipeline.py): the photo keeps its luminance, batches and render
factors, the luma/chroma merge, CUDA fallbacks, mirroring, devices we do not run on, and a model that gives NaN."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app

from colorize.errors import ColorizeError
from colorize.color.tensors import merge_luma_chroma, recolor, rgb_to_chroma, rgb_to_luma
from colorize.color.ycbcr import merge
from colorize.inference import torch_colorizer
from colorize.pipeline import Colorizer
from colorize.weights import load_generator

from helpers import photo_array, visible, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def colorizer(tiny_weights: Path) -> Colorizer:
    model, _ = load_generator(tiny_weights)
    return torch_colorizer(model, "cpu", render_factor=8, batch_size=2)


def pil_luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L")).astype(int)


def test_output_keeps_input_luminance_and_adds_color(colorizer: Colorizer) -> None:
    grays = [np.asarray(Image.fromarray(photo_array(h, w, s)).convert("L")) for h, w, s in [(37, 53, 1), (64, 40, 2), (5, 7, 3)]]
    grays.append(np.full((20, 30), 255, np.uint8))  # pure white can only stay white
    outs = colorizer.colorize(grays)
    for g, o in zip(grays, outs):
        assert o.shape == (*g.shape, 3) and o.dtype == np.uint8
        assert np.abs(pil_luma(o) - g).max() <= 1  # within one grey level
    spread = np.abs(outs[0].astype(int) - outs[0].mean(-1, keepdims=True)).mean()
    assert spread > 1.0  # real colour, not gray passed through
    assert (outs[-1] == 255).all()


def test_batched_equals_one_by_one(tiny_weights: Path) -> None:
    model, _ = load_generator(tiny_weights)
    grays = [np.asarray(Image.fromarray(photo_array(40, 40 + i, i)).convert("L")) for i in range(3)]
    batched = torch_colorizer(model, "cpu", render_factor=8, batch_size=3).colorize(grays)
    single = torch_colorizer(model, "cpu", render_factor=8, batch_size=1).colorize(grays)
    for a, b in zip(batched, single):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_merge_keeps_luma_exactly_even_for_out_of_gamut_chroma() -> None:
    torch.manual_seed(0)
    y = torch.rand(2, 1, 16, 16)
    chroma = (torch.rand(2, 2, 16, 16) - 0.5) * 2  # far outside what is reachable
    rgb = merge_luma_chroma(y, chroma)
    assert rgb.min() >= 0 and rgb.max() <= 1
    assert torch.allclose(rgb_to_luma(rgb), y, atol=1e-5)


def test_recolor_takes_luminance_from_the_real_and_color_from_the_prediction() -> None:
    torch.manual_seed(0)
    real, pred = torch.rand(2, 3, 8, 8) * 0.5 + 0.25, torch.rand(2, 3, 8, 8) * 0.5 + 0.25
    out = recolor(pred, real)
    assert torch.allclose(rgb_to_luma(out), rgb_to_luma(real), atol=1e-5)
    inside = (out > 0.01).all(1) & (out < 0.99).all(1)  # no gamut scaling there
    assert torch.allclose(rgb_to_chroma(out).permute(0, 2, 3, 1)[inside], rgb_to_chroma(pred).permute(0, 2, 3, 1)[inside], atol=1e-5)


def test_numpy_strip_merge_matches_the_torch_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.color.ycbcr as ycbcr
    from colorize.edge_aware import lay_on

    monkeypatch.setattr(ycbcr, "_MERGE_STRIP_PX", 5000)  # many strips, the last one short
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (301, 200), dtype=np.uint8)
    chroma = rng.normal(0, 0.15, (37, 41, 2)).astype(np.float32)
    y = torch.from_numpy(gray).float().div(255)[None, None]
    laid_on = torch.from_numpy(lay_on(chroma, gray)).permute(2, 0, 1)  # the merge lays the colour on first
    expected = merge_luma_chroma(y, laid_on[None])[0].mul(255).round().byte().permute(1, 2, 0).numpy()
    got = merge(gray, chroma)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_chroma_round_trip_for_in_gamut_color() -> None:
    rgb = torch.rand(1, 3, 8, 8)
    back = merge_luma_chroma(rgb_to_luma(rgb), rgb_to_chroma(rgb))
    assert torch.allclose(back, rgb, atol=1e-4)


def test_render_factor_sets_model_input_size(tiny_weights: Path) -> None:
    model, _ = load_generator(tiny_weights)
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    torch_colorizer(model, "cpu", render_factor=10).colorize([np.zeros((100, 30), np.uint8)])
    assert seen == [(2, 1, 160, 160)]  # the photo and its mirror image, in one batch


def test_bad_settings_are_clear_errors(tiny_weights: Path) -> None:
    model, _ = load_generator(tiny_weights)
    with pytest.raises(ColorizeError, match="render factor"):
        torch_colorizer(model, "cpu", render_factor=2)
    if not torch.cuda.is_available():
        with pytest.raises(ColorizeError, match="CUDA is not available"):
            torch_colorizer(model, "cuda")


def test_cuda_oom_splits_the_batch_then_lowers_render_factor(tiny_weights: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Simulated OOM: the engine halves the batch, then shrinks the render size, and still returns colour."""
    model, _ = load_generator(tiny_weights)
    c = torch_colorizer(model, "cpu", render_factor=16, batch_size=4)
    real = c.backend._run
    calls = []

    def flaky(luma: np.ndarray, hints: object, temperature: object) -> np.ndarray:
        calls.append(luma.shape[:1] + luma.shape[-1:])
        if len(luma) > 1 or luma.shape[-1] > 12 * 16:
            raise torch.OutOfMemoryError("simulated")
        return real(luma, hints, temperature)

    c.backend._run = flaky  # type: ignore[method-assign]
    outs = c.colorize([np.full((32, 32), 128, np.uint8)] * 4)
    assert len(outs) == 4 and all(o.shape == (32, 32, 3) for o in outs)
    assert calls[-1] == (1, 12 * 16)
    assert "splitting a batch" in caplog.text and "lowering render factor" in caplog.text


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fp16_matches_cpu(tiny_weights: Path) -> None:
    model, _ = load_generator(tiny_weights)
    gray = [np.asarray(Image.fromarray(photo_array(64, 64)).convert("L"))]
    cpu = torch_colorizer(model, "cpu", render_factor=8).colorize(gray)[0]
    model, _ = load_generator(tiny_weights)
    gpu = torch_colorizer(model, "cuda", render_factor=8).colorize(gray)[0]
    assert np.abs(cpu.astype(int) - gpu.astype(int)).mean() < 3
    assert np.abs(pil_luma(gpu) - gray[0]).max() <= 1


def test_mirror_averages_the_colour_for_the_photo_and_its_mirror_image() -> None:
    from colorize.pipeline import Colorizer, InferenceConfig

    class LeftIsRed:
        """A stand-in network that paints the left half red and the right half blue, whatever it is shown."""
        description = "test"

        def run(self, luma: np.ndarray, hints: object, temperature: object) -> np.ndarray:
            b, _, s, _ = luma.shape
            rgb = np.zeros((b, 3, s, s), np.float32)
            rgb[:, 0, :, : s // 2] = 1.0
            rgb[:, 2, :, s // 2 :] = 1.0
            return rgb

    gray = np.full((64, 64), 120, np.uint8)
    plain = Colorizer(LeftIsRed(), InferenceConfig(), 7, mirror=False).model_chroma([gray])[0]
    mirrored = Colorizer(LeftIsRed(), InferenceConfig(), 7).model_chroma([gray])[0]
    assert np.abs(plain).max() > 0.3  # alone it is sure: red on the left
    assert np.allclose(mirrored, mirrored[:, ::-1], atol=1e-6)  # two guesses that disagree meet in the middle
    assert np.abs(mirrored).max() < np.abs(plain).max()


@pytest.mark.parametrize("device", ["mps", "xpu", "meta"])
def test_unsupported_devices_are_one_line_errors(tmp_path: Path, tiny_weights: Path, device: str) -> None:
    r = invoke("photo", write_photo_file(tmp_path / "x.png"), "-w", tiny_weights, "-r", "8", "--device", device)
    assert r.exit_code == 1 and "is not supported" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("engine", ["auto", "torch"])
def test_a_checkpoint_that_gives_nan_fails_the_photo_and_writes_nothing(tmp_path: Path, tiny_weights: Path, engine: str) -> None:
    import torch

    from colorize.weights import load_generator, save_checkpoint

    model, _ = load_generator(tiny_weights)
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if n.endswith("bias")).fill_(float("nan"))
    bad = tmp_path / "nan.pt"
    save_checkpoint(bad, model, "generator", model.cfg)
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        write_photo_file(src / f"{name}.png")
    r = invoke("photos", src, "-o", tmp_path / "out", "-w", bad, "--engine", engine, *COMMON)
    assert r.exit_code == 1 and "not a finite number" in r.stderr and "failed 2" in r.stderr
    assert not (tmp_path / "out").exists() or not visible(tmp_path / "out")
