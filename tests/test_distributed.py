"""Every stage of the recipe under a two-process gloo `torchrun` on the CPU: ranks stay identical, the cache stage
splits its images across ranks, scoring is split and gathered, and a run stopped by a signal resumes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "recipes" / "smoke.toml"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def torchrun(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
            "-m", "colorize", "-v", "train", *args, "--recipe", str(SMOKE), "--arch", "tiny", "--device", "cpu",
            "--set", "loss.perceptual=false"]


def test_every_stage_runs_under_two_process_torchrun_and_a_stopped_run_resumes(photo_dir: Path, tmp_path: Path) -> None:
    # Stage 1 long enough to be stopped in the middle (80 steps of the tiny model, logged and resumable every 4);
    # then the rerun resumes it and runs every later stage.
    cmd = torchrun(29571, "all", "--data", str(photo_dir), "--run-dir", str(tmp_path), "--set", "pretrain_gen.steps_per_size=[40,40]")
    log = tmp_path / "1-pretrain-gen" / "train_log.csv"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 300
    while not (log.is_file() and len(log.read_text().splitlines()) > 1) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and not (tmp_path / "1-pretrain-gen" / "DONE").exists(), err[-3000:]
    assert (tmp_path / "1-pretrain-gen" / "last.pt").is_file(), err[-3000:]

    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming from" in r.stderr
    for stage in ("1-pretrain-gen", "2-cache", "3-pretrain-critic", "4-gan"):
        assert (tmp_path / stage / "DONE").is_file(), stage
    done = json.loads((tmp_path / "1-pretrain-gen" / "DONE").read_text())
    assert done["steps"] == 80 and len(done["rank_weight_digests"]) == 2
    assert done["rank_weight_digests"][0] == done["rank_weight_digests"][1]
    # The cache: each of the 16 images written once, half by each rank.
    images = sorted((tmp_path / "2-cache" / "images").iterdir())
    assert [p.name for p in images] == [f"{i:06d}.png" for i in range(16)]
    assert all(Image.open(p).size == (48, 48) for p in images)
    wrote = sorted(re.findall(r"rank (\d) wrote (\d+) of 16 images", r.stderr))
    assert wrote == [("0", "8"), ("1", "8")], r.stderr[-2000:]
    # Scores gathered from both ranks, the decoding tuned on them, the model exported once.
    assert len((tmp_path / "4-gan" / "metrics.csv").read_text().splitlines()) >= 2
    manifest = json.loads((tmp_path / "final.json").read_text())
    assert manifest["training"]["world_size"] == 2 and len(manifest["decoding_scores"]) == 6
