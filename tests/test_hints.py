"""Colour hints (colorize/hints.py): parsing, rendering to the model's hint map, the zero-initialised hint input,
training with hints, and the CLI: hints images saved flat, gray or 16-bit, too faint, a folder given as one, and bad
hints named."""

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
from colorize.color.ycbcr import chroma_of
from colorize.hints import Hints, PointHint, parse_color
from colorize.models import create_generator

from helpers import at_step, interrupt, visible, write_photo_file

runner = CliRunner()
COMMON = ("-r", "8", "--device", "cpu")


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("head", ["rgb", "ab_bins"])
def test_zero_initialised_hint_input_reproduces_the_base_model_exactly(head: str) -> None:
    torch.manual_seed(0)
    base = create_generator(ModelConfig(arch="tiny", head=head)).eval()
    hinted = create_generator(ModelConfig(arch="tiny", head=head, hint_input="points")).eval()
    missing, unexpected = hinted.load_state_dict(base.state_dict(), strict=False)
    assert set(missing) == {"hint_in.weight", "hint_in.bias"} and not unexpected
    gray = torch.rand(2, 1, 64, 64)
    hints = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(base(gray), hinted(gray))
        assert torch.equal(base(gray), hinted(gray, hints=hints))  # zero weights: hints change nothing yet
        hinted.hint_in.weight.fill_(0.5)
        assert not torch.allclose(base(gray), hinted(gray, hints=hints))


def test_colors_parse_from_hex_and_css_names() -> None:
    assert parse_color("#2050c0") == (0x20, 0x50, 0xC0)
    assert parse_color("#fff") == (255, 255, 255)
    assert parse_color("navy") == (0, 0, 128)
    assert parse_color(" ForestGreen ") == (34, 139, 34)
    with pytest.raises(ColorizeError, match="not a colour"):
        parse_color("bluish")
    with pytest.raises(ColorizeError, match="X,Y=COLOR"):
        PointHint.parse("120;340=red")


def test_pixel_and_percent_positions_fall_on_the_same_place() -> None:
    by_pixel = Hints((PointHint.parse("500,125=#2050c0"),)).rasterise(np.zeros((500, 1000), np.uint8), (32, 64))
    by_percent = Hints((PointHint.parse("50%,25%=#2050c0"),)).rasterise(np.zeros((500, 1000), np.uint8), (32, 64))
    for a, b in zip(by_pixel, by_percent):
        assert np.array_equal(a, b)
    chroma, mask = by_pixel
    assert mask.sum() == 1 and mask[8, 32]
    np.testing.assert_allclose(chroma[8, 32], chroma_of(np.asarray([0x20, 0x50, 0xC0]) / 255), rtol=1e-6)
    assert np.abs(chroma[~mask]).max() == 0


def test_a_hints_image_dot_is_the_same_hint_as_the_command_line(tmp_path: Path) -> None:
    rgba = np.zeros((100, 200, 4), np.uint8)
    rgba[40, 120] = (0x20, 0x50, 0xC0, 255)
    rgba[10, 10] = (255, 0, 0, 20)  # pixels under 10 % opacity are not hints
    Image.fromarray(rgba).save(tmp_path / "h.png")
    from_image = Hints(image=tmp_path / "h.png").rasterise(np.zeros((100, 200), np.uint8), (48, 48))
    from_cli = Hints((PointHint.parse("120,40=#2050c0"),)).rasterise(np.zeros((100, 200), np.uint8), (48, 48))
    for a, b in zip(from_image, from_cli):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # The same drawing at twice the photo's size scales to it.
    Image.fromarray(np.asarray(Image.fromarray(rgba).resize((400, 200), Image.Resampling.NEAREST))).save(tmp_path / "h2.png")
    for a, b in zip(Hints(image=tmp_path / "h2.png").rasterise(np.zeros((100, 200), np.uint8), (48, 48)), from_cli):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_hints_are_clear_errors_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ColorizeError, match=r"hint '1000,10=red' is outside the 1000x500 photo"):
        Hints((PointHint.parse("1000,10=red"),)).check(500, 1000)
    with pytest.raises(ColorizeError, match="outside"):
        Hints((PointHint.parse("50%,101%=red"),)).rasterise(np.zeros((500, 1000), np.uint8), (32, 32))
    Image.new("RGBA", (100, 100)).save(tmp_path / "square.png")
    with pytest.raises(BadInputError, match=r"square.png: hints image is 100x100, not the shape of its 1000x500 photo"):
        Hints(image=tmp_path / "square.png").check(500, 1000)


