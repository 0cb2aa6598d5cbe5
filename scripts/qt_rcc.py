"""Read Qt's binary resource bundles (`.rcc`, made by `rcc -binary`): list their files and extract their bytes.

Written by hand: no maintained Python library reads `.rcc` files (PySide can *register* one, but only inside a
running Qt application, and it is not a dependency of this project). The format, from Qt's `rcc.cpp`:

- header: magic `qres`, then big-endian u32 version, tree offset, data offset, names offset (version >= 3 adds
  a u32 of flags);
- tree: nodes of 14 bytes (version 1) or 22 (version >= 2: an extra u64 of modification time), node 0 the root.
  Each node: u32 name offset, u16 flags, then for a directory (flag 2) u32 child count + u32 first child index,
  for a file u16 country + u16 language + u32 data offset;
- names: u16 length, u32 hash, then the name in UTF-16BE;
- data: u32 length, then the blob; a blob with flag 1 is zlib-compressed behind qCompress's 4-byte big-endian
  uncompressed length (flag 4 means zstd, which the photo bundles do not use).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Iterator

_DIRECTORY = 0x02
_COMPRESSED = 0x01
_COMPRESSED_ZSTD = 0x04


class RccError(ValueError):
    """Not a Qt resource bundle, or one this reader cannot decode."""


class RccBundle:
    """One `.rcc` file, parsed lazily from its bytes."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != b"qres":
            raise RccError("not a Qt resource bundle (no 'qres' magic)")
        self.version, self.tree, self.data, self.names = struct.unpack(">4I", data[4:20])
        if self.version not in (1, 2, 3):
            raise RccError(f"unsupported rcc version {self.version}")
        self.node_size = 14 if self.version == 1 else 22
        self.raw = data

    @classmethod
    def open(cls, path: Path) -> "RccBundle":
        """Parse the bundle at `path`."""
        return cls(Path(path).read_bytes())

    def _name(self, offset: int) -> str:
        at = self.names + offset
        (length,) = struct.unpack(">H", self.raw[at : at + 2])
        return self.raw[at + 6 : at + 6 + 2 * length].decode("utf-16-be")

    def _node(self, index: int) -> tuple[str, int, int, int]:
        """(name, flags, a, b): for a directory a = child count, b = first child; for a file b = data offset."""
        at = self.tree + index * self.node_size
        name_off, flags = struct.unpack(">IH", self.raw[at : at + 6])
        a, b = struct.unpack(">II", self.raw[at + 6 : at + 14])
        return (self._name(name_off) if index else ""), flags, a, b

    def files(self) -> Iterator[tuple[str, int]]:
        """Every file as (path inside the bundle, node index), depth first."""
        stack = [(0, "")]
        while stack:
            index, prefix = stack.pop()
            name, flags, count, first = self._node(index)
            path = f"{prefix}/{name}" if prefix else name
            if flags & _DIRECTORY:
                stack.extend((first + i, path) for i in reversed(range(count)))
            else:
                yield path, index

    def read(self, index: int) -> bytes:
        """The bytes of the file at node `index`, decompressed."""
        _, flags, _, offset = self._node(index)
        at = self.data + offset
        (length,) = struct.unpack(">I", self.raw[at : at + 4])
        blob = self.raw[at + 4 : at + 4 + length]
        if flags & _COMPRESSED_ZSTD:
            raise RccError("zstd-compressed entry; only zlib is supported")
        if flags & _COMPRESSED:
            return zlib.decompress(blob[4:])  # skip qCompress's length prefix
        return blob

    def extract(self) -> dict[str, bytes]:
        """Every file's path and bytes."""
        return {path: self.read(index) for path, index in self.files()}
