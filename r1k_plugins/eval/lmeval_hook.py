"""Make lm-eval 0.4.x find the r1k task YAML without ``--include_path``.

Imported at interpreter start-up by ``r1k_plugins_lmeval.pth``. It only registers a meta-path
finder (no other imports); the finder acts once, when ``lm_eval.tasks.manager`` is imported, and
wraps ``TaskManager.__init__`` so the r1k tasks folder is scanned *before* the user's own
``--include_path`` entries (the user's configs still win on a name clash).
It also wraps ``LocalChatCompletion.parse_generations`` when ``lm_eval.models.openai_completions`` is
imported, so a served model's ``reasoning_content`` reaches the r1k scorer (``r1k_plugins.eval.served``).
Opt out with ``R1K_NO_LMEVAL_HOOK=1``. ``R1K_LMEVAL_ONLY_INCLUDED=1`` also skips indexing lm-eval's own
built-in tasks (faster start; only r1k tasks and ``--include_path`` folders are then known).
lm-eval's proposed ``lm_eval.tasks`` entry-point group (PR #4015) is declared in pyproject.toml too
(value: the package ``r1k_plugins.lm_eval_tasks``); once a released lm-eval reads it, the task part
of this hook can step aside.

The same finder registers the package's model types with lm-eval's model registry when
``lm_eval.api.registry`` is imported: ``r1k-hf`` and ``r1k-vllm`` (budget forcing,
``r1k_plugins.eval.budget_lm``), as lazy placeholders (nothing is imported until one is used).
"""

import importlib.abc
import os
import sys
from typing import cast

_TARGET = "lm_eval.tasks.manager"
_REGISTRY = "lm_eval.api.registry"
_OPENAI = "lm_eval.models.openai_completions"
# lm-eval model type -> "module:Class" (budget forcing: r1k_plugins.eval.budget_lm)
MODEL_TYPES = {"r1k-hf": "r1k_plugins.eval.budget_lm:R1KHFLM", "r1k-vllm": "r1k_plugins.eval.budget_lm:R1KVLLM"}


def _register_models(module):
    registry = getattr(module, "model_registry", None)
    if registry is None:
        return
    # lm-eval fills its registry with the built-in models (lazy placeholders, a cheap import) only
    # while the registry is empty: do it first, or adding ours would hide "hf", "vllm", ...
    import lm_eval.models  # noqa: F401

    for name, target in MODEL_TYPES.items():
        if name not in registry:
            registry.register(name, target=target)


def _patch_served(module):
    """Keep a served model's thinking (reasoning_content) for the scorer (r1k_plugins.eval.served)."""
    from r1k_plugins.eval.served import patch_openai_completions

    patch_openai_completions(module)


def _patch(module):
    tm = getattr(module, "TaskManager", None)
    if tm is None or getattr(tm, "_r1k_patched", False):
        return
    original = tm.__init__

    def __init__(self, *args, **kwargs):
        from r1k_plugins.paths import tasks_dir

        ours = str(tasks_dir())
        if len(args) >= 2:  # (verbosity, include_path, ...)
            rest = list(args)
            kwargs["include_path"] = rest.pop(1)
            args = tuple(rest)
        inc = kwargs.get("include_path")
        if inc is None:
            paths = []
        elif isinstance(inc, (list, tuple)):
            paths = [str(p) for p in inc]
        else:
            paths = [str(inc)]
        if ours not in paths:
            paths = [ours] + paths
        kwargs["include_path"] = paths
        if os.environ.get("R1K_LMEVAL_ONLY_INCLUDED") and len(args) < 2:
            # index only the r1k tasks and the user's --include_path folders, not lm-eval's ~10k
            # built-in YAML files (about 13 s of start-up per run; the demo sets this)
            kwargs["include_defaults"] = False
        original(self, *args, **kwargs)

    tm.__init__ = __init__
    tm._r1k_patched = True


class _Finder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in _PATCHES:
            return None
        patch = _PATCHES[name]
        for finder in sys.meta_path:
            if finder is cls or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        class _Loader:
            def __getattr__(self, attr):
                return getattr(loader, attr)

            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                exec_module(module)
                try:
                    patch(module)
                except Exception:  # never break lm-eval itself
                    pass

        spec.loader = cast(importlib.abc.Loader, _Loader())  # a proxy of the found loader, duck-typed
        return spec


# lm-eval module -> what is done to it once it is imported
_PATCHES = {_TARGET: _patch, _REGISTRY: _register_models, _OPENAI: _patch_served}

for _name, _fn in _PATCHES.items():
    if _name in sys.modules:  # imported late (e.g. from a notebook): patch in place
        try:
            _fn(sys.modules[_name])
        except Exception:  # never break lm-eval itself
            pass
if not any(f is _Finder for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder)
