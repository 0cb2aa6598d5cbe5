"""CPU inference without PyTorch: the generator, exported once to ONNX and cached, run by onnxruntime.

Importing torch and fastai costs ~7 s on 2 CPU cores, longer than colorizing a photo. On CPU the photo commands
therefore run the model through onnxruntime, which starts in ~0.5 s. The first run with a model exports it
(`colorize.export`: spectral norm folded, output checked against PyTorch's) into a cache keyed by the weights'
sha256 and the render size; later runs never import torch. Where a GPU may be present, onnxruntime is missing or
the export fails, PyTorch runs the model as before (`colorize.inference`).
"""

from __future__ import annotations

import ctypes.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from colorize.atomic import atomic_write
from colorize.errors import ColorizeError
from colorize.hints import Hints, model_hint_input, spread_hints
from colorize.pixels import RENDER_UNIT_PX, chroma_of, merge, model_input, resolve_render_factor
from colorize.weights import resolve_weights, sha256_file


log = logging.getLogger(__name__)

CACHE_ENV = "COLORIZE_CACHE"
ENGINES = ("auto", "onnx", "torch")
# An export whose output is further than this from PyTorch's is not used (fp32 exports differ by ~1e-6).
MAX_EXPORT_DIFF = 1e-3


def cache_dir() -> Path:
    """Where exported models are kept: $COLORIZE_CACHE, else $XDG_CACHE_HOME/colorize, else ~/.cache/colorize."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "colorize"


def describe_cache() -> str:
    """One line for `colorize info`: onnxruntime's version and what the export cache holds."""
    try:
        import onnxruntime
    except ImportError:
        return "ONNX engine: onnxruntime not installed (photos run on PyTorch)"
    exports = list(cache_dir().glob("*/*.onnx"))
    size = sum(p.stat().st_size for p in exports) / 2**20
    return (f"ONNX engine: onnxruntime {onnxruntime.__version__}; cache {cache_dir()}: {len(exports)} export(s), "
            f"{size:.0f} MB (safe to delete)")


def cuda_possible() -> bool:
    """Whether PyTorch might find a GPU here, judged without importing it: an NVIDIA driver is installed."""
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists()
    return ctypes.util.find_library("nvcuda") is not None


class OnnxColorizer:
    """`colorize.inference.Colorizer`'s photo interface (`colorize`, `takes_hints`, `render_size_px`) on an
    exported model under onnxruntime."""

    def __init__(self, onnx_path: Path, meta: dict[str, Any], render_factor: int, batch_size: int, vividness: float) -> None:
        """`meta` is the cache entry's record of the model (`_export`); `vividness` scales its chroma gain."""
        import onnxruntime

        if vividness <= 0:
            raise ColorizeError(f"vividness must be positive, got {vividness:g}")
        self.session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        self.render_factor = render_factor
        self.batch_size = batch_size
        self.takes_hints = bool(meta["hints"])
        self.hints_spread = bool(meta["hints_spread"])
        self.hints_wide = bool(meta["hints_wide"])
        self.chroma_gain = float(meta["chroma_gain"]) * vividness
        self.device = "cpu (onnxruntime)"

    @property
    def render_size_px(self) -> int:
        """Side of the square the model sees."""
        return self.render_factor * RENDER_UNIT_PX

    def colorize(self, grays: Sequence[np.ndarray], hints: Sequence[Hints | None] | None = None) -> list[np.ndarray]:
        """Colorize (H, W) uint8 luminance arrays of any sizes (with each one's hints, if any), batched by `batch_size`."""
        size = self.render_size_px
        hints = list(hints) if hints is not None else [None] * len(grays)
        out: list[np.ndarray] = []
        for start in range(0, len(grays), self.batch_size):
            batch, batch_hints = grays[start : start + self.batch_size], hints[start : start + self.batch_size]
            lumas = np.stack([model_input(g, size) for g in batch])
            maps = [None if h is None else h.render(*g.shape, size) for g, h in zip(batch, batch_hints)]
            feeds = {"luminance": lumas[:, None]}
            if self.takes_hints:
                feeds["hints"] = np.stack([model_hint_input(m, y, size, self.hints_spread, self.hints_wide) for m, y in zip(maps, lumas)])
            rgb = self.session.run(None, feeds)[0]  # (B, 3, S, S)
            chroma = chroma_of(rgb.transpose(0, 2, 3, 1)) * np.float32(self.chroma_gain)
            out.extend(merge(g, c if m is None else spread_hints(c, y, m)) for g, c, y, m in zip(batch, chroma, lumas, maps))
        return out


