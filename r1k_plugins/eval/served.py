"""Served reasoning models (an OpenAI-compatible server: vLLM, SGLang, ``transformers serve``, ...):
make the thinking reach the r1k scorer whichever way the server returns it.

Servers return a reasoning model's thinking either inline in the text (think tags, s1 markers) or
apart, as ``reasoning_content`` (vLLM / SGLang reasoning parsers; Inspect turns it, and closed
think tags, into reasoning content parts). The scorer (``r1k_plugins.core.scoring``) needs the
whole response to find the final answer *after* the thinking and to count a trace whose thinking
never ended as unfinished, so both adapters rebuild it with :func:`join_reasoning`:

* lm-eval (``--model local-chat-completions``): the start-up hook (``eval/lmeval_hook.py``) wraps
  ``LocalChatCompletion.parse_generations`` (:func:`patch_openai_completions`); without it lm-eval
  keeps ``message.content`` only (empty answers when the text is in ``reasoning_content``).
  ``local-completions`` returns the raw text, thinking inline, as is.
* Inspect (``--model openai-api/<service>/<model>``): the r1k scorer reads the output message's
  reasoning and text parts (:func:`inspect_response_text`).
"""

from __future__ import annotations

from r1k_plugins.core.errors import R1KError

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def join_reasoning(reasoning: str | None, text: str | None, truncated: bool) -> str:
    """The response as the scorer reads it: ``<think>reasoning</think>text``. With reasoning and no
    text where generation stopped on the token limit, the thinking never ended: ``<think>reasoning``
    with no closing tag (scored ``unfinished_thinking``). No reasoning: the text as is."""
    text = text or ""
    if reasoning is None:
        return text
    if truncated and not text.strip():
        return f"{THINK_OPEN}\n{reasoning}"
    if not str(reasoning).strip():
        return text
    return f"{THINK_OPEN}\n{reasoning}\n{THINK_CLOSE}\n{text}"


def chat_choice_text(choice: dict, where: str = "the endpoint") -> str:
    """One chat-completions choice -> the response text (reasoning folded in). An endpoint that
    returns no text at all (content null, no reasoning, not cut by the token limit) is an R1KError."""
    msg_obj = choice.get("message")
    msg: dict = msg_obj if isinstance(msg_obj, dict) else {}
    content = msg.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    reasoning = msg.get("reasoning_content")
    if reasoning is None:
        reasoning = msg.get("reasoning")
    truncated = choice.get("finish_reason") == "length"
    if content is None and not reasoning and not truncated:
        raise R1KError(
            f"{where}: the server returned no text (message.content is null and there is no "
            f"reasoning_content; finish_reason={choice.get('finish_reason')!r}); check that the "
            "endpoint serves a text-generation model"
        )
    return join_reasoning(
        reasoning if isinstance(reasoning, str) else None, content if isinstance(content, str) else "", truncated
    )


def patch_openai_completions(module) -> None:
    """Wrap lm-eval's ``LocalChatCompletion.parse_generations`` to keep the thinking
    (:func:`chat_choice_text`). Idempotent; a failure on an endpoint with no text ends the run with
    one line (exit 2) under the lm_eval command."""
    cls = getattr(module, "LocalChatCompletion", None)
    if cls is None or getattr(cls, "_r1k_patched", False):
        return

    def parse_generations(self, outputs, **kwargs):
        res = []
        for out in outputs if isinstance(outputs, list) else [outputs]:
            choices = out.get("choices") if isinstance(out, dict) else None
            if not isinstance(choices, list) or not choices:
                res.append("")
                continue
            tmp = [""] * len(choices)
            for i, ch in enumerate(choices):
                try:
                    tmp[ch.get("index", i)] = chat_choice_text(ch, getattr(self, "base_url", None) or "the endpoint")
                except R1KError as e:
                    _stop(str(e))
            res.extend(tmp)
        return res

    def loglikelihood(self, requests, **kwargs):
        tasks = sorted({getattr(r, "task_name", None) or "?" for r in requests})
        _stop(
            f"{', '.join(tasks)}: log-likelihood tasks cannot run over a chat-completions endpoint (it returns "
            "no log-probabilities of given text); use --model local-completions with a /v1/completions "
            "endpoint that returns prompt logprobs (vLLM), or --model hf / vllm"
        )

    cls.parse_generations = parse_generations
    cls.loglikelihood = loglikelihood
    cls._r1k_patched = True


def _stop(message: str):
    """Under the lm_eval command: one line, exit 2 (lm-eval would print a traceback); else raise."""
    import os
    import sys

    if os.path.basename(sys.argv[0] or "") in ("lm_eval", "lm-eval", "__main__.py"):
        print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
        os._exit(2)  # also from lm-eval's worker threads, where a SystemExit would be swallowed
    raise R1KError(message)


def inspect_response_text(output) -> str:
    """Inspect's ModelOutput -> the response text with its reasoning parts folded in."""
    choice = output.choices[0] if getattr(output, "choices", None) else None
    msg = choice.message if choice is not None else None
    content = getattr(msg, "content", None)
    if not isinstance(content, list):
        return output.completion
    parts = [c.reasoning or "" for c in content if getattr(c, "type", None) == "reasoning"]
    text = "".join(c.text for c in content if getattr(c, "type", None) == "text")
    truncated = (
        getattr(output, "stop_reason", None) == "max_tokens" or getattr(choice, "stop_reason", None) == "max_tokens"
    )
    return join_reasoning("\n".join(parts) if parts else None, text, truncated)
