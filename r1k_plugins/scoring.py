"""Shim (to be removed): the module moved to :mod:`r1k_plugins.eval.scoring`."""
from .eval.scoring import *  # noqa: F401,F403
from .eval.scoring import __all__  # noqa: F401
