"""Atomic file writes: a temp file beside the target, renamed into place only once it is complete."""

from __future__ import annotations

import errno
import glob
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

from colorize.errors import ColorizeError

# mkstemp creates files 0600; outputs get what a plain open() would give (0666 minus the umask). The umask can only
# be read by setting it, so it is read once, at import, before any writer thread exists.
_UMASK = os.umask(0)
os.umask(_UMASK)
# A file of the user's that we replace or remove is kept one level back under its name plus this (`keep_backup`).
BACKUP_SUFFIX = "~"
TEMP_SUFFIX = ".tmp"
MAX_NAMED_TEMP = 200  # bytes of a file name whose temp file carries it: 255 less the dots, random part and suffix


# Errors that say the file system refuses to take a file (full, read-only, not ours): a `WriteError` naming the file.
_REFUSED = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


class WriteError(ColorizeError):
    """A file the file system would not take; `errno` says why (the page answers a full disk with 507)."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(f"{path}: cannot write it ({error.strerror or error})")
        self.errno = error.errno


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temp file beside `path`, then rename it into place; no partial file survives. A full
    or read-only file system is a `WriteError` naming `path`.

    A link, device or pipe at `path` is never replaced by the rename (as root, `/dev/stdout` would be): refused."""
    path = Path(path)
    refuse_non_regular(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # `.NAME.RANDOM.tmp`, which `temp_target` reads back; a name near the file system's 255-byte limit gets a
        # shorter temp name instead (a killed write of it is then not swept, but the write itself works).
        prefix = f".{path.name}." if len(os.fsencode(path.name)) <= MAX_NAMED_TEMP else ".colorize-"
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as e:
        raise (WriteError(path, e) if e.errno in _REFUSED else e) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as e:
        if e.errno in _REFUSED:
            raise WriteError(path, e) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def temp_target(name: str) -> str | None:
    """The name of the file a temp file of `atomic_write` (`.NAME.RANDOM.tmp`) was to become, else None."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)) or name.count(".") < 3:
        return None
    return name[1 : -len(TEMP_SUFFIX)].rsplit(".", 1)[0]


def remove_stale_temps(path: Path, min_age_s: float = 0.0) -> int:
    """Delete the temp files a killed writer left beside `path` (at least `min_age_s` old: where other processes may
    be writing it now); returns how many. A SIGKILL leaves them: nothing else would."""
    removed = 0
    now = time.time()
    for tmp in Path(path).parent.glob(f".{glob.escape(Path(path).name)}.*{TEMP_SUFFIX}"):
        try:
            if temp_target(tmp.name) == Path(path).name and now - tmp.stat().st_mtime >= min_age_s:
                tmp.unlink()
                removed += 1
        except OSError:
            pass  # gone meanwhile, or not ours to delete: left as it is
    return removed


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
