"""Small I/O helpers shared by every r1k command: atomic writes, JSONL with file:line errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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
            raise R1KError(
                f"{flag} {out}: is also the input file {inp}; writing it would replace the input "
                "(give another output path)"
            )


def read_whole_lines(path: str | os.PathLike, take) -> int:
    """Read an append-only JSONL file a killed run may have left, and make it safe to append to.

    Each whole, well-formed JSON line goes to ``take``; a damaged or foreign line (``take`` raising
    ValueError, KeyError or TypeError) is skipped. A last line cut short (no newline) ends the
    reading and is cut off the file, so the next append starts on a line of its own. Returns the
    number of bytes kept (the file's new size).
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
    if good < os.path.getsize(path):
        os.truncate(path, good)
    return good


def share_folder(folder: str | os.PathLike) -> None:
    """Give a finished folder and everything in it the usual modes (0777/0666 minus the umask):
    mkdtemp makes 0700 folders and some writers 0600 files, which others could not read."""
    umask = os.umask(0)
    os.umask(umask)
    root = Path(folder)
    os.chmod(root, 0o777 & ~umask)
    for p in root.rglob("*"):
        if not p.is_symlink():
            os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~umask)


def move_into(src: str | os.PathLike, dest: str | os.PathLike, *, last: str | None = None) -> None:
    """Move every entry of folder ``src`` into folder ``dest`` (same file system), replacing entries
    of the same name; the entry named ``last`` moves last (a marker that the folder is complete);
    ``src`` is removed. Other entries of ``dest`` stay."""
    src, dest = Path(src), Path(dest)
    dest.mkdir(exist_ok=True)
    for item in sorted(src.iterdir(), key=lambda c: c.name == last):
        target = dest / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(item, target)
    src.rmdir()


@contextlib.contextmanager
def building_folder(final: str | os.PathLike, *, existing: str = "keep", last: str | None = None):
    """Build a folder in a temp folder beside ``final`` and put it in place only when the block succeeds.

    Yields the temp folder. On success it gets the usual modes (:func:`share_folder`) and becomes
    ``final``; where ``final`` already exists, ``existing`` decides: ``"keep"`` the existing one (a
    concurrent builder finished first; the new one is dropped), ``"replace"`` it (swapped out, then
    removed), or ``"merge"`` the new entries into it (:func:`move_into`, ``last`` moved last). An
    exception or Ctrl-C removes the temp folder and leaves ``final`` as it was.
    """
    if existing not in ("keep", "replace", "merge"):
        raise ValueError(f"existing={existing!r}")
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as e:
        raise os_error(final.parent, e, "cannot create a folder here") from None
    try:
        yield tmp
        share_folder(tmp)
        if not final.exists():
            os.replace(tmp, final)
        elif existing == "replace":
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        elif existing == "merge":
            move_into(tmp, final, last=last)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def package_versions(*dists: str, python: bool = False) -> dict[str, str | None]:
    """Installed versions of distributions (None where not installed), for run and model manifests;
    ``python=True`` adds the interpreter's version. ``r1k-plugins`` falls back to the source tree's."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for dist in dists:
        key = dist.replace("-", "_") if dist == "r1k-plugins" else dist
        try:
            out[key] = version(dist)
        except PackageNotFoundError:
            out[key] = None
    if "r1k_plugins" in out and out["r1k_plugins"] is None:  # run from a source tree (PYTHONPATH)
        out["r1k_plugins"] = getattr(sys.modules.get("r1k_plugins"), "__version__", None)
    if python:
        out["python"] = platform.python_version()
    return out


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
    hint = {
        28: "free some disk space",
        27: "the file size limit was reached",
        30: "the file system is read-only",
        13: "check the folder's permissions",
        1: "check the folder's permissions",
    }.get(e.errno or 0, "")
    return R1KOSError(
        f"{path}: {doing} ({reason})" + (f"; {hint} and rerun" if hint else "") + "; nothing was replaced"
    )


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
        with os.fdopen(
            fd, mode, encoding=None if "b" in mode else encoding, newline=None if "b" in mode else "\n"
        ) as fh:
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
            raise R1KError(
                f"{p}: text cannot be written as UTF-8 ({e.reason}: "
                f"{e.object[e.start : e.end]!a}); fix the input that holds it"
            ) from None
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
