"""colorize: restore and colorize old black-and-white photos and film."""

__version__ = "0.1.0"