def _hint_model(tmp_path: Path) -> Path:
    """A tiny hint-aware checkpoint whose hint input is not zero, so hints visibly change its colour."""
    from colorize.weights import save_checkpoint

    torch.manual_seed(0)
    cfg = ModelConfig(arch="tiny", hint_input="points", spectral_norm=False)
    gen = create_generator(cfg)
    with torch.no_grad():
        gen.hint_in.weight.copy_(torch.eye(3)[:, :, None, None] * 3)
    path = tmp_path / "hints.pt"
    save_checkpoint(path, gen, "generator", cfg, render_factor=7)
    return path


def test_photo_hint_changes_the_color_where_the_model_takes_hints(tmp_path: Path, tiny_weights: Path) -> None:
    src = write_photo_file(tmp_path / "p.png", h=64, w=64)
    weights = _hint_model(tmp_path)
    plain = runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "plain.png"), "--weights", str(weights), "--device", "cpu"])
    hinted = runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "hinted.png"), "--weights", str(weights), "--device", "cpu",
                                 "--hint", "32,32=#2050c0", "--hint", "10%,10%=red"])
    assert plain.exit_code == 0 and hinted.exit_code == 0, hinted.stderr
    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png"), np.int16) for n in ("plain", "hinted"))
    assert np.abs(a - b).max() > 0
    # A model without hint channels follows hints too: the solve spreads them over its colour.
    r = runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "nohint.png"), "--weights", str(tiny_weights), "--device", "cpu",
                            "--hint", "32,32=red"])
    runner.invoke(app, ["photo", str(src), "-o", str(tmp_path / "tiny.png"), "--weights", str(tiny_weights), "--device", "cpu"])
    red, own = (np.asarray(Image.open(tmp_path / f"{n}.png"), np.int16) for n in ("nohint", "tiny"))
    assert r.exit_code == 0 and red[32, 32, 0] - red[32, 32, 1:].mean() > own[32, 32, 0] - own[32, 32, 1:].mean() + 10


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
    assert visible(tmp_path / "out") == ["a_color.png", "c_color.png"]  # hints files are no photos
    # a and c are the same picture: only a's hints tell them apart.
    hinted_a, plain_c = (np.asarray(Image.open(tmp_path / "out" / f"{n}_color.png"), np.int16) for n in "ac")
    assert np.abs(hinted_a - plain_c).max() > 0


def test_hints_dir_is_read_and_must_exist(tmp_path: Path) -> None:
    src, hints = tmp_path / "in", tmp_path / "hints"
    src.mkdir(), hints.mkdir()
    write_photo_file(src / "a.png", h=48, w=64)
    from colorize.plan import attach_hints, plan_folder

    Image.new("RGBA", (64, 48), (0, 0, 255, 255)).save(hints / "a.hints.png")
    jobs = attach_hints(plan_folder(src, tmp_path / "out", False, "_color", "auto"), src, hints)
    assert jobs[0].hints == Hints(image=hints / "a.hints.png")
    r = runner.invoke(app, ["photos", str(src), "-o", str(tmp_path / "out"), "--hints-dir", str(tmp_path / "nope")])
    assert r.exit_code != 0 and "no such folder (--hints-dir)" in r.stderr


def test_simulated_hints_hold_the_true_color_as_the_renderer_encodes_it() -> None:
    from colorize.config import HintsConfig
    from colorize.train.hints import simulated_hints

    color = np.asarray([0x20, 0x50, 0xC0]) / 255
    target = torch.tensor(color, dtype=torch.float32).view(3, 1, 1).expand(3, 32, 32)
    cfg = HintsConfig(no_hint_prob=0.5)
    maps = np.stack([simulated_hints(target, cfg, np.random.default_rng([0, k])) for k in range(64)])
    hinted = maps[:, 2].max(axis=(1, 2)) > 0
    assert 16 < int(hinted.sum()) < 48  # about half the images get hints
    mask = maps[:, 2] > 0
    expected = (2 * chroma_of(color)).astype(np.float32)
    np.testing.assert_allclose(maps[:, :2].transpose(0, 2, 3, 1)[mask], np.broadcast_to(expected, (int(mask.sum()), 2)), atol=1e-5)
    assert np.abs(maps[:, :2].transpose(0, 2, 3, 1)[~mask]).max() == 0
    assert np.array_equal(maps[7], simulated_hints(target, cfg, np.random.default_rng([0, 7])))


