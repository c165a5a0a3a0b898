"""lm-eval model types with s1's budget forcing: ``r1k-hf`` (transformers) and ``r1k-vllm`` (vLLM).

    lm_eval run --model r1k-hf --model_args pretrained=MODEL,max_thinking_tokens=512,num_ignore=2 \\
        --tasks r1k_forward --apply_chat_template --log_samples --output_path results/

Options (``--model_args``, next to the backend's own): ``max_thinking_tokens`` (required, >= 1),
``num_ignore`` (ends of thinking replaced by ``ignore_str``, default 0), ``ignore_str`` (default
Wait), ``max_answer_tokens`` (default: the task's max_gen_toks), ``trace_format`` (s1 |
think-tags, default s1). The algorithm is :mod:`r1k_plugins.core.budget`; the Inspect solver uses
the same one. Log-likelihood requests (``r1k_direction``) run as the plain backend runs them.

Per item, the budget outcome (thinking tokens, forced continuations, whether the answer was forced)
is logged in the sample's ``arguments`` (``--log_samples``): ``arguments[0][1]["r1k_budget"]``,
one entry per repeat. Registered with lm-eval's model registry at start-up by
:mod:`r1k_plugins.eval.lmeval_hook` (lazily: nothing here is imported until the model is used).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import NoReturn

from lm_eval.api.model import LM
from lm_eval.models.huggingface import HFLM

from r1k_plugins.core.budget import BUDGET_OPTIONS, BudgetSpec, budget_forcing, budget_spec
from r1k_plugins.core.errors import R1KError
from r1k_plugins.eval.budget_hf import hf_generate, token_counter
from r1k_plugins.eval.lmeval_hook import MODEL_TYPES  # noqa: F401  (the registered names)


def _fail(e: Exception) -> NoReturn:
    """Under the lm_eval command: one line, exit 2 (lm-eval would wrap the error in a traceback).
    Called from Python (simple_evaluate): raise it."""
    if os.path.basename(sys.argv[0] or "") in ("lm_eval", "lm-eval", "__main__.py"):
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    raise e


def _spec(model_type: str, kwargs: dict) -> BudgetSpec:
    """Pop the budget options out of ``kwargs`` (the rest goes to the backend)."""
    opts = {k: kwargs.pop(k) for k in BUDGET_OPTIONS if k in kwargs}
    try:
        return budget_spec(**opts)
    except R1KError as e:
        _fail(R1KError(f"--model {model_type} --model_args {e}"))


def _outcome(req, result) -> None:
    """Log one item's budget outcome in its logged ``arguments`` (gen_kwargs["r1k_budget"])."""
    context, gen_kwargs = req.args[0], dict(req.args[1])
    gen_kwargs["r1k_budget"] = [*gen_kwargs.get("r1k_budget", []), result.log()]
    req.arguments = (context, gen_kwargs)


def _requests_by_kwargs(requests):
    """Requests grouped by their (stripped) gen_kwargs, in order."""
    groups: dict[str, list[int]] = {}
    for i, req in enumerate(requests):
        kw = {k: v for k, v in req.args[1].items() if k != "r1k_budget"}
        groups.setdefault(repr(sorted(kw.items(), key=lambda kv: kv[0])), []).append(i)
    return list(groups.values())


class R1KHFLM(HFLM):
    """lm-eval's ``hf`` backend with budget forcing on generation requests."""

    def __init__(self, **kwargs):
        self.budget = _spec("r1k-hf", kwargs)
        super().__init__(**kwargs)

    def generate_until(self, requests, disable_tqdm: bool = False):
        from lm_eval.models.utils import handle_stop_sequences, normalize_gen_kwargs
        from tqdm import tqdm

        count = token_counter(self.tokenizer)
        eos = self.tok_decode(self.eot_token_id, skip_special_tokens=False)
        out: list[str | None] = [None] * len(requests)
        pbar = tqdm(total=len(requests), disable=disable_tqdm or self.rank != 0, desc="Budget forcing (r1k-hf)")
        for idx in _requests_by_kwargs(requests):
            gen_kwargs = {k: v for k, v in requests[idx[0]].args[1].items() if k != "r1k_budget"}
            kw = normalize_gen_kwargs(gen_kwargs, self.max_gen_toks)
            until = handle_stop_sequences(kw.pop("until", None), eos=eos)
            max_gen = int(kw.pop("max_gen_toks"))
            gen = hf_generate(
                self.model,
                self.tokenizer,
                do_sample=bool(kw.get("do_sample")),
                temperature=kw.get("temperature"),
                top_p=kw.get("top_p"),
                top_k=kw.get("top_k"),
            )

            def batch(prompts, budgets, stops, gen=gen):
                return [gen(p, b, stops) for p, b in zip(prompts, budgets)]

            for i in idx:
                [res] = budget_forcing([requests[i].args[0]], batch, count, self.budget, until, max_gen)
                _outcome(requests[i], res)
                out[i] = res.text
                pbar.update(1)
        pbar.close()
        return out


def _vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


if _vllm_available():
    from lm_eval.models.vllm_causallms import VLLM as _VLLMBase
else:  # a stand-in base: the model type exists and says in one line why it cannot run
    _VLLMBase = LM


class R1KVLLM(_VLLMBase):
    """lm-eval's ``vllm`` backend with budget forcing (batched: each thinking round is one
    ``LLM.generate`` call over every item still thinking)."""

    def __new__(cls, *args, **kwargs):  # before the (abstract, without vLLM) base class is instantiated
        if not _vllm_available():
            _fail(
                R1KError(
                    "--model r1k-vllm needs vLLM, which is not installed here: pip install vllm "
                    "(a CUDA machine), or use --model r1k-hf"
                )
            )
        return super().__new__(cls)

    def __init__(self, **kwargs):
        self.budget = _spec("r1k-vllm", kwargs)
        super().__init__(**kwargs)

    def _budget_generate(self, sampling: dict):
        from vllm import SamplingParams, TokensPrompt

        def batch(prompts, budgets, stops):
            params = [
                SamplingParams(
                    max_tokens=int(b),
                    stop=list(stops),
                    skip_special_tokens=False,
                    spaces_between_special_tokens=False,
                    **sampling,
                )
                for b in budgets
            ]
            reqs = [
                TokensPrompt(prompt_token_ids=self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts
            ]
            outs = self.model.generate(reqs, sampling_params=params, use_tqdm=False)
            return [
                (
                    o.outputs[0].text,
                    len(o.outputs[0].token_ids),
                    "length" if o.outputs[0].finish_reason == "length" else "stop",
                )
                for o in outs
            ]

        return batch

    def generate_until(self, requests, disable_tqdm: bool = False):
        count = token_counter(self.tokenizer)
        eos = self.tokenizer.decode(self.eot_token_id) or getattr(self.tokenizer, "eos_token", None)
        out: list[str | None] = [None] * len(requests)
        for idx in _requests_by_kwargs(requests):
            gen_kwargs = {k: v for k, v in requests[idx[0]].args[1].items() if k != "r1k_budget"}
            sampling, until, max_gen = self.modify_gen_kwargs(
                gen_kwargs, eos=eos, default_max_gen_toks=self.max_gen_toks
            )
            for k in ("skip_special_tokens", "spaces_between_special_tokens"):
                sampling.pop(k, None)
            results = budget_forcing(
                [requests[i].args[0] for i in idx], self._budget_generate(sampling), count, self.budget, until, max_gen
            )
            for i, res in zip(idx, results):
                _outcome(requests[i], res)
                out[i] = res.text
        return out
