"""One error type for bad input: the CLI prints its message on one line and exits 2."""


class R1KError(Exception):
    """A user-facing error: the message names the file, line and the fix."""

    exit_code = 2
