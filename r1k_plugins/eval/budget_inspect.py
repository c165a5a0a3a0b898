"""Inspect's side of budget forcing: a solver the r1k tasks use when given ``-T max_thinking_tokens=N``.

    inspect eval r1k_plugins/r1k_reverse --model hf/local -M model_path=MODEL -M do_sample=false \\
        -T max_thinking_tokens=512 -T num_ignore=2

The algorithm is :mod:`r1k_plugins.core.budget` (the one lm-eval's ``r1k-hf`` model runs); the
solver drives it on the model that Inspect's ``hf`` provider loaded, with the prompt that provider
renders (its chat template), so both harnesses produce the same text for the same greedy model.
Each sample's outcome (thinking tokens, forced continuations, whether the answer was forced) is in
the sample's metadata (``r1k_budget``) and in the score's metadata.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ModelOutput, get_model
from inspect_ai.solver import Generate, TaskState, solver

from r1k_plugins.core.budget import BudgetSpec, budget_forcing_one


@solver
def budget_forcing_generate(spec: BudgetSpec, max_tokens: int):
    """Generate with s1's budget forcing (thinking budget, ignored ends of thinking, answer budget)."""
    import anyio

    from r1k_plugins.eval.budget_hf import hf_generate, token_counter

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        from inspect_ai._util.error import PrerequisiteError

        model = get_model()
        api: Any = model.api  # the hf provider (HuggingFaceAPI), checked just below
        if not (
            hasattr(api, "hf_chat")
            and getattr(api, "model", None) is not None
            and getattr(api, "tokenizer", None) is not None
        ):
            raise PrerequisiteError(
                f"error: -T max_thinking_tokens (budget forcing) runs on Inspect's local hf "
                f"provider (--model hf/NAME or hf/local -M model_path=...); {model} is not one. "
                f"For vLLM use lm_eval --model r1k-vllm"
            )
        prompt = api.hf_chat(state.messages, [])
        cfg = model.config
        gen = hf_generate(
            api.model,
            api.tokenizer,
            do_sample=bool(api.do_sample),
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            top_k=cfg.top_k,
        )
        count = token_counter(api.tokenizer)
        stops = list(cfg.stop_seqs or [])
        answer_budget = int(max_tokens)

        def run():
            return budget_forcing_one(prompt, gen, count, spec, stops, answer_budget)

        res = await anyio.to_thread.run_sync(run)
        state.output = ModelOutput.from_content(
            model=str(model), content=res.text, stop_reason="max_tokens" if res.answer_stopped == "length" else "stop"
        )
        state.messages.append(state.output.message)
        state.metadata["r1k_budget"] = res.log()
        return state

    return solve
