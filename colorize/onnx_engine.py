"""The ONNX backend of the inference pipeline: the generator, exported once to ONNX and cached, run by
onnxruntime on CPU without PyTorch.

Importing torch and fastai costs ~7 s on 2 CPU cores, longer than colorizing a photo. On CPU the photo commands
therefore run the model through onnxruntime, which starts in ~0.5 s. The default model ships as ONNX beside its
checkpoint; any other model is exported on its first run (`colorize.export`: spectral norm folded, output checked
against PyTorch's) into a cache keyed by the weights' sha256, one export serving every render size; later runs
never import torch. Where a GPU may be present, onnxruntime is missing or
the export fails, the PyTorch backend runs the model (`colorize.inference`). Either way the pipeline around
the network is the same (`colorize.pipeline`).
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import json
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from colorize import __version__
from colorize.atomic import WriteError, atomic_write, check_writable, remove_stale_temps
from colorize.engine import EngineOptions
from colorize.errors import ColorizeError
from colorize.pipeline import RENDER_UNIT_PX, Colorizer, InferenceConfig, RenderTooLarge, stride_multiple
from colorize.weights import read_manifest, resolve_weights, sha256_file, verify_file


log = logging.getLogger(__name__)

CACHE_ENV = "COLORIZE_CACHE"
# An export whose output is further than this from PyTorch's is not used (fp32 exports differ by ~1e-6).
MAX_EXPORT_DIFF = 1e-3
# A failed export is not retried for this long (each try costs ~30 s); deleting its .failed note retries at once.
FAILURE_MEMORY_S = 24 * 3600
# A temp file of an export this old was left by a killed process (an export takes about a minute), not one running now.
STALE_EXPORT_S = 3600
# Memory one photo takes in the network, per (side in px)^4: the self-attention at 1/8 of the side compares every
# position with every other, (S/8)^4 float32 values (0.8 GB at render factor 60, 960 px), and the run's peak was
# measured at about 3.5 to 4.5 times that on onnxruntime 1.32 (2.9-3.7 GB a photo at factor 60).
RENDER_BYTES_PER_PX4 = 5 * 4 / 8**4
# One export per model serves every render size (`colorize.export`).
EXPORT_NAME = "model.onnx"


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


class OnnxBackend:
    """Runs an exported generator (`colorize.export`) under onnxruntime on CPU, in batches that fit in memory."""

    def __init__(self, onnx_path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # Without the arena, memory a large render took goes back to the system (the page lives on after it).
        options.enable_cpu_mem_arena = False
        self.session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.description = "cpu (onnxruntime)"
        self.takes_temperature = False  # an ab-bin model's temperature is baked into the graph
        self.budget = memory_budget()

    def run(self, luma: np.ndarray, hints: np.ndarray | None, temperature: float | None) -> np.ndarray:
        """(B, 1, S, S) luminance [+ (B, C, S, S) hints] -> (B, 3, S, S) RGB; an ab-bin model's temperature is
        baked into the graph (`onnx_colorizer` hands other temperatures to PyTorch). Split into batches that fit
        the memory budget; where even one photo does not fit, `RenderTooLarge` (the pipeline lowers the factor)."""
        per_photo = RENDER_BYTES_PER_PX4 * luma.shape[-1] ** 4
        if per_photo > self.budget:
            raise RenderTooLarge(f"one photo at {luma.shape[-1]} px needs ~{per_photo / 2**30:.1f} GB, over this "
                                 f"machine's budget of {self.budget / 2**30:.1f} GB")
        step = max(1, int(self.budget // per_photo))
        out = []
        for i in range(0, len(luma), step):
            feeds = {"luminance": luma[i : i + step]} | ({} if hints is None else {"hints": hints[i : i + step]})
            try:
                out.append(self.session.run(None, feeds)[0])
            except Exception as e:  # onnxruntime raises its own types; a failed allocation means "too large"
                if "allocate" in str(e).lower():
                    raise RenderTooLarge(f"out of memory at {luma.shape[-1]} px") from None
                raise ColorizeError(f"onnxruntime failed to run the model ({str(e).splitlines()[0][:200]}); "
                                    "--engine torch runs it with PyTorch") from None
        return np.concatenate(out)


def memory_budget() -> int:
    """Bytes a batch may take: a quarter of this machine's memory (the rest for the photos, the page, the system)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return 4 * 2**30


