"""Writes a full or read-only disk refuses, processes killed with SIGKILL, a re-prepare killed part-way, an export
that failed, a link or device where an output goes (colorize/atomic.py and its callers): nothing half-made is ever
taken as done, nothing but a regular file is ever replaced, and every refusal is one line naming the file."""

from __future__ import annotations

import errno
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

from colorize.atomic import WriteError, atomic_write, remove_stale_temps
from colorize.cli import app
from colorize.corpus import is_prepared
from colorize.errors import ColorizeError
from colorize.shards import prepare

from helpers import make_clip, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu", "--engine", "torch")
FULL = os.strerror(errno.ENOSPC)


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def disk_full_for(monkeypatch: pytest.MonkeyPatch, name_end: str) -> None:
    """The file system is full when a file whose name ends with `name_end` is renamed into place."""
    real = os.replace

    def replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if str(dst).endswith(name_end):
            raise OSError(errno.ENOSPC, FULL)
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_a_write_the_disk_refuses_names_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    def fill(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, FULL)

    with pytest.raises(WriteError, match=f"out.png: cannot write it \\({FULL}\\)") as e:
        atomic_write(tmp_path / "out.png", fill)
    assert e.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError):  # not a refusal of the disk: passed on as it is
        atomic_write(tmp_path / "out.png", lambda tmp: open(tmp_path / "nope" / "x"))


def test_a_failed_write_never_leaves_a_result_that_a_rerun_skips(tmp_path: Path, tiny_weights: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(2):
        write_photo_file(src / f"p{i}.png", seed=i)
    assert invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON).exit_code == 0
    first = (out / "p0_color.png").read_bytes()
    disk_full_for(monkeypatch, "p0_color.png")
    r = invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON, "--vividness", "2")
    assert r.exit_code == 1 and f"p0_color.png: cannot write it ({FULL})" in r.stderr
    assert (out / "p0_color.png").read_bytes() == first
    monkeypatch.undo()
    r = invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON, "--vividness", "2")
    assert r.exit_code == 0 and "colorized 1, skipped 1" in r.stderr  # p0 is made with the new settings now


