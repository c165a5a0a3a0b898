"""The one reader for r1k inputs: JSON, JSONL, YAML, parquet.

Every failure is an ``R1KError`` with one line that names the file (and line) and the fix:
missing file, a folder (or a pipe/device) where a file goes, the OS refusing to read it,
bytes that are not UTF-8, lone surrogates (``"\\ud800"``: they decode but cannot be written
back), malformed JSON/YAML, and nesting deeper than :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from r1k_plugins.core.errors import R1KError

MAX_DEPTH = 64  # no r1k input needs more; deeper JSON would hit Python's recursion limit downstream
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_BOM = "\ufeff"


def _os_reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def check_input_file(path: str | os.PathLike, what: str = "input file") -> Path:
    """A regular file we can open; otherwise one line naming the path."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise R1KError(f"{p}: {what} not found (check the path)") from None
    except OSError as e:  # symlink loop, permission on a parent folder, name too long
        raise R1KError(f"{p}: cannot open the {what} ({_os_reason(e)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise R1KError(f"{p}: is a folder, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise R1KError(f"{p}: is not a regular file (a pipe or device); give a file")
    return p


def read_bytes(path: str | os.PathLike, what: str = "input file") -> bytes:
    p = check_input_file(path, what)
    try:
        return p.read_bytes()
    except OSError as e:
        raise R1KError(f"{p}: cannot read the {what} ({_os_reason(e)}); check its permissions") from None


def _decode(raw: bytes, where: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise R1KError(
            f"{where}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {col}); "
            "is it a binary file? save it as UTF-8"
        ) from None
    return text[1:] if text.startswith(_BOM) else text


def read_text(path: str | os.PathLike, what: str = "input file") -> str:
    p = check_input_file(path, what)
    return _decode(read_bytes(p, what), str(p))


def check_tree(obj: Any, where: str) -> Any:
    """Reject nesting deeper than MAX_DEPTH and strings with lone surrogates (iteratively)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, str):
            try:
                o.encode("utf-8")
            except UnicodeEncodeError:
                bad = next(ord(c) for c in o if 0xD800 <= ord(c) <= 0xDFFF)
                raise R1KError(
                    f"{where}: text holds a lone surrogate (\\u{bad:04x}) that cannot be written "
                    "as UTF-8; fix that escape"
                ) from None
            continue
        if isinstance(o, (dict, list, tuple)):
            if d > MAX_DEPTH:
                raise R1KError(f"{where}: nested more than {MAX_DEPTH} levels deep; not an r1k input")
            items = list(o.keys()) + list(o.values()) if isinstance(o, dict) else o
            stack.extend((v, d + 1) for v in items)
    return obj


def _needs_tree_check(text: str) -> bool:
    return (text.count("[") + text.count("{") > MAX_DEPTH) or bool(_SURROGATE.search(text))


def _json_loads(text: str, where: str, lineno: int | None = None) -> Any:
    """Parse one JSON document (``lineno`` None) or one JSONL line (``lineno`` = its line number)."""
    tail = "fix the file" if lineno is None else "fix or delete that line"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        line = e.lineno if lineno is None else lineno
        raise R1KError(f"{where}:{line}: malformed JSON ({e.msg} at column {e.colno}); {tail}") from None
    except RecursionError:
        at = "" if lineno is None else f":{lineno}"
        raise R1KError(
            f"{where}{at}: JSON nested too deeply (more than {MAX_DEPTH} levels); not an r1k input"
        ) from None
    if _needs_tree_check(text):
        check_tree(obj, where if lineno is None else f"{where}:{lineno}")
    return obj


def load_json_bytes(raw: bytes, where: str) -> Any:
    """A whole JSON document (result file, manifest, .json source) from bytes."""
    return _json_loads(_decode(raw, where), where)


def load_json_file(path: str | os.PathLike, what: str = "JSON file") -> Any:
    p = check_input_file(path, what)
    return load_json_bytes(read_bytes(p, what), str(p))


def iter_jsonl(path: str | os.PathLike, what: str = "JSONL file") -> Iterator[tuple[int, dict]]:
    """Yield (line_number, object) per non-blank line; every bad line -> R1KError ``file:line``."""
    p = check_input_file(path, what)
    try:
        fh = open(p, "rb")
    except OSError as e:
        raise R1KError(f"{p}: cannot read the {what} ({_os_reason(e)}); check its permissions") from None
    with fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline()
            except OSError as e:
                raise R1KError(f"{p}:{lineno + 1}: cannot read the {what} ({_os_reason(e)})") from None
            if not raw:
                break
            lineno += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise R1KError(
                    f"{p}:{lineno}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {e.start + 1}); "
                    "is it a binary file? save it as UTF-8"
                ) from None
            if lineno == 1 and line.startswith(_BOM):
                line = line[1:]
            if not line.strip():
                continue
            obj = _json_loads(line, str(p), lineno)
            if not isinstance(obj, dict):
                raise R1KError(f"{p}:{lineno}: expected a JSON object per line, got {type(obj).__name__}")
            yield lineno, obj


def load_yaml_file(path: str | os.PathLike, loader=None, what: str = "YAML file") -> Any:
    import yaml

    p = check_input_file(path, what)
    text = _decode(read_bytes(p, what), str(p))
    try:
        obj = yaml.load(text, Loader=loader or yaml.SafeLoader)  # noqa: S506 - SafeLoader (subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise R1KError(f"{where}: invalid YAML ({problem})") from None
    except RecursionError:
        raise R1KError(f"{p}: YAML nested too deeply (more than {MAX_DEPTH} levels)") from None
    check_tree(obj, str(p))
    return obj


def read_parquet_rows(path: str | os.PathLike, what: str = "parquet file") -> list[dict]:
    p = check_input_file(path, what)
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except OSError as e:
        if getattr(e, "errno", None) is not None:
            raise R1KError(f"{p}: cannot read the {what} ({_os_reason(e)})") from None
        raise R1KError(f"{p}: not a readable parquet file ({str(e).splitlines()[0][:120]})") from None
    except Exception as e:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise R1KError(
            f"{p}: not a readable parquet file ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
        ) from None
    try:
        rows = table.to_pylist()
    except Exception as e:  # noqa: BLE001
        raise R1KError(f"{p}: parquet columns cannot be read as rows ({type(e).__name__})") from None
    check_tree(rows, str(p))
    return rows
