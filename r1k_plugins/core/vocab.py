"""The project's vocabulary, defined once: directions, training modes, answer types, trace
formats and the trace markup (what a reasoning trace looks like and where a turn ends).

Every other module imports these names from here; none spells the tuples out again.
"""

DIRECTIONS = ("forward", "reverse")
"""A record's direction: forward (question -> answer) or reverse (answer -> hidden premise)."""

MODES = ("forward", "reverse", "mixed")
"""SFT training modes: one direction's records, or both (the paper's mixed arm)."""

ANSWER_TYPES = ("numeric", "expression", "choice", "text")
"""How a record's answer is compared (see :mod:`r1k_plugins.core.equivalence`)."""

TRACE_FORMATS = ("s1", "think-tags")

PROBE_FAMILIES = {"greedy": "y_greedy", "irrelevant": "y_irrelevant", "argmax": "argmax_share"}
"""The probe's response families besides y+ and y- (``r1k probe direction --families``) and the
summary / per-item field each one adds (docs/probe.md)."""

S1_THINK = "<|im_start|>think"
S1_ANSWER = "<|im_start|>answer"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

END_TOKENS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "<｜end▁of▁sentence｜>", "<|end|>", "</s>")
"""End-of-turn tokens: the final part of a response stops at the first of them (a chat marker
such as ``<|im_start|>`` opening a new turn counts too, unless it opens the text)."""
