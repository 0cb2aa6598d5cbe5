"""Command line: `colorize photo|photos|serve|train|data|eval|info|export|video|frames`, one module per command family
(rembg's habit), all registered on the one app in `colorize.cli.common`."""

# In the order `--help` lists them.
from colorize.cli import photo, serve, train, data, evaluate, info, export, film  # noqa: F401, I001  (registers the commands)
from colorize.cli.common import app

__all__ = ["app"]
