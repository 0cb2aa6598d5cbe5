"""Shared fixtures: a tiny random generator checkpoint, a corpus of small real-ish photos, all made on the fly, and
the ONNX export cache kept out of the user's home. Plain helpers live in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from colorize.config import ModelConfig
from colorize.models import create_generator
from colorize.onnx_engine import CACHE_ENV
from colorize.weights import save_checkpoint

from helpers import scene

TINY = ModelConfig(arch="tiny")


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


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 small scenes (JPEG and PNG) and one broken file: a corpus to train the tiny model on."""
    d = tmp_path_factory.mktemp("photos")
    for i in range(14):
        Image.fromarray(scene(i)).save(d / f"p{i:02d}.{'jpg' if i % 2 else 'png'}")
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    return d
