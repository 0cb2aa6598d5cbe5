"""The hint solve (colorize/hint_solver.py): one hint fills the region it lands on up to its edges, and nothing else,
on its own and through `colorize photo --hint` with the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.color.ycbcr import chroma_of, lab_ab, merge
from colorize.hint_solver import solve_hints
from colorize.hints import Hints, PointHint

runner = CliRunner()
BLUE = "#2050c0"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _share_of(chroma: np.ndarray, color: str) -> np.ndarray:
    """(H, W): how much of the hinted colour's chroma each pixel carries (1 = all of it, 0 = none)."""
    rgb = np.asarray(Image.new("RGB", (1, 1), color)).reshape(3) / 255
    target = chroma_of(rgb)
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
