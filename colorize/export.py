"""Export a generator for deployment: ONNX or TorchScript, with spectral norm folded into plain weights.

Spectral norm is a training-time reparametrisation (a forward pre-hook recomputing `weight` from `weight_orig`
and power-iteration vectors). DeOldify's models could not be exported with it attached; at inference the hook only
divides by a fixed sigma, so `torch.nn.utils.remove_spectral_norm` bakes that into `weight` and drops the hook.
The exported graph maps (B, 1, S, S) luminance in [0, 1] (and, for a hint-aware model, its (B, C, S, S) hint input:
`colorize.hints.hint_field`) to (B, 3, S, S) RGB in [0, 1] for one render size S (render factor x 16) and any batch: the U-Net resizes a decoder map where an odd encoder size rounded, a branch
tracing fixes for the size it sees. The luminance merge stays in the caller, as in `colorize.inference`.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.spectral_norm import SpectralNorm

from colorize.atomic import atomic_write
from colorize.errors import ColorizeError

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
ONNX_OPSET = 18


def fold_spectral_norm(model: nn.Module) -> int:
    """Bake every spectral-norm hook of `model` (in place, eval mode) into its weight; returns how many."""
    model.eval()
    folded = 0
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, SpectralNorm):
                torch.nn.utils.remove_spectral_norm(module, hook.name)
                folded += 1
    return folded


@dataclass(frozen=True)
class ExportReport:
    """What an export did: hooks folded, and how far the exported model's output is from PyTorch's (if checked)."""

    folded: int
    max_abs_diff: float | None


def export_model(model: nn.Module, path: Path, fmt: str, size_px: int, batch: int = 2) -> ExportReport:
    """Fold `model`'s spectral norm (in place), write it to `path`, and compare its output with the original's."""
    if fmt not in FORMATS:
        raise ColorizeError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if size_px % 16:
        raise ColorizeError(f"export size {size_px} px must be a multiple of 16")
    model = model.cpu().eval()
    gen = torch.Generator().manual_seed(0)
    examples = (torch.rand(batch, 1, size_px, size_px, generator=gen),)
    if getattr(getattr(model, "cfg", None), "hints", False):
        examples += (torch.rand(batch, model.hint_in.in_channels, size_px, size_px, generator=gen) * 2 - 1,)
        model = _WithHints(model)
    # Tracing warns about every shape-dependent Python branch (fastai's U-Net resizes where sizes round); the
    # exported graph is checked against PyTorch's output below instead, so the warnings are only noise to a user.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = model(*examples).numpy()
        folded = fold_spectral_norm(model)
        if fmt == "torchscript":
            traced = torch.jit.trace(model, tuple(e[:1] for e in examples))
            atomic_write(path, lambda tmp: torch.jit.save(traced, str(tmp)))
            out = torch.jit.load(str(path))(*examples).numpy()
        else:
            _export_onnx(model, tuple(e[:1] for e in examples), path)
            out = _run_onnx(path, [e.numpy() for e in examples])
    diff = None if out is None else float(np.abs(out - reference).max())
    log.info("exported %s to %s (%d spectral-norm hooks folded)", fmt, path, folded)
    return ExportReport(folded, diff)


class _WithHints(nn.Module):
    """A hint-aware generator with the hint map as its second positional input, as tracing needs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, gray: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        """RGB from luminance and hint map."""
        return self.model(gray, hints=hints)


INPUT_NAMES = ("luminance", "hints")


def _export_onnx(model: nn.Module, examples: tuple[torch.Tensor, ...], path: Path) -> None:
    try:
        import onnx  # noqa: F401  (torch.onnx needs it; say so plainly instead of a deep ImportError)
    except ImportError:
        raise ColorizeError("ONNX export needs the onnx package: pip install onnx") from None
    # The TorchScript-based exporter handles fastai's self-attention and pixel shuffle and needs no onnxscript.
    names = list(INPUT_NAMES[: len(examples)])
    atomic_write(path, lambda tmp: torch.onnx.export(
        model, examples, str(tmp), input_names=names, output_names=["rgb"], opset_version=ONNX_OPSET,
        dynamic_axes={**{n: {0: "batch"} for n in names}, "rgb": {0: "batch"}}, dynamo=False,
    ))


def _run_onnx(path: Path, inputs: list[np.ndarray]) -> np.ndarray | None:
    """The ONNX model's output under onnxruntime, or None when onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        log.warning("onnxruntime is not installed: the exported model was not checked against PyTorch")
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(INPUT_NAMES, inputs)))[0]
