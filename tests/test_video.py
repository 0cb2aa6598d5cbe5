"""Video: streams, timing, audio, luminance, frames folders and measured flicker, on clips made here."""

from fractions import Fraction
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

from conftest import photo_array

runner = CliRunner()
FPS = Fraction(24000, 1001)  # NTSC film rate: a rational rate must survive exactly


def make_clip(path: Path, n: int = 12, w: int = 64, h: int = 48, audio: bool = True, noise: float = 0.0, moving: bool = True) -> Path:
    """A clip of a (moving or static) picture, optionally with per-frame noise and a 440 Hz tone."""
    rng = np.random.default_rng(0)
    base = np.asarray(Image.fromarray(photo_array(h, w + 16)).convert("L").convert("RGB"))
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height = w, h
        vs.pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        vs.options = {"crf": "10"}
        a = out.add_stream("aac", rate=48000) if audio else None
        for i in range(n):
            shift = i if moving else 0
            img = base[:, shift : shift + w].astype(np.float32) + rng.normal(0, noise, (h, w, 1))
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format="rgb24")
            for p in vs.encode(frame):
                out.mux(p)
        if a is not None:
            total = int(48000 * n / FPS)
            t = np.arange(total) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = tone[start : start + 1024][None]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                af.sample_rate, af.pts = 48000, start
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path


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
    """A static scene with fresh noise every frame: per-frame colour jumps; stabilised colour should not."""
    src = make_clip(tmp_path / "static.mp4", n=16, audio=False, noise=6.0, moving=False)
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
