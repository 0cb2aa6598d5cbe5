"""Recipes: every shipped and experiment recipe loads, `extends` layers one on another, and the generated key
reference is current."""

import subprocess
import sys
from pathlib import Path

import pytest

from colorize.config import load_recipe
from colorize.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


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
