"""Hatch build hook: ship tasks/ and train/ inside the wheel, plus the lm-eval discovery .pth.

In a regular wheel the top-level `tasks/` (lm-eval YAML) and `train/` (recipes) folders become
`r1k_plugins/lm_eval_tasks` and `r1k_plugins/recipes`. In an editable install the package is
imported from the source tree, which finds `tasks/` and `train/` beside it (see
`r1k_plugins.paths`), so only the .pth is added.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        pth = {"r1k_plugins_lmeval.pth": "r1k_plugins_lmeval.pth"}
        if version == "editable":
            build_data["force_include_editable"] = dict(pth)
        else:
            build_data["force_include"].update(pth)
            build_data["force_include"]["tasks"] = "r1k_plugins/lm_eval_tasks"
            build_data["force_include"]["train"] = "r1k_plugins/recipes"
