"""`python -m colorize` (what `torchrun -m colorize` needs) runs the CLI."""

from colorize.cli import main

main()
