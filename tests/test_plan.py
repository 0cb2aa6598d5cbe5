"""Where the photo commands put their results (colorize/plan.py), decided from the inputs before any work: an output
given as a folder or a file, one that exists, a format we do not write, a folder given to `photo`, names that
collide in a folder, an output place that cannot be written, an alpha photo asked for as JPEG, and hints images
found whatever the case of their photo's name."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app

from helpers import luma, photo_array, visible, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_output_with_a_trailing_separator_is_a_folder(tmp_path: Path, tiny_weights: Path) -> None:
    x, y = write_photo_file(tmp_path / "x.png"), write_photo_file(tmp_path / "y.png", seed=1)
    newdir = tmp_path / "newdir"
    for src in (x, y):
        r = invoke("photo", src, "-o", f"{newdir}{os.sep}", "-w", tiny_weights, *COMMON)
        assert r.exit_code == 0, r.stderr
    assert newdir.is_dir() and visible(newdir) == ["x_color.png", "y_color.png"]


def test_an_existing_explicit_output_file_is_refused_not_skipped(tmp_path: Path, tiny_weights: Path) -> None:
    x, y = write_photo_file(tmp_path / "x.png"), write_photo_file(tmp_path / "y.png", seed=1)
    out = tmp_path / "result.png"
    assert invoke("photo", x, "-o", out, "-w", tiny_weights, *COMMON).exit_code == 0
    before = out.read_bytes()
    r = invoke("photo", y, "-o", out, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "already exists" in r.stderr and "--overwrite" in r.stderr
    assert out.read_bytes() == before
    assert invoke("photo", y, "-o", out, "-w", tiny_weights, "--overwrite", *COMMON).exit_code == 0
    assert np.abs(luma(out) - luma(y)).max() <= 1


@pytest.mark.parametrize("name", ["x.gif", "x.txt"])
def test_an_output_name_of_a_format_we_do_not_write_is_refused(tmp_path: Path, tiny_weights: Path, name: str) -> None:
    r = invoke("photo", write_photo_file(tmp_path / "x.png"), "-o", tmp_path / name, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and f"cannot write {Path(name).suffix} files" in r.stderr and not (tmp_path / name).exists()


def test_a_folder_given_to_photo_points_at_photos(tmp_path: Path) -> None:
    r = invoke("photo", tmp_path)
    assert r.exit_code == 1 and "is a folder; use `colorize photos" in r.stderr


@pytest.mark.parametrize("names, ext, expected", [
    (["scan.png", "scan.gif"], "auto", ["scan_color.gif.png", "scan_color.png.png"]),
    (["IMG_1.JPG", "IMG_1.jpg"], "auto", ["IMG_1_color.JPG-1.jpg", "IMG_1_color.jpg-2.jpg"]),
    (["scan.jpg", "scan.tif"], "png", ["scan_color.jpg.png", "scan_color.tif.png"]),
])
def test_name_collisions_in_a_folder_get_distinct_outputs(tmp_path: Path, tiny_weights: Path, names: list[str], ext: str,
                                                          expected: list[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i, n in enumerate(names):
        Image.fromarray(photo_array(seed=i)).save(src / n, format={"gif": "GIF", "tif": "TIFF", "png": "PNG"}.get(n.rsplit(".", 1)[1].lower(), "JPEG"))
    if len({n.lower() for n in names}) < len(names) and len(list(src.iterdir())) < len(names):
        pytest.skip("case-insensitive file system")
    out = tmp_path / "out"
    r = invoke("photos", src, "-o", out, "--ext", ext, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0, r.stderr
    assert visible(out) == expected
    assert "colorized 2" in r.stderr
    r = invoke("photos", src, "-o", out, "--ext", ext, "-w", tiny_weights, *COMMON)
    assert "colorized 0, skipped 2" in r.stderr  # a rerun finds both


def test_unwritable_output_is_found_before_the_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorize import inference

    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        write_photo_file(src / f"p{i}.png", seed=i)
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")

    def no_model(*a: object, **k: object) -> None:
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(inference, "load_colorizer", no_model)
    r = invoke("photos", src, "-o", blocker / "out", *COMMON)
    assert r.exit_code == 1 and "cannot write outputs there" in r.stderr and str(blocker / "out") in r.stderr


def test_alpha_photo_forced_to_jpg_is_written_as_png_once(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    write_photo_file(src / "logo.png", "RGBA")
    r = invoke("photos", src, "-o", out, "--ext", "jpg", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0 and visible(out) == ["logo_color.png"]
    r = invoke("photos", src, "-o", out, "--ext", "jpg", "-w", tiny_weights, "--sheet", out / "sheet.png", *COMMON)
    assert "colorized 0, skipped 1" in r.stderr  # the rerun finds it, and its sheet shows it
    assert "contact sheet:" in r.stderr and (out / "sheet.png").exists()


def test_a_hints_image_is_found_whatever_the_case_of_its_photos_name(tmp_path: Path, tiny_weights: Path) -> None:
    from colorize.plan import attach_hints, plan_folder

    src = tmp_path / "in"
    src.mkdir()
    write_photo_file(src / "E.JPG", format="JPEG")
    write_photo_file(src / "f.png")
    Image.fromarray(np.zeros((48, 64, 4), np.uint8)).save(src / "e.hints.png")
    Image.fromarray(np.zeros((48, 64, 4), np.uint8)).save(src / "F.HINTS.PNG")
    jobs = {j.src.name: j for j in attach_hints(plan_folder(src, tmp_path / "out", False, "_color", "auto"), src, None)}
    assert jobs["E.JPG"].hints.image == src / "e.hints.png" and jobs["f.png"].hints.image == src / "F.HINTS.PNG"