def test_hinted_photos_draw_the_same_hints_for_the_same_sample_id(tmp_path: Path) -> None:
    from colorize.config import DataConfig, HintsConfig
    from colorize.data import CrappifiedPhotos, training_photos
    from colorize.train.hints import HintedPhotos

    data = HintedPhotos(CrappifiedPhotos(training_photos(_two_color_photos(tmp_path / "p"), DataConfig(val_fraction=0.0), 64), 32,
                                         DataConfig(), seed=3), HintsConfig(no_hint_prob=0.0, spread_input=True, wide_input=True), seed=3)
    x, y, hints = data[5]
    assert x.shape == (1, 32, 32) and y.shape == (3, 32, 32) and hints.shape == (6, 32, 32)
    assert hints[2].max() > 0 and hints[5].max() > 0  # every sample hinted here: confidence near and wide
    assert torch.equal(hints, data[5][2]) and not torch.equal(hints, data[6][2])


def _two_color_photos(folder: Path) -> Path:
    """Flat red and blue photos of the same luminance (108): their gray cannot tell them apart, a hint can."""
    folder.mkdir()
    for i in range(6):
        color = (220, 60, 60) if i % 2 else (40, 114, 255)
        Image.new("RGB", (64, 64), color).save(folder / f"{i}.png")
    return folder


def test_a_model_fine_tuned_with_hints_follows_them_and_the_stage_resumes(tmp_path: Path, tiny_weights: Path) -> None:
    from colorize.config import load_recipe
    from colorize.inference import torch_colorizer
    from colorize.metrics import evaluate
    from colorize.train import hints as hints_stage
    from colorize.train.common import StageContext
    from colorize.weights import load_generator

    data = _two_color_photos(tmp_path / "toy")
    sets = {"hints.base": str(tiny_weights), "hints.steps": 150, "hints.size_px": 32, "hints.batch_size": 8, "hints.lr": 1e-2,
            "hints.checkpoint_every_steps": 50, "hints.no_hint_prob": 0.3, "loss.perceptual": False, "data.val_fraction": 0.0}
    cfg = load_recipe(Path(__file__).parents[1] / "recipes" / "smoke.toml", sets)
    ctx = StageContext(tmp_path / "run", data, device=torch.device("cpu"))
    with at_step(60, interrupt), pytest.raises(KeyboardInterrupt):
        hints_stage.run(cfg, ctx)
    assert torch.load(tmp_path / "run" / "hints" / "last.pt", weights_only=True)["step"] == 50
    gen_path = hints_stage.run(cfg, ctx)  # resumes from step 50
    model, _ = load_generator(gen_path)
    assert model.cfg.hint_input == "points" and model.hint_in.weight.abs().max() > 0

    # A few dozen steps teach a tiny model to follow a scribble over the whole photo; spreading sparse points over
    # a region is what the real model's longer fine-tuning learns.
    colorizer = torch_colorizer(model, "cpu", render_factor=7, batch_size=2, fp32=True)
    errors = {"with": [], "without": []}
    for color in ((220, 60, 60), (40, 114, 255)):
        real = np.asarray(Image.new("RGB", (64, 64), color))
        gray = np.asarray(Image.fromarray(real).convert("L"))
        Image.new("RGBA", (64, 64), (*color, 255)).save(tmp_path / "scribble.png")
        hint = Hints(image=tmp_path / "scribble.png")
        errors["with"].append(evaluate(colorizer.colorize([gray], [hint]), [real])["ab_mae"])
        errors["without"].append(evaluate(colorizer.colorize([gray]), [real])["ab_mae"])
    assert np.mean(errors["with"]) < 0.5 * np.mean(errors["without"]), errors


