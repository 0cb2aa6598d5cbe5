"""What a new user meets in their first hour: flags where they type them, a folder holding the tool's own outputs,
a contact sheet that grows with the folder, a photo given to `video`, an empty file, the first export, eval's
columns explained."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app, hoist_global_flags

from helpers import visible, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu", "--engine", "torch")


def invoke(*args: object):
    return runner.invoke(app, hoist_global_flags([str(a) for a in args]))


def test_quiet_and_verbose_work_after_the_command(tmp_path: Path, tiny_weights: Path) -> None:
    src = tmp_path / "album"
    src.mkdir()
    write_photo_file(src / "a.png")
    run = [sys.executable, "-m", "colorize", "photos", str(src), "-o", str(tmp_path / "out"), "-w", str(tiny_weights), *COMMON]
    quiet = subprocess.run([*run, "-q"], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == "" and visible(tmp_path / "out") == ["a_color.png"]
    verbose = subprocess.run([*run, "--overwrite", "-v"], capture_output=True, text=True)
    assert verbose.returncode == 0 and "colorize: info: model on" in verbose.stderr
    assert hoist_global_flags(["photo", "x.png", "-q", "--", "-v"]) == ["-q", "photo", "x.png", "--", "-v"]


def test_a_folder_holding_the_tools_own_results_is_not_coloured_twice(tmp_path: Path, tiny_weights: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    write_photo_file(album / "a.png", seed=1)
    write_photo_file(album / "b_color.png", seed=2)  # a photo of the user's that only looks like a result
    assert invoke("photo", album / "a.png", "-w", tiny_weights, *COMMON).exit_code == 0  # a_color.png beside it
    r = invoke("photos", album, "-o", tmp_path / "out", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0 and visible(tmp_path / "out") == ["a_color.png", "b_color_color.png"]


def test_a_rerun_with_a_sheet_keeps_every_photo_on_it(tmp_path: Path, tiny_weights: Path) -> None:
    album, sheet = tmp_path / "album", tmp_path / "sheet.png"
    album.mkdir()
    for name in ("a.png", "c.png"):
        write_photo_file(album / name, seed=len(name))
    assert invoke("photos", album, "-o", tmp_path / "out", "-w", tiny_weights, *COMMON, "--sheet", sheet).exit_code == 0
    two = Image.open(sheet).size
    write_photo_file(album / "b.png", seed=5)
    r = invoke("photos", album, "-o", tmp_path / "out", "-w", tiny_weights, *COMMON, "--sheet", sheet)
    assert r.exit_code == 0 and "colorized 1, skipped 2" in r.stderr
    three = Image.open(sheet).size
    assert three[0] == two[0] and three[1] > 1.4 * two[1]  # three rows now, not the one photo of this run


def test_a_still_photo_or_an_empty_file_given_to_video_is_one_line(tmp_path: Path, tiny_weights: Path) -> None:
    still = tmp_path / "still.jpg"
    Image.fromarray(np.full((32, 48, 3), 128, np.uint8)).save(still)
    r = invoke("video", still, "-o", tmp_path / "film.mp4", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and f"{still}: is a still photo, not a film; use colorize photo" in r.stderr
    assert not (tmp_path / "film.mp4").exists()
    (tmp_path / "empty.mp4").write_bytes(b"")
    r = invoke("video", tmp_path / "empty.mp4", "-o", tmp_path / "film.mp4", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "empty.mp4: empty file (0 bytes)" in r.stderr
    (tmp_path / "empty.png").write_bytes(b"")
    r = invoke("photo", tmp_path / "empty.png", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "empty.png: empty file (0 bytes)" in r.stderr and "error:" in r.stderr
    assert "ERROR" not in r.stderr  # one spelling for a failed file and a failed run
    assert "FILM" in invoke("video", "--help").stdout


def test_eval_explains_its_columns(tmp_path: Path, tiny_weights: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(data / f"p{i}.png")
    r = invoke("eval", "--data", data, "-w", tiny_weights, "--json", tmp_path / "e.json", *COMMON)
    assert r.exit_code == 0
    for column in ("psnr:", "ab_mae: colour error", "colorfulness_gap:", "score: ab_mae + colorfulness_gap"):
        assert column in r.stdout


def test_the_default_model_runs_at_any_render_factor_without_pytorch(tmp_path: Path) -> None:
    script = """
