"""Film (colorize/video.py, `colorize video` and `frames`): streams, timing (variable frame rates too), audio,
luminance, frames folders and measured flicker, on clips made here; truncated, damaged and unreadable films,
outputs that cannot be written, and a film interrupted part-way."""

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.errors import BadInputError
from colorize.inference import torch_colorizer
from colorize.pipeline import Colorizer
from colorize.temporal import FlickerMeter
from colorize.video import colorize_video, numbered_frames
from colorize.weights import load_generator

from helpers import FPS, make_clip, photo_array, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def gray_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(int) for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def colorizer(tiny_weights: Path) -> Colorizer:
    model, _ = load_generator(tiny_weights)
    return torch_colorizer(model, "cpu", render_factor=8, batch_size=4)


@pytest.mark.parametrize("size", [(64, 48), (65, 49)])
def test_video_keeps_frames_rate_size_audio_and_luminance(tmp_path: Path, tiny_weights: Path, size: tuple[int, int]) -> None:
    src = make_clip(tmp_path / "film.mp4", w=size[0], h=size[1])
    dst = tmp_path / "colour.mp4"
    r = runner.invoke(app, ["video", str(src), "-o", str(dst), "-w", str(tiny_weights), "-r", "8", "--device", "cpu"])
    assert r.exit_code == 0, r.stderr
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        vb = b.streams.video[0]
        assert (vb.codec_context.width, vb.codec_context.height) == size
        assert vb.codec_context.pix_fmt == "yuv420p"  # plays in any player
        assert vb.average_rate == FPS
        assert b.streams.audio, "audio stream lost"
        aa, ab = a.streams.audio[0], b.streams.audio[0]
        assert abs(float(ab.duration * ab.time_base) - float(aa.duration * aa.time_base)) <= 1 / float(FPS)
        assert abs(b.duration - a.duration) <= 1e6 / float(FPS)  # container duration, in microseconds
    ga, gb = gray_frames(src), gray_frames(dst)
    assert len(ga) == len(gb) == 12
    for x, y in zip(ga, gb):
        assert np.abs(x - y).mean() < 2.0  # same luminance, up to the codec's rounding
    with av.open(str(dst)) as b:
        rgb = next(b.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(rgb - rgb.mean(-1, keepdims=True)).mean() > 1.0  # it has colour


def test_audio_in_other_codec_is_reencoded_for_mp4(tmp_path: Path, colorizer: Colorizer) -> None:
    src = tmp_path / "pcm.mov"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("mpeg4", rate=25)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=8000)
        for i in range(5):
            for p in vs.encode(av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i, np.uint8), format="rgb24")):
                out.mux(p)
        af = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format="s16", layout="mono")
        af.sample_rate, af.pts = 8000, 0
        for p in list(a.encode(af)) + list(a.encode()) + list(vs.encode()):
            out.mux(p)
    rep = colorize_video(src, tmp_path / "o.mp4", colorizer)
    assert rep.frames == 5 and "aac" in rep.audio
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert c.streams.audio[0].codec_context.name == "aac"


def test_no_video_stream_fails_cleanly(tmp_path: Path, tiny_weights: Path) -> None:
    src = tmp_path / "sound.m4a"
    with av.open(str(src), "w") as out:
        a = out.add_stream("aac", rate=8000)
        af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        af.sample_rate, af.pts = 8000, 0
        for p in list(a.encode(af)) + list(a.encode()):
            out.mux(p)
    r = runner.invoke(app, ["video", str(src), "-o", str(tmp_path / "x.mp4"), "-w", str(tiny_weights)])
    assert r.exit_code == 1 and "sound.m4a: has no video stream" in r.stderr
    (tmp_path / "junk.mp4").write_bytes(b"nope" * 100)
    r = runner.invoke(app, ["video", str(tmp_path / "junk.mp4"), "-o", str(tmp_path / "y.mp4"), "-w", str(tiny_weights)])
    assert r.exit_code == 1 and "junk.mp4: not a readable video" in r.stderr
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "y.mp4").exists()


