"""Colour from a reference photo: found at another size, framing and side, its colour reaches the photo; a gray,
missing or oversized reference is refused naming it; a reference of another scene changes nothing and says so; a
person's hint wins over it; a folder's own NAME.ref.* photos are found in any case, used, never colorized, and a
changed reference redoes the photo."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.color.ycbcr import chroma_of, lab_ab, merge
from colorize.errors import BadInputError
from colorize.evaluation import shifted_mirrored_crop
from colorize.hint_solver import solve_hints
from colorize.hints import Hints, PointHint
from colorize.reference import Reference

from helpers import painted, visible

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def hill() -> tuple[np.ndarray, np.ndarray]:
    """A real landscape in gray, and the same landscape painted (its 'real colour')."""
    gray = np.asarray(Image.open(SAMPLES / "heldout_hill.jpg").convert("L"))
    return gray, painted(gray)


def _ab_error(gray: np.ndarray, chroma: np.ndarray, real: np.ndarray) -> float:
    return float(np.abs(lab_ab(merge(gray, chroma)) - lab_ab(real)).mean())


def test_a_reference_of_another_size_framing_and_side_brings_its_colour(hill: tuple[np.ndarray, np.ndarray]) -> None:
    gray, real = hill
    crop = shifted_mirrored_crop(real)
    smaller = cv2.resize(crop, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)  # another size too
    model = np.zeros((64, 64, 2), np.float32)  # a model that gives no colour at all
    with_ref = solve_hints(gray, model, Hints(reference=Reference(smaller, "ref")))
    before, after = _ab_error(gray, model, real), _ab_error(gray, with_ref, real)
    assert after < 0.4 * before, (before, after)


def test_a_gray_reference_is_refused_naming_it(tmp_path: Path) -> None:
    gray_ref = tmp_path / "gray_ref.jpg"
    Image.open(SAMPLES / "heldout_hill.jpg").convert("RGB").save(gray_ref)
    with pytest.raises(BadInputError, match="gray_ref.jpg: the reference photo is gray"):
        Reference.open(gray_ref)
    result = CliRunner().invoke(app, ["photo", str(SAMPLES / "heldout_hill.jpg"), "-o", str(tmp_path / "out.png"),
                                      "--reference", str(gray_ref)])
    assert result.exit_code == 1 and "gray_ref.jpg: the reference photo is gray" in result.output
    assert not (tmp_path / "out.png").exists()


def test_a_reference_of_another_scene_leaves_the_models_colour_and_says_so(
        hill: tuple[np.ndarray, np.ndarray], tmp_path: Path, tiny_weights: Path) -> None:
    gray, _ = hill
    portrait = np.asarray(Image.open(SAMPLES / "einstein.jpg").convert("L"))
    other = Reference(painted(portrait), "portrait")
    model = np.random.default_rng(0).normal(0, 0.05, (64, 64, 2)).astype(np.float32)
    assert np.array_equal(solve_hints(gray, model, Hints(reference=other)), model)
    Image.fromarray(painted(portrait)).save(tmp_path / "portrait.png")
    result = CliRunner().invoke(app, ["photo", str(SAMPLES / "heldout_hill.jpg"), "-o", str(tmp_path / "out.png"),
                                      "--weights", str(tiny_weights), "--reference", str(tmp_path / "portrait.png")])
    assert result.exit_code == 0, result.output
    assert "portrait.png: nothing of this reference was found in the photo; it keeps the model's colour" in result.output
    plain = tmp_path / "plain.png"
    CliRunner().invoke(app, ["photo", str(SAMPLES / "heldout_hill.jpg"), "-o", str(plain), "--weights", str(tiny_weights)])
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), np.asarray(Image.open(plain)))


def test_a_folder_uses_each_photos_own_reference_never_colorizes_it_and_redoes_a_photo_whose_reference_changed(
        hill: tuple[np.ndarray, np.ndarray], tmp_path: Path, tiny_weights: Path) -> None:
    gray, real = hill
    folder, out = tmp_path / "album", tmp_path / "out"
    folder.mkdir()
    Image.fromarray(gray).save(folder / "hill.png")
    Image.fromarray(gray).save(folder / "other.png")
    Image.fromarray(shifted_mirrored_crop(real)).save(folder / "hill.ref.jpg")
    run = lambda: CliRunner().invoke(app, ["photos", str(folder), "-o", str(out), "--weights", str(tiny_weights)])  # noqa: E731
    result = run()
    assert result.exit_code == 0, result.output
    assert visible(out) == ["hill_color.png", "other_color.png"]  # the reference is no photo to colorize
    hill_out, other_out = (np.asarray(Image.open(out / n)) for n in ("hill_color.png", "other_color.png"))
    # The same gray photo twice: only the one with the reference took its colour.
    error = lambda rgb: float(np.abs(lab_ab(rgb) - lab_ab(real)).mean())  # noqa: E731
    assert error(hill_out) < 0.6 * error(other_out)
    assert "colorized 0, skipped 2" in run().output
    ref = folder / "hill.ref.jpg"
    Image.fromarray(np.ascontiguousarray(real[:, ::-1])).save(ref)
    os.utime(ref, ns=(ref.stat().st_atime_ns, ref.stat().st_mtime_ns + 10**9))
    assert "colorized 1, skipped 1" in run().output


def test_the_page_hints_of_a_reference_carry_its_colour_at_its_places(hill: tuple[np.ndarray, np.ndarray]) -> None:
    gray, real = hill
    matched = Reference(shifted_mirrored_crop(real), "ref").match(gray, (96, 128))
    points = matched.points(*gray.shape)
    assert len(points) >= 20
    for x, y, rgb in points:
        truth = chroma_of(real[y, x].astype(np.float32) / 255)
        assert np.abs(chroma_of(np.float32(rgb) / 255) - truth).max() < 0.06, (x, y)


def test_a_film_takes_its_reference_on_every_frame_and_a_gray_one_is_refused_before_any_work(
        hill: tuple[np.ndarray, np.ndarray], tmp_path: Path, tiny_weights: Path) -> None:
    gray, real = hill
    frames, out, plain = tmp_path / "frames", tmp_path / "out", tmp_path / "plain"
    frames.mkdir()
    for i in range(3):  # a slow pan
        Image.fromarray(np.ascontiguousarray(gray[:, 8 * i : 8 * i + 400])).save(frames / f"f{i}.png")
    Image.fromarray(real).save(tmp_path / "still.png")
    Image.fromarray(gray).save(tmp_path / "gray.png")
    invoke = lambda *extra: CliRunner().invoke(app, ["frames", str(frames), "--weights", str(tiny_weights), *extra])  # noqa: E731
    refused = invoke("-o", str(out), "--reference", str(tmp_path / "gray.png"))
    assert refused.exit_code == 1 and "gray.png: the reference photo is gray" in refused.output and not out.exists()
    assert invoke("-o", str(out), "--reference", str(tmp_path / "still.png")).exit_code == 0
    assert invoke("-o", str(plain)).exit_code == 0
    for i in range(3):
        truth = lab_ab(np.ascontiguousarray(real[:, 8 * i : 8 * i + 400]))
        error = lambda folder: float(np.abs(lab_ab(np.asarray(Image.open(folder / f"f{i}.png"))) - truth).mean())  # noqa: E731
        assert error(out) < 0.6 * error(plain), i


def test_a_persons_hint_wins_over_the_reference_in_its_object(hill: tuple[np.ndarray, np.ndarray]) -> None:
    gray, real = hill
    model = np.zeros((64, 64, 2), np.float32)
    hint = Hints((PointHint.parse("120,300=#ff00ff"),), reference=Reference(shifted_mirrored_crop(real), "ref"))
    magenta = chroma_of(np.float32([1.0, 0.0, 1.0]))
    at_hint = cv2.resize(solve_hints(gray, model, hint), gray.shape[::-1])[300, 120]
    assert np.abs(at_hint - magenta).max() < 0.1, at_hint


def test_reference_names_are_found_in_any_case_and_a_bad_one_fails_only_its_photo(
        hill: tuple[np.ndarray, np.ndarray], tmp_path: Path, tiny_weights: Path, caplog: pytest.LogCaptureFixture) -> None:
    gray, real = hill
    folder, out = tmp_path / "album", tmp_path / "out"
    folder.mkdir()
    for name in ("Barn.png", "porch.jpg", "plain.png"):
        Image.fromarray(gray).save(folder / name)
    Image.fromarray(shifted_mirrored_crop(real)).save(folder / "barn.REF.jpg")
    Image.fromarray(gray).save(folder / "porch.jpg.ref.png")  # gray: no colour to give
    Image.fromarray(real).save(folder / "holiday.ref.jpg")  # named after no photo
    result = CliRunner().invoke(app, ["photos", str(folder), "-o", str(out), "--weights", str(tiny_weights)])
    assert result.exit_code == 1
    assert "porch.jpg.ref.png: the reference photo is gray" in result.output and "failed 1" in result.output
    assert "holiday.ref.jpg: named as a photo's reference" in result.output
    assert visible(out) == ["Barn_color.png", "plain_color.png"]
    error = lambda name: float(np.abs(lab_ab(np.asarray(Image.open(out / name))) - lab_ab(real)).mean())  # noqa: E731
    assert error("Barn_color.png") < 0.6 * error("plain_color.png")


def test_a_folders_reference_that_cannot_be_used_stops_the_run_before_any_work(tmp_path: Path, tiny_weights: Path) -> None:
    folder, out = tmp_path / "album", tmp_path / "out"
    folder.mkdir()
    gray = np.asarray(Image.open(SAMPLES / "heldout_hill.jpg"))
    Image.fromarray(gray).save(folder / "a.png")
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.new("RGB", (20000, 8000)).save(tmp_path / "huge.png")
    for ref, message in (("gray.png", "the reference photo is gray"), ("huge.png", "over the 150 MP cap"),
                         ("missing.jpg", "no such reference photo")):
        result = CliRunner().invoke(app, ["photos", str(folder), "-o", str(out), "--weights", str(tiny_weights),
                                          "--reference", str(tmp_path / ref)])
        assert result.exit_code == 1 and f"{ref}: " in result.output and message in result.output, result.output
        assert result.output.count("\n") == 1 and not out.exists()
