"""``r1k leaderboard``: aggregate lm-eval results and Inspect logs into one board.

``export(inputs, out)`` reads lm-eval ``--output_path`` folders / ``results_*.json`` files and
Inspect logs (``.eval`` / ``.json``) and writes leaderboard.{csv,json,md,html} plus PNG plots.
The JSON schema (``r1k_leaderboard/1``) is documented in docs/leaderboard.md.
"""

from __future__ import annotations

from r1k_plugins.leaderboard.export import export

__all__ = ["export"]
