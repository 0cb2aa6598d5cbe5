"""Film hints: a keyframe's hints colour its shot along the motion, two keyframes of one shot blend by nearness, no
colour crosses a cut; hints past the film's end or of the wrong shape are one-line errors naming them; a frames
folder's NAME.hints.png is a keyframe and no frame; a film interrupted while colorizing with hints leaves nothing."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize import atomic
from colorize.cli import app
from colorize.color.ycbcr import chroma_of
from colorize.engine import EngineOptions, open_colorizer
from colorize.film_hints import HintCarrier, frame_number
from colorize.hints import Hints

from helpers import make_clip, visible

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
RED, BLUE = (200, 40, 40), (40, 60, 200)


def _pan(n: int, sample: str = "heldout_hill.jpg", step: int = 4) -> list[np.ndarray]:
    """`n` frames of a camera panning across a real photo, 4 px a frame."""
    gray = np.asarray(Image.open(SAMPLES / sample).convert("L").resize((320, 240)))
    return [np.ascontiguousarray(gray[:, step * i : step * i + 200]) for i in range(n)]


def _painted(path: Path, rgb: tuple[int, int, int], shape: tuple[int, int]) -> Hints:
    """A hints image painting the whole frame one colour."""
    Image.fromarray(np.full((*shape, 3), rgb, np.uint8)).save(path)
    return Hints(image=path)


def _carried(tiny_weights: Path, frames: list[np.ndarray], keyframes: dict[int, Hints]) -> list[np.ndarray]:
    """Each frame's colour (mean Cb, Cr) after the carry, the model's own colour being 0."""
    carrier = HintCarrier(open_colorizer(EngineOptions(tiny_weights, "cpu", "torch")), keyframes)
    assert carrier.prepare(frames) == max(keyframes) + 1  # read up to the last keyframe
    out = []
    for i, gray in enumerate(frames):
        carrier.follow(i, gray)
        out.append(carrier.apply(i, np.zeros((32, 32, 2), np.float32)).reshape(-1, 2).mean(axis=0))
    return out


def test_a_keyframe_colours_its_shot_and_no_colour_crosses_a_cut(tiny_weights: Path, tmp_path: Path) -> None:
    frames = _pan(8) + _pan(6, "einstein.jpg")  # a cut after frame 7
    colours = _carried(tiny_weights, frames, {3: _painted(tmp_path / "red.png", RED, frames[0].shape)})
    red = chroma_of(np.float32(RED) / 255)
    for i in range(8):  # before and after the keyframe, along the pan
        assert colours[i][1] > 0.5 * red[1], (i, colours[i])
    for i in range(8, 14):
        assert np.abs(colours[i]).max() < 1e-6, (i, colours[i])


def test_two_keyframes_of_one_shot_blend_by_nearness(tiny_weights: Path, tmp_path: Path) -> None:
    frames = _pan(11)
    colours = _carried(tiny_weights, frames, {0: _painted(tmp_path / "red.png", RED, frames[0].shape),
                                               10: _painted(tmp_path / "blue.png", BLUE, frames[0].shape)})
    cr = [c[1] for c in colours]  # red has Cr > 0, blue Cr < 0
    assert cr[0] > 0.1 and cr[10] < -0.05
    assert cr[2] > cr[5] > cr[8] and cr[2] > 0 > cr[8]


def test_frame_numbers_and_times() -> None:
    assert frame_number("120", 25.0) == 120
    assert frame_number("00:01:12.5", 24.0) == 1740
    assert frame_number("1:00", 25.0) == 1500
    with pytest.raises(Exception, match="not a frame"):
        frame_number("12s", 25.0)


def test_hints_past_the_end_or_of_the_wrong_shape_are_errors_naming_them(tmp_path: Path, tiny_weights: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", n=12)
    Image.fromarray(np.full((48, 64, 3), RED, np.uint8)).save(tmp_path / "good.png")
    Image.fromarray(np.full((64, 64, 3), RED, np.uint8)).save(tmp_path / "square.png")
    run = lambda *hints: CliRunner().invoke(app, ["video", str(clip), "-o", str(tmp_path / "out.mp4"), "-w", str(tiny_weights),  # noqa: E731
                                                  *(a for h in hints for a in ("--hints", h))])
    late = run(f"12={tmp_path / 'good.png'}")
    assert late.exit_code == 1 and "good.png: for frame 12, but the film has 12 frames (0 to 11)" in late.output
    wrong = run(f"3={tmp_path / 'square.png'}")
    assert wrong.exit_code == 1 and "square.png: hints image is 64x64, not the shape of its 64x48 photo" in wrong.output
    assert not (tmp_path / "out.mp4").exists()
    fine = run(f"00:00:00.2={tmp_path / 'good.png'}")
    assert fine.exit_code == 0, fine.output
    with av.open(str(tmp_path / "out.mp4")) as inp:
        reddish = [f.to_ndarray(format="rgb24").astype(int) for f in inp.decode(video=0)]
    assert all((f[..., 0] - f[..., 2]).mean() > 20 for f in reddish)  # every frame of the one shot


def test_a_frames_folders_hints_file_is_a_keyframe_not_a_frame(tmp_path: Path, tiny_weights: Path) -> None:
    src, out = tmp_path / "frames", tmp_path / "out"
    src.mkdir()
    for i, gray in enumerate(_pan(6)):
        Image.fromarray(gray).save(src / f"f{i}.png")
    _painted(src / "f2.hints.png", BLUE, (240, 200))
    result = CliRunner().invoke(app, ["frames", str(src), "-o", str(out), "-w", str(tiny_weights)])
    assert result.exit_code == 0, result.output
    assert visible(out) == [f"f{i}.png" for i in range(6)]
    for i in range(6):
        rgb = np.asarray(Image.open(out / f"f{i}.png")).astype(int)
        assert (rgb[..., 2] - rgb[..., 0]).mean() > 20, i


def test_an_interrupted_film_with_hints_leaves_no_output(tmp_path: Path, tiny_weights: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_clip(tmp_path / "clip.mp4", n=12)
    Image.fromarray(np.full((48, 64, 3), RED, np.uint8)).save(tmp_path / "good.png")
    calls = []

    def interrupt_at_the_fourth_frame(self: HintCarrier, index: int, chroma: np.ndarray) -> np.ndarray:
        calls.append(index)
        if index == 4:
            raise KeyboardInterrupt
        return original(self, index, chroma)

    original = HintCarrier.apply
    monkeypatch.setattr(HintCarrier, "apply", interrupt_at_the_fourth_frame)
    result = CliRunner().invoke(app, ["video", str(clip), "-o", str(tmp_path / "out.mp4"), "-w", str(tiny_weights),
                                      "--hints", f"0={tmp_path / 'good.png'}", "-b", "2"])
    assert result.exit_code == 130 and 4 in calls
    assert visible(tmp_path) == ["clip.mp4", "good.png"] and atomic.TEMP_SUFFIX not in "".join(visible(tmp_path))


def test_two_keyframes_hinting_different_objects_each_keep_theirs_over_the_whole_shot(tiny_weights: Path, tmp_path: Path) -> None:
    h, w = 120, 160  # a still shot of two objects: a dark one on the left, a light one on the right
    still = np.where(np.arange(w) < w // 2, 70, 170).astype(np.float32)[None].repeat(h, 0)
    still += np.random.default_rng(0).normal(0, 6, (h, w))
    frames = [np.clip(still, 0, 255).astype(np.uint8)] * 12
    left, right = np.zeros((h, w, 4), np.uint8), np.zeros((h, w, 4), np.uint8)
    left[40:80, 20:60] = (*RED, 255)
    right[40:80, 100:140] = (*BLUE, 255)
    Image.fromarray(left, "RGBA").save(tmp_path / "left.png")
    Image.fromarray(right, "RGBA").save(tmp_path / "right.png")
    carrier = HintCarrier(open_colorizer(EngineOptions(tiny_weights, "cpu", "torch")),
                          {0: Hints(image=tmp_path / "left.png"), 10: Hints(image=tmp_path / "right.png")})
    carrier.prepare(frames)
    for i, gray in enumerate(frames):
        carrier.follow(i, gray)
        colour = carrier.apply(i, np.zeros((32, 32, 2), np.float32))
        cols = colour.shape[1]
        assert colour[:, : cols // 3, 1].mean() > 0.1, i  # red (Cr > 0) on the left in every frame
        assert colour[:, -cols // 3 :, 0].mean() > 0.1, i  # blue (Cb > 0) on the right in every frame


def test_two_hints_for_one_frame_and_misnamed_frame_hints_are_said(tmp_path: Path, tiny_weights: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", n=12)
    Image.fromarray(np.full((48, 64, 3), RED, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((48, 64, 3), BLUE, np.uint8)).save(tmp_path / "b.png")
    twice = CliRunner().invoke(app, ["video", str(clip), "-o", str(tmp_path / "out.mp4"), "-w", str(tiny_weights),
                                     "--hints", f"5={tmp_path / 'a.png'}", "--hints", f"00:00:00.2={tmp_path / 'b.png'}"])
    assert twice.exit_code == 1 and "b.png: frame 5 (00:00:00.2) has hints already" in twice.output
    src = tmp_path / "frames"
    src.mkdir()
    for i, gray in enumerate(_pan(3)):
        Image.fromarray(gray).save(src / f"f{i}.png")
    _painted(src / "F1.png.HINTS.png", BLUE, (240, 200))  # NAME.EXT.hints.png, in another case
    _painted(src / "f9.hints.png", RED, (240, 200))  # no such frame
    result = CliRunner().invoke(app, ["frames", str(src), "-o", str(tmp_path / "out"), "-w", str(tiny_weights)])
    assert result.exit_code == 0 and "f9.hints.png: named as a frame's hints, but no frame" in result.output
    rgb = np.asarray(Image.open(tmp_path / "out" / "f1.png")).astype(int)
    assert (rgb[..., 2] - rgb[..., 0]).mean() > 20