def onnx_colorizer(options: EngineOptions) -> Colorizer | None:
    """The ONNX engine for `options` (use `colorize.engine.open_colorizer`), with the shipped model's export or one
    made into the cache on first use; None where PyTorch must run it instead (engine `torch`, a GPU may be used,
    onnxruntime is missing, or the export failed)."""
    weights, device, engine, vividness = options.weights, options.device, options.engine, options.vividness
    torch_installed = importlib.util.find_spec("torch") is not None
    if engine == "torch" or device not in ("auto", "cpu") or (device == "auto" and cuda_possible() and torch_installed):
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
    shipped = shipped_onnx(path)
    if shipped is not None:
        onnx_path, inference = shipped
    elif not path.is_file():
        return None  # PyTorch's loader names the problem
    else:
        found = _cached_export(path, engine)
        if found is None:
            return None
        onnx_path, inference = found
    factor = options.render_factor or inference.render_factor
    if inference.temperature is not None and vividness != 1.0:
        # The graph bakes an ab-bin model's decoding temperature in, and vividness changes it.
        return _fall_back(engine, "--vividness on an ab-bin model needs PyTorch")
    try:
        backend = OnnxBackend(onnx_path)
    except Exception as e:  # onnxruntime raises its own types for a damaged file
        try:
            onnx_path.unlink(missing_ok=True)  # the next run exports it again
        except OSError:
            pass  # a read-only cache keeps it; the checksum check sends the next run to re-export or PyTorch
        return _fall_back(engine, f"{onnx_path}: unusable cached export ({e})")
    return Colorizer(backend, inference, factor, options.batch_size, vividness, options.mirror)


def shipped_onnx(weights: Path) -> tuple[Path, InferenceConfig] | None:
    """The ONNX file shipped beside a shipped model (its manifest's `onnx` entry, sha256-checked) with the inference
    settings recorded for it; None where none ships. A file that does not match its checksum is an error."""
    manifest_path = weights.with_suffix(".json")
    if not manifest_path.is_file():
        return None
    entry = read_manifest(manifest_path).get("onnx")
    if not isinstance(entry, dict):
        return None
    onnx_path = weights.parent / entry["file"]
    verify_file(onnx_path, entry["sha256"])
    return onnx_path, InferenceConfig(**entry["inference"])


def _cached_export(weights: Path, engine: str) -> tuple[Path, InferenceConfig] | None:
    """The model of checkpoint `weights` exported once to ONNX (any render size) in the cache, exporting it now if
    it is not there yet, with its inference settings; None where PyTorch must run it instead."""
    # Keyed by the package version too: an export from another colorize may wrap the model differently.
    entry = cache_dir() / f"{__version__}-{sha256_file(weights)}"
    onnx_path = entry / EXPORT_NAME
    inference, exports = _read_meta(entry)
    if inference is not None and _verified(onnx_path, exports):
        return onnx_path, inference
    problem = _cannot_export(onnx_path, weights)
    if problem is not None:
        return _fall_back(engine, problem)
    from colorize.weights import load_generator  # imports torch: a light install is told the pip command (`friendly`)

    model, ckpt_meta = load_generator(weights)  # a bad weights file is the user's error, named here as on PyTorch
    inference = InferenceConfig.from_checkpoint(ckpt_meta)
    try:
        _export(model, inference, weights, onnx_path, stride_multiple(inference.render_factor * RENDER_UNIT_PX))
    except Exception as e:  # torch's exporter and onnxruntime's check raise many types of their own
        if not isinstance(e, WriteError):  # a full disk is checked again next time (`_cannot_export`), not remembered
            _remember_failure(onnx_path, str(e))
        return _fall_back(engine, f"{weights}: ONNX export failed ({e})")
    return onnx_path, inference


def _fall_back(engine: str, reason: str) -> None:
    """PyTorch runs the model instead, unless the user asked for ONNX: one warning saying why."""
    if engine == "onnx":
        raise ColorizeError(reason)
    log.warning("%s; running the model with PyTorch instead (--engine torch skips the ONNX engine)", reason)


