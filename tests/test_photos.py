"""Running the photo jobs (colorize/photos.py): the records that let a rerun skip what is done and redo what changed
(hints, settings), temp files a killed run left behind, and a folder run killed with SIGKILL that a rerun finishes
exactly as an uninterrupted run would."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app

from helpers import visible, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_stale_temp_files_of_ours_are_removed_and_others_kept(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    write_photo_file(src / "a.png")
    ours = out / ".a_color.png.k3j4h5.tmp"
    record = out / "..a_color.png.colorize.x7y8z9.tmp"  # a killed write of the output's record
    theirs = out / ".notes.txt.swp.tmp"
    ours.write_bytes(b"half a png")
    record.write_bytes(b"")
    theirs.write_bytes(b"someone else's")
    assert invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON).exit_code == 0
    assert not ours.exists() and not record.exists() and theirs.exists()


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
    # An output whose record was not yet finished (written, or still being written, when killed) is made again.
    finished = sum((out / f".{p.name}.colorize").read_text().strip() != "pending" for p in out.glob("*.png"))
    assert done - finished <= 2
    r = subprocess.run([*cmd, str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and f"colorized {40 - finished}, skipped {finished}" in r.stderr
    straight = {p.name: p.read_bytes() for p in (tmp_path / "straight").iterdir()}
    assert {p.name: p.read_bytes() for p in out.iterdir()} == straight  # no temp files, every output identical


def test_a_rerun_redoes_a_photo_whose_hints_or_settings_changed_and_skips_the_rest(tmp_path: Path, tiny_weights: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        write_photo_file(src / f"{name}.png", seed=ord(name))
    out = tmp_path / "out"

    def run(*extra: object) -> str:
        r = invoke("photos", src, "-o", out, "-w", tiny_weights, *extra, *COMMON)
        assert r.exit_code == 0, r.stderr
        return r.stderr

    def colors() -> dict[str, bytes]:
        return {name: (out / name).read_bytes() for name in visible(out)}

    assert "colorized 2, skipped 0" in run()
    first = colors()
    assert "colorized 0, skipped 2" in run()  # the same inputs and settings: done
    Image.fromarray(np.full((48, 64, 4), (255, 0, 0, 255), np.uint8)).save(src / "a.hints.png")
    assert "colorized 1, skipped 1" in run()  # a's hints appeared: a is redone
    assert colors()["a_color.png"] != first["a_color.png"] and colors()["b_color.png"] == first["b_color.png"]
    Image.fromarray(np.full((48, 64, 4), (0, 0, 255, 255), np.uint8)).save(src / "a.hints.png")
    assert "colorized 1, skipped 1" in run()  # edited hints
    assert "colorized 2, skipped 0" in run("--vividness", "1.5")  # another setting: every photo
    assert "colorized 0, skipped 2" in run("--vividness", "1.5")
    one = src / "a.png"
    r = invoke("photo", one, "-w", tiny_weights, "--hint", "10,10=blue", *COMMON)
    assert "colorized 1" in r.stderr
    blue = (src / "a_color.png").read_bytes()
    r = invoke("photo", one, "-w", tiny_weights, "--hint", "10,10=red", *COMMON)
    assert "colorized 1, skipped 0" in r.stderr and (src / "a_color.png").read_bytes() != blue
