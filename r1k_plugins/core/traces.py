"""Trace splitting: a response -> (reasoning, final part, finished).

Trace formats understood by :func:`split_reasoning`:

* s1: ``<|im_start|>think\\n...<|im_start|>answer\\nAnswer: ... \\boxed{42}<|im_end|>``
* think tags: ``<think>\\n...\\n</think>\\nfinal text ... \\boxed{42}`` (a bare ``</think>`` also
  counts: chat templates often put the opening ``<think>`` in the prompt)
* plain: no thinking section; the whole text is the final part.
"""

from __future__ import annotations

import re

from r1k_plugins.core.vocab import END_TOKENS as _END_TOKENS
from r1k_plugins.core.vocab import S1_ANSWER as _S1_ANSWER
from r1k_plugins.core.vocab import S1_THINK as _S1_THINK
from r1k_plugins.core.vocab import THINK_CLOSE, THINK_OPEN

__all__ = ["split_reasoning"]

# s1 markers whose special token ``<|im_start|>`` was dropped by the decoder (lm-eval's and Inspect's
# ``hf`` backends decode with skip_special_tokens): ``think`` opening the response, ``answer`` alone
# on a line
_STRIPPED_THINK = re.compile(r"\s*think[ \t]*\n")
_STRIPPED_ANSWER = re.compile(r"\n[ \t]*answer[ \t]*(?:\n|$)")


def _cut_end_tokens(s: str) -> str:
    for tok in _END_TOKENS:
        i = s.find(tok, 1)  # a marker opening the text is the turn's own header, not an end
        if i >= 0:
            s = s[:i]
    return s


def _split_on(text: str, opening: str, closing: str) -> tuple[str | None, str, bool] | None:
    """Split at the last ``closing`` marker (reasoning after the first ``opening`` before it);
    unfinished when an ``opening`` follows the last ``closing``; None when neither marker is there."""
    t_open, t_close = text.rfind(opening), text.rfind(closing)
    if t_open < 0 and t_close < 0:
        return None
    if t_open > t_close:
        return text[t_open + len(opening) :].strip(), "", False
    first = text.find(opening)
    start = first + len(opening) if 0 <= first < t_close else 0
    return text[start:t_close].strip(), _cut_end_tokens(text[t_close + len(closing) :]).strip(), True


def split_reasoning(text: str) -> tuple[str | None, str, bool]:
    """Split a response into ``(reasoning or None, final_part, finished)``.

    * s1 format: reasoning is what follows ``<|im_start|>think`` up to the last
      ``<|im_start|>answer``; the final part is what follows that marker, cut at the first
      end-of-turn token (``<|im_end|>`` ...). A bare ``<|im_start|>answer`` (the think marker was
      in the prompt) also splits.
    * think tags: reasoning is between ``<think>`` and the last ``</think>`` (or everything before
      a bare ``</think>``); the final part follows the last ``</think>``.
    * s1 decoded with special tokens skipped (lm-eval's and Inspect's ``hf`` backends): the
      response opens with a ``think`` line and the answer section follows the last line that is
      just ``answer``; with no such line the thinking is unfinished.
    * otherwise: ``(None, text, True)``.

    Think tags that are special tokens of the tokenizer vanish without a trace when decoded with
    special tokens skipped; such a response reads as plain text.

    ``finished`` is False when a thinking section was opened (``<think>`` / ``<|im_start|>think``)
    and not closed after its last opening; the final part is then ``""``.
    Linear time (only ``str.find``/``rfind``), fine for megabyte responses.
    """
    if not text:
        return None, "", True
    for opening, closing in ((_S1_THINK, _S1_ANSWER), (THINK_OPEN, THINK_CLOSE)):
        split = _split_on(text, opening, closing)
        if split is not None:
            return split
    m = _STRIPPED_THINK.match(text)
    if m:  # s1 with the special tokens skipped in decoding: 'think\n...\nanswer\n...'
        last = None
        for last in _STRIPPED_ANSWER.finditer(text, m.end() - 1):  # noqa: B007  # the loop keeps the last match
            pass
        if last is None:
            return text[m.end() :].strip(), "", False
        return text[m.end() : last.start()].strip(), _cut_end_tokens(text[last.end() :]).strip(), True
    return None, _cut_end_tokens(text).strip(), True