def _failure_note(onnx_path: Path) -> Path:
    """Where a failed export of these weights is noted: one note per cache entry, since before the model is loaded
    the render size it will ask for is not known."""
    return onnx_path.parent / "export.failed"


def _cannot_export(onnx_path: Path, weights: Path) -> str | None:
    """Why an export cannot succeed now, found in milliseconds instead of after ~30 s of exporting: it failed
    recently, the cache is not writable, or its disk is too full for the export. None when it may go ahead."""
    note = _failure_note(onnx_path)
    try:
        age = time.time() - note.stat().st_mtime
        if age < FAILURE_MEMORY_S:
            return (f"{onnx_path.parent}: exporting this model to ONNX failed {age / 3600:.1f} h ago "
                    f"({note.read_text().strip()}); delete {note} to try again")
    except OSError:
        pass
    try:
        check_writable([onnx_path.parent])
    except ColorizeError as e:
        return f"{cache_dir()}: the ONNX cache is not writable ({e}; {CACHE_ENV} chooses another folder)"
    need = 2 * weights.stat().st_size + 64 * 2**20
    free = shutil.disk_usage(onnx_path.parent).free
    if free < need:
        return f"{onnx_path.parent}: {free / 2**20:.0f} MB free, the ONNX export needs ~{need / 2**20:.0f} MB"
    return None


def _remember_failure(onnx_path: Path, reason: str) -> None:
    """Note the failure beside where the export would be, so the next runs do not retry it for a while."""
    try:
        atomic_write(_failure_note(onnx_path), lambda tmp: tmp.write_text(reason[:500] + "\n"))
    except (OSError, ColorizeError):
        pass  # a cache that takes no file at all is caught by `_cannot_export` before the next export


def _read_meta(entry: Path) -> tuple[InferenceConfig | None, dict[str, str]]:
    """The cache entry's record: the model's inference settings (None when absent or unreadable) and the sha256 of
    each export it holds, by file name."""
    try:
        meta = json.loads((entry / "model.json").read_text())
        return InferenceConfig(**meta["inference"]), dict(meta.get("exports", {}))
    except (OSError, ValueError, KeyError, TypeError, ColorizeError):
        return None, {}


def _verified(onnx_path: Path, exports: dict[str, str]) -> bool:
    """Whether the cached export is the one that was written and checked (a flipped bit is caught here)."""
    if not onnx_path.is_file():
        return False
    if sha256_file(onnx_path) == exports.get(onnx_path.name):
        return True
    log.info("%s: does not match the checksum recorded when it was exported; exporting it again", onnx_path)
    return False


def _export(model: Any, inference: InferenceConfig, weights: Path, onnx_path: Path, size: int) -> None:
    """Export generator `model` (from `weights`), traced at `size` px, to `onnx_path` in its cache entry, beside the
    entry's record of its inference settings."""
    from colorize.export import export_model

    log.info("first run of %s: exporting it to ONNX once, so later runs start without PyTorch (cached in %s)",
             weights.name, onnx_path.parent)
    t0 = time.monotonic()
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(onnx_path, min_age_s=STALE_EXPORT_S)  # a killed export's; a younger one may be another's
    done = threading.Event()

    def heartbeat() -> None:  # the export is one long call: where it is slow, say every 10 s that it is still going
        while not done.wait(10):
            log.warning("exporting %s to ONNX once, so later runs start without PyTorch (%.0f s so far)", weights.name,
                        time.monotonic() - t0)

    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        report = export_model(model, onnx_path, "onnx", size)
    finally:
        done.set()
    log.info("exported in %.0f s; later runs start at once", time.monotonic() - t0)
    if report.max_abs_diff is None or not report.max_abs_diff <= MAX_EXPORT_DIFF:  # NaN fails too
        onnx_path.unlink(missing_ok=True)
        raise ValueError(f"its output differs from PyTorch's by {report.max_abs_diff}")
    _, exports = _read_meta(onnx_path.parent)
    exports[onnx_path.name] = sha256_file(onnx_path)
    record = {"weights": str(weights), "inference": inference.to_dict(), "exports": exports}
    atomic_write(onnx_path.parent / "model.json", lambda tmp: tmp.write_text(json.dumps(record, indent=2) + "\n"))
    _failure_note(onnx_path).unlink(missing_ok=True)
