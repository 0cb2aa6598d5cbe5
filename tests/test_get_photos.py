"""The corpus script's hand-written part: pulling photos out of EFL .edj archives."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "get_photos.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("get_photos", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 60, 20)).save(buf, "JPEG")
    return buf.getvalue()


def test_edj_photo_keeps_the_largest_jpeg_stream(tmp_path: Path) -> None:
    # Archive-like bytes: a header, a thumbnail, a stray start-marker-like run, the full picture, a trailer.
    blob = b"EET\x1e\x00header" + jpeg(8, 6) + b"\x00\xff\xd8\xff\x00 not a jpeg " + jpeg(40, 24) + b"\x00trailer"
    edj = tmp_path / "Scene.edj"
    edj.write_bytes(blob)
    out = load_script().edj_photo(edj, tmp_path / "Scene.jpg")
    assert out == tmp_path / "Scene.jpg"
    with Image.open(out) as im:
        assert im.size == (40, 24)


def test_edj_without_a_photo_yields_none(tmp_path: Path) -> None:
    edj = tmp_path / "Squiggle.edj"
    edj.write_bytes(b"EET\x1e\x00 vector drawing only \xff\xd8 \x00")
    assert load_script().edj_photo(edj, tmp_path / "Squiggle.jpg") is None
    assert not (tmp_path / "Squiggle.jpg").exists()
