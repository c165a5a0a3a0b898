"""Shim (to be removed): the module moved to :mod:`r1k_plugins.eval.evaldata`."""
from .eval.evaldata import *  # noqa: F401,F403
