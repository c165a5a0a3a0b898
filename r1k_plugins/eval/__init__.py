"""Stage 2, evaluation: the harness adapters only. The Inspect tasks (:mod:`.inspect_tasks`,
registered by :mod:`.registry`), the lm-eval start-up hook (:mod:`.lmeval_hook`) and the task data
both harnesses read (:mod:`.evaldata`). Prompts and scoring come from :mod:`r1k_plugins.core`.
"""
