"""Recipes (colorize/config.py): every shipped and experiment recipe loads, `extends` layers one on another, the
generated key reference is current, every value is checked when the recipe loads (so a bad one fails `train` before
any stage), keys that training sets are refused, and the config names the same GAN losses as the losses."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from colorize.cli import app
from colorize.config import DERIVED, GAN_LOSSES, load_recipe, parse_override
from colorize.errors import ConfigError

from helpers import color_folder

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "recipes" / "smoke.toml"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("recipe", sorted(p.relative_to(REPO).as_posix() for p in (REPO / "recipes").rglob("*.toml")))
def test_every_recipe_in_the_repository_loads(recipe: str) -> None:
    load_recipe(REPO / recipe)


def test_an_experiment_extends_the_recipe_and_names_only_what_it_changes() -> None:
    base = load_recipe(REPO / "recipes" / "default.toml")
    wide = load_recipe(REPO / "recipes" / "experiments" / "hints-wide.toml")
    people = load_recipe(REPO / "recipes" / "experiments" / "hints-wide-people.toml")
    assert wide.gan == base.gan and wide.hints.wide_input and wide.hints.steps == 4800
    assert people.hints.wide_input and people.hints.steps == 2400 and people.data.people_weight == 6.0
    assert people.data.val_fraction == base.data.val_fraction


def test_extends_cycles_and_missing_bases_are_named(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ConfigError, match="which extends it again"):
        load_recipe(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('extends = "nowhere.toml"\n')
    with pytest.raises(ConfigError, match="nowhere.toml: recipe file not found"):
        load_recipe(tmp_path / "c.toml")


def test_weight_clipping_and_equalized_lr_are_refused_together() -> None:
    with pytest.raises(ConfigError, match="gan.loss = 'wgan' clips"):
        load_recipe(None, {"gan.loss": "wgan", "critic.equalized_lr": True})
    load_recipe(None, {"gan.loss": "wgan-gp", "critic.equalized_lr": True})


def test_the_recipe_reference_is_current() -> None:
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "recipe_reference.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(("override", "named"), [
    ("gan.loss=banana", "gan.loss = 'banana'; choose one of"),
    ("pretrain_gen.steps_per_size=[-5, -5]", "pretrain_gen.steps_per_size[0] = -5; it must be >= 1"),
    ("pretrain_gen.batch_size=0", "pretrain_gen.batch_size = 0; it must be >= 1"),
    ("gan.max_steps=-5", "gan.max_steps = -5"),
    ("gan.size_px=0", "gan.size_px = 0"),
    ("gan.size_px=100", "a multiple of 16"),
    ("data.composite_prob=2", "data.composite_prob = 2.0; it must be <= 1"),
    ("data.jpeg_quality_min=99", "is above data.jpeg_quality_max"),
    ("pretrain_gen.steps_per_size=[10]", "the same length"),
    ("train.precision=fp8", "train.precision = 'fp8'; choose one of"),
])
def test_every_recipe_value_is_checked_when_the_recipe_loads(override: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("(", r"\(")):
        load_recipe(SMOKE, dict([parse_override(override)]))


@pytest.mark.parametrize("key", DERIVED)
def test_keys_that_training_sets_are_refused_in_a_recipe(tmp_path: Path, key: str) -> None:
    section, name = key.split(".")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f"[{section}]\n{name} = {'true' if 'hints' in name else '1.5'}\n")
    with pytest.raises(ConfigError, match=f"{key}: set by training and export, not by a recipe"):
        load_recipe(recipe)
    with pytest.raises(ConfigError, match=key):
        load_recipe(SMOKE, {key: 2.0})


def test_the_config_and_the_gan_losses_name_the_same_losses() -> None:
    from colorize.losses.adversarial import ADVERSARIAL_LOSSES

    assert set(GAN_LOSSES) == set(ADVERSARIAL_LOSSES)


def test_a_bad_recipe_value_fails_train_before_any_stage(tmp_path: Path) -> None:
    data = color_folder(tmp_path / "data", 3)
    r = invoke("train", "all", "--data", data, "--run", tmp_path / "run", "--recipe", SMOKE, "--set", "gan.loss=banana")
    assert r.exit_code == 1 and "gan.loss = 'banana'" in r.stderr
    assert not (tmp_path / "run" / "1-pretrain-gen").exists()
