"""Checkpoints and shipped weights: atomic saves, `weights_only` loads, sha256-checked manifests.

A checkpoint is a dict of plain values and tensors:
    format_version, kind ("generator" | "critic"), model_config, state_dict, and optionally
    optimizer, step, stage, config, extra.
Loading rebuilds the model from `model_config`, so a checkpoint alone is enough to colorize.

A model file `NAME.pt` may have a manifest `NAME.json` beside it (name, sha256, model_config, training, quality);
when it does, the file is verified against it before it is unpickled.

torch is imported only where a checkpoint is read or written: resolving and verifying weights stays torch-free for
the ONNX path (`colorize.onnx_engine`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colorize.atomic import atomic_write
from colorize.config import ModelConfig, from_dict, to_dict, upgrade_model_config
from colorize.errors import ConfigError, WeightsError

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_MODEL_NAME = "colorize-lite0-v7"
WEIGHTS_DIR_ENV = "COLORIZE_WEIGHTS_DIR"


def weights_dir() -> Path:
    """Where shipped models live: $COLORIZE_WEIGHTS_DIR; else, in a checkout (or an editable install), the
    repository's `weights/`; else the default model installed with the package, as its data (`colorize/shipped`),
    which every install method puts beside the code."""
    env = os.environ.get(WEIGHTS_DIR_ENV)
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent
    checkout = package.parent / "weights"
    return checkout if checkout.is_dir() else package / "shipped"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module behind torch.compile / DDP wrappers, so state_dict keys never carry their prefixes."""
    model = getattr(model, "_orig_mod", model)
    return getattr(model, "module", model)


def save_checkpoint(path: Path, model: nn.Module, kind: str, model_config: Any, **extra: Any) -> None:
    """Atomically save `model` with its config and any extra plain values (step, stage, optimizer, ...)."""
    import torch

    ckpt = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "model_config": to_dict(model_config),
        "state_dict": unwrap(model).state_dict(),
        **extra,
    }
    atomic_write(path, lambda tmp: torch.save(ckpt, tmp))


def save_half(src: Path, dst: Path, inference: dict[str, Any] | None = None) -> None:
    """Copy generator checkpoint `src` to `dst` for shipping: fp16 tensors, model config, step and inference
    settings (`inference` if given, e.g. with a re-tuned decoding knob)."""
    import torch

    ckpt = read_checkpoint(src, kind="generator")
    half = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    slim = {"format_version": FORMAT_VERSION, "kind": "generator", "model_config": ckpt["model_config"],
            "state_dict": half, "step": ckpt.get("step"), "stage": "shipped"}
    if inference or ckpt.get("inference"):
        slim["inference"] = inference or ckpt["inference"]
    elif ckpt.get("render_factor"):
        slim["render_factor"] = ckpt["render_factor"]
    atomic_write(dst, lambda tmp: torch.save(slim, tmp))


