"""Atomic file writes: a temp file beside the target, renamed into place only once it is complete."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from colorize.errors import ColorizeError

# mkstemp creates files 0600; outputs get what a plain open() would give (0666 minus the umask). The umask can only
# be read by setting it, so it is read once, at import, before any writer thread exists.
_UMASK = os.umask(0)
os.umask(_UMASK)
# A file of the user's that we replace or remove is kept one level back under its name plus this (`keep_backup`).
BACKUP_SUFFIX = "~"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temp file beside `path`, then rename it into place; no partial file survives.

    A link, device or pipe at `path` is never replaced by the rename (as root, `/dev/stdout` would be): refused."""
    path = Path(path)
    refuse_non_regular(path)
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


def keep_backup(path: Path, move: bool = False) -> Path | None:
    """Keep the file at `path` as `path~` (replacing an older one) before it is replaced, or with `move` instead of
    being removed; returns the backup, None when there was no file."""
    path = Path(path)
    if not path.is_file():
        return None
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    refuse_non_regular(backup)
    if move:
        os.replace(path, backup)
    else:
        atomic_write(backup, lambda tmp: shutil.copy2(path, tmp))
    return backup


def refuse_non_regular(path: Path) -> None:
    """One-line error if `path` exists as anything but a regular file (folder, link, device, pipe)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there yet; whether its folder takes a file is `check_writable`'s question
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a link" if stat.S_ISLNK(mode) else "not a regular file"
        raise ColorizeError(f"{path}: is {kind}; give the path of a file to write (it is not replaced)")


def check_output_file(path: Path) -> bool:
    """Before any work: `path` can be written as a file (its folder takes one; nothing but a file is there).

    Returns whether a file is already there, so the caller can say that it will be replaced."""
    refuse_non_regular(path)
    check_writable([Path(path).parent])
    return Path(path).exists()


def check_writable(folders: Iterable[Path]) -> None:
    """Create each output folder and prove it takes a file, before any model is loaded or photo colorized."""
    for folder in sorted(folders):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".colorize-write-check.", suffix=".tmp"):
                pass
        except OSError as e:
            raise ColorizeError(f"{folder}: cannot write outputs there ({e.strerror or e})") from None
