"""Error types for the r1k commands (the contract is in docs/errors.md).

``R1KError``: bad input. The CLIs print its message as one line (``error: ...``) and exit 2.
``R1KOSError``: the operating system refused (disk full, read-only folder, permission denied)
while writing; one line naming the path, exit 1. Nothing written before is lost either way.
"""


class R1KError(Exception):
    """A user-facing error: the message names the file, line and the fix."""

    exit_code = 2


class R1KOSError(R1KError):
    """The OS refused a read or write (the message names the path and the reason)."""

    exit_code = 1
