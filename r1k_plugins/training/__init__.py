"""Training with TRL: the tiny default model, SFT and DPO runs, recipes, run manifests (docs/training.md).

Import-light: the heavy libraries (torch, transformers, trl, peft) load inside the commands.
"""
