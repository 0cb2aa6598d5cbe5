"""Training data: colour photos -> (crappified gray input, colour target) pairs.

Every sample is a pure function of (seed, sample id): sample `k` seeds its own RNG, picks a photo, a crop, a flip
and its damage. Batches therefore depend only on the step number, so a resumed run sees exactly the batches an
uninterrupted one would, and data-parallel ranks can take disjoint ids without coordination.
"""

from __future__ import annotations

import io
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from colorize.color.ycbcr import to_gray
from colorize.config import DataConfig
from colorize.corpus import CUTOUTS_DIR, PhotoFiles, is_prepared, list_photos, read_manifest, split_photos
from colorize.errors import ConfigError

log = logging.getLogger(__name__)

# Statistics of the corpus (the ab prior) are computed on at most this many of its photos, spread evenly.
PRIOR_PHOTOS = 2000
# Validation decodes at most this many held-out photos: scores need a few hundred, not a million.
MAX_VALIDATION_PHOTOS = 500

def validation_photos(root: Path, cfg: DataConfig, max_short_side_px: int, limit: int | None = None) -> list[np.ndarray]:
    """The held-out side of `root`'s split, decoded (at most `limit`), for scoring. Every stage reads it before it
    trains, so a problem shows at once. Where the held-out side has no readable photo (a small corpus, or one
    whose held-out files are damaged), the first readable training photos stand in, said in the log: their scores
    flatter, and the corpus needs more photos for honest ones."""
    train_paths, val_paths = split_photos(list_photos(root), root, cfg.val_fraction, cfg.split == "by-source")
    limit = min(limit or MAX_VALIDATION_PHOTOS, MAX_VALIDATION_PHOTOS)
    photos = _decode_some(PhotoFiles(root, val_paths), max_short_side_px, limit)
    if not photos:
        unreadable = f" ({len(val_paths)} held out, none readable)" if val_paths else ""
        log.warning("%s: no readable held-out photo%s; validating on training photos instead, which flatters the "
                    "scores", root, unreadable)
        photos = _decode_some(PhotoFiles(root, train_paths), max_short_side_px, min(4, limit))
    if not photos:
        raise ConfigError(f"{root}: none of its {len(train_paths) + len(val_paths)} photos is readable")
    return photos


def _decode_some(files: PhotoFiles, max_short_side_px: int, limit: int) -> list[np.ndarray]:
    """The first `limit` readable photos of `files`, decoded."""
    out: list[np.ndarray] = []
    for i in range(len(files)):
        if len(out) >= limit:
            break
        img = files.decode(i, max_short_side_px)
        if img is not None:
            out.append(img)
    return out


