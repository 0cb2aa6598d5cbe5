"""Training data (colorize/data.py, colorize/corpus.py): cut-outs pasted onto photos, people weighted up, the
manifest's fixed split, unreadable photos skipped and counted, and a held-out side none of whose photos reads."""

import csv
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.config import DataConfig
from colorize.corpus import held_out_photos, list_photos, split_photos
from colorize.data import CrappifiedPhotos, paste_cutouts, training_photos
from colorize.errors import ConfigError

from helpers import color_folder


def disc(size: int, color: tuple[int, int, int]) -> np.ndarray:
    """An RGBA cut-out: an opaque disc with a soft edge on a transparent square whose hidden colour is magenta."""
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    alpha = np.clip((size / 2 - r) / 2, 0, 1) * 255
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[...] = (255, 0, 255, 0)
    rgba[alpha > 0, :3] = color
    rgba[..., 3] = alpha.astype(np.uint8)
    return rgba


def test_paste_respects_alpha_and_never_upscales() -> None:
    bg = np.full((200, 200, 3), 100, np.uint8)
    cut = disc(40, (250, 20, 20))
    for seed in range(20):
        out = paste_cutouts(bg, [cut], 1, np.random.default_rng(seed))
        changed = np.any(out != 100, axis=-1)
        ys, xs = np.nonzero(changed)
        assert changed.any() and np.ptp(ys) < 40 and np.ptp(xs) < 40  # never larger than native
        # Transparent pixels leave the background alone; the hidden magenta never bleeds into the soft edge.
        assert not np.any((out[..., 0] > 110) & (out[..., 2] > 110))
        assert np.any(np.all(out == (250, 20, 20), axis=-1))  # the opaque middle is the cut-out's own colour
    assert np.array_equal(bg, np.full((200, 200, 3), 100, np.uint8))  # input untouched


def test_paste_fits_a_cutout_larger_than_the_picture() -> None:
    out = paste_cutouts(np.zeros((30, 50, 3), np.uint8), [disc(120, (0, 200, 0))], 2, np.random.default_rng(0))
    assert out.shape == (30, 50, 3) and out[..., 1].max() > 150


def corpus(tmp_path: Path, people_val: bool = False) -> Path:
    root = tmp_path / "photos"
    (root / "cutouts").mkdir(parents=True)
    rows = []
    for i in range(6):
        name = f"p{i}.png"
        Image.fromarray(np.full((64, 64, 3), (30 * i, 100, 200 - 30 * i), np.uint8)).save(root / name)
        rows.append({"file": name, "group": "people" if i == 0 else "landscapes", "split": "val" if i == 5 or (people_val and i == 0) else "train"})
    Image.fromarray(disc(24, (250, 250, 0))).save(root / "cutouts" / "star.png")
    rows.append({"file": "cutouts/star.png", "group": "cutout", "split": "train"})
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "group", "split"])
        w.writeheader()
        w.writerows(rows)
    return root


def test_manifest_split_wins_and_cutouts_are_never_photos(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    paths = list_photos(root)
    assert all("cutouts" not in p.parts for p in paths) and len(paths) == 6
    train, val = split_photos(paths, root, val_fraction=0.5)
    assert [p.name for p in val] == ["p5.png"] and len(train) == 5


def test_held_out_photos_carry_their_manifest_group(tmp_path: Path) -> None:
    root = corpus(tmp_path, people_val=True)
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(root / "unlisted.png")  # no manifest row: hash split
    val, group_of = held_out_photos(root, val_fraction=1.0)
    assert [p.name for p in val] == ["p0.png", "p5.png", "unlisted.png"]
    assert [group_of[p] for p in val] == ["people", "landscapes", "other"]


def test_eval_held_out_scores_the_held_out_photos_per_group(tmp_path: Path, tiny_weights: Path) -> None:
    root = corpus(tmp_path, people_val=True)
    common = ["-w", str(tiny_weights), "--device", "cpu", "-r", "7"]
    r = CliRunner().invoke(app, ["eval", "--data", str(root), "--held-out", *common, "--json", str(tmp_path / "held.json"),
                                 "--sheet", str(tmp_path / "sheet.png")])
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "held.json").read_text())
    assert res["n_photos"]["count"] == 2 and "people: 1 photos" in r.stdout
    # The sheet shows the held-out photos' real colour (each corpus photo is one flat colour), not the others'.
    sheet = np.asarray(Image.open(tmp_path / "sheet.png").convert("RGB")).reshape(-1, 3)
    shown = {i: int((sheet == (30 * i, 100, 200 - 30 * i)).all(axis=1).sum()) for i in range(6)}
    assert shown[0] > 1000 and shown[5] > 1000 and shown[1] == shown[2] == shown[3] == shown[4] == 0, shown
    assert {g: m["n_photos"]["count"] for g, m in res["groups"].items()} == {"landscapes": 1, "people": 1}
    # A group's row is its own photo's score: the same as scoring a folder holding that photo alone.
    (tmp_path / "alone").mkdir()
    (root / "p0.png").rename(tmp_path / "alone" / "p0.png")
    r = CliRunner().invoke(app, ["eval", "--data", str(tmp_path / "alone"), *common, "--json", str(tmp_path / "alone.json")])
    assert r.exit_code == 0, r.output
    alone = json.loads((tmp_path / "alone.json").read_text())
    assert "groups" not in alone and alone["model"]["ab_mae"] == res["groups"]["people"]["model"]["ab_mae"]
    (tmp_path / "alone" / "manifest.csv").write_text("file,group,split\np0.png,people,train\n")
    r = CliRunner().invoke(app, ["eval", "--data", str(tmp_path / "alone"), "--held-out", *common])
    assert r.exit_code != 0 and "holds none of its photos out" in r.output


