"""Error types for the r1k commands (the contract is in docs/errors.md).

``R1KError``: bad input. The CLIs print its message as one line (``error: ...``) and exit 2.
``R1KOSError``: the operating system refused (disk full, read-only folder, permission denied)
while writing; one line naming the path, exit 1. Nothing written before is lost either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class R1KError(Exception):
    """A user-facing error: the message names the file, line and the fix."""

    exit_code = 2


class R1KOSError(R1KError):
    """The OS refused a read or write (the message names the path and the reason)."""

    exit_code = 1


def short_repr(v: Any) -> str:
    """``repr(v)`` cut to 40 characters, for error messages."""
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def pydantic_message(err: Mapping[str, Any], prefix: str = "field") -> str:
    """One pydantic error (``e.errors()[0]``) as ``field 'a.b': <what is wrong> (got <type> <value>)``."""
    loc = ".".join(str(x) for x in err["loc"]) or "(row)"
    msg = err["msg"]
    msg = msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg[0].lower() + msg[1:]
    got = err.get("input")
    return f"{prefix} '{loc}': {msg} (got {type(got).__name__} {short_repr(got)})"