def onnx_colorizer(weights: Path | None, device: str, engine: str, render_factor: int | None, batch_size: int,
                   vividness: float) -> OnnxColorizer | None:
    """The ONNX engine for a photo run, exporting the model into the cache on first use; None where PyTorch must run
    it instead (engine `torch`, a GPU may be used, onnxruntime is missing, or the export failed)."""
    if engine not in ENGINES:
        raise ColorizeError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "torch" or device not in ("auto", "cpu") or (device == "auto" and cuda_possible()):
        if engine == "onnx":
            raise ColorizeError(f"the onnx engine runs on CPU only; use --device cpu (not {device}) or --engine torch")
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if engine == "onnx":
            raise ColorizeError("the onnx engine needs onnxruntime: pip install onnxruntime") from None
        log.info("onnxruntime is not installed: running the model with PyTorch")
        return None
    path = resolve_weights(weights)
    if not path.is_file():
        return None  # PyTorch's loader names the problem
    entry = cache_dir() / sha256_file(path)
    meta = _read_meta(entry)
    factor = resolve_render_factor(render_factor, meta or {})
    onnx_path = entry / f"{factor * RENDER_UNIT_PX}.onnx"
    if meta is None or not onnx_path.is_file():
        from colorize.weights import load_generator

        model, ckpt_meta = load_generator(path)  # a bad weights file is the user's error, named here as on PyTorch
        factor = resolve_render_factor(render_factor, ckpt_meta)
        onnx_path = entry / f"{factor * RENDER_UNIT_PX}.onnx"
        try:
            meta = _export(model, ckpt_meta, path, onnx_path, factor * RENDER_UNIT_PX)
        except (ColorizeError, OSError, RuntimeError, ValueError) as e:
            return _fall_back(engine, f"{path}: ONNX export failed ({e})")
    if meta["head"] == "ab_bins" and vividness != 1.0:
        # The graph bakes an ab-bin model's decoding temperature in, and vividness changes it.
        return _fall_back(engine, "--vividness on an ab-bin model needs PyTorch")
    try:
        return OnnxColorizer(onnx_path, meta, factor, batch_size, vividness)
    except Exception as e:  # onnxruntime raises its own types for a damaged file
        onnx_path.unlink(missing_ok=True)  # the next run exports it again
        return _fall_back(engine, f"{onnx_path}: unusable cached export, removed ({e})")


def _fall_back(engine: str, reason: str) -> None:
    """PyTorch runs the model instead, unless the user asked for ONNX."""
    if engine == "onnx":
        raise ColorizeError(reason)
    log.warning("%s; running the model with PyTorch", reason)


def _read_meta(entry: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((entry / "model.json").read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and {"head", "hints", "hints_spread", "hints_wide", "chroma_gain"} <= meta.keys() else None


def _export(model: Any, ckpt_meta: dict[str, Any], weights: Path, onnx_path: Path, size: int) -> dict[str, Any]:
    """Export generator `model` (from `weights`) at `size` px to `onnx_path` in its cache entry; returns the entry's
    model record."""
    from colorize.export import export_model

    log.info("exporting %s to ONNX at %d px (once: later runs start without PyTorch) into %s", weights.name, size,
             onnx_path.parent)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    meta = {"weights": str(weights), "render_factor": ckpt_meta.get("render_factor"), "head": cfg.head,
            "hints": bool(cfg.hints), "hints_spread": bool(cfg.hints_spread), "hints_wide": bool(cfg.hints_wide), "chroma_gain": 1.0 if cfg.head == "ab_bins" else cfg.chroma_gain}
    report = export_model(model, onnx_path, "onnx", size)
    if report.max_abs_diff is None or report.max_abs_diff > MAX_EXPORT_DIFF:
        onnx_path.unlink(missing_ok=True)
        raise ValueError(f"its output differs from PyTorch's by {report.max_abs_diff}")
    atomic_write(onnx_path.parent / "model.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=2) + "\n"))
    return meta
