"""Where the shipped lm-eval task YAML and training recipes live.

Wheel install: inside the package (``r1k_plugins/lm_eval_tasks``, ``r1k_plugins/recipes``).
Source checkout / editable install: the top-level ``tasks/`` and ``train/`` folders.
"""

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _pick(packaged: str, top: str, marker: str) -> Path:
    src = _PKG.parent / top
    if (src / marker).is_file():
        return src
    return _PKG / packaged


def tasks_dir() -> Path:
    """Folder holding the r1k lm-eval task YAML (pass it to ``--include_path`` if needed)."""
    return _pick("lm_eval_tasks", "tasks", "r1k_group.yaml")


def recipes_dir() -> Path:
    """Folder holding the bundled training recipes (``tiny-sft.yaml`` ...)."""
    return _pick("recipes", "train", "tiny-sft.yaml")
