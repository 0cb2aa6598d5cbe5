"""The ONNX engine (colorize/onnx_engine.py): same colour as PyTorch, a cache that follows the weights, a cached run
that never imports torch, and a cache that is damaged, read-only or failing: one warning, a fallback to PyTorch, a
failed export remembered, and a first export that is quiet unless asked."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.config import ModelConfig
from colorize.errors import ColorizeError
from colorize.hints import Hints, PointHint
from colorize.inference import torch_colorizer
from colorize.pipeline import Colorizer
from colorize.models import create_generator
from colorize.engine import EngineOptions
from colorize.onnx_engine import OnnxBackend, onnx_colorizer
from colorize.weights import load_generator, save_checkpoint, sha256_file

from helpers import photo_array, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _weights(path: Path, seed: int, **cfg: object) -> Path:
    torch.manual_seed(seed)
    config = ModelConfig(arch="tiny", **cfg)
    model = create_generator(config)
    with torch.no_grad():
        model.train()(torch.rand(4, 1, 64, 64))  # settle BatchNorm statistics
        if config.hint_input != "none":  # hints visibly matter; a wide field's channels mix in
            model.hint_in.weight.copy_(torch.eye(3, model.hint_in.in_channels)[:, :, None, None] * 3)
            model.hint_in.weight[:, 3:] = 1.0
    save_checkpoint(path, model, "generator", config, render_factor=7)
    return path


def _torch_colorizer(weights: Path, **kwargs: object) -> Colorizer:
    model, _ = load_generator(weights)
    return torch_colorizer(model, "cpu", render_factor=7, batch_size=2, fp32=True, **kwargs)


@pytest.mark.parametrize(("vividness", "hint_input"), [(1.0, "points"), (1.6, "points"), (1.0, "field"), (1.0, "wide-field")])
def test_onnx_color_equals_pytorch_color_with_and_without_hints(tmp_path: Path, vividness: float, hint_input: str) -> None:
    weights = _weights(tmp_path / "h.pt", seed=1, hint_input=hint_input, chroma_gain=1.3)
    grays = [photo_array(48, 64, seed=0).mean(2).astype(np.uint8), photo_array(90, 40, seed=1).mean(2).astype(np.uint8)]
    hints = [Hints((PointHint.parse("20,20=#2050c0"),)), None]
    fast = onnx_colorizer(EngineOptions(weights, "cpu", "onnx", None, 2, vividness=vividness))
    assert isinstance(fast.backend, OnnxBackend) and fast.takes_hints and fast.render_size_px == 7 * 16
    reference = _torch_colorizer(weights, vividness=vividness)
    for got, want in zip(fast.colorize(grays, hints), reference.colorize(grays, hints)):
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    plain = fast.colorize(grays[:1])[0]
    assert np.abs(plain.astype(int) - fast.colorize(grays[:1], hints[:1])[0].astype(int)).max() > 0


def test_the_cache_follows_the_weights_not_their_path(tmp_path: Path) -> None:
    weights = _weights(tmp_path / "m.pt", seed=2)
    gray = photo_array(48, 64, seed=3).mean(2).astype(np.uint8)
    first = onnx_colorizer(EngineOptions(weights, "cpu", "onnx", None, 1, vividness=1.0)).colorize([gray])[0]
    _weights(weights, seed=3)  # retrained in place
    second = onnx_colorizer(EngineOptions(weights, "cpu", "onnx", None, 1, vividness=1.0)).colorize([gray])[0]
    want = _torch_colorizer(weights).colorize([gray])[0]
    assert np.abs(second.astype(int) - want.astype(int)).max() <= 1
    assert np.abs(second.astype(int) - first.astype(int)).max() > 1


@pytest.mark.parametrize("damage", ["truncated", "flipped bits"])
def test_a_damaged_cached_export_is_caught_by_its_checksum_and_exported_again(
        tmp_path: Path, onnx_cache: Path, caplog: pytest.LogCaptureFixture, damage: str) -> None:
    from colorize import __version__

    weights = _weights(tmp_path / "d.pt", seed=4)
    gray = photo_array(40, 40).mean(2).astype(np.uint8)
    good = onnx_colorizer(EngineOptions(weights, "cpu", "auto", None, 1, vividness=1.0)).colorize([gray])[0]
    exported = onnx_cache / f"{__version__}-{sha256_file(weights)}" / "model.onnx"
    data = bytearray(exported.read_bytes())
    if damage == "truncated":
        del data[1000:]
    else:  # a few bits inside the weights: the file still loads, the colours are wrong
        for i in range(len(data) - 5000, len(data) - 4000, 97):
            data[i] ^= 0x10
    exported.write_bytes(bytes(data))
    with caplog.at_level(logging.INFO, logger="colorize"):
        again = onnx_colorizer(EngineOptions(weights, "cpu", "auto", None, 1, vividness=1.0))
    assert "does not match the checksum recorded when it was exported" in caplog.text
    assert isinstance(again.backend, OnnxBackend) and np.array_equal(again.colorize([gray])[0], good)


def test_engine_choice_and_devices(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.onnx_engine as engine

    assert onnx_colorizer(EngineOptions(tiny_weights, "cpu", "torch", None, 1, vividness=1.0)) is None
    assert onnx_colorizer(EngineOptions(tiny_weights, "cuda", "auto", None, 1, vividness=1.0)) is None
    with pytest.raises(ColorizeError, match="runs on CPU only"):
        onnx_colorizer(EngineOptions(tiny_weights, "cuda", "onnx", None, 1, vividness=1.0))
    monkeypatch.setattr(engine, "cuda_possible", lambda: True)  # a GPU may be here: auto leaves it to PyTorch
    assert onnx_colorizer(EngineOptions(tiny_weights, "auto", "auto", None, 1, vividness=1.0)) is None
    assert isinstance(onnx_colorizer(EngineOptions(tiny_weights, "cpu", "auto", None, 1, vividness=1.0)).backend, OnnxBackend)


def test_a_cached_photo_run_never_imports_torch_and_matches_the_torch_engine(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "p.png", h=64, w=80)
    args = ["photo", str(src), "--weights", str(tiny_weights), "--device", "cpu"]
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "torch.png"), "--engine", "torch"]).exit_code == 0
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "warm-up.png")]).exit_code == 0  # exports into the cache
    code = ("import sys; from colorize.cli import app\n"
            "try: app(sys.argv[1:])\n"
            "except SystemExit as e: print('exit', e.code, 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, *args, "-o", str(tmp_path / "onnx.png")], capture_output=True, text=True)
    assert r.stdout.split() == ["exit", "0", "False"], r.stderr
    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png"), np.int16) for n in ("torch", "onnx"))
    assert np.abs(a - b).max() <= 1


def test_an_unwritable_cache_falls_back_to_pytorch(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("COLORIZE_CACHE", str(blocker))
    src = write_photo_file(tmp_path / "p.png")
    r = runner.invoke(app, ["photo", str(src), "--weights", str(tiny_weights), "--device", "cpu"])
    assert r.exit_code == 0 and "the ONNX cache is not writable" in r.stderr and "running the model with PyTorch" in r.stderr
    assert (tmp_path / "p_color.png").is_file()
    r = runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "x.png"), "--weights", str(tiny_weights), "--engine", "onnx"])
    assert r.exit_code == 1 and "the ONNX cache is not writable" in r.stderr


def _read_only(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """`cache` on a read-only file system (the tests run as root, for whom permissions are no obstacle)."""
    import tempfile

    real_unlink, real_temp = Path.unlink, tempfile.NamedTemporaryFile

    def refused(path: object) -> bool:
        return Path(str(path)).resolve().is_relative_to(cache.resolve())

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if refused(self):
            raise PermissionError(30, "Read-only file system", str(self))
        real_unlink(self, missing_ok=missing_ok)

    def temp(*args: object, dir: object = None, **kwargs: object):
        if dir is not None and refused(dir):
            raise PermissionError(30, "Read-only file system", str(dir))
        return real_temp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", temp)


def test_a_read_only_cache_with_a_damaged_export_falls_back_with_one_warning(
        tmp_path: Path, tiny_weights: Path, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_photo_file(tmp_path / "p.png")
    assert invoke("photo", src, "-o", tmp_path / "first.png", "-w", tiny_weights, *COMMON).exit_code == 0
    from colorize import __version__
    from colorize.weights import sha256_file

    export = onnx_cache / f"{__version__}-{sha256_file(tiny_weights)}" / "model.onnx"
    data = bytearray(export.read_bytes())
    export.write_bytes(bytes(data[:1000]))
    try:
        _read_only(monkeypatch, onnx_cache)
        r = invoke("photo", src, "-o", tmp_path / "second.png", "-w", tiny_weights, *COMMON)
    finally:
        monkeypatch.undo()
        export.write_bytes(bytes(data))
    assert r.exit_code == 0 and (tmp_path / "second.png").is_file()
    warnings = [line for line in r.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "not writable" in warnings[0] and "--engine torch" in warnings[0], r.stderr


def test_a_failed_export_is_remembered_instead_of_retried(tmp_path: Path, tiny_weights: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.export as export

    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache"))
    tries = []

    def failing(*args: object, **kwargs: object):
        tries.append(1)
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(export, "export_model", failing)
    src = write_photo_file(tmp_path / "p.png")
    first = invoke("photo", src, "-o", tmp_path / "a.png", "-w", tiny_weights, *COMMON)
    second = invoke("photo", src, "-o", tmp_path / "b.png", "-w", tiny_weights, *COMMON)
    assert first.exit_code == second.exit_code == 0 and len(tries) == 1
    assert "ONNX export failed (the disk filled up)" in first.stderr
    assert "failed 0.0 h ago (the disk filled up)" in second.stderr and "delete" in second.stderr
    note = next((tmp_path / "cache").glob("*/*.failed"))
    note.unlink()  # deleting the note tries again
    invoke("photo", src, "-o", tmp_path / "c.png", "-w", tiny_weights, *COMMON)
    assert len(tries) == 2


def test_the_first_run_exports_quietly_unless_asked(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache"))
    src = write_photo_file(tmp_path / "p.png")
    first = invoke("photo", src, "-o", tmp_path / "a.png", "-w", tiny_weights, *COMMON)
    assert first.exit_code == 0 and "warning" not in first.stderr  # a second's export is no warning
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache2"))
    told = runner.invoke(app, ["-v", "photo", str(src), "-o", str(tmp_path / "b.png"), "-w", str(tiny_weights), *COMMON])
    assert "exporting it to ONNX once" in told.stderr and "exported in" in told.stderr
