"""r1k: forward vs reverse reasoning in LLM fine-tuning (arXiv 2509.13079).

Kept import-light on purpose: a .pth hook imports this package in every Python process.
"""

__version__ = "0.1.0"


class _TasksPackageFinder:
    """The lm-eval entry point names the package ``r1k_plugins.lm_eval_tasks`` (lm_eval.tasks group in
    pyproject.toml; the form lm-eval PR #4015 resolves: a package whose folder holds the YAML). A wheel
    ships that folder. In a source checkout / editable install the YAML is the top-level ``tasks/``
    folder, which this finder presents as that namespace package (``importlib.util.find_spec`` and
    ``importlib.resources.files`` both resolve it there). os.path only: this runs at start-up."""

    NAME = "r1k_plugins.lm_eval_tasks"

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        import os

        if name != cls.NAME:
            return None
        here = os.path.dirname(os.path.abspath(__file__))
        src = os.path.join(os.path.dirname(here), "tasks")
        if os.path.isdir(os.path.join(here, "lm_eval_tasks")) or not os.path.isfile(
            os.path.join(src, "r1k_group.yaml")
        ):
            return None
        from importlib import machinery

        ns_loader = getattr(machinery, "NamespaceLoader", None)
        if ns_loader is None:  # Python 3.10
            from importlib import _bootstrap_external

            ns_loader = _bootstrap_external._NamespaceLoader
        # a real namespace-package loader: its _NamespacePath is what importlib.resources reads
        # importlib's own (private) spec hook, as the namespace loader expects it
        loader = ns_loader(name, [src], machinery.PathFinder._get_spec)  # type: ignore[attr-defined]
        spec = machinery.ModuleSpec(name, loader, is_package=True)
        spec.submodule_search_locations = loader._path  # type: ignore[union-attr]  # the loader's _NamespacePath
        return spec


def _install_tasks_finder() -> None:
    import sys

    if not any(f is _TasksPackageFinder for f in sys.meta_path):
        sys.meta_path.append(_TasksPackageFinder)


_install_tasks_finder()
