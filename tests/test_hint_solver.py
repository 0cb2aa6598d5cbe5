"""The hint solve (colorize/hint_solver.py): one hint fills the region it lands on up to its edges, and nothing else,
on its own and through `colorize photo --hint` with the shipped model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.color.ycbcr import chroma_of, lab_ab, merge
from colorize.edge_aware import lay_on
from colorize.hint_solver import solve_hints
from colorize.hints import Hints, PointHint

runner = CliRunner()
BLUE = "#2050c0"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _chroma(color: str) -> np.ndarray:
    """A colour's (2,) CbCr."""
    return chroma_of(np.asarray(Image.new("RGB", (1, 1), color)).reshape(3) / 255)


def _share_of(chroma: np.ndarray, color: str, origin: str | None = None) -> np.ndarray:
    """(H, W): how much of the hinted colour's chroma each pixel carries (1 = all of it, 0 = none); with `origin`,
    `chroma` is measured from that colour's and the share is of the way to `color`."""
    target = _chroma(color) - (0 if origin is None else _chroma(origin))
    return (chroma @ target) / (target @ target)


def _two_regions(seed: int = 0, h: int = 120, w: int = 160) -> np.ndarray:
    """Two textured regions of different mean luminance, split by a vertical edge at the middle."""
    rng = np.random.default_rng(seed)
    gray = np.where(np.arange(w) < w // 2, 150.0, 80.0)[None].repeat(h, 0) + rng.normal(0, 6, (h, w))
    return np.clip(gray, 0, 255).astype(np.uint8)


def test_one_hint_colors_its_region_up_to_the_edge_and_not_beyond() -> None:
    gray = _two_regions()
    out = solve_hints(gray, np.zeros((32, 32, 2), np.float32), Hints((PointHint.parse(f"20,60={BLUE}"),)))
    share = _share_of(out, BLUE)
    assert out.shape == (*gray.shape, 2)
    assert (share[:, :78] > 0.5).mean() >= 0.95  # region A, but for the pixels at the edge itself
    assert (share[:, 82:] > 0.5).mean() < 0.05


def test_the_hinted_pixel_gets_the_hinted_color_after_the_merge() -> None:
    gray = _two_regions()
    model = np.full((32, 32, 2), (0.05, 0.1), np.float32)  # the model says orange
    hints = Hints((PointHint.parse(f"30,40={BLUE}"), PointHint.parse("120,90=#40a040")))
    rgb = merge(gray, solve_hints(gray, model, hints))
    for (x, y), color in (((30, 40), BLUE), ((120, 90), "#40a040")):
        hinted = np.asarray(Image.new("RGB", (1, 1), color))
        # The hint's chroma on this pixel's own luminance, as inference would render it.
        want = merge(gray[y : y + 1, x : x + 1], chroma_of(hinted.astype(np.float32) / 255))
        assert np.linalg.norm(lab_ab(rgb[y : y + 1, x : x + 1]) - lab_ab(want)) < 5


def test_no_hints_leave_the_models_color_exactly() -> None:
    model = np.random.default_rng(0).normal(0, 0.1, (16, 16, 2)).astype(np.float32)
    assert solve_hints(_two_regions(), model, Hints()) is model


def test_hint_order_does_not_matter() -> None:
    gray, model = _two_regions(), np.zeros((16, 16, 2), np.float32)
    a = PointHint.parse(f"20,60={BLUE}")
    b = PointHint.parse("120,30=red")
    np.testing.assert_allclose(solve_hints(gray, model, Hints((a, b))), solve_hints(gray, model, Hints((b, a))), atol=1e-6)


def test_a_hint_on_a_thin_line_does_not_leak_along_the_background() -> None:
    gray = np.full((96, 96), 200, np.uint8)
    gray[:, 48] = 40  # a dark line one pixel wide on a light, flat background
    out = solve_hints(gray, np.zeros((16, 16, 2), np.float32), Hints((PointHint.parse("48,48=red"),)))
    share = _share_of(out, "red")
    assert share[10:86, 48].min() > 0.5  # along the line
    background = np.ones(gray.shape, bool)
    background[:, 45:52] = False
    assert (share[background] > 0.2).mean() < 0.01


def test_a_painted_stroke_fills_its_region_as_a_point_would(tmp_path: Path) -> None:
    gray = _two_regions()
    stroke = np.zeros((*gray.shape, 4), np.uint8)
    stroke[50:54, 15:30] = (0x20, 0x50, 0xC0, 255)
    Image.fromarray(stroke).save(tmp_path / "h.png")
    share = _share_of(solve_hints(gray, np.zeros((16, 16, 2), np.float32), Hints(image=tmp_path / "h.png")), BLUE)
    assert (share[:, :78] > 0.5).mean() >= 0.95 and (share[:, 82:] > 0.5).mean() < 0.05


@pytest.mark.parametrize("shape", [(40, 300), (300, 40), (5, 7)])
def test_any_aspect_ratio_and_tiny_photos(shape: tuple[int, int]) -> None:
    gray = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    out = solve_hints(gray, np.zeros((8, 8, 2), np.float32), Hints((PointHint.parse("50%,50%=red"),)))
    assert out.shape == (*shape, 2) and np.isfinite(out).all()


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


def _flat_halves(size: int = 1024, edge: int | None = None, left: int = 90, right: int = 150) -> np.ndarray:
    gray = np.full((size, size), left, np.uint8)
    gray[:, size // 2 if edge is None else edge :] = right
    return gray


def test_two_flat_regions_keep_their_own_colours_up_to_the_edge_and_far_from_the_hints() -> None:
    """1024 px, one hint each side: within 12 px of the edge the other side's colour is at most 4 % of a pixel's,
    and 100 px and more from the edge each side holds at least 95 % of its hint's colour."""
    gray = _flat_halves()
    red, blue = "#963c32", "#3c5aaa"
    out = solve_hints(gray, np.zeros((128, 128, 2), np.float32), Hints((PointHint.parse(f"256,512={red}"), PointHint.parse(f"768,512={blue}"))))
    to_blue = _share_of(out - _chroma(red), blue, origin=red)  # 0 = the red hint's colour, 1 = the blue one's
    assert to_blue[:, 500:512].max() <= 0.04 and to_blue[:, 512:524].min() >= 0.96
    assert to_blue[:, :412].max() <= 0.05 and to_blue[:, 612:].min() >= 0.95


def test_a_hint_on_an_edge_pixel_colours_the_side_it_lies_on_and_not_the_other() -> None:
    gray = _flat_halves(512, edge=258)  # the edge falls inside one cell of the solve's grid
    out = solve_hints(gray, np.zeros((64, 64, 2), np.float32), Hints((PointHint.parse(f"258,256={BLUE}"),)))
    share = _share_of(out, BLUE)
    assert (share[:, 262:] > 0.5).mean() >= 0.95
    assert (share[:, :254] > 0.2).mean() <= 0.05


def test_two_hints_of_different_colours_in_one_region_each_colour_their_own_side() -> None:
    gray = np.full((256, 512), 120, np.uint8)
    out = solve_hints(gray, np.zeros((32, 64, 2), np.float32), Hints((PointHint.parse("64,128=red"), PointHint.parse(f"448,128={BLUE}"))))
    to_blue = _share_of(out - _chroma("red"), BLUE, origin="red")
    assert to_blue[:, :128].max() < 0.25 and to_blue[:, 384:].min() > 0.75  # near each hint, mostly its colour
    assert 0.2 < to_blue[128, 256] < 0.8  # halfway, the two blend


def test_one_click_fills_a_textured_region_of_many_grays() -> None:
    """Grass: blotches from 60 to 170 gray over a field, beside a smooth road of 210; one click on the grass."""
    rng = np.random.default_rng(0)
    blotches = cv2.resize(rng.uniform(60, 170, (24, 24)), (384, 384), interpolation=cv2.INTER_CUBIC)
    gray = np.clip(blotches + rng.normal(0, 8, blotches.shape), 0, 255)
    gray[:, 256:] = 210 + rng.normal(0, 2, (384, 128))
    gray = gray.astype(np.uint8)
    share = _share_of(solve_hints(gray, np.zeros((48, 48, 2), np.float32), Hints((PointHint.parse("60,200=#4a8a2a"),))), "#4a8a2a")
    assert (share[:, :250] > 0.5).mean() >= 0.9
    assert (share[:, 262:] > 0.2).mean() <= 0.05


@pytest.mark.parametrize("size", [(512, 384), (2400, 1800)])  # the second beyond the solve's 1024 px: the merge lays it on
def test_hints_never_push_colour_past_the_hints_own(size: tuple[int, int]) -> None:
    """Saturated green and magenta hints in neighbouring regions of a real photo: no pixel gets more chroma than the
    hints have, at the solve's output and after the merge."""
    photo = Image.open(Path(__file__).resolve().parents[1] / "samples" / "heldout_hill.jpg").convert("L").resize(size)
    gray = np.asarray(photo)
    w, h = size
    hints = Hints((PointHint.parse(f"{w // 8},{h // 4}=#00ff00"), PointHint.parse(f"{w * 3 // 4},{h * 3 // 4}=#ff00ff")))
    limit = max(np.hypot(*_chroma(c)) for c in ("#00ff00", "#ff00ff"))
    out = solve_hints(gray, np.zeros((128, 128, 2), np.float32), hints)
    assert np.hypot(out[..., 0], out[..., 1]).max() <= limit * 1.01
    merged = lay_on(out, gray)
    assert np.hypot(merged[..., 0], merged[..., 1]).max() <= limit * 1.01


@pytest.mark.parametrize("distance", [2, 11, 36])
def test_a_hint_near_a_strong_edge_fills_its_region_up_to_the_edge(distance: int) -> None:
    """A click a few pixels from a strong edge (dark 60 | light 200) fills the whole dark side, with no pale rim
    along the edge, and not the light side."""
    gray = _flat_halves(1024, edge=516, left=60, right=200)
    hint = Hints((PointHint.parse(f"{516 - distance},512=#ff0000"),))
    share = _share_of(solve_hints(gray, np.zeros((128, 128, 2), np.float32), hint), "#ff0000")
    assert (share[:, :512] > 0.5).mean() >= 0.99
    assert (share[:, 520:] > 0.2).mean() <= 0.01


def test_two_clicks_either_side_of_an_edge_in_one_grid_cell_each_colour_their_own_side() -> None:
    """On a 4000 px photo a cell of the solve's grid is 31 px wide: a red click just left of an edge and a blue
    one just right of it, in one cell, each colour their own side."""
    gray = _flat_halves(1024, edge=516)  # a cell of the 128 px grid spans 512..519
    hints = Hints((PointHint.parse("514,512=#ff0000"), PointHint.parse(f"518,512={BLUE}")))
    out = solve_hints(gray, np.zeros((128, 128, 2), np.float32), hints)
    assert (_share_of(out, "#ff0000")[:, :508] > 0.5).mean() >= 0.95
    assert (_share_of(out, BLUE)[:, 524:] > 0.5).mean() >= 0.95
