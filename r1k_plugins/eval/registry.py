"""Inspect entry point (``[project.entry-points.inspect_ai] r1k_plugins``): importing this module
registers the r1k tasks, so ``inspect eval r1k_plugins/<task>`` resolves."""
