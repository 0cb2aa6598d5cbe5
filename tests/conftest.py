"""Shared fixtures: a tiny random generator checkpoint and small real-ish photos, all made on the fly."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import torch
from PIL import Image

from colorize.config import ModelConfig
from colorize.models import create_generator
from colorize.onnx_engine import CACHE_ENV
from colorize.train.common import StepLog
from colorize.weights import save_checkpoint

TINY = ModelConfig(arch="tiny")


def interrupt() -> None:
    """Ctrl-C, as a training loop sees it."""
    raise KeyboardInterrupt


@contextmanager
def at_step(step: int, action: Callable[[], None]) -> Iterator[None]:
    """Within the block, every training stage calls `action` just after logging step `step`: an interruption at a
    known step."""
    real_call = StepLog.__call__

    def hooked(self: StepLog, n: int, **values: float) -> None:
        real_call(self, n, **values)
        if n == step:
            action()

    StepLog.__call__ = hooked  # type: ignore[method-assign]
    try:
        yield
    finally:
        StepLog.__call__ = real_call  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX engine's export cache in a temporary folder (subprocesses inherit it), never the user's home."""
    path = tmp_path_factory.mktemp("onnx-cache")
    os.environ[CACHE_ENV] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny generator saved as a real checkpoint (what `colorize train` writes)."""
    torch.manual_seed(0)
    model = create_generator(TINY)
    # One training-mode pass settles BatchNorm statistics so eval outputs are not saturated.
    with torch.no_grad():
        model.train()(torch.rand(4, 1, 64, 64))
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_checkpoint(path, model, kind="generator", model_config=TINY, step=0, stage="test")
    return path


def visible(folder: Path) -> list[str]:
    """The names in `folder` a user sees: not the hidden records of what each output was made from."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def photo_array(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth colour test picture (gradients plus a few blobs), (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xx / w, yy / h, 1 - xx / w], -1) * 200 + rng.normal(0, 10, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def write_photo_file(path: Path, mode: str = "RGB", h: int = 48, w: int = 64, seed: int = 0, **save: object) -> Path:
    """Save a test photo in the given Pillow mode."""
    img = Image.fromarray(photo_array(h, w, seed))
    if mode == "I;16":
        arr = np.asarray(img.convert("L")).astype(np.uint16) * 257
        img = Image.fromarray(arr)
    elif mode != "RGB":
        img = img.convert(mode)
    img.save(path, **save)
    return path


def scene(seed: int, h: int = 96, w: int = 128) -> np.ndarray:
    """Sky over grass with a warm blob: a photo-like layout whose colours follow from structure."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    horizon = int(h * rng.uniform(0.3, 0.7))
    img[:horizon] = (90, 150, 230)
    img[horizon:] = (60, 160, 50)
    cy, cx, r = rng.integers(10, h - 10), rng.integers(10, w - 10), rng.integers(6, 16)
    yy, xx = np.mgrid[0:h, 0:w]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = (220, 120, 60)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 small scenes (JPEG and PNG) and one broken file: a corpus to train the tiny model on."""
    d = tmp_path_factory.mktemp("photos")
    for i in range(14):
        Image.fromarray(scene(i)).save(d / f"p{i:02d}.{'jpg' if i % 2 else 'png'}")
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    return d
