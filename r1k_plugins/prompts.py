"""Shim (to be removed): the module moved to :mod:`r1k_plugins.eval.prompts`."""
from .eval.prompts import *  # noqa: F401,F403