import sys, numpy as np
from colorize.engine import EngineOptions, open_colorizer
for factor in (None, 9, 12):
    c = open_colorizer(EngineOptions(device="cpu", render_factor=factor))
    rgb = c.colorize([np.full((50, 70), 120, np.uint8)])[0]
    assert rgb.shape == (50, 70, 3) and c.backend.description == "cpu (onnxruntime)", c.backend.description
print("torch" in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env={**__import__("os").environ, "COLORIZE_CACHE": str(tmp_path / "empty-cache")})
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr  # no export, no PyTorch: the shipped ONNX
    assert not (tmp_path / "empty-cache").exists()


def test_the_page_renders_at_render_factor_9_on_the_default_engine(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from colorize.engine import EngineOptions, open_colorizer
    from colorize.serve import Session, create_app

    write_photo_file(tmp_path / "a.png", h=40, w=60)
    c = TestClient(create_app(Session(tmp_path, open_colorizer(EngineOptions(device="cpu")))), base_url="http://127.0.0.1:8000")
    c.post("/api/open", json={"path": "a.png"})
    for factor in (9, 13):
        r = c.post("/api/render", json={"photo": "a.png", "render_factor": factor})
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"


def test_a_damaged_shipped_export_is_refused_by_its_checksum(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from colorize.engine import EngineOptions, open_colorizer
    from colorize.errors import WeightsError
    from colorize.weights import DEFAULT_MODEL_NAME, WEIGHTS_DIR_ENV, weights_dir

    for suffix in (".json", ".onnx", ".pt"):
        shutil.copy(weights_dir() / f"{DEFAULT_MODEL_NAME}{suffix}", tmp_path)
    with open(tmp_path / f"{DEFAULT_MODEL_NAME}.onnx", "r+b") as f:
        f.seek(5000)
        f.write(b"\xff\xff")
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path))
    try:
        open_colorizer(EngineOptions(device="cpu"))
    except WeightsError as e:
        assert "sha256 mismatch" in str(e) and f"{DEFAULT_MODEL_NAME}.onnx" in str(e)
    else:
        raise AssertionError("a damaged export was used")


def test_a_missing_extra_names_the_pip_command(tmp_path: Path, monkeypatch) -> None:
    import colorize.weights as weights

    def no_torch(*args: object, **kwargs: object):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(weights, "load_generator", no_torch)
    write_photo_file(tmp_path / "a.png")
    r = invoke("photo", tmp_path / "a.png", "--engine", "torch", "--device", "cpu")
    assert r.exit_code == 1 and "pip install 'colorize[torch]'" in r.stderr and "Traceback" not in r.output


def test_the_core_install_asks_for_no_pytorch() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    core = {d.split(">")[0].split("=")[0].split("<")[0].strip().lower() for d in project["dependencies"]}
    assert core.isdisjoint({"torch", "torchvision", "fastai", "timm", "tensorboard", "h5py", "matplotlib"})
    assert {"onnxruntime", "av", "fastapi"} <= core
    assert any(d.startswith("torch") for d in project["optional-dependencies"]["torch"])


def test_an_unreadable_film_is_named_without_library_noise(tmp_path: Path, tiny_weights: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a film at all, only text" * 10)
    r = invoke("video", junk, "-o", tmp_path / "out.mp4", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and f"{junk}: not a readable video (Invalid data found when processing input)" in r.stderr
    assert "Errno" not in r.stderr
