"""Output-path checks shared by every writing command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..errors import R1KError


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (resolved, links followed, or same inode)."""
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    try:
        return pa.resolve() == pb.resolve()
    except (OSError, RuntimeError):  # symlink loops
        return os.path.abspath(pa) == os.path.abspath(pb)


def check_not_input(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], flag: str = "--out") -> None:
    """Refuse an output path that is also one of the inputs (writing it would replace the input)."""
    for inp in inputs:
        if inp is not None and same_path(out, inp):
            raise R1KError(f"{flag} {out}: is also the input file {inp}; writing it would replace the input "
                           "(give another output path)")
