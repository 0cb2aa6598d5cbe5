"""Export a generator for deployment: ONNX or TorchScript, with spectral norm folded into plain weights.

Spectral norm is a training-time reparametrisation (a forward pre-hook recomputing `weight` from `weight_orig`
and power-iteration vectors). DeOldify's models could not be exported with it attached; at inference the hook only
divides by a fixed sigma, so `torch.nn.utils.remove_spectral_norm` bakes that into `weight` and drops the hook.
The exported graph maps (B, 1, S, S) luminance in [0, 1] (and, for a hint-aware model, its (B, C, S, S) hint input:
`colorize.train.hint_field`) to (B, 3, S, S) RGB in [0, 1] for any batch and any side S that is a multiple of the
network's stride, which is what the pipeline feeds (`colorize.pipeline.MODEL_STRIDE_PX`): the U-Net resizes a
decoder map only where an encoder size rounded, a branch tracing would fix for the size it saw. The luminance merge
stays in the caller, as in `colorize.inference`.
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
from colorize.pipeline import MODEL_STRIDE_PX

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
    if size_px % MODEL_STRIDE_PX:
        raise ColorizeError(f"export size {size_px} px must be a multiple of {MODEL_STRIDE_PX}")
    model = model.cpu().eval()
    gen = torch.Generator().manual_seed(0)
    examples = (torch.rand(batch, 1, size_px, size_px, generator=gen),)
    if getattr(getattr(model, "cfg", None), "hint_input", "none") != "none":
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
            # Any size the pipeline feeds (a multiple of the stride) runs on the one graph: checked at another.
            other = tuple(nn.functional.pad(e, (0, MODEL_STRIDE_PX, 0, MODEL_STRIDE_PX), mode="reflect") for e in examples)
            other_out = _run_onnx(path, [e.numpy() for e in other])
            if out is not None and other_out is not None:
                out = np.concatenate([out.ravel(), other_out.ravel()])
                reference = np.concatenate([reference.ravel(), model(*other).numpy().ravel()])
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
        dynamic_axes={n: {0: "batch", 2: "height", 3: "width"} for n in [*names, "rgb"]}, dynamo=False,
    ))


def store_half(src: Path, dst: Path, min_elements: int = 1024) -> int:
    """Rewrite ONNX model `src` to `dst` with its float32 weights of at least `min_elements` stored as float16 and cast
    back to float32 on load (onnxruntime folds the casts once, at session start): half the file, the same arithmetic,
    for shipping a model whose checkpoint is already float16. Returns how many tensors were halved. By hand: onnx's
    own float16 converter changes the arithmetic too."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph, casts, kept = model.graph, [], []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}.fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    atomic_write(dst, lambda tmp: onnx.save(model, str(tmp)))
    return len(casts)


def _run_onnx(path: Path, inputs: list[np.ndarray]) -> np.ndarray | None:
    """The ONNX model's output under onnxruntime, or None when onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        log.warning("onnxruntime is not installed: the exported model was not checked against PyTorch")
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(INPUT_NAMES, inputs)))[0]
