"""Shim: the installed ``r1k_plugins_lmeval.pth`` imports this path; the hook lives in
:mod:`r1k_plugins.eval._lmeval_hook`."""
import r1k_plugins.eval._lmeval_hook  # noqa: F401
