"""Reading and writing photos (colorize/images.py): every common mode, CMYK, EXIF orientation, alpha and ICC kept,
the size cap (above Pillow's own limit too), files that are not images or cannot be read, odd files (animated,
floating-point, dangling links), and outputs that keep the photo's luminance."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from typer.testing import CliRunner

from colorize.cli import app
from colorize.errors import BadInputError
from colorize.images import read_photo, write_photo

from helpers import huge_png_header, luma, photo_array, write_photo_file

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGB", "RGBA", "I;16", "1"])
def test_every_common_mode_decodes_to_luminance(tmp_path: Path, mode: str) -> None:
    path = write_photo_file(tmp_path / f"x_{mode.replace(';', '')}.png", mode)
    photo = read_photo(path)
    assert photo.gray.shape == (48, 64) and photo.gray.dtype == np.uint8
    assert (photo.alpha is not None) == (mode in ("LA", "RGBA"))
    if mode in ("L", "RGB", "I;16"):
        expected = np.asarray(Image.fromarray(photo_array()).convert("L")).astype(int)
        assert np.abs(photo.gray.astype(int) - expected).max() <= 1


def test_cmyk_jpeg_decodes(tmp_path: Path) -> None:
    photo = read_photo(write_photo_file(tmp_path / "c.jpg", "CMYK", quality=95))
    assert photo.gray.shape == (48, 64) and photo.gray.std() > 10


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.fromarray(photo_array(20, 60))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "r.jpg", exif=exif.tobytes())
    photo = read_photo(tmp_path / "r.jpg")
    assert photo.gray.shape == (60, 20)
    upright = np.rot90(np.asarray(Image.fromarray(photo_array(20, 60)).convert("L")), k=-1).astype(int)
    assert np.abs(photo.gray.astype(int) - upright).mean() < 5
    if photo.exif:  # kept, but no longer asking viewers to rotate again
        ex = Image.Exif()
        ex.load(photo.exif)
        assert ex.get(0x0112, 1) == 1


def test_alpha_and_icc_survive_the_round_trip(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = Image.fromarray(photo_array()).convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    img.putalpha(Image.fromarray(alpha))
    img.save(tmp_path / "a.png", icc_profile=srgb)
    photo = read_photo(tmp_path / "a.png")
    out = write_photo(tmp_path / "out.png", np.zeros((48, 64, 3), np.uint8), photo)
    with Image.open(out) as back:
        assert back.mode == "RGBA"
        assert np.array_equal(np.asarray(back.getchannel("A")), alpha)
        assert back.info.get("icc_profile") == srgb


def test_alpha_never_dropped_when_jpeg_requested(tmp_path: Path) -> None:
    photo = read_photo(write_photo_file(tmp_path / "a.png", "RGBA"))
    out = write_photo(tmp_path / "o.jpg", np.zeros((48, 64, 3), np.uint8), photo)
    assert out.suffix == ".png"
    with Image.open(out) as back:
        assert back.mode == "RGBA"


def test_size_cap_refuses_huge_images_before_decoding(tmp_path: Path) -> None:
    path = write_photo_file(tmp_path / "big.png", "L", h=1000, w=1000)
    with pytest.raises(BadInputError, match="big.png: .*over the 0 MP cap|big.png: 1000x1000"):
        read_photo(path, max_megapixels=0.5)


@pytest.mark.parametrize(
    "content,reason",
    [(b"just some notes\n", "not an image"), (b"", "empty file")],
)
def test_non_images_name_file_and_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=f"notes.txt: {reason}"):
        read_photo(path)


def test_truncated_jpeg_is_reported(tmp_path: Path) -> None:
    full = write_photo_file(tmp_path / "full.jpg", "RGB", h=200, w=200).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(full[: len(full) // 2])
    with pytest.raises(BadInputError, match="cut.jpg: corrupt or truncated"):
        read_photo(tmp_path / "cut.jpg")


def test_atomic_write_gives_normal_permissions(tmp_path: Path) -> None:
    import subprocess
    import sys

    # In a fresh process under a known umask (the module reads it once, at import), not by reloading it here: a
    # reload would make its error classes new ones that other modules no longer match.
    code = f"import os; os.umask(0o022); import colorize.atomic as a; a.atomic_write(__import__('pathlib').Path({str(tmp_path / 'out.txt')!r}), lambda t: t.write_text('x'))"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644


def test_max_megapixels_above_pillows_own_limit_is_honoured(tmp_path: Path) -> None:
    from colorize.errors import BadInputError
    from colorize.images import read_photo

    big = huge_png_header(tmp_path / "big.png", 20000, 10000)  # 200 MP, over Pillow's ~179 MP bomb limit
    with pytest.raises(BadInputError, match="over the 150 MP cap"):
        read_photo(big, 150)
    with pytest.raises(BadInputError) as e:
        read_photo(big, 250)
    assert "bomb" not in str(e.value) and "truncated" in str(e.value)  # past our cap, Pillow did not refuse it


def test_a_permission_error_is_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorize import images
    from colorize.errors import BadInputError

    path = write_photo_file(tmp_path / "locked.png")

    def denied(*a: object, **k: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(images.Image, "open", denied)  # root ignores chmod, so the OS refusal is simulated
    with pytest.raises(BadInputError, match="locked.png: cannot read it \\(permission denied\\)"):
        images.read_photo(path)


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


def test_outputs_keep_luminance_png_exactly_jpeg_within_its_own_loss(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "scene.png", h=256, w=256)
    for ext in ("png", "jpg"):
        assert invoke("photo", src, "--ext", ext, "-w", tiny_weights, *COMMON).exit_code == 0
    diff_png = np.abs(luma(tmp_path / "scene_color.png") - luma(src))
    diff_jpg = np.abs(luma(tmp_path / "scene_color.jpg") - luma(src))
    assert diff_png.max() <= 1
    # What the README states for JPEG (quality 95, 4:4:4): under one level on average, rarely more than 3.
    assert diff_jpg.mean() < 1.0 and np.mean(diff_jpg > 3) < 0.01


def test_sixteen_bit_gray_is_written_in_eight_bits_as_documented(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "deep.png", mode="I;16")
    assert invoke("photo", src, "-w", tiny_weights, *COMMON).exit_code == 0
    with Image.open(tmp_path / "deep_color.png") as im:
        assert im.mode == "RGB"
    assert "copy written in 8 bits per channel" in " ".join((REPO / "README.md").read_text().split())
