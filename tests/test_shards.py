"""`colorize data prepare`: a folder packed into tar shards trains like the folder, reruns redo only what changed,
and a damaged photo inside a shard is skipped and counted."""

import csv
import logging
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.config import DataConfig
from colorize.corpus import PhotoFiles, list_photos, split_photos
from colorize.errors import ConfigError
from colorize.data import CrappifiedPhotos, training_photos
from colorize.shards import prepare

runner = CliRunner()


def source(tmp_path: Path) -> Path:
    """12 files in two sources and a subfolder, one of them not an image, a manifest and a cut-out."""
    src = tmp_path / "src"
    (src / "album").mkdir(parents=True)
    (src / "cutouts").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(11):
        name = f"album/a{i}.jpg" if i < 4 else f"pack__set{i % 2}__p{i}.{'png' if i % 3 else 'jpg'}"
        Image.fromarray(rng.integers(0, 255, (150, 200, 3), np.uint8)).save(src / name)
        rows.append({"file": name, "group": "people" if i < 4 else "objects", "licence": "CC0"})
    (src / "bad.jpg").write_bytes(b"not a jpeg")
    Image.new("RGBA", (20, 20), (255, 0, 0, 128)).save(src / "cutouts" / "c.png")
    with open(src / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "group", "licence"])
        w.writeheader()
        w.writerows(rows)
    return src


def test_a_prepared_corpus_trains_like_its_folder(tmp_path: Path) -> None:
    src, out = source(tmp_path), tmp_path / "out"
    report = prepare(src, out, size_px=64, photos_per_shard=5)
    assert (report.photos, report.shards, report.unreadable) == (11, 3, ["bad.jpg"])
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    names = [r["file"] for r in rows]
    members = []
    for k in range(3):
        with tarfile.open(out / "shards" / f"{k:06d}.tar") as tar:
            members += tar.getnames()
    assert members == names and "bad.jpg" not in names
    assert {r["file"]: r["group"] for r in rows}["album/a0.jpg"] == "people" and rows[0]["licence"] == "CC0"
    assert (out / "cutouts" / "c.png").is_file()
    # Same names, so the same split, random or by source; each photo stored at 64 px on its short side.
    for by_source in (False, True):
        a = split_photos(list_photos(src), src, 0.3, by_source)
        b = split_photos(list_photos(out), out, 0.3, by_source)
        assert [[p.relative_to(out) for p in side] for side in b] == [[p.relative_to(src) for p in side if p.name != "bad.jpg"] for side in a]
    files = PhotoFiles(out, list_photos(out))
    assert all(min(files.decode(i, 1000).shape[:2]) == 64 for i in range(len(files)))
    cfg = DataConfig(val_fraction=0.3)
    train = training_photos(out, cfg, 64)
    assert train.people.sum() == sum(r["group"] == "people" for r in rows if out / r["file"] in b[0])
    x, y = CrappifiedPhotos(train, 32, cfg, seed=0)[3]
    assert x.shape == (1, 32, 32) and y.shape == (3, 32, 32) and torch.isfinite(y).all()


def test_a_rerun_rebuilds_only_the_shards_whose_photos_or_settings_changed(tmp_path: Path) -> None:
    src, out = source(tmp_path), tmp_path / "out"
    prepare(src, out, size_px=64, photos_per_shard=5)
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.tar")}
    again = prepare(src, out, size_px=64, photos_per_shard=5)
    assert again.shards_reused == 3 and again.unreadable == ["bad.jpg"]
    Image.new("RGB", (90, 90), (0, 200, 0)).save(src / "album" / "a0.jpg")  # shard 0's first photo
    changed = prepare(src, out, size_px=64, photos_per_shard=5)
    assert changed.shards_reused == 2
    now = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.tar")}
    assert [n for n in stamps if now[n] != stamps[n]] == ["000000.tar"]
    files = PhotoFiles(out, list_photos(out))
    assert files.name(0) == "album/a0.jpg" and files.decode(0, 64)[..., 1].mean() > 150
    assert prepare(src, out, size_px=48, photos_per_shard=5).shards_reused == 0


def test_a_damaged_photo_inside_a_shard_is_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src, out = source(tmp_path), tmp_path / "out"
    prepare(src, out, size_px=64, photos_per_shard=20)
    with open(out / "manifest.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["file"] == "album/a1.jpg")
    with open(out / "shards" / "000000.tar", "r+b") as f:
        f.seek(int(row["offset"]))
        f.write(b"\0" * int(row["size"]))
    cfg = DataConfig(val_fraction=0.0)
    train = training_photos(out, cfg, 64)
    with caplog.at_level(logging.WARNING):
        samples = [CrappifiedPhotos(train, 32, cfg, seed=0)[k] for k in range(100)]
    assert all(torch.isfinite(y).all() for _, y in samples)
    assert len(train.unreadable) == 1 and "album/a1.jpg: skipped, unreadable" in caplog.text
    # A damaged index is one line naming it, not a traceback.
    text = (out / "manifest.csv").read_text().splitlines()
    (out / "manifest.csv").write_text("\n".join([text[0], text[1].replace(",0,", ",zero,", 1), *text[2:]]) + "\n")
    with pytest.raises(ConfigError, match="manifest.csv: damaged index"):
        training_photos(out, cfg, 64)


def test_data_prepare_from_the_command_line(tmp_path: Path) -> None:
    src, out = source(tmp_path), tmp_path / "out"
    r = runner.invoke(app, ["data", "prepare", str(src), str(out), "--size", "64", "--per-shard", "4", "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert "11 photos in 3 shards (0 already done); 1 unreadable" in r.output
    prepare(src, tmp_path / "one", size_px=64, photos_per_shard=4, workers=1)  # the same shards, one at a time
    assert (out / "manifest.csv").read_text() == (tmp_path / "one" / "manifest.csv").read_text()
    assert all((out / "shards" / n).read_bytes() == (tmp_path / "one" / "shards" / n).read_bytes() for n in ("000000.tar", "000002.tar"))
    r = runner.invoke(app, ["data", "prepare", str(tmp_path / "nowhere"), str(out)])
    assert r.exit_code != 0 and "nowhere: data folder not found" in r.output
    for bad_out, why in ((src, "must go to a new folder outside its source"), (src / "album" / "packed", "outside its source"),
                         (tmp_path / "again", "already a prepared corpus"), (tmp_path, "exists and holds other files")):
        r = runner.invoke(app, ["data", "prepare", str(out if why.startswith("already") else src), str(bad_out)])
        assert r.exit_code != 0 and why in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1
