from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.utils.spectral_norm import SpectralNorm
from typer.testing import CliRunner

from colorize.cli import app
from colorize.export import fold_spectral_norm
from colorize.weights import load_generator

runner = CliRunner()
TOLERANCE = 1e-4  # on RGB in [0, 1]: far below one 8-bit level (0.0039)


def _reference(weights: Path, x: torch.Tensor) -> np.ndarray:
    model, _ = load_generator(weights)
    with torch.no_grad():
        return model.eval()(x).numpy()


def _input(batch: int, size: int) -> torch.Tensor:
    return torch.rand(batch, 1, size, size, generator=torch.Generator().manual_seed(1))


def test_folding_spectral_norm_keeps_outputs_and_removes_every_hook(tiny_weights: Path) -> None:
    model, _ = load_generator(tiny_weights)
    x = _input(2, 64)
    with torch.no_grad():
        before = model.eval()(x)
        assert fold_spectral_norm(model) > 0
        after = model(x)
    assert not any(isinstance(h, SpectralNorm) for m in model.modules() for h in m._forward_pre_hooks.values())
    assert not any(k.endswith(("weight_orig", "weight_u", "weight_v")) for k in model.state_dict())
    assert torch.allclose(before, after, atol=1e-6)


def test_onnx_export_round_trip(tiny_weights: Path, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "model.onnx"
    result = runner.invoke(app, ["export", str(out), "--format", "onnx", "--weights", str(tiny_weights), "-r", "7"])
    assert result.exit_code == 0, result.output
    assert "spectral-norm layers folded" in result.output
    names = {init.name for init in onnx.load(str(out)).graph.initializer}
    assert not any("weight_orig" in n or "weight_u" in n for n in names)
    x = _input(3, 160)  # a batch and a side the export never saw: both are dynamic (sides a multiple of 32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"luminance": x.numpy()})[0]
    assert got.shape == (3, 3, 160, 160)
    assert np.abs(got - _reference(tiny_weights, x)).max() < TOLERANCE


def test_torchscript_export_round_trip(tiny_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.pt"
    result = runner.invoke(app, ["export", str(out), "--format", "torchscript", "--weights", str(tiny_weights), "-r", "7"])
    assert result.exit_code == 0, result.output
    x = _input(2, 128)  # render factor 7 is 112 px, fed to the network as 128
    with torch.no_grad():
        got = torch.jit.load(str(out))(x).numpy()
    assert np.abs(got - _reference(tiny_weights, x)).max() < TOLERANCE


def test_export_never_overwrites_without_asking(tiny_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.pt"
    out.write_bytes(b"keep me")
    result = runner.invoke(app, ["export", str(out), "--format", "torchscript", "--weights", str(tiny_weights)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert out.read_bytes() == b"keep me"


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_a_hint_aware_model_exports_with_its_hint_input(fmt: str, tmp_path: Path) -> None:
    from colorize.config import ModelConfig
    from colorize.export import export_model
    from colorize.models import create_generator

    if fmt == "onnx":
        ort = pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
    torch.manual_seed(0)
    model = create_generator(ModelConfig(arch="tiny", hint_input="points")).eval()
    with torch.no_grad():
        model.hint_in.weight.fill_(0.2)  # as if fine-tuned: hints change the output
    x, hints = _input(2, 128), torch.rand(2, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        want = model(x, hints=hints).numpy()
        assert not np.allclose(want, model(x).numpy(), atol=1e-3)
    out = tmp_path / f"m.{fmt}"
    report = export_model(model, out, fmt, 128)
    assert report.max_abs_diff is not None and report.max_abs_diff < TOLERANCE
    if fmt == "onnx":
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["luminance", "hints"]
        got = session.run(None, {"luminance": x.numpy(), "hints": hints.numpy()})[0]
    else:
        got = torch.jit.load(str(out))(x, hints).detach().numpy()
    assert np.abs(got - want).max() < TOLERANCE
