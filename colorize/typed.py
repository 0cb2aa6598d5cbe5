"""Typed dataclasses from plain dicts (TOML, JSON, checkpoints) and back: the machinery under `colorize.config`.

Each field's annotation is its check: the type (converted only where nothing is lost) and, through `Annotated`, a
`Range` or `OneOf`. Unknown keys raise a ConfigError that lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from colorize.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Range:
    """A number's allowed range (bounds left None are open) and, optionally, a step it must be a multiple of."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    multiple_of: int | None = None

    def check(self, value: float, where: str) -> None:
        bad = ((self.ge is not None and value < self.ge, f">= {self.ge}"), (self.gt is not None and value <= self.gt, f"> {self.gt}"),
               (self.le is not None and value > self.le, f"<= {self.le}"),
               (self.multiple_of is not None and value % self.multiple_of != 0, f"a multiple of {self.multiple_of}"))
        for failed, rule in bad:
            if failed:
                raise ConfigError(f"{where} = {value!r}; it must be {rule}")


@dataclass(frozen=True)
class OneOf:
    """A string's allowed values."""

    choices: tuple[str, ...]

    def check(self, value: str, where: str) -> None:
        if value not in self.choices:
            raise ConfigError(f"{where} = {value!r}; choose one of: {', '.join(self.choices)}")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting only where no information is lost."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {tp}, got {value!r}")
    if origin is Annotated:
        base, *rules = typing.get_args(tp)
        value = _coerce(value, base, where)
        for rule in rules:
            rule.check(value, where)
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table of {tp.__name__} keys, got {value!r}")
        return from_dict(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and not (isinstance(value, tp) and not (tp is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Build dataclass `cls` from a (possibly partial) dict; unknown keys raise, listing the valid ones."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; valid keys: {', '.join(names)}"
        )
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain dict (lists for tuples, no None values) that TOML, JSON and `torch.load(weights_only=True)` accept."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(dataclasses.asdict(cfg))


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one `section.key=value` override; the value is read as TOML, else taken as a string."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value, e.g. gan.max_steps=200")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def merge(cfg: T, overrides: dict[str, Any]) -> T:
    """Apply dotted-key overrides (values left as None are dropped) and re-validate the result."""
    data = dataclasses.asdict(cfg)
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise ConfigError(f"unknown config section {p!r} in {dotted!r}; valid: {', '.join(node)}")
            node = node[p]
        if leaf not in node:
            raise ConfigError(f"unknown config key {dotted!r}; valid keys here: {', '.join(node)}")
        node[leaf] = value
    return from_dict(type(cfg), data)


def dump_toml(cfg: Any) -> str:
    """Serialise a config dataclass as TOML (the subset our configs use: tables of scalars and lists)."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return repr(v)

    lines: list[str] = []
    data = to_dict(cfg)
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines += [f"{k} = {fmt(v)}" for k, v in scalars.items()]
    for section, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]"] + [f"{k} = {fmt(v)}" for k, v in table.items()]
    return "\n".join(lines).strip() + "\n"
