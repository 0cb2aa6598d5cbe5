"""Hostile use, round two: output paths checked before the work, recipes checked before training, a cache that is
damaged, read-only or failing, and messages that say what happened. Each case builds its bad input on the fly."""

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.atomic import atomic_write
from colorize.cli import app
from colorize.config import DERIVED, GAN_LOSSES, load_recipe, parse_override
from colorize.errors import ColorizeError, ConfigError

from conftest import at_step, visible, write_photo_file

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "recipes" / "smoke.toml"
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def color_folder(path: Path, n: int = 2) -> Path:
    path.mkdir()
    for i in range(n):
        write_photo_file(path / f"c{i}.png", seed=i)
    return path


# Output paths -------------------------------------------------------------------------------------------------------

def test_eval_checks_its_output_paths_before_scoring(tmp_path: Path, tiny_weights: Path) -> None:
    data = color_folder(tmp_path / "data")
    (tmp_path / "file").write_text("")
    for flag in ("--json", "--sheet"):
        r = invoke("eval", "--data", data, "-w", tiny_weights, flag, tmp_path / "file" / "out", *COMMON)
        assert r.exit_code == 1 and "cannot write outputs there" in r.stderr
        assert "ab_mae" not in r.stdout  # nothing was scored
    r = invoke("eval", "--data", data, "-w", tiny_weights, "--json", tmp_path, *COMMON)
    assert r.exit_code == 1 and "is a folder" in r.stderr and "ab_mae" not in r.stdout


def test_eval_says_when_it_replaces_a_file(tmp_path: Path, tiny_weights: Path) -> None:
    data = color_folder(tmp_path / "data")
    out = tmp_path / "eval.json"
    first = invoke("eval", "--data", data, "-w", tiny_weights, "--json", out, *COMMON)
    assert first.exit_code == 0 and "replaced" not in first.stderr
    again = invoke("eval", "--data", data, "-w", tiny_weights, "--json", out, *COMMON)
    assert again.exit_code == 0 and "replaced the file that was there" in again.stderr


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


# Recipes ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("override", "named"), [
    ("gan.loss=banana", "gan.loss = 'banana'; choose one of"),
    ("pretrain_gen.steps_per_size=[-5, -5]", "pretrain_gen.steps_per_size[0] = -5; it must be >= 1"),
    ("pretrain_gen.batch_size=0", "pretrain_gen.batch_size = 0; it must be >= 1"),
    ("gan.max_steps=-5", "gan.max_steps = -5"),
    ("gan.size_px=0", "gan.size_px = 0"),
    ("gan.size_px=100", "a multiple of 16"),
    ("data.composite_prob=2", "data.composite_prob = 2.0; it must be <= 1"),
    ("data.jpeg_quality_min=99", "is above data.jpeg_quality_max"),
    ("pretrain_gen.steps_per_size=[10]", "the same length"),
    ("train.precision=fp8", "train.precision = 'fp8'; choose one of"),
])
def test_every_recipe_value_is_checked_when_the_recipe_loads(override: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("(", r"\(")):
        load_recipe(SMOKE, dict([parse_override(override)]))


@pytest.mark.parametrize("key", DERIVED)
def test_keys_that_training_sets_are_refused_in_a_recipe(tmp_path: Path, key: str) -> None:
    section, name = key.split(".")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f"[{section}]\n{name} = {'true' if 'hints' in name else '1.5'}\n")
    with pytest.raises(ConfigError, match=f"{key}: set by training and export, not by a recipe"):
        load_recipe(recipe)
    with pytest.raises(ConfigError, match=key):
        load_recipe(SMOKE, {key: 2.0})


def test_a_bad_recipe_value_fails_train_before_any_stage(tmp_path: Path) -> None:
    data = color_folder(tmp_path / "data", 3)
    r = invoke("train", "all", "--data", data, "--run", tmp_path / "run", "--recipe", SMOKE, "--set", "gan.loss=banana")
    assert r.exit_code == 1 and "gan.loss = 'banana'" in r.stderr
    assert not (tmp_path / "run" / "1-pretrain-gen").exists()


def test_the_config_and_the_gan_losses_name_the_same_losses() -> None:
    from colorize.losses.adversarial import ADVERSARIAL_LOSSES

    assert set(GAN_LOSSES) == set(ADVERSARIAL_LOSSES)


