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


def build_rcc(tree: dict) -> bytes:
    """A version-3 Qt resource bundle holding `tree` ({name: bytes | (bytes, 'zlib') | subtree}), laid out as rcc does."""
    import struct
    import zlib

    names, data, nodes = bytearray(), bytearray(), []

    def name_offset(name: str) -> int:
        off = len(names)
        names.extend(struct.pack(">HI", len(name), 0) + name.encode("utf-16-be"))
        return off

    # Breadth first, so every directory's children are contiguous nodes, as rcc writes them.
    nodes.append(None)
    queue = [(0, "", tree)]
    while queue:
        index, name, sub = queue.pop(0)
        first = len(nodes)
        nodes.extend([None] * len(sub))
        nodes[index] = struct.pack(">IHII", name_offset(name) if index else 0, 2, len(sub), first) + bytes(8)
        for i, (child, value) in enumerate(sub.items()):
            if isinstance(value, dict):
                queue.append((first + i, child, value))
                continue
            blob, flags = (value, 0) if isinstance(value, bytes) else (struct.pack(">I", len(value[0])) + zlib.compress(value[0]), 1)
            nodes[first + i] = struct.pack(">IHHHI", name_offset(child), flags, 0, 0, len(data)) + bytes(8)
            data.extend(struct.pack(">I", len(blob)) + blob)
    header = 24
    tree_bytes = b"".join(nodes)
    return (b"qres" + struct.pack(">IIIII", 3, header, header + len(tree_bytes), header + len(tree_bytes) + len(data), 0)
            + tree_bytes + bytes(data) + bytes(names))


def test_rcc_reader_lists_and_extracts_plain_and_compressed_files(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(SCRIPT.parent))
    from qt_rcc import RccBundle, RccError

    photo = jpeg(12, 8)
    path = tmp_path / "bundle.rcc"
    path.write_bytes(build_rcc({"gcompris": {"README": (b"Public Domain " * 20, "zlib"), "img": {"cat.webp": photo}}}))
    files = RccBundle.open(path).extract()
    assert files == {"gcompris/README": b"Public Domain " * 20, "gcompris/img/cat.webp": photo}
    with Image.open(io.BytesIO(files["gcompris/img/cat.webp"])) as im:
        assert im.size == (12, 8)
    try:
        RccBundle(b"PK\x03\x04 a zip")
    except RccError as e:
        assert "qres" in str(e)
    else:
        raise AssertionError("a non-rcc file was accepted")
