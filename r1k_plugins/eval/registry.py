"""Inspect entry point (``[project.entry-points.inspect_ai] r1k_plugins``): importing this module
registers the r1k tasks, so ``inspect eval r1k_plugins/<task>`` resolves."""

from r1k_plugins.eval.inspect_tasks import (
    r1k_aime24,
    r1k_forward,
    r1k_gpqa_diamond,
    r1k_math500,
    r1k_reverse,
)

__all__ = ["r1k_aime24", "r1k_forward", "r1k_gpqa_diamond", "r1k_math500", "r1k_reverse"]
