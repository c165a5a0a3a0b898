"""Small I/O helpers shared by every r1k command: atomic writes, JSONL with file:line errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import R1KError


def check_out_path(path: str | os.PathLike) -> Path:
    """Fail early, with a one-line fix, when an output file's folder does not exist."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise R1KError(f"{p}: output folder {parent} does not exist (create it with: mkdir -p {parent})")
    if p.is_dir():
        raise R1KError(f"{p}: is a folder; give a file path for the output")
    return p


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
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding,
                       newline=None if "b" in mode else "\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(p))
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
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
    """Yield (line_number, object); blank lines are skipped; bad lines raise R1KError file:line."""
    p = Path(path)
    if not p.exists():
        raise R1KError(f"{p}: file not found (check the path)")
    if p.is_dir():
        raise R1KError(f"{p}: is a folder, expected a .jsonl file")
    with open(p, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise R1KError(
                    f"{p}:{lineno}: malformed JSON ({e.msg} at column {e.colno}); fix or delete that line"
                ) from None
            if not isinstance(obj, dict):
                raise R1KError(f"{p}:{lineno}: expected a JSON object per line, got {type(obj).__name__}")
            yield lineno, obj


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return [obj for _, obj in iter_jsonl(path)]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
