"""``r1k leaderboard``: aggregate lm-eval results and Inspect logs into one board.

``export(inputs, out)`` reads lm-eval ``--output_path`` folders / ``results_*.json`` files,
Inspect logs (``.eval`` / ``.json``) and probe outputs and writes leaderboard.{csv,json,md,html}
plus PNG plots. The path: ingest / dynamics / arms (read) -> board (the document) -> plots and
sections (the board model of model.py) -> render (Markdown, HTML, JSON, CSV); export writes the
files. The JSON schema (``r1k_leaderboard/1``) and how to add a section: docs/leaderboard.md.
"""

from __future__ import annotations

from r1k_plugins.leaderboard.export import export

__all__ = ["export"]
