"""What kind of r1k document a JSON file is, from its ``schema`` field (never by sniffing bytes).

The schema ids live with their types: :data:`r1k_plugins.core.runs.RUN_SCHEMA` (``r1k_run.json``),
:data:`r1k_plugins.core.probe_doc.PROBE_SCHEMA` (probe output); the leaderboard's own export is
``r1k_leaderboard/N``. Anything else (lm-eval results, Inspect logs) is ``None`` here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from r1k_plugins.core.probe_doc import PROBE_SCHEMA
from r1k_plugins.core.runs import RUN_SCHEMA

RUN, PROBE, LEADERBOARD = "run-manifest", "probe", "leaderboard"
KINDS = {RUN_SCHEMA: RUN, PROBE_SCHEMA: PROBE}
LEADERBOARD_PREFIX = "r1k_leaderboard/"


def kind_of_schema(schema: Any) -> str | None:
    """``"run-manifest"``, ``"probe"``, ``"leaderboard"`` or None for a ``schema`` value."""
    if not isinstance(schema, str):
        return None
    if schema.startswith(LEADERBOARD_PREFIX):
        return LEADERBOARD
    return KINDS.get(schema)


def document_kind(doc: str | os.PathLike | dict | Any) -> str | None:
    """The kind of an r1k document: a parsed JSON object, or a path to a JSON file (read whole;
    an unreadable or non-JSON file is None). Only the top-level ``schema`` field decides."""
    if isinstance(doc, (str, os.PathLike)):
        try:
            doc = json.loads(Path(doc).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
    return kind_of_schema(doc.get("schema")) if isinstance(doc, dict) else None
