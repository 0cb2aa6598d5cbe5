"""Training numerics: autocast precision and memory layout agree with plain fp32, and `auto` decides sensibly."""

from pathlib import Path

import pytest
import torch

from colorize.config import CriticConfig, LossConfig, ModelConfig, TrainConfig
from colorize.losses import PerceptualLoss
from colorize.models import create_critic, create_generator
from colorize.train import common
from colorize.train.common import Numerics, optimizer_step, resolve_precision
from colorize.weights import read_checkpoint, save_checkpoint

CPU = torch.device("cpu")


def test_auto_falls_back_to_fp32_without_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", CPU) == torch.float32
    monkeypatch.setattr(common, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", CPU) == torch.bfloat16
    assert resolve_precision("bf16", CPU) == torch.bfloat16 and resolve_precision("fp32", CPU) == torch.float32


def test_bad_precisions_are_config_errors() -> None:
    from colorize.errors import ConfigError

    with pytest.raises(ConfigError, match="choose one of"):
        resolve_precision("fp8", CPU)
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        resolve_precision("fp16", CPU)


def test_bf16_forward_passes_agree_with_fp32() -> None:
    # bf16 keeps 8 bits of mantissa: outputs in [0, 1] agree to a few hundredths.
    torch.manual_seed(0)
    gen, crit = create_generator(ModelConfig(arch="tiny")), create_critic(CriticConfig(base_channels=8, n_blocks=1)).eval()
    with torch.no_grad():
        gen.train()(torch.rand(4, 1, 32, 32))  # settle BatchNorm statistics, so outputs are not saturated at 0/1
    gen.eval()
    x, rgb = torch.rand(2, 1, 32, 32), torch.rand(2, 3, 32, 32)
    bf16 = Numerics(CPU, torch.bfloat16, channels_last=False)
    with torch.no_grad():
        ref_g, ref_c = gen(x), crit(rgb)
        with bf16.autocast():
            low_g, low_c = gen(x), crit(rgb)
    assert low_g.dtype == torch.bfloat16
    assert (low_g.float() - ref_g).abs().max() < 0.03
    assert (low_c.float() - ref_c).abs().max() < 0.05 * ref_c.abs().max().clamp_min(1)


def test_channels_last_outputs_equal_contiguous() -> None:
    torch.manual_seed(0)
    gen = create_generator(ModelConfig(arch="tiny")).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        ref = gen(x)
        cl = Numerics(CPU, torch.float32, channels_last=True)
        out = cl.model(gen)(cl.batch(x))
    assert torch.allclose(out, ref, atol=1e-5)


def test_bf16_training_lowers_the_loss_and_checkpoints_fp32_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    num = Numerics.for_stage(TrainConfig(precision="bf16", channels_last=True), CPU)
    gen = num.model(create_generator(ModelConfig(arch="tiny"))).train()
    loss_fn = num.model(PerceptualLoss(LossConfig(perceptual=False)))
    opt, scaler = torch.optim.AdamW(gen.parameters(), lr=3e-3), num.scaler()
    # One fixed batch whose colour follows from its brightness: learnable, so the loss must fall.
    gray = torch.rand(4, 1, 32, 32)
    target = torch.cat([gray, gray * 0.5, 1 - gray], dim=1)
    losses = []
    for _ in range(30):
        with num.autocast():
            loss = loss_fn(gen(num.batch(gray)), num.batch(target))
        assert loss.dtype == torch.float32  # reductions stay fp32 under autocast
        optimizer_step(loss, opt, scaler)
        losses.append(loss.item())
    assert sum(losses[-5:]) < 0.7 * sum(losses[:5])
    path = tmp_path / "gen.pt"
    save_checkpoint(path, gen, "generator", ModelConfig(arch="tiny"))
    state = read_checkpoint(path, kind="generator")["state_dict"]
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    fresh = create_generator(ModelConfig(arch="tiny"))
    fresh.load_state_dict(state)
