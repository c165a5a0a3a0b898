"""The trace markup, defined once: what a reasoning trace looks like and where a turn ends.

Used to write traces (:mod:`r1k_plugins.eval.prompts`), to split them (:mod:`.traces`), by the
importers and by the tiny model's tokenizer.
"""

TRACE_FORMATS = ("s1", "think-tags")

S1_THINK = "<|im_start|>think"
S1_ANSWER = "<|im_start|>answer"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

END_TOKENS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "<｜end▁of▁sentence｜>",
              "<|end|>", "</s>")
"""End-of-turn tokens: the final part of a response stops at the first of them (a chat marker
such as ``<|im_start|>`` opening a new turn counts too, unless it opens the text)."""
