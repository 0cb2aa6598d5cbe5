"""Hostile inputs for the photo commands: each case builds its bad input on the fly and checks the outcome — exit
code, one line naming the file and the reason, good outputs written with their luminance, nothing stray left."""

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

from colorize.cli import app

from conftest import photo_array, visible, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def luma(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L")).astype(int)


def test_output_with_a_trailing_separator_is_a_folder(tmp_path: Path, tiny_weights: Path) -> None:
    x, y = write_photo_file(tmp_path / "x.png"), write_photo_file(tmp_path / "y.png", seed=1)
    newdir = tmp_path / "newdir"
    for src in (x, y):
        r = invoke("photo", src, "-o", f"{newdir}{os.sep}", "-w", tiny_weights, *COMMON)
        assert r.exit_code == 0, r.stderr
    assert newdir.is_dir() and visible(newdir) == ["x_color.png", "y_color.png"]


def test_an_existing_explicit_output_file_is_refused_not_skipped(tmp_path: Path, tiny_weights: Path) -> None:
    x, y = write_photo_file(tmp_path / "x.png"), write_photo_file(tmp_path / "y.png", seed=1)
    out = tmp_path / "result.png"
    assert invoke("photo", x, "-o", out, "-w", tiny_weights, *COMMON).exit_code == 0
    before = out.read_bytes()
    r = invoke("photo", y, "-o", out, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "already exists" in r.stderr and "--overwrite" in r.stderr
    assert out.read_bytes() == before
    assert invoke("photo", y, "-o", out, "-w", tiny_weights, "--overwrite", *COMMON).exit_code == 0
    assert np.abs(luma(out) - luma(y)).max() <= 1


@pytest.mark.parametrize("name", ["x.gif", "x.txt"])
def test_an_output_name_of_a_format_we_do_not_write_is_refused(tmp_path: Path, tiny_weights: Path, name: str) -> None:
    r = invoke("photo", write_photo_file(tmp_path / "x.png"), "-o", tmp_path / name, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and f"cannot write {Path(name).suffix} files" in r.stderr and not (tmp_path / name).exists()


def test_a_folder_given_to_photo_points_at_photos(tmp_path: Path) -> None:
    r = invoke("photo", tmp_path)
    assert r.exit_code == 1 and "is a folder; use `colorize photos" in r.stderr


@pytest.mark.parametrize("names, ext, expected", [
    (["scan.png", "scan.gif"], "auto", ["scan_color.gif.png", "scan_color.png.png"]),
    (["IMG_1.JPG", "IMG_1.jpg"], "auto", ["IMG_1_color.JPG-1.jpg", "IMG_1_color.jpg-2.jpg"]),
    (["scan.jpg", "scan.tif"], "png", ["scan_color.jpg.png", "scan_color.tif.png"]),
])
def test_name_collisions_in_a_folder_get_distinct_outputs(tmp_path: Path, tiny_weights: Path, names: list[str], ext: str,
                                                          expected: list[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i, n in enumerate(names):
        Image.fromarray(photo_array(seed=i)).save(src / n, format={"gif": "GIF", "tif": "TIFF", "png": "PNG"}.get(n.rsplit(".", 1)[1].lower(), "JPEG"))
    if len({n.lower() for n in names}) < len(names) and len(list(src.iterdir())) < len(names):
        pytest.skip("case-insensitive file system")
    out = tmp_path / "out"
    r = invoke("photos", src, "-o", out, "--ext", ext, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0, r.stderr
    assert visible(out) == expected
    assert "colorized 2" in r.stderr
    r = invoke("photos", src, "-o", out, "--ext", ext, "-w", tiny_weights, *COMMON)
    assert "colorized 0, skipped 2" in r.stderr  # a rerun finds both


def test_unwritable_output_is_found_before_the_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorize import inference

    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        write_photo_file(src / f"p{i}.png", seed=i)
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")

    def no_model(*a: object, **k: object) -> None:
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(inference, "load_colorizer", no_model)
    r = invoke("photos", src, "-o", blocker / "out", *COMMON)
    assert r.exit_code == 1 and "cannot write outputs there" in r.stderr and str(blocker / "out") in r.stderr


def test_weights_errors_are_one_line_without_torch_advice(tmp_path: Path, tiny_weights: Path) -> None:
    photo = write_photo_file(tmp_path / "x.png")
    manifest = tmp_path / "model.json"
    manifest.write_text('{"sha256": "0"}')
    r = invoke("photo", photo, "-w", manifest, *COMMON)
    assert r.exit_code == 1 and "is a model manifest" in r.stderr and "model.pt" in r.stderr
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(2000))
    r = invoke("photo", photo, "-w", junk, *COMMON)
    assert r.exit_code == 1 and "not a readable colorize checkpoint" in r.stderr
    assert "weights_only" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def huge_png_header(path: Path, w: int, h: int) -> Path:
    """A PNG that declares w x h pixels but holds almost no data: Pillow reads its size without decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def test_max_megapixels_above_pillows_own_limit_is_honoured(tmp_path: Path) -> None:
    from colorize.errors import BadInputError
    from colorize.images import read_photo

    big = huge_png_header(tmp_path / "big.png", 20000, 10000)  # 200 MP, over Pillow's ~179 MP bomb limit
    with pytest.raises(BadInputError, match="over the 150 MP cap"):
        read_photo(big, 150)
    with pytest.raises(BadInputError) as e:
        read_photo(big, 250)
    assert "bomb" not in str(e.value) and "truncated" in str(e.value)  # past our cap, Pillow did not refuse it


def test_stale_temp_files_of_ours_are_removed_and_others_kept(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    write_photo_file(src / "a.png")
    ours = out / ".a_color.png.k3j4h5.tmp"
    theirs = out / ".notes.txt.swp.tmp"
    ours.write_bytes(b"half a png")
    theirs.write_bytes(b"someone else's")
    assert invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON).exit_code == 0
    assert not ours.exists() and theirs.exists()


def test_odd_files_animated_float_and_dangling_links(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    frames = [Image.fromarray(photo_array(seed=i)) for i in range(3)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:])
    gray = np.asarray(Image.fromarray(photo_array()).convert("L")).astype(np.float32) / 255.0
    Image.fromarray(gray, mode="F").save(src / "float.tif")
    Image.fromarray(gray * 1000, mode="F").save(src / "float_wild.tif")
    (src / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    r = invoke("photos", src, "-o", out, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1
    assert "anim.gif: has 3 frames" in r.stderr and "only the first is colorized" in r.stderr
    assert "gone.jpg: broken symbolic link" in r.stderr
    assert "float_wild.tif: floating-point image with values" in r.stderr
    assert "colorized 2, skipped 0 (already done), failed 2" in r.stderr
    got = luma(out / "float_color.tif")
    assert np.abs(got - np.round(gray * 255)).max() <= 1 and got.mean() > 50  # scaled, not black


def test_alpha_photo_forced_to_jpg_is_written_as_png_once(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    write_photo_file(src / "logo.png", "RGBA")
    r = invoke("photos", src, "-o", out, "--ext", "jpg", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0 and visible(out) == ["logo_color.png"]
    r = invoke("photos", src, "-o", out, "--ext", "jpg", "-w", tiny_weights, "--sheet", out / "sheet.png", *COMMON)
    assert "colorized 0, skipped 1" in r.stderr  # the rerun finds it, and its sheet shows it
    assert "contact sheet:" in r.stderr and (out / "sheet.png").exists()


def test_outputs_keep_luminance_png_exactly_jpeg_within_its_own_loss(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "scene.png", h=256, w=256)
    for ext in ("png", "jpg"):
        assert invoke("photo", src, "--ext", ext, "-w", tiny_weights, *COMMON).exit_code == 0
    diff_png = np.abs(luma(tmp_path / "scene_color.png") - luma(src))
    diff_jpg = np.abs(luma(tmp_path / "scene_color.jpg") - luma(src))
    assert diff_png.max() <= 1
    # What the README states for JPEG (quality 95, 4:4:4): under one level on average, rarely more than 3.
    assert diff_jpg.mean() < 1.0 and np.mean(diff_jpg > 3) < 0.01


def test_inference_imports_no_training_or_gan_code() -> None:
    """Every module behind `photo`, `photos`, `video`, `frames`, `eval` and `serve`, and the CLI itself, stays clear of
    training code and data."""
    entry_points = ("colorize.pipeline, colorize.inference, colorize.onnx_engine, colorize.photos, colorize.video, "
                    "colorize.temporal, colorize.evaluation, colorize.hint_solver, colorize.serve, colorize.cli")
    training = ("fastai.vision.gan", "colorize.train", "colorize.data", "colorize.losses")
    code = f"import sys, {entry_points}; print(sorted(m for m in sys.modules if m.startswith({training!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_the_onnx_pipeline_imports_no_torch() -> None:
    code = "import sys, colorize.pipeline, colorize.onnx_engine, colorize.photos, colorize.video, colorize.evaluation; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


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


# ---- film ----

def vfr_clip(path: Path, n: int = 12) -> list[float]:
    """A variable-frame-rate clip as phones make them: 33 and 100 ms spacing in a 1/90000 time base."""
    import av
    from fractions import Fraction

    tb, t, stamps = Fraction(1, 90000), 0, []
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = tb
        for i in range(n):
            f = av.VideoFrame.from_ndarray(np.asarray(Image.fromarray(photo_array(48, 64, seed=i))), format="rgb24")
            f.pts, f.time_base = t, tb
            stamps.append(float(t * tb))
            for p in s.encode(f):
                out.mux(p)
            t += 2970 if i % 2 == 0 else 9000
        for p in s.encode():
            out.mux(p)
    return stamps


def frame_times(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as c:
        return [float(f.pts * f.time_base) for f in c.decode(video=0)]


@pytest.mark.parametrize("ext", ["mp4", "mov", "mkv"])
def test_variable_frame_rate_film_keeps_every_timestamp(tmp_path: Path, tiny_weights: Path, ext: str) -> None:
    stamps = vfr_clip(tmp_path / "phone.mp4")
    out = tmp_path / f"phone_color.{ext}"
    r = invoke("video", tmp_path / "phone.mp4", "-o", out, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 0, r.stderr
    assert np.allclose(frame_times(out), stamps, atol=1.5e-3)  # mkv counts in milliseconds


def test_truncated_film_keeps_what_decodes_and_says_how_much_is_missing(tmp_path: Path, tiny_weights: Path) -> None:
    from test_video import make_clip

    full = make_clip(tmp_path / "full.mkv", n=48, audio=False, moving=False, noise=20).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full[: len(full) // 2])
    out = tmp_path / "cut_color.mp4"
    r = invoke("video", cut, "-o", out, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "missing at the end (truncated file)" in r.stderr and str(cut) in r.stderr
    n = len(frame_times(out))
    assert 0 < n < 48 and f"colorized {n} frames" in r.stderr


def test_a_corrupt_frame_mid_film_is_skipped_not_fatal(tmp_path: Path, tiny_weights: Path) -> None:
    import av

    src = tmp_path / "mid.mkv"
    with av.open(str(src), "w") as out:  # intra-only frames, so damage to one spares the others
        s = out.add_stream("mjpeg", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.asarray(Image.fromarray(photo_array(48, 64, seed=i))), format="rgb24")
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    data = bytearray(src.read_bytes())
    starts = [i for i in range(len(data) - 3) if data[i : i + 3] == b"\xff\xd8\xff"]
    data[starts[5] : starts[6] - 200] = bytes(starts[6] - 200 - starts[5])  # the sixth picture is wiped
    src.write_bytes(bytes(data))
    out = tmp_path / "mid_color.mp4"
    r = invoke("video", src, "-o", out, "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and "damaged frame(s) skipped" in r.stderr
    assert len(frame_times(out)) == 9 and "at 0.208 s" in r.stderr


@pytest.mark.parametrize("case", ["text", "first-frame"])
def test_unreadable_films_are_one_line_errors(tmp_path: Path, tiny_weights: Path, case: str) -> None:
    from test_video import make_clip

    src = tmp_path / "film.mp4"
    if case == "text":
        src.write_text("this is not a film\n" * 50)
    else:
        data = bytearray(make_clip(tmp_path / "ok.mkv", n=6, audio=False).read_bytes())
        start = data.find(b"\x00\x00\x01\x65")  # the first IDR slice: damage the first picture
        data[start + 8 : start + 400] = b"\xff" * 392
        src = tmp_path / "film.mkv"
        src.write_bytes(bytes(data))
    r = invoke("video", src, "-o", tmp_path / "out.mp4", "-w", tiny_weights, *COMMON)
    assert r.exit_code != 0 and "Traceback" not in r.stderr
    assert str(src) in r.stderr and r.stderr.strip().splitlines()[-1].startswith("colorize: error:")


def test_film_outputs_into_an_unwritable_place_fail_before_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorize import inference
    from test_video import make_clip

    clip = make_clip(tmp_path / "c.mp4", n=4, audio=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(inference, "load_colorizer", lambda *a, **k: pytest.fail("model loaded"))
    for args in (["video", clip, "-o", blocker / "o.mp4"], ["video", clip, "--frames-out", blocker / "f"],
                 ["frames", tmp_path, "-o", blocker / "f"]):
        if args[0] == "frames":
            write_photo_file(tmp_path / "frame_1.png")
        r = invoke(*args, *COMMON)
        assert r.exit_code == 1 and "cannot write outputs there" in r.stderr, args


@pytest.mark.parametrize("device", ["mps", "xpu", "meta"])
def test_unsupported_devices_are_one_line_errors(tmp_path: Path, tiny_weights: Path, device: str) -> None:
    r = invoke("photo", write_photo_file(tmp_path / "x.png"), "-w", tiny_weights, "-r", "8", "--device", device)
    assert r.exit_code == 1 and "is not supported" in r.stderr and "Traceback" not in r.stderr


def test_a_permission_error_is_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorize import images
    from colorize.errors import BadInputError

    path = write_photo_file(tmp_path / "locked.png")

    def denied(*a: object, **k: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(images.Image, "open", denied)  # root ignores chmod, so the OS refusal is simulated
    with pytest.raises(BadInputError, match="locked.png: cannot read it \\(permission denied\\)"):
        images.read_photo(path)


@pytest.mark.parametrize("hint", ["25%,50%=blue", "25%,50%=red"])
def test_a_hint_stops_at_a_strong_edge_between_flat_areas(tmp_path: Path, hint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A photo split at gray 190 / 60: a hint on the light side colours it, and the dark side keeps the model's colour."""
    from colorize.color.ycbcr import lab_ab

    monkeypatch.delenv("COLORIZE_WEIGHTS_DIR", raising=False)  # the shipped default model, hint channels and all
    gray = np.full((96, 192), 190, np.uint8)
    gray[:, 96:] = 60
    Image.fromarray(gray).save(tmp_path / "split.png")
    plain, hinted = tmp_path / "plain.png", tmp_path / "hinted.png"
    assert invoke("photo", tmp_path / "split.png", "-o", plain, "--engine", "torch", "--device", "cpu").exit_code == 0
    assert invoke("photo", tmp_path / "split.png", "-o", hinted, "--engine", "torch", "--device", "cpu", "--hint", hint).exit_code == 0
    a, b = (lab_ab(np.asarray(Image.open(p))) for p in (plain, hinted))
    assert np.abs(b[:, :90] - a[:, :90]).mean() > 10  # the hinted side took the colour
    assert np.abs(b[:, 102:] - a[:, 102:]).max() < 2  # the far side did not, not even in its corners


@pytest.mark.parametrize("engine", ["auto", "torch"])
def test_a_checkpoint_that_gives_nan_fails_the_photo_and_writes_nothing(tmp_path: Path, tiny_weights: Path, engine: str) -> None:
    import torch

    from colorize.weights import load_generator, save_checkpoint

    model, _ = load_generator(tiny_weights)
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if n.endswith("bias")).fill_(float("nan"))
    bad = tmp_path / "nan.pt"
    save_checkpoint(bad, model, "generator", model.cfg)
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        write_photo_file(src / f"{name}.png")
    r = invoke("photos", src, "-o", tmp_path / "out", "-w", bad, "--engine", engine, *COMMON)
    assert r.exit_code == 1 and "not a finite number" in r.stderr and "failed 2" in r.stderr
    assert not (tmp_path / "out").exists() or not visible(tmp_path / "out")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_hints_image_saved_flat_is_read_as_the_photo_plus_strokes(tmp_path: Path, tiny_weights: Path, fmt: str) -> None:
    """A paint program's flat save of the gray photo with a red stroke on it: the stroke is the hint, the rest not."""
    gray = np.where(np.arange(128) < 64, 170, 70)[None].repeat(96, 0)  # two objects: the stroke is on the left one
    gray = np.clip(gray + np.random.default_rng(0).normal(0, 4, gray.shape), 0, 255).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    painted = np.repeat(gray[..., None], 3, axis=2)
    painted[40:46, 20:50] = (220, 30, 30)
    Image.fromarray(painted).save(tmp_path / f"gray.hints.{fmt.lower()}", format=fmt, quality=90)
    outs = {}
    for name, extra in (("plain", ()), ("hinted", ("--hints", tmp_path / f"gray.hints.{fmt.lower()}"))):
        r = invoke("photo", tmp_path / "gray.png", "-o", tmp_path / f"{name}.png", "-w", tiny_weights, *extra, *COMMON)
        assert r.exit_code == 0, r.stderr
        outs[name] = np.asarray(Image.open(tmp_path / f"{name}.png")).astype(int)
    stroke = outs["hinted"][42, 35]
    assert stroke[0] - stroke[1:].max() > 40  # the stroke is red
    far = (slice(0, 96), slice(70, 128))  # the other object keeps the model's colours (not washed to gray)
    assert np.abs(outs["hinted"][far] - outs["plain"][far]).mean() < 3


@pytest.mark.parametrize("mode", ["L", "I;16"])
def test_a_gray_or_16_bit_hints_image_is_a_one_line_error(tmp_path: Path, tiny_weights: Path, mode: str) -> None:
    src = write_photo_file(tmp_path / "p.png")
    write_photo_file(tmp_path / "h.png", mode=mode)
    r = invoke("photo", src, "--hints", tmp_path / "h.png", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 1 and f"h.png: a hints image holds colours, and this one is" in r.stderr
    assert not (tmp_path / "p_color.png").exists()


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
