"""A corpus of colour photos on disk: which files are photos, which side of the train/validation split each is on,
and what the manifest says of them (group, licence). Torch-free: `colorize eval` reads it without training code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from colorize.config import DataConfig
from colorize.errors import ConfigError
from colorize.images import PHOTO_SUFFIXES, load_rgb

log = logging.getLogger(__name__)

# Photo cut-outs with alpha live in this subfolder of the data folder: pasted onto training photos, never photos
# of their own (and so never in the validation split).
CUTOUTS_DIR = "cutouts"
# A corpus made by `colorize data prepare` keeps its photos in tar shards here, indexed by its manifest
# (`colorize.shards`).
SHARDS_DIR = "shards"


def is_prepared(root: Path) -> bool:
    """Whether `root` is a corpus made by `colorize data prepare` (shards and their index) rather than a folder."""
    return (Path(root) / SHARDS_DIR).is_dir() and (Path(root) / MANIFEST).is_file()


def list_photos(root: Path) -> list[Path]:
    """Every image file under `root` (recursive, by suffix, hidden files and the cut-outs folder skipped), sorted.
    For a prepared corpus, the photos its manifest indexes, named as they were in the source folder (read them
    with `PhotoFiles`)."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root}: data folder not found")
    if is_prepared(root):
        paths = sorted(root / name for name, row in read_manifest(root).items() if row.get("shard"))
        if not paths:
            raise ConfigError(f"{root / MANIFEST}: indexes no photos; rerun `colorize data prepare`")
        return paths
    paths = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES and not any(s.startswith(".") for s in p.relative_to(root).parts)
        and p.relative_to(root).parts[0] != CUTOUTS_DIR
    )
    if not paths:
        raise ConfigError(f"{root}: no photos found (looked for {', '.join(sorted(PHOTO_SUFFIXES))})")
    return paths


def _hash_fraction(text: str) -> float:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 2**32


MANIFEST = "manifest.csv"


