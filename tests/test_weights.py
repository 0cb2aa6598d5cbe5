"""Weights (colorize/weights.py): checkpoints that rebuild their model, checksums and manifests, half copies, the
shipped default model and where an install finds it, and weights errors that are one line."""

import json
import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from colorize.cli import app
from colorize.config import ModelConfig
from colorize.errors import WeightsError
from colorize.models import create_generator
from colorize.pipeline import InferenceConfig
from colorize.weights import (
    DEFAULT_MODEL_NAME,
    load_generator,
    read_checkpoint,
    resolve_weights,
    save_checkpoint,
    save_half,
    sha256_file,
    write_manifest,
)

from helpers import write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_checkpoint_round_trip_rebuilds_same_model(tiny_weights: Path) -> None:
    model, meta = load_generator(tiny_weights)
    again, meta2 = load_generator(tiny_weights)
    x = torch.rand(2, 1, 32, 48)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    assert meta["model_config"] == meta2["model_config"] == {
        "arch": "tiny", "self_attention": True, "blur": True, "spectral_norm": True, "head": "rgb", "temperature": 0.38,
        "chroma_gain": 1.0, "hint_input": "none",
    }
    assert meta["kind"] == "generator" and meta["stage"] == "test"


@pytest.mark.parametrize(("flags", "kind"), [((False, False, False), "none"), ((True, False, False), "points"),
                                             ((True, True, False), "field"), ((True, True, True), "wide-field")])
def test_a_checkpoint_with_the_old_hint_flags_loads_as_its_hint_input_kind(tmp_path: Path, flags: tuple[bool, ...],
                                                                          kind: str) -> None:
    model = create_generator(ModelConfig(arch="tiny", hint_input=kind)).eval()
    path = tmp_path / "old.pt"
    save_checkpoint(path, model, kind="generator", model_config=ModelConfig(arch="tiny", hint_input=kind))
    old = torch.load(path, weights_only=True)
    old["model_config"] = {**{k: v for k, v in old["model_config"].items() if k != "hint_input"},
                           **dict(zip(("hints", "hints_spread", "hints_wide"), flags))}  # as checkpoints before it
    torch.save(old, path)
    loaded, meta = load_generator(path)
    assert loaded.cfg.hint_input == kind and InferenceConfig.from_checkpoint(meta).hint_input == kind
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_checkpoint_alone_rebuilds_non_default_architecture(tmp_path: Path) -> None:
    cfg = ModelConfig(arch="tiny", self_attention=False, blur=False)
    model = create_generator(cfg).eval()
    path = tmp_path / "g.pt"
    save_checkpoint(path, model, kind="generator", model_config=cfg)
    loaded, meta = load_generator(path)
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x))
    assert meta["model_config"]["self_attention"] is False


