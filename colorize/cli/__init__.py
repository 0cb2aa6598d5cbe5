"""Command line: `colorize photo|photos|serve|train|data|eval|info|export|video|frames`, one module per command family
(rembg's habit), all registered on the one app in `colorize.cli.common`."""

import sys

import typer

# In the order `--help` lists them.
from colorize.cli import photo, serve, train, data, evaluate, info, export, film  # noqa: F401, I001  (registers the commands)
from colorize.cli.common import app

__all__ = ["app", "main"]

# The app's own options, which a user types after the command as often as before it (`colorize photos DIR -q`).
GLOBAL_FLAGS = {"-q", "--quiet", "-v", "-vv", "-vvv", "--verbose"}


def _options_taking_a_value(command: object) -> set[str]:
    """Every option name of the Click `command` and its subcommands that takes a value (`--suffix TEXT`)."""
    names = {n for p in command.params if p.param_type_name == "option" and not p.is_flag and not p.count
             for n in (*p.opts, *p.secondary_opts)}
    for sub in getattr(command, "commands", {}).values():
        names |= _options_taking_a_value(sub)
    return names


def hoist_global_flags(args: list[str]) -> list[str]:
    """`args` with the app's own flags moved before the command, where Click looks for them: not past a `--`, and
    not one that is another option's value (`--suffix -q` keeps `-q` as the suffix)."""
    taking_value = _options_taking_a_value(typer.main.get_command(app))
    flags, rest = [], []
    for i, arg in enumerate(args):
        if arg == "--":
            rest += args[i:]
            break
        is_value = i > 0 and args[i - 1] in taking_value
        (flags if arg in GLOBAL_FLAGS and not is_value else rest).append(arg)
    return flags + rest


def main() -> None:
    """The `colorize` command: a usage mistake is one line, as every other error is."""
    try:
        code = app(args=hoist_global_flags(sys.argv[1:]), prog_name="colorize", standalone_mode=False)
    except typer.Abort:
        typer.echo("colorize: interrupted", err=True)
        sys.exit(130)
    except Exception as e:
        # A usage mistake (Click's UsageError and its kin, exit code 2): typer vendors Click, so they are known by
        # what they carry rather than by a class a public module exports.
        if getattr(e, "exit_code", None) != 2 or not hasattr(e, "format_message"):
            raise
        path = e.ctx.command_path if getattr(e, "ctx", None) else "colorize"
        typer.echo(f"colorize: error: {e.format_message()} (see {path} --help)", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
