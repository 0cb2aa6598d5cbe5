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

from helpers import make_clip, visible, write_photo_file

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
for factor in (None, 7, 12):  # 7: mirrored out to the stride; 12: above the model's own
    c = open_colorizer(EngineOptions(device="cpu", render_factor=factor))
    rgb = c.colorize([np.full((50, 70), 120, np.uint8)])[0]
    assert rgb.shape == (50, 70, 3) and c.backend.description == "cpu (onnxruntime)", c.backend.description
print("torch" in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env={**__import__("os").environ, "COLORIZE_CACHE": str(tmp_path / "empty-cache")})
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr  # no export, no PyTorch: the shipped ONNX
    assert not (tmp_path / "empty-cache").exists()


def test_the_page_renders_at_any_render_factor_on_the_default_engine(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from colorize.engine import EngineOptions, open_colorizer
    from colorize.serve import Session, create_app

    write_photo_file(tmp_path / "a.png", h=40, w=60)
    c = TestClient(create_app(Session(tmp_path, open_colorizer(EngineOptions(device="cpu")))), base_url="http://127.0.0.1:8000")
    c.post("/api/open", json={"path": "a.png"})
    for factor in (7, 13):  # 7: mirrored out to the network's stride; 13: above the model's own, capped
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


def test_a_render_too_large_for_memory_is_lowered_not_killed() -> None:
    from colorize.engine import EngineOptions, open_colorizer

    from dataclasses import replace

    from colorize.pipeline import Colorizer

    shipped = open_colorizer(EngineOptions(device="cpu", mirror=False))
    # As a model trained at 320 px (factor 20) would run: the shipped one's own factor is the least there is.
    colorizer = Colorizer(shipped.backend, replace(shipped.inference, render_factor=20), mirror=False)
    colorizer.backend.budget = 20 * 2**20  # 20 MB: 320 px (factor 20) needs ~50 MB, 240 px ~16 MB
    rgb = colorizer.colorize([np.full((60, 80), 120, np.uint8)])[0]
    assert rgb.shape == (60, 80, 3)  # made at a lower factor, with a warning, instead of exhausting the machine


def test_an_options_value_is_never_taken_for_a_global_flag() -> None:
    assert hoist_global_flags(["photo", "a.jpg", "--suffix", "-q", "-v"]) == ["-v", "photo", "a.jpg", "--suffix", "-q"]
    assert hoist_global_flags(["photos", "d", "-o", "-q"]) == ["photos", "d", "-o", "-q"]


def test_a_usage_mistake_is_one_line() -> None:
    for args, words in ((["photo"], "Missing argument 'PHOTO'"), (["photos", "x", "-o", "y", "-r", "6"], "--render-factor"),
                        (["nosuch"], "No such command")):
        r = subprocess.run([sys.executable, "-m", "colorize", *args], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("colorize: error:"), r.stderr
        assert words in r.stderr


def test_what_is_not_a_film_is_named_before_any_model_loads(tmp_path: Path, monkeypatch) -> None:
    import av

    import colorize.engine

    monkeypatch.setattr(colorize.engine, "open_colorizer", lambda options: (_ for _ in ()).throw(AssertionError("loaded")))
    audio = tmp_path / "song.m4a"
    with av.open(str(audio), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(tmp_path / "still.gif")
    clip = make_clip(tmp_path / "clip.mp4", n=3)
    for args, words in (([audio], "has no video stream (audio)"), ([tmp_path / "still.gif"], "is a still photo"),
                        ([clip, "--codec", "nonsense"], "--codec nonsense: no such encoder"),
                        ([clip, "--codec", "pcm_s16le"], "an audio encoder"), ([clip, "-o", tmp_path / "x.gif"], "output must be"),
                        ([tmp_path], "is a folder; for a folder of frames use colorize frames")):
        r = invoke("video", *args)
        assert r.exit_code == 1 and words in r.stderr, r.stderr
    for options, words in ((["-w", tmp_path / "nothere.pt"], "nothere.pt: no such weights file"),
                           (["--device", "gpu"], "device 'gpu' is not supported")):
        r = invoke("photo", write_photo_file(tmp_path / "p.png"), *options)
        assert r.exit_code == 1 and words in r.stderr and "pip install" not in r.stderr, r.stderr


def test_a_contact_sheet_and_a_users_result_named_file_are_not_taken_for_results(tmp_path: Path, tiny_weights: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    write_photo_file(album / "a.png", seed=1)
    for _ in range(2):
        r = invoke("photos", album, "-o", album, "-w", tiny_weights, *COMMON, "--sheet", album / "sheet.png")
        assert r.exit_code == 0
    assert visible(album) == ["a.png", "a_color.png", "sheet.png"]  # the sheet is not coloured on the rerun
    write_photo_file(album / "b.png", seed=2)
    write_photo_file(album / "b_color.png", seed=3)  # the user's own, with a result's name and no record
    r = invoke("photos", album, "-o", album, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "b_color.png is already there and not made by colorize" in r.stderr


def test_serve_on_a_busy_port_says_so_before_loading_the_model() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = invoke("serve", "--no-browser", "--port", port)
    assert r.exit_code == 1 and f"127.0.0.1:{port}: cannot listen there" in r.stderr


def test_a_render_factor_above_the_models_own_gives_its_own_colour_not_blotches(caplog) -> None:  # noqa: ANN001
    """Shown more than it was trained on, the model's colour got worse (rust-brown blotches): -r above the model's
    own runs at its own, with a warning, and the colour is the same as at its own factor."""
    import logging

    from colorize.engine import EngineOptions, open_colorizer

    gray = np.asarray(Image.open(Path(__file__).resolve().parents[1] / "samples" / "cameraman.png").convert("L").resize((256, 256)))
    own = open_colorizer(EngineOptions(device="cpu"))
    with caplog.at_level(logging.WARNING):
        high = open_colorizer(EngineOptions(device="cpu", render_factor=4 * own.render_factor))
    assert high.render_factor == own.render_factor and "above this model's own" in caplog.text
    assert np.array_equal(high.colorize([gray])[0], own.colorize([gray])[0])
