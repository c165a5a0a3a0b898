"""Shim for installs whose ``inspect_ai`` entry point still names this path; the registry module
is :mod:`r1k_plugins.eval._registry`."""
from .eval._registry import *  # noqa: F401,F403
