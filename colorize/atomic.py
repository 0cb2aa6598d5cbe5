"""Atomic file writes: a temp file beside the target, renamed into place only once it is complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from colorize.errors import ColorizeError

# mkstemp creates files 0600; outputs get what a plain open() would give (0666 minus the umask). The umask can only
# be read by setting it, so it is read once, at import, before any writer thread exists.
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temp file beside `path`, then rename it into place; no partial file survives."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(folders: Iterable[Path]) -> None:
    """Create each output folder and prove it takes a file, before any model is loaded or photo colorized."""
    for folder in sorted(folders):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".colorize-write-check.", suffix=".tmp"):
                pass
        except OSError as e:
            raise ColorizeError(f"{folder}: cannot write outputs there ({e.strerror or e})") from None
