"""Colour hints: parsing, rendering to the model's hint map, the zero-initialised hint input, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app
from colorize.config import ModelConfig
from colorize.errors import BadInputError, ColorizeError
from colorize.hints import Hints, PointHint, parse_color, rgb_to_hint_chroma
from colorize.models import create_generator

from conftest import write_photo_file

runner = CliRunner()


@pytest.mark.parametrize("head", ["rgb", "ab_bins"])
def test_zero_initialised_hint_input_reproduces_the_base_model_exactly(head: str) -> None:
    torch.manual_seed(0)
    base = create_generator(ModelConfig(arch="tiny", head=head)).eval()
    hinted = create_generator(ModelConfig(arch="tiny", head=head, hints=True)).eval()
    missing, unexpected = hinted.load_state_dict(base.state_dict(), strict=False)
    assert set(missing) == {"hint_in.weight", "hint_in.bias"} and not unexpected
    gray = torch.rand(2, 1, 64, 64)
    hints = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(base(gray), hinted(gray))
        assert torch.equal(base(gray), hinted(gray, hints=hints))  # zero weights: hints change nothing yet
        hinted.hint_in.weight.fill_(0.5)
        assert not torch.allclose(base(gray), hinted(gray, hints=hints))


def test_colours_parse_from_hex_and_css_names() -> None:
    assert parse_color("#2050c0") == (0x20, 0x50, 0xC0)
    assert parse_color("#fff") == (255, 255, 255)
    assert parse_color("navy") == (0, 0, 128)
    assert parse_color(" ForestGreen ") == (34, 139, 34)
    with pytest.raises(ColorizeError, match="not a colour"):
        parse_color("bluish")
    with pytest.raises(ColorizeError, match="X,Y=COLOR"):
        PointHint.parse("120;340=red")


def test_pixel_and_percent_positions_render_to_the_same_place() -> None:
    by_pixel = Hints((PointHint.parse("500,125=#2050c0"),)).render(500, 1000, 64)
    by_percent = Hints((PointHint.parse("50%,25%=#2050c0"),)).render(500, 1000, 64)
    assert torch.equal(by_pixel, by_percent)
    mask = by_pixel[2]
    ys, xs = torch.nonzero(mask, as_tuple=True)
    assert mask.sum() == 9 and ys.float().mean() == 16 and xs.float().mean() == 32  # a 3x3 patch around the place
    expected = rgb_to_hint_chroma(np.asarray([0x20, 0x50, 0xC0]) / 255)
    assert torch.allclose(by_pixel[:2, 16, 32], torch.tensor(expected, dtype=torch.float32))
    assert by_pixel[:2, mask == 0].abs().max() == 0


def test_a_hints_image_dot_is_the_same_hint_as_the_command_line(tmp_path: Path) -> None:
    rgba = np.zeros((100, 200, 4), np.uint8)
    rgba[40, 120] = (0x20, 0x50, 0xC0, 255)
    rgba[10, 10] = (255, 0, 0, 40)  # faint pixels are not hints
    Image.fromarray(rgba).save(tmp_path / "h.png")
    from_image = Hints(image=tmp_path / "h.png").render(100, 200, 48)
    from_cli = Hints((PointHint.parse("120,40=#2050c0"),)).render(100, 200, 48)
    assert torch.allclose(from_image, from_cli, atol=1e-6)
    # The same drawing at twice the photo's size scales to it.
    Image.fromarray(np.asarray(Image.fromarray(rgba).resize((400, 200), Image.Resampling.NEAREST))).save(tmp_path / "h2.png")
    assert torch.allclose(Hints(image=tmp_path / "h2.png").render(100, 200, 48), from_cli, atol=1e-6)


def test_bad_hints_are_clear_errors_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ColorizeError, match=r"hint '1000,10=red' is outside the 1000x500 photo"):
        Hints((PointHint.parse("1000,10=red"),)).check(500, 1000)
    with pytest.raises(ColorizeError, match="outside"):
        Hints((PointHint.parse("50%,101%=red"),)).render(500, 1000, 32)
    Image.new("RGBA", (100, 100)).save(tmp_path / "square.png")
    with pytest.raises(BadInputError, match=r"square.png: hints image is 100x100, not the shape of its 1000x500 photo"):
        Hints(image=tmp_path / "square.png").check(500, 1000)


def _hint_model(tmp_path: Path) -> Path:
    """A tiny hint-aware checkpoint whose hint input is not zero, so hints visibly change its colour."""
    from colorize.weights import save_checkpoint

    torch.manual_seed(0)
    cfg = ModelConfig(arch="tiny", hints=True, spectral_norm=False)
    gen = create_generator(cfg)
    with torch.no_grad():
        gen.hint_in.weight.copy_(torch.eye(3)[:, :, None, None] * 3)
    path = tmp_path / "hints.pt"
    save_checkpoint(path, gen, "generator", cfg, render_factor=7)
    return path


def test_photo_hint_changes_the_colour_where_the_model_takes_hints(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "p.png", h=64, w=64)
    weights = _hint_model(tmp_path)
    plain = runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "plain.png"), "--weights", str(weights), "--device", "cpu"])
    hinted = runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "hinted.png"), "--weights", str(weights), "--device", "cpu",
                                 "--hint", "32,32=#2050c0", "--hint", "10%,10%=red"])
    assert plain.exit_code == 0 and hinted.exit_code == 0, hinted.stderr
    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png"), np.int16) for n in ("plain", "hinted"))
    assert np.abs(a - b).max() > 0
    # A model without hint channels still colorizes, and says the hints were ignored.
    r = runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "nohint.png"), "--weights", str(tiny_weights), "--device", "cpu",
                            "--hint", "32,32=red"])
    assert r.exit_code == 0 and "no hint channels" in r.stderr


def test_photos_find_hints_images_and_fail_only_the_photo_with_a_bad_one(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b", "c"):
        write_photo_file(src / f"{name}.png", h=48, w=64)
    Image.new("RGBA", (64, 48), (255, 0, 0, 255)).save(src / "a.hints.png")
    Image.new("RGBA", (30, 30)).save(src / "b.hints.png")  # wrong shape
    weights = _hint_model(tmp_path)
    r = runner.invoke(app, ["photos", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights), "--device", "cpu"])
    assert r.exit_code == 1
    assert "b.hints.png: hints image is 30x30" in r.stderr and "colorized 2, skipped 0 (already done), failed 1" in r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_color.png", "c_color.png"]  # hints files are no photos
    # a and c are the same picture: only a's hints tell them apart.
    hinted_a, plain_c = (np.asarray(Image.open(tmp_path / "out" / f"{n}_color.png"), np.int16) for n in "ac")
    assert np.abs(hinted_a - plain_c).max() > 0


def test_hints_dir_is_read_and_must_exist(tmp_path: Path) -> None:
    src, hints = tmp_path / "in", tmp_path / "hints"
    src.mkdir(), hints.mkdir()
    write_photo_file(src / "a.png", h=48, w=64)
    from colorize.photos import attach_hints, plan_folder

    Image.new("RGBA", (64, 48), (0, 0, 255, 255)).save(hints / "a.hints.png")
    jobs = attach_hints(plan_folder(src, tmp_path / "out", False, "_color", "auto"), src, hints)
    assert jobs[0].hints == Hints(image=hints / "a.hints.png")
    r = runner.invoke(app, ["photos", str(src), "-o", str(tmp_path / "out"), "--hints-dir", str(tmp_path / "nope")])
    assert r.exit_code != 0 and "no such folder (--hints-dir)" in r.stderr
