from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from colorize.errors import BadInputError
from colorize.images import read_photo, write_photo

from conftest import photo_array, write_photo_file


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