#!/usr/bin/env python3
"""Write docs/recipe.md: every recipe key with its default, its allowed values and what it does, from
colorize/config.py itself (each field's comment, its annotation's range or choices, its default).

    .venv/bin/python scripts/recipe_reference.py           # rewrite docs/recipe.md
    .venv/bin/python scripts/recipe_reference.py --check   # exit 1 if docs/recipe.md is out of date
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from colorize import config  # noqa: E402
from colorize.config import DERIVED, RecipeConfig  # noqa: E402
from colorize.typed import OneOf, Range  # noqa: E402

DOC = ROOT / "docs" / "recipe.md"


def field_comments() -> dict[tuple[str, str], str]:
    """(class name, field name) -> the comment lines just above the field in config.py, joined."""
    source = Path(config.__file__).read_text()
    lines = source.splitlines()
    out = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                comment, k = [], stmt.lineno - 2
                while k >= 0 and lines[k].strip().startswith("#"):
                    comment.insert(0, lines[k].strip().lstrip("# "))
                    k -= 1
                out[(node.name, stmt.target.id)] = " ".join(comment)
    return out


def allowed(tp: object) -> str:
    """The annotation's check, in words."""
    if typing.get_origin(tp) is tuple:
        return "list of " + allowed(typing.get_args(tp)[0])
    if typing.get_origin(tp) is typing.Annotated:
        base, *rules = typing.get_args(tp)
        words = []
        for rule in rules:
            if isinstance(rule, OneOf):
                words.append(" \\| ".join(f"`{c}`" for c in rule.choices))
            elif isinstance(rule, Range):
                bounds = [f"≥ {rule.ge:g}" if rule.ge is not None else "", f"> {rule.gt:g}" if rule.gt is not None else "",
                          f"≤ {rule.le:g}" if rule.le is not None else "",
                          f"multiple of {rule.multiple_of}" if rule.multiple_of else ""]
                words.append(", ".join(b for b in bounds if b))
        return f"{base.__name__}, " + "; ".join(words)
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "none")


def reference() -> str:
    comments = field_comments()
    out = ["# Recipe reference", "",
           "Every key a recipe TOML may set, with its default and allowed values. Generated from `colorize/config.py` by",
           "`python scripts/recipe_reference.py`; a test keeps it current. A recipe may start from another with",
           '`extends = "default.toml"` (relative to the file) and set only what it changes; `--set section.key=value`',
           "overrides any key from the command line. Every value is checked when the recipe loads, before any stage",
           f"runs. Set by training and export, and refused in a recipe: {', '.join(f'`{k}`' for k in DERIVED)}.", ""]
    for section in dataclasses.fields(RecipeConfig):
        cls = section.default_factory
        out += [f"## [{section.name}]", "", (cls.__doc__ or "").strip().replace("\n", " "), "",
                "| key | default | allowed | what it does |", "|---|---|---|---|"]
        hints = typing.get_type_hints(cls, include_extras=True)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            shown = "none" if default is None else (list(default) if isinstance(default, tuple) else default)
            shown = str(shown).lower() if isinstance(shown, bool) else repr(shown) if isinstance(shown, str) else shown
            text = (comments.get((cls.__name__, f.name), "") or "—").replace("|", r"\|")
            out.append(f"| `{f.name}` | `{shown}` | {allowed(hints[f.name])} | {text} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if docs/recipe.md differs from what would be written")
    args = ap.parse_args()
    text = reference()
    if args.check:
        if DOC.read_text() != text:
            sys.exit(f"{DOC} is out of date: run python scripts/recipe_reference.py")
        return
    DOC.write_text(text)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
