"""The one family of user-facing errors: the CLI prints their message on one line and exits 1."""


class ColorizeError(Exception):
    """A failure the user can fix; the message says how."""


class BadInputError(ColorizeError):
    """An input file that cannot be used (unreadable, too large, wrong kind)."""


class WeightsError(ColorizeError):
    """Model weights that are missing, corrupt or do not match their manifest."""


class ConfigError(ColorizeError):
    """A recipe or override that does not fit the typed config."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, carrying which, so the CLI exits 128 + its number as shells expect (130, 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