def test_sha256_mismatch_is_refused(tiny_weights: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    path.write_bytes(tiny_weights.read_bytes())
    write_manifest(path, model_config={"arch": "tiny"})
    load_generator(path)  # verifies fine
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_generator(path)


def test_truncated_checkpoint_gives_clear_error(tiny_weights: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.pt"
    path.write_bytes(tiny_weights.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="cut.pt: not a readable colorize checkpoint"):
        load_generator(path)


def test_wrong_kind_and_missing_file(tiny_weights: Path, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="expected a 'critic'"):
        read_checkpoint(tiny_weights, kind="critic")
    with pytest.raises(WeightsError, match="not found"):
        read_checkpoint(tmp_path / "nope.pt")


def test_mismatched_state_dict_reports_keys(tmp_path: Path) -> None:
    cfg = ModelConfig(arch="tiny")
    path = tmp_path / "g.pt"
    save_checkpoint(path, create_generator(ModelConfig(arch="tiny", self_attention=False)), kind="generator", model_config=cfg)
    with pytest.raises(WeightsError, match="missing: .*attn|do not match"):
        load_generator(path)


def test_missing_default_model_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLORIZE_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="--weights PATH"):
        resolve_weights(None)
    (tmp_path / f"{DEFAULT_MODEL_NAME}.json").write_text(json.dumps({"file": "x.pt", "sha256": "0"}))
    assert resolve_weights(None) == tmp_path / "x.pt"


def test_manifest_records_sha(tiny_weights: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    path.write_bytes(tiny_weights.read_bytes())
    manifest = json.loads(write_manifest(path, quality={"psnr": 1.0}).read_text())
    assert manifest["sha256"] == sha256_file(path) and manifest["quality"] == {"psnr": 1.0}


def test_half_copy_is_smaller_and_colorizes_like_the_original(tiny_weights: Path, tmp_path: Path) -> None:
    half = tmp_path / "half.pt"
    save_half(tiny_weights, half)
    state = torch.load(half, weights_only=True)["state_dict"]
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert half.stat().st_size < 0.6 * tiny_weights.stat().st_size
    full, _ = load_generator(tiny_weights)
    small, _ = load_generator(half)
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        assert (full(x) - small(x)).abs().max() < 2e-2  # fp16 weights: well under 5 of 255 levels


def test_half_copy_keeps_the_render_factor(tiny_weights: Path, tmp_path: Path) -> None:
    from colorize.inference import load_colorizer
    from colorize.pipeline import DEFAULT_RENDER_FACTOR

    model, _ = load_generator(tiny_weights)
    trained = tmp_path / "trained.pt"
    save_checkpoint(trained, model, "generator", ModelConfig(arch="tiny"), render_factor=9)
    save_half(trained, tmp_path / "half.pt")
    assert load_colorizer(tmp_path / "half.pt", device="cpu").render_factor == 9
    assert load_colorizer(tiny_weights, device="cpu").render_factor == DEFAULT_RENDER_FACTOR  # records none


def test_half_copy_can_carry_a_retuned_decoding_knob(tiny_weights: Path, tmp_path: Path) -> None:
    from colorize.inference import load_colorizer
    from colorize.pipeline import InferenceConfig

    save_half(tiny_weights, tmp_path / "half.pt", InferenceConfig(render_factor=9, chroma_gain=1.4).to_dict())
    assert load_colorizer(tmp_path / "half.pt", device="cpu").chroma_gain == 1.4
    assert load_colorizer(tiny_weights, device="cpu").chroma_gain != 1.4


def test_shipped_default_model_verifies_and_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORIZE_WEIGHTS_DIR", raising=False)
    path = resolve_weights(None)  # the repository's weights/ folder
    manifest = json.loads(path.with_suffix(".json").read_text())
    assert sha256_file(path) == manifest["sha256"]
    assert path.stat().st_size <= 25 * 2**20
    model, meta = load_generator(path)
    assert meta["model_config"] == manifest["model_config"]
    assert meta["render_factor"] == manifest["render_factor"] == manifest["quality"]["held_out"]["render_factor"]
    # Its decoding knob, tuned at export, is what inference uses.
    from colorize.inference import load_colorizer

    assert load_colorizer(path, device="cpu").chroma_gain == manifest["model_config"].get("chroma_gain", 1.0)


def test_shipped_default_model_paints_a_held_out_sky_blue(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from PIL import Image

    from colorize.inference import load_colorizer

    monkeypatch.delenv("COLORIZE_WEIGHTS_DIR", raising=False)
    gray = np.asarray(Image.open(Path(__file__).parents[1] / "samples" / "heldout_grand_canyon.jpg").convert("L"))
    rgb = load_colorizer(None, device="cpu").colorize([gray])[0].astype(np.float32)
    sky = rgb[: gray.shape[0] // 5]  # the photo's top fifth is clear sky
    assert sky[..., 2].mean() - sky[..., 0].mean() > 10  # blue clearly above red
    assert np.abs(np.asarray(Image.fromarray(rgb.astype(np.uint8)).convert("L"), np.int16) - gray).max() <= 1


def test_an_installed_package_finds_the_default_model_inside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.weights as weights

    package = tmp_path / "target" / "colorize"  # pip install --target, a venv's site-packages: the same layout
    (package / "shipped").mkdir(parents=True)
    monkeypatch.delenv(weights.WEIGHTS_DIR_ENV, raising=False)
    monkeypatch.setattr(weights, "__file__", str(package / "weights.py"))
    assert weights.weights_dir() == package / "shipped"
    (package.parent / "weights").mkdir()  # a checkout (or an editable install) uses its own weights/
    assert weights.weights_dir() == package.parent / "weights"


@pytest.mark.slow
def test_the_wheel_carries_the_default_model(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(repo)],
                   check=True)
    names = zipfile.ZipFile(next(tmp_path.glob("colorize-*.whl"))).namelist()
    for suffix in (".onnx", ".json", ".pt"):
        assert f"colorize/shipped/{DEFAULT_MODEL_NAME}{suffix}" in names
    assert not any("v3" in n or "v4" in n or "v6" in n for n in names)  # the models kept for comparison stay out


def test_weights_errors_are_one_line_without_torch_advice(tmp_path: Path, tiny_weights: Path) -> None:
    photo = write_photo_file(tmp_path / "x.png")
    manifest = tmp_path / "model.json"
    manifest.write_text('{"sha256": "0"}')
    r = invoke("photo", photo, "-w", manifest, *COMMON)
    assert r.exit_code == 1 and "is a model manifest" in r.stderr and "model.pt" in r.stderr
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(2000))
    r = invoke("photo", photo, "-w", junk, *COMMON)
    assert r.exit_code == 1 and "not a readable colorize checkpoint" in r.stderr
    assert "weights_only" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
