"""The photo commands end to end through the CLI (colorize/cli): a folder of good and bad files, recursion and the
contact sheet, default names, killed and failed writes, weights messages, help and usage errors, `info`, `eval`'s
output paths and warnings, the run summary, and `-q`."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app

from helpers import color_folder, visible, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture()
def mixed_folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    write_photo_file(d / "good.jpg", "RGB", quality=95)
    write_photo_file(d / "gray.png", "L", seed=1)
    write_photo_file(d / "cmyk.jpg", "CMYK", seed=2)
    write_photo_file(d / "deep.png", "I;16", seed=3)
    (d / "notes.txt").write_text("not a photo\n")
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    full = write_photo_file(d / "tmp_full.jpg", "RGB", h=200, w=200).read_bytes()
    (d / "tmp_full.jpg").unlink()
    (d / "truncated.jpg").write_bytes(full[: len(full) // 2])
    return d


def test_folder_colorizes_good_files_reports_bad_and_exits_nonzero(mixed_folder: Path, tmp_path: Path, tiny_weights: Path) -> None:
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in mixed_folder.iterdir()}
    r = invoke("photos", mixed_folder, "-o", out, "-w", tiny_weights, "-r", "8", "--device", "cpu")
    assert r.exit_code == 1
    assert visible(out) == ["cmyk_color.jpg", "deep_color.png", "good_color.jpg", "gray_color.png"]
    for bad in ("notes.txt: not an image", "corrupt.png: not an image", "truncated.jpg: corrupt or truncated"):
        assert bad in r.stderr
    assert "colorized 4, skipped 0 (already done), failed 3" in r.stderr
    assert {p.name: p.read_bytes() for p in mixed_folder.iterdir()} == before  # inputs untouched
    src = np.asarray(Image.open(mixed_folder / "gray.png").convert("L")).astype(int)
    got = np.asarray(Image.open(out / "gray_color.png").convert("L")).astype(int)
    assert np.abs(src - got).max() <= 1
    with Image.open(out / "gray_color.png") as im:
        assert im.mode == "RGB"

    r2 = invoke("photos", mixed_folder, "-o", out, "-w", tiny_weights, "-r", "8", "--device", "cpu")
    assert "colorized 0, skipped 4 (already done), failed 3" in r2.stderr
    r3 = invoke("photos", mixed_folder, "-o", out, "-w", tiny_weights, "-r", "8", "--device", "cpu", "--overwrite")
    assert "colorized 4, skipped 0" in r3.stderr


def test_all_good_folder_exits_zero_with_sheet_and_recursion(tmp_path: Path, tiny_weights: Path) -> None:
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    write_photo_file(d / "a.png", "L")
    write_photo_file(d / "sub" / "b.jpg", "RGB")
    out = d / "colour"  # outputs inside the input folder are not re-read as inputs on the next run
    sheet = tmp_path / "sheet.png"
    r = invoke("photos", d, "-o", out, "-R", "-w", tiny_weights, "-r", "8", "--ext", "png", "--sheet", sheet)
    assert r.exit_code == 0, r.stderr
    assert (out / "a_color.png").is_file() and (out / "sub" / "b_color.png").is_file()
    with Image.open(sheet) as im:
        assert im.width > 2 * 256
    r = invoke("photos", d, "-o", out, "-R", "-w", tiny_weights, "-r", "8", "--ext", "png")
    assert "skipped 2" in r.stderr and r.exit_code == 0


def test_single_photo_default_name_and_no_overwrite_of_input(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "old.jpg", "L")
    r = invoke("photo", src, "-w", tiny_weights, "-r", "8")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "old_color.jpg").is_file()
    r = invoke("photo", src, "-w", tiny_weights, "--suffix", "")
    assert r.exit_code == 1 and "would overwrite the input" in r.stderr


def test_killed_write_leaves_no_partial_output(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_photo_file(tmp_path / "old.png", "L")

    def dying_save(self: Image.Image, fp: object, format: str | None = None, **kw: object) -> None:
        Path(fp).write_bytes(b"\x89PNG partial")  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", dying_save)
    r = invoke("photo", src, "-w", tiny_weights, "-r", "8")
    assert r.exit_code == 130
    assert visible(tmp_path) == ["old.png"]


def test_failed_write_is_reported_and_the_run_goes_on(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.photos

    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        write_photo_file(src / f"p{i}.png", "L", seed=i)
    real_write = colorize.photos.write_photo

    def flaky_write(dst: Path, *args: object, **kw: object) -> Path:
        if dst.name.startswith("p2"):
            raise OSError(28, "No space left on device")
        return real_write(dst, *args, **kw)

    monkeypatch.setattr(colorize.photos, "write_photo", flaky_write)
    r = invoke("photos", src, "-o", tmp_path / "out", "-w", tiny_weights, "-r", "8", "-b", "2")
    assert r.exit_code == 1
    assert "p2.png: cannot write output" in r.output and "No space left" in r.output
    assert visible(tmp_path / "out") == ["p0_color.png", "p1_color.png", "p3_color.png", "p4_color.png"]


def test_missing_weights_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLORIZE_WEIGHTS_DIR", str(tmp_path / "empty"))
    src = write_photo_file(tmp_path / "old.png", "L")
    r = invoke("photo", src)
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and "no default model found" in r.stderr and "--weights" in r.stderr


def test_tampered_weights_refused(tmp_path: Path, tiny_weights: Path) -> None:
    from colorize.weights import write_manifest

    w = tmp_path / "m.pt"
    w.write_bytes(tiny_weights.read_bytes())
    write_manifest(w)
    w.write_bytes(w.read_bytes() + b"x")
    r = invoke("photo", write_photo_file(tmp_path / "p.png", "L"), "-w", w)
    assert r.exit_code == 1 and "sha256 mismatch" in r.stderr


@pytest.mark.parametrize("cmd", [[], ["photo"], ["photos"], ["info"], ["video"], ["frames"], ["eval"], ["train"], ["train", "all"], ["train", "gan"]])
def test_help_for_every_command(cmd: list[str]) -> None:
    r = invoke(*cmd, "--help")
    assert r.exit_code == 0 and "Usage" in r.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert invoke("photos", tmp_path).exit_code == 2  # -o missing
    assert invoke("photo", tmp_path / "x.png", "--ext", "gif").exit_code == 2


def test_info_runs() -> None:
    r = invoke("info")
    assert r.exit_code == 0 and "torch" in r.stdout and "weights folder" in r.stdout and "ONNX engine: onnxruntime" in r.stdout


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


def test_eval_on_grayscale_photos_warns_that_its_scores_say_little(tmp_path: Path, tiny_weights: Path) -> None:
    data = tmp_path / "gray"
    data.mkdir()
    for i in range(2):
        write_photo_file(data / f"g{i}.png", mode="L", seed=i)
    r = invoke("eval", "--data", data, "-w", tiny_weights, "--json", tmp_path / "e.json", *COMMON)
    assert r.exit_code == 0 and "have (almost) no colour" in r.stderr
    color = invoke("eval", "--data", color_folder(tmp_path / "c"), "-w", tiny_weights, "--json", tmp_path / "f.json", *COMMON)
    assert "no colour" not in color.stderr


def test_the_summary_says_nothing_was_written_when_nothing_was(tmp_path: Path, tiny_weights: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "broken.png").write_bytes(b"not a png")
    r = invoke("photos", src, "-o", tmp_path / "out", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "failed 1; nothing written" in r.stderr and "results in" not in r.stderr


def test_quiet_prints_no_summary_and_a_log_gets_no_progress_bar(tmp_path: Path, tiny_weights: Path) -> None:
    src = color_folder(tmp_path / "in", 3)
    quiet = invoke("-q", "photos", src, "-o", tmp_path / "q", "-w", tiny_weights, *COMMON)
    assert quiet.exit_code == 0 and quiet.stderr == "" and len(visible(tmp_path / "q")) == 3
    logged = invoke("photos", src, "-o", tmp_path / "l", "-w", tiny_weights, *COMMON)
    assert "\r" not in logged.stderr and "colorized 3" in logged.stderr


def test_help_shows_plain_metavars() -> None:
    for command in (["photo"], ["photos"], ["video"], ["eval"], ["serve"], ["train", "all"]):
        r = runner.invoke(app, [*command, "--help"], terminal_width=200)
        assert r.exit_code == 0, r.stdout
        assert not any(t in r.stdout for t in ("<int", "<float", "<list", "<text", "{src", "{folder")), (command, r.stdout)
