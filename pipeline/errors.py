"""User-facing errors: printed as one line by the CLI, never as a traceback."""


class UserError(Exception):
    """A problem with the user's manifest, inputs, flags or run directory; the message is the whole story."""