def test_an_unreadable_held_out_side_falls_back_to_training_photos_before_training(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from colorize.config import DataConfig
    from colorize.data import validation_photos

    data = color_folder(tmp_path / "data", 8)
    for name in ("bad1.jpg", "bad2.jpg"):
        (data / name).write_bytes(b"not a jpeg")
    rows = [f"c{i}.png,train" for i in range(8)] + ["bad1.jpg,val", "bad2.jpg,val"]
    (data / "manifest.csv").write_text("file,split\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        photos = validation_photos(data, DataConfig(), 64)
    assert len(photos) == 4 and "2 held out, none readable" in caplog.text and "flatters" in caplog.text
    for p in data.iterdir():
        p.write_bytes(b"nothing readable")
    with pytest.raises(ConfigError, match="none of its 10 photos is readable"):
        validation_photos(data, DataConfig(), 64)


def test_sigterm_during_training_exits_143(tmp_path: Path) -> None:
    data = color_folder(tmp_path / "data", 6)
    args = ["train", "pretrain-gen", "--data", data, "--run", tmp_path / "run", "--recipe", SMOKE, "--arch", "tiny",
            "--set", "loss.perceptual=false"]
    with at_step(2, lambda: os.kill(os.getpid(), signal.SIGTERM)):
        r = invoke(*args)
    assert r.exit_code == 143 and "interrupted" in r.stderr


# The ONNX cache -----------------------------------------------------------------------------------------------------

def _read_only(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """`cache` on a read-only file system (the tests run as root, for whom permissions are no obstacle)."""
    import tempfile

    real_unlink, real_temp = Path.unlink, tempfile.NamedTemporaryFile

    def refused(path: object) -> bool:
        return Path(str(path)).resolve().is_relative_to(cache.resolve())

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if refused(self):
            raise PermissionError(30, "Read-only file system", str(self))
        real_unlink(self, missing_ok=missing_ok)

    def temp(*args: object, dir: object = None, **kwargs: object):
        if dir is not None and refused(dir):
            raise PermissionError(30, "Read-only file system", str(dir))
        return real_temp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", temp)


def test_a_read_only_cache_with_a_damaged_export_falls_back_with_one_warning(
        tmp_path: Path, tiny_weights: Path, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_photo_file(tmp_path / "p.png")
    assert invoke("photo", src, "-o", tmp_path / "first.png", "-w", tiny_weights, *COMMON).exit_code == 0
    from colorize import __version__
    from colorize.weights import sha256_file

    export = onnx_cache / f"{__version__}-{sha256_file(tiny_weights)}" / "model.onnx"
    data = bytearray(export.read_bytes())
    export.write_bytes(bytes(data[:1000]))
    try:
        _read_only(monkeypatch, onnx_cache)
        r = invoke("photo", src, "-o", tmp_path / "second.png", "-w", tiny_weights, *COMMON)
    finally:
        monkeypatch.undo()
        export.write_bytes(bytes(data))
    assert r.exit_code == 0 and (tmp_path / "second.png").is_file()
    warnings = [line for line in r.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "not writable" in warnings[0] and "--engine torch" in warnings[0], r.stderr


def test_a_failed_export_is_remembered_instead_of_retried(tmp_path: Path, tiny_weights: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.export as export

    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache"))
    tries = []

    def failing(*args: object, **kwargs: object):
        tries.append(1)
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(export, "export_model", failing)
    src = write_photo_file(tmp_path / "p.png")
    first = invoke("photo", src, "-o", tmp_path / "a.png", "-w", tiny_weights, *COMMON)
    second = invoke("photo", src, "-o", tmp_path / "b.png", "-w", tiny_weights, *COMMON)
    assert first.exit_code == second.exit_code == 0 and len(tries) == 1
    assert "ONNX export failed (the disk filled up)" in first.stderr
    assert "failed 0.0 h ago (the disk filled up)" in second.stderr and "delete" in second.stderr
    note = next((tmp_path / "cache").glob("*/*.failed"))
    note.unlink()  # deleting the note tries again
    invoke("photo", src, "-o", tmp_path / "c.png", "-w", tiny_weights, *COMMON)
    assert len(tries) == 2


def test_the_first_run_exports_quietly_unless_asked(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache"))
    src = write_photo_file(tmp_path / "p.png")
    first = invoke("photo", src, "-o", tmp_path / "a.png", "-w", tiny_weights, *COMMON)
    assert first.exit_code == 0 and "warning" not in first.stderr  # a second's export is no warning
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cache2"))
    told = runner.invoke(app, ["-v", "photo", str(src), "-o", str(tmp_path / "b.png"), "-w", str(tiny_weights), *COMMON])
    assert "exporting it to ONNX once" in told.stderr and "exported in" in told.stderr


# Messages -----------------------------------------------------------------------------------------------------------

def test_eval_on_grayscale_photos_warns_that_its_scores_say_little(tmp_path: Path, tiny_weights: Path) -> None:
    data = tmp_path / "gray"
    data.mkdir()
    for i in range(2):
        write_photo_file(data / f"g{i}.png", mode="L", seed=i)
    r = invoke("eval", "--data", data, "-w", tiny_weights, "--json", tmp_path / "e.json", *COMMON)
    assert r.exit_code == 0 and "have (almost) no colour" in r.stderr
    color = invoke("eval", "--data", color_folder(tmp_path / "c"), "-w", tiny_weights, "--json", tmp_path / "f.json", *COMMON)
    assert "no colour" not in color.stderr


@pytest.mark.parametrize(("hint", "message"), [
    ("-5,10=red", "is outside the 64x48 photo"),
    ("10,-1%=red", "is outside the 64x48 photo"),
    ("10,10=#ff000080", "has transparency; a hint is an opaque colour"),
])
def test_bad_hints_are_named(tmp_path: Path, tiny_weights: Path, hint: str, message: str) -> None:
    src = write_photo_file(tmp_path / "p.png")
    r = invoke("photo", src, "-w", tiny_weights, "--hint", hint, *COMMON)
    assert r.exit_code == 1 and message in r.stderr
    assert "results in" not in r.stderr and not (tmp_path / "p_color.png").exists()


def test_a_folder_given_as_hints_image_is_named_as_such(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "p.png")
    r = invoke("photo", src, "-w", tiny_weights, "--hints", tmp_path, *COMMON)
    assert r.exit_code == 1 and "is a folder; --hints takes one hints image" in r.stderr


def test_the_summary_says_nothing_was_written_when_nothing_was(tmp_path: Path, tiny_weights: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "broken.png").write_bytes(b"not a png")
    r = invoke("photos", src, "-o", tmp_path / "out", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "failed 1; nothing written" in r.stderr and "results in" not in r.stderr


def test_faint_strokes_count_and_strokes_too_faint_are_said(tmp_path: Path, tiny_weights: Path) -> None:
    from colorize.hints import Hints

    layer = np.zeros((48, 64, 4), np.uint8)
    layer[20:30, 20:30] = (255, 0, 0, 60)  # a 25 % opacity brush
    Image.fromarray(layer).save(tmp_path / "soft.png")
    _, hinted = Hints(image=tmp_path / "soft.png").rasterise(48, 64, (48, 64))
    assert hinted.sum() == 100
    layer[..., 3] = np.where(layer[..., 3] > 0, 10, 0)  # 4 %: too faint to be meant
    Image.fromarray(layer).save(tmp_path / "faint.png")
    src = write_photo_file(tmp_path / "p.png")
    r = invoke("photo", src, "-w", tiny_weights, "--hints", tmp_path / "faint.png", *COMMON)
    assert r.exit_code == 0 and "fainter than 10 % opacity, so none is read as a hint" in r.stderr


def test_a_hints_image_is_found_whatever_the_case_of_its_photos_name(tmp_path: Path, tiny_weights: Path) -> None:
    from colorize.plan import attach_hints, plan_folder

    src = tmp_path / "in"
    src.mkdir()
    write_photo_file(src / "E.JPG", format="JPEG")
    write_photo_file(src / "f.png")
    Image.fromarray(np.zeros((48, 64, 4), np.uint8)).save(src / "e.hints.png")
    Image.fromarray(np.zeros((48, 64, 4), np.uint8)).save(src / "F.HINTS.PNG")
    jobs = {j.src.name: j for j in attach_hints(plan_folder(src, tmp_path / "out", False, "_color", "auto"), src, None)}
    assert jobs["E.JPG"].hints.image == src / "e.hints.png" and jobs["f.png"].hints.image == src / "F.HINTS.PNG"


def test_quiet_prints_no_summary_and_a_log_gets_no_progress_bar(tmp_path: Path, tiny_weights: Path) -> None:
    src = color_folder(tmp_path / "in", 3)
    quiet = invoke("-q", "photos", src, "-o", tmp_path / "q", "-w", tiny_weights, *COMMON)
    assert quiet.exit_code == 0 and quiet.stderr == "" and len(visible(tmp_path / "q")) == 3
    logged = invoke("photos", src, "-o", tmp_path / "l", "-w", tiny_weights, *COMMON)
    assert "\r" not in logged.stderr and "colorized 3" in logged.stderr


def test_an_interrupted_film_says_it_was_not_written(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.video as video

    def interrupted(*args: object, **kwargs: object):
        raise KeyboardInterrupt

    monkeypatch.setattr(video, "colorize_video", interrupted)
    from test_video import make_clip

    make_clip(tmp_path / "film.mp4", n=2)
    r = invoke("video", tmp_path / "film.mp4", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 130 and "the unfinished film was not written" in r.stderr and "finished outputs are kept" not in r.stderr


def test_help_shows_plain_metavars() -> None:
    for command in (["photo"], ["photos"], ["video"], ["eval"], ["serve"], ["train", "all"]):
        r = runner.invoke(app, [*command, "--help"], terminal_width=200)
        assert r.exit_code == 0, r.stdout
        assert not any(t in r.stdout for t in ("<int", "<float", "<list", "<text", "{src", "{folder")), (command, r.stdout)


def test_sixteen_bit_gray_is_written_in_eight_bits_as_documented(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "deep.png", mode="I;16")
    assert invoke("photo", src, "-w", tiny_weights, *COMMON).exit_code == 0
    with Image.open(tmp_path / "deep_color.png") as im:
        assert im.mode == "RGB"
    assert "copy written in 8 bits per channel" in " ".join((REPO / "README.md").read_text().split())