def test_composites_and_people_weighting_in_training_samples(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    cfg = DataConfig(composite_prob=1.0, people_weight=5.0, noise_std_max=0.0)
    train = training_photos(root, cfg, 64)
    assert len(train) == 5 and len(train.cutouts) == 1
    assert np.isclose(train.weights[0], 5 / 9) and np.isclose(train.weights.sum(), 1)
    data = CrappifiedPhotos(train, 32, cfg, seed=0)
    yellow = 0
    for k in range(20):
        _, real = data[k]
        rgb = real.permute(1, 2, 0).numpy()
        yellow += bool(np.any((rgb[..., 0] > 0.9) & (rgb[..., 1] > 0.9) & (rgb[..., 2] < 0.2)))
    assert yellow == 20  # every sample got the (yellow) cut-out pasted on
    plain = DataConfig(composite_prob=0.0)
    without = CrappifiedPhotos(training_photos(root, plain, 64), 32, plain, seed=0)
    assert not any(np.any(without[k][1][2].numpy() < 0.2) for k in range(10))  # no yellow without compositing


def test_a_by_source_split_holds_out_whole_sources(tmp_path: Path) -> None:
    from colorize.corpus import source_of

    names = [f"pack{k}__set{j}__photo{i}.jpg" for k in range(4) for j in range(5) for i in range(3)] + ["loose.jpg"]
    paths = [tmp_path / n for n in names] + [tmp_path / "album" / "a.jpg", tmp_path / "album" / "b.jpg"]
    assert source_of(paths[0], tmp_path) == "pack0__set0" and source_of(paths[-1], tmp_path) == "album"
    assert source_of(tmp_path / "loose.jpg", tmp_path) == "loose.jpg"
    train, val = split_photos(paths, tmp_path, 0.3, by_source=True)
    held = {source_of(p, tmp_path) for p in val}
    assert val and train and held.isdisjoint({source_of(p, tmp_path) for p in train})
    assert split_photos(list(reversed(paths)), tmp_path, 0.3, by_source=True) == (train, val)


def test_an_unreadable_training_photo_is_skipped_and_counted_never_a_crash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = corpus(tmp_path)
    bad = sorted(root.glob("*.png"))[1]
    bad.write_bytes(b"not a png any more")
    cfg = DataConfig(composite_prob=0.0)
    train = training_photos(root, cfg, 64)
    data = CrappifiedPhotos(train, 32, cfg, seed=0)
    with caplog.at_level(logging.WARNING):
        samples = [data[k] for k in range(40)]
    assert all(torch.isfinite(x).all() and torch.isfinite(y).all() for x, y in samples)
    names = [train.files.name(i) for i in range(len(train))]
    assert train.unreadable == {names.index(bad.name)} and "1 training photo(s) unreadable so far" in caplog.text


@pytest.mark.slow
def test_training_memory_does_not_grow_with_the_corpus(tmp_path: Path) -> None:
    """The whole recipe on 20,000 photos in the memory 200 take: photos are decoded as samples need them."""
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (64, 64, 3), np.uint8)
    peaks = {}
    for n in (200, 20_000):
        root = tmp_path / f"c{n}"
        root.mkdir()
        for i in range(n):
            Image.fromarray(np.roll(tile, i, axis=1)).save(root / f"p{i:05d}.jpg", quality=80)
        code = ("import resource, sys; from colorize.cli import app\n"
                "try: app(sys.argv[1:])\n"
                "except SystemExit as e: assert e.code == 0, e.code\n"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        smoke = Path(__file__).resolve().parents[1] / "recipes" / "smoke.toml"
        r = subprocess.run([sys.executable, "-c", code, "train", "all", "--data", str(root), "--run", str(tmp_path / f"run{n}"),
                            "--recipe", str(smoke), "--arch", "tiny", "--set", "loss.perceptual=false", "--device", "cpu"],
                           capture_output=True, text=True, check=True)
        peaks[n] = int(r.stdout.split()[-1]) / 1024  # MiB
    # Decoded up front, 20,000 photos at 64 px would take 240 MiB more; paths and the split take a few.
    assert peaks[20_000] - peaks[200] < 40, peaks


def test_an_unreadable_held_out_side_falls_back_to_training_photos_before_training(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from colorize.config import DataConfig
    from colorize.data import validation_photos

    data = color_folder(tmp_path / "data", 8)
    for name in ("bad1.jpg", "bad2.jpg"):
        (data / name).write_bytes(b"not a jpeg")
    rows = [f"c{i}.png,train" for i in range(8)] + ["bad1.jpg,val", "bad2.jpg,val"]
    (data / "manifest.csv").write_text("file,split\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        photos = validation_photos(data, DataConfig(), 64)
    assert len(photos) == 4 and "2 held out, none readable" in caplog.text and "flatters" in caplog.text
    for p in data.iterdir():
        p.write_bytes(b"nothing readable")
    with pytest.raises(ConfigError, match="none of its 10 photos is readable"):
        validation_photos(data, DataConfig(), 64)