def read_manifest(root: Path) -> dict[str, dict[str, str]]:
    """`root/manifest.csv` (written by scripts/get_photos.py) by file path relative to `root`; empty if absent."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f) if "file" in row}


def source_of(path: Path, root: Path) -> str:
    """Where a photo comes from: its subfolder and the part of its name before the last `__` (scripts/get_photos.py
    names files PACKAGE__SET__NAME), so the photos of one activity set, wallpaper pack or album share a source."""
    rel = path.relative_to(root)
    parts = [*rel.parent.parts, *([rel.name.rsplit("__", 1)[0]] if "__" in rel.name else [])]
    return "/".join(parts) or rel.name


def split_photos(paths: Sequence[Path], root: Path, val_fraction: float, by_source: bool = False) -> tuple[list[Path], list[Path]]:
    """Deterministic train/val split; a photo never changes sides.

    Random (the default): the side `root/manifest.csv` records for a photo, else a hash of its path relative to
    `root` against `val_fraction`. By source: whole sources (`source_of`) are held out, by a hash of the source's
    name against `val_fraction`, so validation photos share no activity set, album or photographer with training
    ones and their scores say how a model does on photos of a kind it never saw. Sources are held out group by group
    (`_held_out_sources`), so no group loses all its photos to validation."""
    manifest = read_manifest(root)
    if by_source:
        val = _held_out_sources(paths, root, manifest, val_fraction)
        return sorted(set(paths) - set(val)), sorted(val)

    def side(p: Path) -> str | None:
        return manifest.get(p.relative_to(root).as_posix(), {}).get("split")

    recorded = {p for p in paths if side(p) in ("train", "val")}
    hashed = sorted((p for p in paths if p not in recorded), key=lambda p: _hash_fraction(p.relative_to(root).as_posix()))
    val = [p for p in recorded if side(p) == "val"]
    val += [p for p in hashed if _hash_fraction(p.relative_to(root).as_posix()) < val_fraction]
    if not val and val_fraction > 0 and len(hashed) >= 2:
        val = hashed[:1]  # always hold out at least one photo, the one with the smallest hash
    train = sorted(p for p in paths if p not in set(val))
    return train, sorted(val)


def _held_out_sources(paths: Sequence[Path], root: Path, manifest: dict, val_fraction: float) -> list[Path]:
    """Within each group (a source's commonest manifest group), whole sources in the order of a hash of their
    names, until the group's held-out photos reach `val_fraction` of it; one source of each group always stays in
    training."""
    by_source: dict[str, list[Path]] = {}
    for p in paths:
        by_source.setdefault(source_of(p, root), []).append(p)
    groups: dict[str, list[str]] = {}
    for source, members in by_source.items():
        kinds = [manifest.get(p.relative_to(root).as_posix(), {}).get("group") or "other" for p in members]
        groups.setdefault(max(sorted(set(kinds)), key=kinds.count), []).append(source)
    val: list[Path] = []
    for sources in groups.values():
        total, held = sum(len(by_source[s]) for s in sources), 0
        for source in sorted(sources, key=lambda s: _hash_fraction(f"source:{s}"))[: len(sources) - 1]:
            if held >= val_fraction * total:
                break
            val += by_source[source]
            held += len(by_source[source])
    return val


def held_out_photos(root: Path, val_fraction: float = DataConfig.val_fraction, by_source: bool = False
                    ) -> tuple[list[Path], dict[Path, str]]:
    """The photos of `root` that training holds out (`split_photos`), and each one's group from the manifest
    ("other" where it records none): what the model card scores."""
    root = Path(root)
    _, val = split_photos(list_photos(root), root, val_fraction, by_source)
    manifest = read_manifest(root)
    return val, {p: manifest.get(p.relative_to(root).as_posix(), {}).get("group") or "other" for p in val}


class PhotoFiles:
    """Where each of a list of photos lives, compactly: names in one byte string (~50 bytes a photo where a list of
    Paths costs ~850; no library keeps a string table this small) and, for a prepared corpus, each one's shard,
    offset and size. `open(i)` gives something `PIL.Image.open` reads: the file, or the shard member's bytes."""

    def __init__(self, root: Path, paths: Sequence[Path]) -> None:
        self.root = Path(root)
        encoded = [p.relative_to(self.root).as_posix().encode() for p in paths]
        self._blob = b"".join(encoded)
        self._ends = np.cumsum([0, *(len(e) for e in encoded)], dtype=np.int64)
        self._where: np.ndarray | None = None
        if is_prepared(self.root):
            manifest = read_manifest(self.root)
            try:
                rows = [manifest[e.decode()] for e in encoded]
                self._where = np.array([[int(r["shard"]), int(r["offset"]), int(r["size"])] for r in rows], np.int64).reshape(-1, 3)
            except (KeyError, TypeError, ValueError) as e:
                raise ConfigError(f"{self.root / MANIFEST}: damaged index ({type(e).__name__}: {e}); rerun `colorize data "
                                  f"prepare` to rebuild it") from None

    def __len__(self) -> int:
        return len(self._ends) - 1

    def name(self, i: int) -> str:
        """Photo `i`'s path relative to the corpus."""
        return self._blob[self._ends[i] : self._ends[i + 1]].decode()

    def open(self, i: int) -> Path | io.BytesIO:
        if self._where is None:
            return self.root / self.name(i)
        shard, offset, size = (int(v) for v in self._where[i])
        with open(self.root / SHARDS_DIR / f"{shard:06d}.tar", "rb") as f:
            f.seek(offset)
            return io.BytesIO(f.read(size))

    def decode(self, i: int, max_short_side_px: int) -> np.ndarray | None:
        """Photo `i` as RGB with its short side at most `max_short_side_px`; None (and a line in the log naming it)
        where it cannot be read, its shard included."""
        try:
            source = self.open(i)
        except OSError as e:
            log.warning("%s: skipped, unreadable (%s)", self.root / self.name(i), e)
            return None
        return load_rgb(source, max_short_side_px, label=str(self.root / self.name(i)))
