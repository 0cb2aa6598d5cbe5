"""Hostile inputs for the photo commands: each case builds its bad input on the fly and checks the outcome — exit
code, one line naming the file and the reason, good outputs written with their luminance, nothing stray left."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app

from conftest import photo_array, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def luma(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L")).astype(int)


def test_output_with_a_trailing_separator_is_a_folder(tmp_path: Path, tiny_weights: Path) -> None:
    x, y = write_photo_file(tmp_path / "x.png"), write_photo_file(tmp_path / "y.png", seed=1)
    newdir = tmp_path / "newdir"
    for src in (x, y):
        r = invoke("photo", src, "-o", f"{newdir}{os.sep}", "-w", tiny_weights, *COMMON)
        assert r.exit_code == 0, r.stderr
    assert newdir.is_dir() and sorted(p.name for p in newdir.iterdir()) == ["x_color.png", "y_color.png"]


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
    assert sorted(p.name for p in out.iterdir()) == expected
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

    monkeypatch.setattr(inference.Colorizer, "from_weights", no_model)
    r = invoke("photos", src, "-o", blocker / "out", *COMMON)
    assert r.exit_code == 1 and "cannot write outputs there" in r.stderr and str(blocker / "out") in r.stderr


def test_weights_errors_are_one_line_without_torch_advice(tmp_path: Path, tiny_weights: Path) -> None:
    photo = write_photo_file(tmp_path / "x.png")
    manifest = tmp_path / "model.json"
    manifest.write_text('{"sha256": "0"}')
    r = invoke("photo", photo, "-w", manifest, *COMMON)
    assert r.exit_code == 1 and "is a model manifest" in r.stderr and "model.pt" in r.stderr
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(2000))
    r = invoke("photo", photo, "-w", junk, *COMMON)
    assert r.exit_code == 1 and "not a readable colorize checkpoint" in r.stderr
    assert "weights_only" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def huge_png_header(path: Path, w: int, h: int) -> Path:
    """A PNG that declares w x h pixels but holds almost no data: Pillow reads its size without decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def test_max_megapixels_above_pillows_own_limit_is_honoured(tmp_path: Path) -> None:
    from colorize.errors import BadInputError
    from colorize.images import read_photo

    big = huge_png_header(tmp_path / "big.png", 20000, 10000)  # 200 MP, over Pillow's ~179 MP bomb limit
    with pytest.raises(BadInputError, match="over the 150 MP cap"):
        read_photo(big, 150)
    with pytest.raises(BadInputError) as e:
        read_photo(big, 250)
    assert "bomb" not in str(e.value) and "truncated" in str(e.value)  # past our cap, Pillow did not refuse it


def test_stale_temp_files_of_ours_are_removed_and_others_kept(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    write_photo_file(src / "a.png")
    ours = out / ".a_color.png.k3j4h5.tmp"
    theirs = out / ".notes.txt.swp.tmp"
    ours.write_bytes(b"half a png")
    theirs.write_bytes(b"someone else's")
    assert invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON).exit_code == 0
    assert not ours.exists() and theirs.exists()


def test_odd_files_animated_float_and_dangling_links(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    frames = [Image.fromarray(photo_array(seed=i)) for i in range(3)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:])
    gray = np.asarray(Image.fromarray(photo_array()).convert("L")).astype(np.float32) / 255.0
    Image.fromarray(gray, mode="F").save(src / "float.tif")
    Image.fromarray(gray * 1000, mode="F").save(src / "float_wild.tif")
    (src / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    r = invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1
    assert "anim.gif: has 3 frames" in r.stderr and "only the first is colorized" in r.stderr
    assert "gone.jpg: broken symbolic link" in r.stderr
    assert "float_wild.tif: floating-point image with values" in r.stderr
    assert "colorized 2, skipped 0 (already done), failed 2" in r.stderr
    got = luma(out / "float_color.tif")
    assert np.abs(got - np.round(gray * 255)).max() <= 1 and got.mean() > 50  # scaled, not black


def test_alpha_photo_forced_to_jpg_is_written_as_png_once(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    write_photo_file(src / "logo.png", "RGBA")
    r = invoke("photos", src, "-o", out, "--ext", "jpg", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0 and [p.name for p in out.iterdir()] == ["logo_color.png"]
    r = invoke("photos", src, "-o", out, "--ext", "jpg", "-w", tiny_weights, "--sheet", out / "sheet.png", *COMMON)
    assert "colorized 0, skipped 1" in r.stderr  # the rerun finds it
    assert "contact sheet not written" in r.stderr and not (out / "sheet.png").exists()


def test_outputs_keep_luminance_png_exactly_jpeg_within_its_own_loss(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "scene.png", h=256, w=256)
    for ext in ("png", "jpg"):
        assert invoke("photo", src, "--ext", ext, "-w", tiny_weights, *COMMON).exit_code == 0
    diff_png = np.abs(luma(tmp_path / "scene_color.png") - luma(src))
    diff_jpg = np.abs(luma(tmp_path / "scene_color.jpg") - luma(src))
    assert diff_png.max() <= 1
    # What the README states for JPEG (quality 95, 4:4:4): under one level on average, rarely more than 3.
    assert diff_jpg.mean() < 1.0 and np.mean(diff_jpg > 3) < 0.01


def test_inference_imports_no_training_or_gan_code() -> None:
    code = "import sys, colorize.inference, colorize.photos; print(any(m.startswith(('fastai.vision.gan', 'colorize.train')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_kill_9_mid_folder_then_rerun_equals_an_uninterrupted_run(tmp_path: Path, tiny_weights: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(40):
        write_photo_file(src / f"p{i:02d}.png", h=192, w=256, seed=i)
    cmd = [sys.executable, "-m", "colorize", "photos", str(src), "-w", str(tiny_weights), "-b", "1", *COMMON, "-o"]
    subprocess.run([*cmd, str(tmp_path / "straight")], check=True, capture_output=True)
    out = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("*.png"))) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(out.glob("*.png")))
    assert 0 < done < 40, "the run was not interrupted mid-way"
    r = subprocess.run([*cmd, str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and f"colorized {40 - done}, skipped {done}" in r.stderr
    straight = {p.name: p.read_bytes() for p in (tmp_path / "straight").iterdir()}
    assert {p.name: p.read_bytes() for p in out.iterdir()} == straight  # no temp files, every output identical