@pytest.mark.parametrize("wide", [False, True])
def test_a_spread_input_model_is_trained_on_the_hints_field(tmp_path: Path, tiny_weights: Path, wide: bool,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from colorize.train import hint_field as field_module
    from colorize.config import load_recipe
    from colorize.train import hints as hints_stage
    from colorize.train.common import StageContext
    from colorize.weights import load_generator

    seen = []

    def recording_field(hint_map: np.ndarray, luma: np.ndarray, wide: bool) -> np.ndarray:
        seen.append((hint_map.shape, luma.shape, bool(hint_map[2].any()), wide))
        return field_module.hint_field(hint_map, luma, wide)

    monkeypatch.setattr(hints_stage, "hint_field", recording_field)
    sets = {"hints.base": str(tiny_weights), "hints.steps": 3, "hints.size_px": 32, "hints.batch_size": 4, "hints.no_hint_prob": 0.0,
            "hints.spread_input": True, "hints.wide_input": wide, "loss.perceptual": False, "data.val_fraction": 0.0}
    cfg = load_recipe(Path(__file__).parents[1] / "recipes" / "smoke.toml", sets)
    gen_path = hints_stage.run(cfg, StageContext(tmp_path / "run", _two_color_photos(tmp_path / "toy"), device=torch.device("cpu")))
    model, _ = load_generator(gen_path)
    assert model.cfg.hint_input == ("wide-field" if wide else "field")
    assert model.hint_in.in_channels == (6 if wide else 3)
    # Every training image's points went through the field, at the training size, with the input's luminance.
    assert len(seen) == 3 * 4 and all(s == ((3, 32, 32), (32, 32), True, wide) for s in seen)


def test_a_rebalanced_fine_tune_of_a_base_without_a_prior_takes_the_corpus_prior(tmp_path: Path, tiny_weights: Path) -> None:
    from colorize.config import load_recipe
    from colorize.data import training_photos
    from colorize.losses.color import ab_prior
    from colorize.train import hints as hints_stage
    from colorize.train.common import StageContext
    from colorize.weights import load_generator

    data = _two_color_photos(tmp_path / "toy")
    sets = {"hints.base": str(tiny_weights), "hints.steps": 2, "hints.size_px": 32, "hints.batch_size": 2,
            "loss.perceptual": False, "loss.rebalance_chroma": True, "data.val_fraction": 0.0}
    cfg = load_recipe(Path(__file__).parents[1] / "recipes" / "smoke.toml", sets)
    assert load_generator(tiny_weights)[1].get("ab_prior") is None
    _, meta = load_generator(hints_stage.run(cfg, StageContext(tmp_path / "run", data, device=torch.device("cpu"))))
    expected = ab_prior(training_photos(data, cfg.data, 64).decoded(), seed=cfg.data.seed)
    assert np.allclose(meta["ab_prior"].numpy(), expected)


def test_a_wide_input_model_grown_from_a_spread_one_reproduces_it_exactly(tmp_path: Path) -> None:
    from colorize.train.hints import hint_aware

    torch.manual_seed(0)
    base = create_generator(ModelConfig(arch="tiny", hint_input="field")).eval()
    with torch.no_grad():
        base.hint_in.weight.normal_()  # what a fine-tune learned: it must be kept, not zeroed
    grown = hint_aware(base, ModelConfig(arch="tiny", hint_input="wide-field"), tmp_path / "base.pt").eval()
    gray, field = torch.rand(2, 1, 64, 64), torch.rand(2, 6, 64, 64)
    with torch.no_grad():
        assert torch.equal(base(gray, hints=field[:, :3]), grown(gray, hints=field))
        assert not torch.equal(base(gray), base(gray, hints=field[:, :3]))


def test_eval_scores_with_true_color_hints(tmp_path: Path, tiny_weights: Path) -> None:
    import json

    from colorize.hint_sampling import sample_point_hints

    real = np.asarray(Image.open(write_photo_file(tmp_path / "one.png", h=48, w=64)))
    hints = sample_point_hints(real, 4, np.random.default_rng(0))
    for p in hints.points:
        x, y = int(p.x), int(p.y)
        assert np.allclose(p.rgb, real[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 3).mean(axis=0), atol=0.5)
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):  # four objects of their own colour and brightness each, as in a photo
        blocks = rng.integers(30, 225, (2, 2, 3)).repeat(24, 0).repeat(32, 1).astype(float)
        Image.fromarray(np.clip(blocks + rng.normal(0, 4, blocks.shape), 0, 255).astype(np.uint8)).save(photos / f"{i}.png")
    results = {}
    for name, weights in (("plain", tiny_weights), ("hinted", _hint_model(tmp_path))):
        out = tmp_path / f"{name}.json"
        r = runner.invoke(app, ["eval", "--data", str(photos), "-w", str(weights), "--device", "cpu", "--hints", "2", "--hints", "8",
                                "--json", str(out)])
        assert r.exit_code == 0, r.stderr
        assert "8 hints" in r.stdout and "8 hints: " in r.stdout and "% of pixels made worse by more than 10" in r.stdout
        results[name] = json.loads(out.read_text())
        assert set(results[name]["hints"]) == {"2", "8"}
        assert 0 <= results[name]["hints"]["8"]["worse_share"] < results[name]["hints"]["8"]["better_share"] <= 1
    # True-colour hints bring any model closer to the real colour, with or without hint channels.
    for name in ("plain", "hinted"):
        assert results[name]["hints"]["8"]["ab_mae"] < results[name]["hints"]["2"]["ab_mae"] < results[name]["model"]["ab_mae"]