def test_frames_out_and_frames_folder_round_trip(tmp_path: Path, tiny_weights: Path) -> None:
    src = make_clip(tmp_path / "film.mp4", n=11, audio=False)
    dumped = tmp_path / "dumped"
    r = runner.invoke(app, ["video", str(src), "--frames-out", str(dumped), "-w", str(tiny_weights), "-r", "8"])
    assert r.exit_code == 0, r.stderr
    assert [p.name for p in numbered_frames(dumped)] == [f"frame_{i:06d}.png" for i in range(1, 12)]

    raw = tmp_path / "raw"  # as an editor exports them: unpadded numbers, so text order is wrong
    raw.mkdir()
    for i, g in enumerate(gray_frames(src), start=1):
        Image.fromarray(g.astype(np.uint8)).save(raw / f"shot{i}.png")
    out = tmp_path / "colour"
    r = runner.invoke(app, ["frames", str(raw), "-o", str(out), "-w", str(tiny_weights), "-r", "8"])
    assert r.exit_code == 0, r.stderr
    names = [p.name for p in numbered_frames(out)]
    assert names == [f"shot{i}.png" for i in range(1, 12)]
    for i in range(1, 12):  # each output is its own input frame, coloured
        a = np.asarray(Image.open(raw / f"shot{i}.png").convert("L")).astype(int)
        b = np.asarray(Image.open(out / f"shot{i}.png").convert("L")).astype(int)
        assert np.abs(a - b).max() <= 1
    for i in (7, 8, 9, 10, 11):
        (out / f"shot{i}.png").unlink()
    r = runner.invoke(app, ["frames", str(raw), "-o", str(out), "-w", str(tiny_weights), "-r", "8"])
    assert "colorized 5, skipped 6" in r.stderr


def test_stabilisation_reduces_measured_flicker(tmp_path: Path, colorizer: Colorizer) -> None:
    """A static scene with fresh noise every frame: per-frame colour jumps; stabilised colour should not. Larger
    than the stabiliser's working size, as films are, so its colour is laid on the frame as the model's is."""
    src = make_clip(tmp_path / "static.mp4", n=16, w=320, h=240, audio=False, noise=6.0, moving=False)
    plain = colorize_video(src, tmp_path / "plain.mp4", colorizer, stabilize=False, measure=True)
    steady = colorize_video(src, tmp_path / "steady.mp4", colorizer, stabilize=True, measure=True)
    assert plain.flicker_output is not None and steady.flicker_output is not None
    assert plain.flicker_input_model == pytest.approx(steady.flicker_input_model)
    assert steady.flicker_output < 0.7 * plain.flicker_output, (steady.flicker_output, plain.flicker_output)


def test_flicker_metric_sees_color_change_only() -> None:
    still = np.full((8, 8, 3), 120, np.uint8)
    tinted = still.copy()
    tinted[..., 0] += 20
    tinted[..., 1] -= 10  # luminance nearly unchanged, colour changed
    def flicker(frames: list[np.ndarray]) -> float:
        meter = FlickerMeter()
        for frame in frames:
            meter.add(frame)
        return meter.value

    assert flicker([still, still, still]) == 0
    assert flicker([still, tinted, still]) > 5


def test_video_errors_before_work(tmp_path: Path, colorizer: Colorizer) -> None:
    with pytest.raises(BadInputError, match="file not found"):
        colorize_video(tmp_path / "none.mp4", tmp_path / "o.mp4", colorizer)


def test_rotation_metadata_is_kept(tmp_path: Path, colorizer: Colorizer) -> None:
    src = tmp_path / "phone.mp4"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 32, "yuv420p"
        vs.set_display_rotation(90)
        for i in range(4):
            for p in vs.encode(av.VideoFrame.from_ndarray(np.full((32, 64, 3), 50 * i, np.uint8), format="rgb24")):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    with av.open(str(src)) as c:
        written_rotation = next(c.decode(video=0)).rotation
    assert written_rotation != 0
    colorize_video(src, tmp_path / "o.mp4", colorizer)
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert next(c.decode(video=0)).rotation == written_rotation


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


def test_an_interrupted_film_says_it_was_not_written(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colorize.video as video

    def interrupted(*args: object, **kwargs: object):
        raise KeyboardInterrupt

    monkeypatch.setattr(video, "colorize_video", interrupted)
    make_clip(tmp_path / "film.mp4", n=2)
    r = invoke("video", tmp_path / "film.mp4", "-w", tiny_weights, *COMMON)
    assert r.exit_code == 130 and "the unfinished film was not written" in r.stderr and "finished outputs are kept" not in r.stderr
