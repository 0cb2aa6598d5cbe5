"""Command line: `colorize photo|photos|serve|train|data|eval|info|export|video|frames`, one module per command family
(rembg's habit), all registered on the one app in `colorize.cli.common`."""

import sys

# In the order `--help` lists them.
from colorize.cli import photo, serve, train, data, evaluate, info, export, film  # noqa: F401, I001  (registers the commands)
from colorize.cli.common import app

__all__ = ["app", "main"]

# The app's own options, which a user types after the command as often as before it (`colorize photos DIR -q`).
GLOBAL_FLAGS = {"-q", "--quiet", "-v", "-vv", "-vvv", "--verbose"}


def hoist_global_flags(args: list[str]) -> list[str]:
    """`args` with the app's own flags moved before the command, where Click looks for them (up to a `--`)."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
    return flags + [a for a in args[:end] if a not in GLOBAL_FLAGS] + args[end:]


def main() -> None:
    """The `colorize` command."""
    app(args=hoist_global_flags(sys.argv[1:]), prog_name="colorize")
