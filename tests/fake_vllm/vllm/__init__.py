"""A stand-in for vLLM's offline API, for the ``vllm:`` teacher backend's contract test only.

vLLM needs a GPU and cannot be installed on the CI machine. This package has the two names the
backend uses, with the signatures of vLLM's own (``vllm.LLM(model, **engine_args)``,
``LLM.chat(messages, sampling_params=None, use_tqdm=True, ...)`` taking a list of conversations,
``SamplingParams(temperature, top_p, max_tokens, seed)``) and returns objects shaped like vLLM's
``RequestOutput`` / ``CompletionOutput``. It records every call in ``$FAKE_VLLM_LOG`` (JSONL).
It answers teacher prompts ("Forward answer: N") with a good inversion, as tests/openai_stub.py does.
"""

import json
import os
import re
from dataclasses import dataclass, field

__version__ = "0.0-fake"

ENGINE_ARGS = {"tensor_parallel_size", "max_model_len", "dtype", "gpu_memory_utilization", "trust_remote_code",
               "seed", "enable_prefix_caching", "quantization", "revision", "download_dir"}


def _log(**rec):
    with open(os.environ["FAKE_VLLM_LOG"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")


class SamplingParams:
    def __init__(self, n=1, presence_penalty=0.0, frequency_penalty=0.0, repetition_penalty=1.0, temperature=1.0,
                 top_p=1.0, top_k=0, min_p=0.0, seed=None, stop=None, max_tokens=16):
        self.temperature, self.top_p, self.seed, self.max_tokens = temperature, top_p, seed, max_tokens


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list
    finish_reason: str | None = "stop"
    cumulative_logprob: float | None = None


@dataclass
class RequestOutput:
    request_id: str
    prompt: str | None
    prompt_token_ids: list
    outputs: list = field(default_factory=list)
    finished: bool = True


class LLM:
    def __init__(self, model: str, **engine_args):
        unknown = set(engine_args) - ENGINE_ARGS
        if unknown:
            raise TypeError(f"EngineArgs.__init__() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        if model.startswith("missing/"):
            raise OSError(f"{model} is not a local folder and is not a valid model identifier listed on "
                          f"'https://huggingface.co/models'\nIf this is a private repository, ...")
        self.model = model
        _log(call="LLM", model=model, engine_args=engine_args)

    def chat(self, messages, sampling_params=None, use_tqdm=True, lora_request=None, chat_template=None,
             chat_template_content_format="auto", add_generation_prompt=True, continue_final_message=False,
             tools=None, chat_template_kwargs=None, mm_processor_kwargs=None):
        convs = messages if messages and isinstance(messages[0], list) else [messages]
        _log(call="chat", n=len(convs), temperature=sampling_params.temperature,
             max_tokens=sampling_params.max_tokens, use_tqdm=use_tqdm)
        outs = []
        for i, conv in enumerate(convs):
            item = conv[-1]["content"]
            m = re.search(r"Forward answer: (\d+)", item)
            fa = int(m.group(1)) if m else 0
            reply = json.dumps({"reverse_question": f"Which number doubled gives {fa}?",
                                "reverse_answer": str(fa // 2), "reasoning": f"2x = {fa}, so x = \\boxed{{{fa // 2}}}."})
            outs.append(RequestOutput(str(i), None, list(range(len(item) // 4)),
                                      [CompletionOutput(0, reply, list(range(len(reply) // 4)))]))
        return outs
