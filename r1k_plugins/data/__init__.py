"""Stage 1, data: load s1K (hub or local files) or synthesise the embedded default, invert forward
items into reverse ones (LLM teacher or masking), verify them, build SFT mixes and DPO pairs.

Builds on :mod:`r1k_plugins.core` (the record type, vocabulary and rendering) only.
"""