def test_a_full_disk_for_the_record_or_the_sheet_is_one_line(tmp_path: Path, tiny_weights: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_photo_file(src / "p.png")
    for target, args in ((".colorize", ()), ("sheet.png", ("--sheet", tmp_path / "sheet.png"))):
        monkeypatch.undo()
        disk_full_for(monkeypatch, target)
        r = invoke("photos", src, "-o", tmp_path / f"out{target}", "-w", tiny_weights, *COMMON, "--overwrite", *args)
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
        assert f"cannot write it ({FULL})" in r.stderr and "Traceback" not in r.output


def test_a_full_disk_under_a_film_names_the_film_not_its_temp_file(tmp_path: Path, tiny_weights: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_clip(tmp_path / "clip.mp4", n=4)
    disk_full_for(monkeypatch, "film.mp4")
    r = invoke("video", clip, "-o", tmp_path / "film.mp4", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert f"film.mp4: cannot write it ({FULL})" in r.stderr and "encoding failed" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_killed_films_partial_output_is_removed_by_the_rerun(tmp_path: Path, tiny_weights: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", n=4)
    left = tmp_path / ".film.mp4.k3j4h5l6.tmp"
    left.write_bytes(b"half a film")
    other = tmp_path / ".notes.txt.k3j4h5l6.tmp"
    other.write_bytes(b"not ours")
    assert invoke("video", clip, "-o", tmp_path / "film.mp4", "-w", tiny_weights, *COMMON).exit_code == 0
    assert not left.exists() and other.exists() and (tmp_path / "film.mp4").is_file()


def test_only_temp_files_old_enough_to_be_a_dead_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "128.onnx"
    old, young = tmp_path / ".128.onnx.aaaa1111.tmp", tmp_path / ".128.onnx.bbbb2222.tmp"
    for p in (old, young):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert remove_stale_temps(target, min_age_s=3600) == 1
    assert not old.exists() and young.exists()


def photo_folder(path: Path, n: int, size: int = 96) -> Path:
    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), np.uint8)).save(path / f"p{i:03d}.jpg")
    return path


def test_a_killed_re_prepare_leaves_no_index_of_shards_it_was_rebuilding(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    src, out = photo_folder(tmp_path / "src", 6), tmp_path / "out"
    prepare(src, out, size_px=64, photos_per_shard=2)
    (out / "shards" / ".000001.tar.zz9y8x7w.tmp").write_bytes(b"a shard a killed run left")
    import colorize.shards

    real, built = colorize.shards._build_shard, []

    def killed_after_one(*args: object) -> dict:
        if built:
            raise KeyboardInterrupt
        built.append(1)
        return real(*args)

    monkeypatch.setattr(colorize.shards, "_build_shard", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        prepare(src, out, size_px=64, photos_per_shard=2, quality=60)
    assert not is_prepared(out)  # never an index pointing at the bytes of the shards being rebuilt
    assert not (out / "shards" / ".000001.tar.zz9y8x7w.tmp").exists()
    monkeypatch.undo()
    assert prepare(src, out, size_px=64, photos_per_shard=2, quality=60).photos == 6 and is_prepared(out)


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_prepare_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    src = photo_folder(tmp_path / "src", 240, size=400)
    proc = subprocess.Popen([sys.executable, "-m", "colorize", "data", "prepare", str(src), str(tmp_path / "out"),
                             "--size", "64", "--per-shard", "4", "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, workers = time.monotonic() + 60, []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.1)
        workers = [c for c in children(proc.pid) if alive(c)]
    assert len(workers) >= 2, "the pool did not start"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    survivors = [w for w in workers if alive(w)]
    for w in survivors:
        os.kill(w, signal.SIGKILL)
    assert not survivors, "workers went on building shards for a parent that was killed"


def test_a_failed_export_of_a_model_at_its_own_render_size_is_remembered(tmp_path: Path, tiny_weights: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.export as export

    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache"))
    tries = []

    def failing(*args: object, **kwargs: object):
        tries.append(1)
        raise RuntimeError("an operator ONNX lacks")

    monkeypatch.setattr(export, "export_model", failing)
    import torch

    own_size = tmp_path / "own-size.pt"  # a model trained at another scale than the default, as the shipped one is
    torch.save({**torch.load(tiny_weights, weights_only=True), "render_factor": 8}, own_size)
    src = write_photo_file(tmp_path / "p.png")
    for out in ("a.png", "b.png"):  # no -r: the render size is the model's own, known only once it is loaded
        assert invoke("photo", src, "-o", tmp_path / out, "-w", own_size, "--device", "cpu").exit_code == 0
    assert len(tries) == 1


def test_a_full_disk_during_an_export_is_not_remembered_as_a_failure(tmp_path: Path, tiny_weights: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.export as export

    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache"))
    tries = []

    def full(model: object, path: Path, *args: object, **kwargs: object):
        tries.append(1)
        raise WriteError(path, OSError(errno.ENOSPC, FULL))

    monkeypatch.setattr(export, "export_model", full)
    src = write_photo_file(tmp_path / "p.png")
    first = invoke("photo", src, "-o", tmp_path / "a.png", "-w", tiny_weights, "--device", "cpu")
    assert first.exit_code == 0 and f"cannot write it ({FULL})" in first.stderr
    invoke("photo", src, "-o", tmp_path / "b.png", "-w", tiny_weights, "--device", "cpu")
    assert len(tries) == 2 and not list((tmp_path / "cache").glob("*/*.failed"))


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_an_atomic_write_never_replaces_a_link_or_a_device(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    path = tmp_path / "out.json"
    if kind == "link":
        path.symlink_to(target)
    else:
        os.mkfifo(path)
    with pytest.raises(ColorizeError, match="out.json: is (a link|not a regular file)"):
        atomic_write(path, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "keep me" and (path.is_symlink() if kind == "link" else not path.is_file())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "target.txt"]  # no temp file left


def test_a_photo_whose_name_is_near_the_file_systems_limit_is_coloured(tmp_path: Path, tiny_weights: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_photo_file(src / ("a" * 230 + ".png"))  # its record's temp name would pass 255 bytes
    r = invoke("photos", src, "-o", tmp_path / "out", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0 and "colorized 1" in r.stderr