def test_the_hint_field_a_hint_aware_model_trains_on_stops_at_an_edge() -> None:
    from colorize.train.hint_field import hint_field

    size = 64
    luma = np.full((size, size), 0.7, np.float32)
    luma[:, 40:] = 0.2  # a dark region right of x = 40: another object
    hint_map = np.zeros((3, size, size), np.float32)  # one point hint, a 3x3 patch of chroma doubled, and its mask
    hint_map[:2, 31:34, 19:22] = 2 * chroma_of(np.asarray([0x20, 0x50, 0xC0]) / 255)[:, None, None]
    hint_map[2, 31:34, 19:22] = 1

    # What a `field` model sees: the hints spread over their region, as colour times confidence and the
    # confidence.
    field = hint_field(hint_map, luma)
    assert field.shape == hint_map.shape and field.dtype == np.float32
    np.testing.assert_allclose(field[:, 32, 20], [*hint_map[:2, 32, 20], 1.0], atol=1e-3)
    assert 0.5 < field[2, 32, 30] < 1 and field[2, 32, 45] < 0.01
    np.testing.assert_allclose(field[:2, 32, 30] / field[2, 32, 30], hint_map[:2, 32, 20], atol=1e-3)  # one hint: its colour
    assert not hint_field(np.zeros((3, size, size), np.float32), luma).any()  # no hints: zeros, as for the points

    # A `wide-field` model also sees the same colour spread over the photo, slowed but not stopped by the edge.
    wide = hint_field(hint_map, luma, wide=True)
    assert wide.shape == (6, size, size) and np.array_equal(wide[:3], field)
    assert wide[5, 0, 0] > 0.5 and wide[5, 32, 45] > 10 * field[2, 32, 45] and wide[5, 32, 45] < wide[5, 32, 30]
    np.testing.assert_allclose(wide[3:5, 0, 0] / wide[5, 0, 0], hint_map[:2, 32, 20], atol=1e-3)
    assert hint_field(np.zeros((3, size, size), np.float32), luma, wide=True).shape == (6, size, size)


def test_retuning_the_decoding_of_a_hint_aware_model_keeps_its_hint_inputs(tmp_path: Path) -> None:
    from colorize.config import GanConfig, RecipeConfig
    from colorize.train.common import StageContext
    from colorize.pipeline import InferenceConfig
    from colorize.train.recipe import CHROMA_GAINS, tune_decoding

    cfg = ModelConfig(arch="tiny", hint_input="field")
    model = create_generator(cfg).eval()
    ctx = StageContext(run_dir=tmp_path, data_dir=_two_color_photos(tmp_path / "p"), device=torch.device("cpu"))
    untuned = InferenceConfig(render_factor=7, hint_input="field")
    tuned, scores = tune_decoding(model, untuned, RecipeConfig(gan=GanConfig(size_px=32, n_val_images=4)), ctx)
    assert tuned.hint_input == "field" and tuned.render_factor == 7 and tuned.chroma_gain in CHROMA_GAINS
    assert [s["chroma_gain"] for s in scores] == list(CHROMA_GAINS) and model.cfg == cfg  # the model is left alone


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


def test_faint_strokes_count_and_strokes_too_faint_are_said(tmp_path: Path, tiny_weights: Path) -> None:
    from colorize.hints import Hints

    layer = np.zeros((48, 64, 4), np.uint8)
    layer[20:30, 20:30] = (255, 0, 0, 60)  # a 25 % opacity brush
    Image.fromarray(layer).save(tmp_path / "soft.png")
    _, hinted = Hints(image=tmp_path / "soft.png").rasterise(np.zeros((48, 64), np.uint8), (48, 64))
    assert hinted.sum() == 100
    layer[..., 3] = np.where(layer[..., 3] > 0, 10, 0)  # 4 %: too faint to be meant
    Image.fromarray(layer).save(tmp_path / "faint.png")
    src = write_photo_file(tmp_path / "p.png")
    r = invoke("photo", src, "-w", tiny_weights, "--hints", tmp_path / "faint.png", *COMMON)
    assert r.exit_code == 0 and "fainter than 10 % opacity, so none is read as a hint" in r.stderr