def read_checkpoint(path: Path, kind: str | None = None) -> dict[str, Any]:
    """Load a checkpoint dict safely (`weights_only=True`), checking its manifest and kind when known."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    if path.suffix.lower() == ".json":
        raise WeightsError(f"{path}: this is a model manifest, not the weights; pass {path.with_suffix('.pt')}")
    manifest_path = path.with_suffix(".json")
    if manifest_path.is_file():
        verify_manifest(path, read_manifest(manifest_path))
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many unrelated types (IndexError, UnpicklingError, ...) for a non-checkpoint
        # torch's own message advises weights_only=False, which would run the file's code: never shown to users.
        raise WeightsError(
            f"{path}: not a readable colorize checkpoint ({type(e).__name__}); it may be truncated or from another program"
        ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "model_config" not in ckpt:
        raise WeightsError(f"{path}: not a colorize checkpoint (no state_dict/model_config)")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise WeightsError(f"{path}: checkpoint format {ckpt['format_version']} is newer than this colorize; upgrade")
    if kind is not None and ckpt.get("kind") != kind:
        raise WeightsError(f"{path}: holds a {ckpt.get('kind')!r} model, expected a {kind!r}")
    return ckpt


def load_state(model: nn.Module, state_dict: dict[str, torch.Tensor], source: Path) -> None:
    """Strict load that reports which keys did not match."""
    missing, unexpected = unwrap(model).load_state_dict(state_dict, strict=False)
    if missing or unexpected:
        raise WeightsError(
            f"{source}: weights do not match the architecture "
            f"(missing: {', '.join(missing[:5]) or '-'}; unexpected: {', '.join(unexpected[:5]) or '-'})"
        )


def load_generator(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a generator from a checkpoint alone; returns (model in eval mode, checkpoint metadata)."""
    from colorize.models import create_generator

    ckpt = read_checkpoint(path, kind="generator")
    try:
        cfg = from_dict(ModelConfig, upgrade_model_config(ckpt["model_config"]))
    except ConfigError as e:
        raise WeightsError(f"{path}: model_config does not fit this colorize ({e})") from None
    model = create_generator(cfg, pretrained=False)
    state = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    load_state(model, state, Path(path))
    meta = {k: v for k, v in ckpt.items() if k not in ("state_dict", "optimizer")}
    return model.eval(), meta


def read_manifest(path: Path) -> dict[str, Any]:
    """Parse a model manifest JSON."""
    try:
        manifest = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise WeightsError(f"{path}: unreadable model manifest ({e})") from None
    if not isinstance(manifest, dict) or "sha256" not in manifest:
        raise WeightsError(f"{path}: model manifest has no sha256")
    return manifest


def verify_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse a weights file whose sha256 differs from its manifest (truncated download, tampering)."""
    verify_file(path, manifest["sha256"])


def verify_file(path: Path, sha256: str) -> None:
    """Refuse a shipped file (weights, an export) whose sha256 is not `sha256`, or that is missing."""
    if not Path(path).is_file():
        raise WeightsError(f"{path}: missing; reinstall colorize, or restore it (`git checkout -- weights/`)")
    actual = sha256_file(path)
    if actual != sha256:
        raise WeightsError(
            f"{path}: sha256 mismatch (expected {sha256[:12]}…, got {actual[:12]}…); the file is "
            "truncated or modified: restore it (`git checkout -- weights/` or `git lfs pull`) or re-export it"
        )


def write_manifest(weights_path: Path, **fields: Any) -> Path:
    """Write `NAME.json` beside `NAME.pt` with its sha256 and the given fields; returns the manifest path."""
    manifest = {"name": weights_path.stem, "file": weights_path.name, "sha256": sha256_file(weights_path), **fields}
    out = weights_path.with_suffix(".json")
    atomic_write(out, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2) + "\n"))
    return out


def resolve_weights(explicit: Path | None) -> Path:
    """Explicit `--weights` path, else the shipped default model; a clear error when there is none."""
    if explicit is not None:
        return Path(explicit)
    wdir = weights_dir()
    manifest_path = wdir / f"{DEFAULT_MODEL_NAME}.json"
    if not manifest_path.is_file():
        raise WeightsError(
            f"no default model found ({manifest_path} is missing). Pass --weights PATH to a checkpoint from "
            f"`colorize train` (e.g. RUN/final.pt), or set {WEIGHTS_DIR_ENV} to a folder holding {DEFAULT_MODEL_NAME}.pt"
        )
    return wdir / read_manifest(manifest_path).get("file", f"{DEFAULT_MODEL_NAME}.pt")


def list_shipped() -> list[dict[str, Any]]:
    """Manifests of the models in the weights folder, each with `present` and `verified` flags added."""
    found = []
    for manifest_path in sorted(weights_dir().glob("*.json")):
        try:
            m = read_manifest(manifest_path)
        except WeightsError as e:
            found.append({"name": manifest_path.stem, "error": str(e)})
            continue
        pt = manifest_path.parent / m.get("file", manifest_path.stem + ".pt")
        m["present"] = pt.is_file()
        m["verified"] = m["present"] and sha256_file(pt) == m["sha256"]
        found.append(m)
    return found
