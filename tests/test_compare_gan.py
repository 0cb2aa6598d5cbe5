"""The GAN comparison's archive: finished arms carried to a rebuilt run folder only when the start is the same."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_gan.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_gan", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["compare_gan"] = module
    spec.loader.exec_module(module)
    return module


def checkpoint(path: Path, value: float, step: int) -> Path:
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {"w": torch.full((2, 2), value)}, "step": step}, path)
    return path


def test_start_digest_follows_the_weights_not_the_file(tmp_path: Path) -> None:
    cg = load_script()
    a = checkpoint(tmp_path / "a" / "gen.pt", 1.0, step=5)
    b = checkpoint(tmp_path / "b" / "gen.pt", 1.0, step=6)  # same weights, other metadata
    c = checkpoint(tmp_path / "c" / "gen.pt", 1.5, step=5)
    assert cg.weights_sha256(a) == cg.weights_sha256(b) != cg.weights_sha256(c)


def test_archive_refuses_another_start(tmp_path: Path) -> None:
    cg = load_script()
    archive = tmp_path / "archive"
    cg.check_start(archive, [checkpoint(tmp_path / "1-pretrain-gen" / "gen.pt", 1.0, 1)])
    assert set(json.loads((archive / "start.json").read_text())) == {"1-pretrain-gen"}
    cg.check_start(archive, [checkpoint(tmp_path / "again" / "1-pretrain-gen" / "gen.pt", 1.0, 2)])  # rebuilt alike
    with pytest.raises(SystemExit, match="other weights"):
        cg.check_start(archive, [checkpoint(tmp_path / "other" / "1-pretrain-gen" / "gen.pt", 2.0, 1)])


def test_keep_arm_copies_finished_arms_only_and_never_overwrites(tmp_path: Path) -> None:
    cg = load_script()
    run, archive = tmp_path / "run", tmp_path / "archive"
    (run / "gan-bce-s0").mkdir(parents=True)
    (run / "gan-bce-s0" / "last.pt").write_text("unfinished")
    cg.keep_arm(run / "gan-bce-s0", archive / "gan-bce-s0")
    assert not (archive / "gan-bce-s0").exists()
    for name, text in (("metrics.csv", "step\n0\n"), ("DONE", '{"hash": "h1"}')):
        (run / "gan-bce-s0" / name).write_text(text)
    cg.keep_arm(run / "gan-bce-s0", archive / "gan-bce-s0")
    assert (archive / "gan-bce-s0" / "DONE").read_text() == '{"hash": "h1"}'
    (run / "gan-bce-s0" / "DONE").write_text('{"hash": "h2"}')
    cg.keep_arm(run / "gan-bce-s0", archive / "gan-bce-s0")
    assert (archive / "gan-bce-s0" / "DONE").read_text() == '{"hash": "h1"}'
    rebuilt = tmp_path / "rebuilt"
    cg.keep_arm(archive / "gan-bce-s0", rebuilt / "gan-bce-s0")
    assert sorted(p.name for p in (rebuilt / "gan-bce-s0").iterdir()) == ["DONE", "metrics.csv"]
