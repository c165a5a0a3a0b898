"""Small I/O helpers shared by every r1k command: atomic writes, JSONL with file:line errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from r1k_plugins.core.errors import R1KError, R1KOSError


def note(msg: str) -> None:
    """A one-line remark on stderr (``note: ...``) that does not stop the command."""
    print(f"note: {msg}", file=sys.stderr, flush=True)


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


def read_whole_lines(path: str | os.PathLike, take) -> int:
    """Feed each whole, well-formed JSON line of an append-only file to ``take``; return the byte
    offset after the last whole line.

    For files that a killed run may have left: a last line cut short (no newline) ends the reading,
    a damaged or foreign line (``take`` raising ValueError, KeyError or TypeError) is skipped.
    """
    good = 0
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a line cut short by a kill
            try:
                take(json.loads(raw))
            except (ValueError, KeyError, TypeError):
                pass
            good += len(raw)
    return good


def check_out_path(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Fail early, with a one-line fix, when an output file cannot be written where asked: its folder
    does not exist, it is a folder or a device, or it is also one of ``inputs``."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise R1KError(f"{p}: {parent} is a file, not a folder; give an output path inside a folder")
    if not parent.is_dir():
        raise R1KError(f"{p}: output folder {parent} does not exist (create it with: mkdir -p {parent})")
    if p.is_dir():
        raise R1KError(f"{p}: is a folder; give a file path for the output")
    if p.exists() and not p.is_file():
        raise R1KError(f"{p}: is not a regular file (a device or pipe); give a file path for the output")
    check_not_input(p, inputs)
    return p


def os_error(path: str | os.PathLike, e: OSError, doing: str = "cannot write") -> R1KOSError:
    """One line naming the path and what the OS said (disk full, read-only, permission denied)."""
    reason = e.strerror or type(e).__name__
    hint = {28: "free some disk space", 27: "the file size limit was reached", 30: "the file system is read-only",
            13: "check the folder's permissions", 1: "check the folder's permissions"}.get(e.errno or 0, "")
    return R1KOSError(f"{path}: {doing} ({reason})" + (f"; {hint} and rerun" if hint else "")
                      + "; nothing was replaced")


_UMASK: int | None = None


def _file_mode(path: Path) -> int:
    """Mode for a finished file: the existing file's, else the usual 0o666 minus the umask
    (mkstemp's temp files are 0600, which would make shared outputs unreadable to others)."""
    global _UMASK
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        pass
    if _UMASK is None:
        _UMASK = os.umask(0)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Write to a temp file beside ``path`` and rename it into place only on success.

    An exception or Ctrl-C leaves any previous file untouched and no half-written file behind.
    """
    p = check_out_path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as e:
        raise os_error(p.parent or Path("."), e, "cannot create a file in this folder") from None
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding,
                       newline=None if "b" in mode else "\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(p))
        os.replace(tmp, p)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, (BrokenPipeError,)):
            raise os_error(p, e) from None
        if isinstance(e, UnicodeEncodeError):
            raise R1KError(f"{p}: text cannot be written as UTF-8 ({e.reason}: "
                           f"{e.object[e.start:e.end]!a}); fix the input that holds it") from None
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def dumps_line(obj: Any) -> str:
    """Canonical JSON line (stable key order, real UTF-8) so outputs are byte-identical."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    n = 0
    with atomic_open(path, "w") as fh:
        for row in rows:
            fh.write(dumps_line(row))
            fh.write("\n")
            n += 1
    return n


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield (line_number, object); blank lines are skipped; bad lines raise R1KError file:line
    (the one reader: :mod:`r1k_plugins.core.readers`)."""
    from r1k_plugins.core.readers import iter_jsonl as _iter

    yield from _iter(path)


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return [obj for _, obj in iter_jsonl(path)]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