def crappify(rgb: np.ndarray, cfg: DataConfig, rng: np.random.Generator) -> np.ndarray:
    """Colour photo -> the gray, faded, blurred, noisy, JPEG-damaged print an old scan looks like; (H, W) uint8."""
    g = to_gray(rgb).astype(np.float32)
    if rng.random() < cfg.fade_prob:
        contrast, brightness = rng.uniform(0.6, 1.0), rng.uniform(-25, 25)
        g = (g - 128) * contrast + 128 + brightness
    if rng.random() < cfg.blur_prob:
        g = cv2.GaussianBlur(g, (0, 0), sigmaX=rng.uniform(0.3, 1.2))
    g = g + rng.normal(0, rng.uniform(0, cfg.noise_std_max) * 255, g.shape).astype(np.float32)
    g8 = np.clip(np.round(g), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(g8).save(buf, format="JPEG", quality=int(rng.integers(cfg.jpeg_quality_min, cfg.jpeg_quality_max + 1)))
    return np.asarray(Image.open(buf).convert("L"))


def crop_window(h: int, w: int, rng: np.random.Generator, min_area: float = 0.25) -> tuple[int, int, int, int]:
    """(y0, x0, height, width) of a random crop: `min_area`-100% of the area, aspect 3:4 to 4:3."""
    for _ in range(10):
        area = h * w * rng.uniform(min_area, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw, ch = round(np.sqrt(area * aspect)), round(np.sqrt(area / aspect))
        if cw <= w and ch <= h:
            break
    else:
        cw = ch = min(h, w)
    return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw


def resize_flip(rgb: np.ndarray, size_px: int, rng: np.random.Generator) -> np.ndarray:
    """Resize to (size, size, 3) and flip horizontally with probability 1/2."""
    out = cv2.resize(rgb, (size_px, size_px), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out[:, ::-1]) if rng.random() < 0.5 else out


def paste_cutouts(rgb: np.ndarray, cutouts: Sequence[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """Paste `n` random RGBA cut-outs onto (H, W, 3) uint8 `rgb`: random place and flip, 0.5-1.3x native size but
    never upscaled past native nor larger than 90% of the picture, soft alpha edges kept; a new array.

    Alpha is premultiplied before resizing, so the transparent pixels' stored colour never bleeds into the edges.
    """
    out = rgb.astype(np.float32)
    h, w = out.shape[:2]
    for _ in range(n):
        cut = cutouts[int(rng.integers(len(cutouts)))]
        scale = min(rng.uniform(0.5, 1.3), 1.0, 0.9 * h / cut.shape[0], 0.9 * w / cut.shape[1])
        ch, cw = max(1, round(cut.shape[0] * scale)), max(1, round(cut.shape[1] * scale))
        alpha = cut[..., 3:].astype(np.float32) / 255.0
        premul = np.concatenate([cut[..., :3] * alpha, alpha], axis=-1)
        if (ch, cw) != cut.shape[:2]:
            premul = cv2.resize(premul, (cw, ch), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            premul = premul[:, ::-1]
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        region = out[y0 : y0 + ch, x0 : x0 + cw]
        region[:] = premul[..., :3] + (1 - premul[..., 3:]) * region
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def center_square(rgb: np.ndarray, size_px: int) -> np.ndarray:
    """Central square crop resized to (size, size, 3): the deterministic view used for validation."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return cv2.resize(rgb[y0 : y0 + s, x0 : x0 + s], (size_px, size_px), interpolation=cv2.INTER_AREA)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) uint8 -> (C, H, W) float in [0, 1]."""
    t = torch.from_numpy(np.array(img, copy=True)).float().div_(255.0)
    return t[None] if t.ndim == 2 else t.permute(2, 0, 1)


@dataclass
class TrainingPhotos:
    """The training side of a corpus (a folder, or one `colorize data prepare` made), each photo decoded when a
    sample needs it (in the DataLoader's workers), so memory grows with the corpus by only 50-80 bytes a photo (its
    name and place); each photo's sampling weight; the RGBA cut-outs pasted on."""

    files: PhotoFiles
    people: np.ndarray  # bool per photo
    weights: np.ndarray  # sampling probability per photo, sums to 1
    max_short_side_px: int
    cutouts: list[np.ndarray] = field(default_factory=list)
    unreadable: set[int] = field(default_factory=set)  # found so far, in this process

    def __len__(self) -> int:
        return len(self.files)

    def photo(self, i: int) -> tuple[int, np.ndarray]:
        """Photo `i` decoded, or where it cannot be, the next readable one: (its index, RGB). A file that fails is
        skipped from then on and counted in the log, never a crash."""
        for k in (j % len(self) for j in range(i, i + len(self))):
            if k in self.unreadable:
                continue
            img = self.files.decode(k, self.max_short_side_px)
            if img is not None:
                return k, img
            self.unreadable.add(k)
            log.warning("%d training photo(s) unreadable so far, skipped", len(self.unreadable))
        raise ConfigError("no readable photos to train on")

    def decoded(self, limit: int = PRIOR_PHOTOS) -> Iterator[np.ndarray]:
        """Up to `limit` readable photos, spread evenly over the corpus (for statistics such as the ab prior)."""
        for i in np.unique(np.linspace(0, len(self) - 1, min(limit, len(self))).astype(int)):
            img = self.files.decode(int(i), self.max_short_side_px)
            if img is not None:
                yield img


def load_cutouts(root: Path) -> list[np.ndarray]:
    """Every RGBA cut-out (H, W, 4) uint8 in `root/cutouts`, at its native size."""
    folder = Path(root) / CUTOUTS_DIR
    out = []
    for path in sorted(folder.glob("*.png")) if folder.is_dir() else []:
        with Image.open(path) as im:
            out.append(np.asarray(im.convert("RGBA")))
    return out


def training_photos(root: Path, cfg: DataConfig, max_short_side_px: int) -> TrainingPhotos:
    """The training side of `root`'s split, with people weighted up (by the manifest's `group`); photos are decoded
    as samples need them, so any size of corpus fits in memory."""
    train_paths, _ = split_photos(list_photos(root), root, cfg.val_fraction, cfg.split == "by-source")
    groups = {k: v.get("group") for k, v in read_manifest(root).items()}
    people = np.array([groups.get(p.relative_to(root).as_posix()) == "people" for p in train_paths], bool)
    weights = np.where(people, cfg.people_weight, 1.0)
    train = TrainingPhotos(PhotoFiles(root, train_paths), people, weights / weights.sum(), max_short_side_px, load_cutouts(root))
    train.photo(0)  # at least one readable photo, found now rather than in the first batch
    log.info("%d training photos, %d of people, decoded as needed%s", len(train), people.sum(),
             " from shards" if is_prepared(root) else "")
    if train.cutouts:
        log.info("loaded %d cut-outs to paste onto %d%% of training crops", len(train.cutouts), round(100 * cfg.composite_prob))
    return train


class CrappifiedPhotos(Dataset):
    """Sample id k -> ((1, S, S) damaged gray, (3, S, S) colour target); see the module docstring.

    A sample's photo is drawn by weight (people weighted up); a crop of a photo of people keeps at least
    `people_min_crop_area` of it, so the people stay in the picture. With probability `composite_prob` cut-outs
    are pasted onto the crop, the composite being both target and (gray) input.
    """

    def __init__(self, train: TrainingPhotos, size_px: int, cfg: DataConfig, seed: int) -> None:
        self.train, self.size_px, self.cfg, self.seed = train, size_px, cfg, seed

    def __len__(self) -> int:
        return 2**62  # ids are drawn by StepBatches, never enumerated

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, k])
        i, photo = self.train.photo(int(rng.choice(len(self.train), p=self.train.weights)))
        min_area = self.cfg.people_min_crop_area if self.train.people[i] else 0.25
        y0, x0, ch, cw = crop_window(*photo.shape[:2], rng, min_area)
        window = photo[y0 : y0 + ch, x0 : x0 + cw]
        if self.train.cutouts and rng.random() < self.cfg.composite_prob:
            window = paste_cutouts(window, self.train.cutouts, int(rng.integers(1, self.cfg.max_cutouts + 1)), rng)
        real = resize_flip(window, self.size_px, rng)
        return to_tensor(crappify(real, self.cfg, rng)), to_tensor(real)


class StepBatches:
    """Batch sampler: step s on rank r of w takes sample ids ((s * w + r) * B ... + B - 1)."""

    def __init__(self, start_step: int, stop_step: int, batch_size: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.stop, self.batch_size, self.rank, self.world = start_step, stop_step, batch_size, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        for s in range(self.start, self.stop):
            first = (s * self.world + self.rank) * self.batch_size
            yield list(range(first, first + self.batch_size))

    def __len__(self) -> int:
        return self.stop - self.start


def _ignore_stop_signals(worker_id: int) -> None:
    # Ctrl-C reaches the whole process group: workers leave stopping to the main process, which finishes its step,
    # writes the resume point (`colorize.train.common.StopRequest`) and then shuts them down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def step_loader(dataset: Dataset, sampler: Iterable[list[int]], num_workers: int) -> DataLoader:
    """DataLoader over `sampler`'s batches of sample ids (a `StepBatches`, or any list of id lists); workers only
    when asked (on 2 cores they compete with the model)."""
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, persistent_workers=False,
                      worker_init_fn=_ignore_stop_signals if num_workers else None)


def validation_pairs(pool: Sequence[np.ndarray], size_px: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(plain gray, real colour) pairs at `size_px` for scoring: no damage, so the metric measures colour only."""
    reals = [center_square(img, size_px) for img in pool]
    return [(to_gray(r), r) for r in reals]
