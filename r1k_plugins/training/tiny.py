"""The embedded default model: a tiny random-init Llama with a byte-level BPE tokenizer.

The tokenizer is trained with the ``tokenizers`` library on the r1k data rendered exactly as the
trainers and the evaluation harnesses render it (chat template, both trace formats, the plain
no-template prompt), so its small vocabulary covers the text the model will see. Digits are split
one per token, which is what lets a model this small learn some arithmetic.

The chat template is ChatML (the same turn markers as Qwen2.5, the paper's base model) with
``{% generation %}`` markers around the assistant turn, its ``<|im_end|>`` included, so both TRL
``completion_only_loss`` (prompt/completion data) and ``assistant_only_loss`` (messages data) work
and the model learns to stop. The generation prompt is ``<|im_start|>assistant\\n``; SFT rows are
tokenized under the same prompt, so training and evaluation contexts match token for token.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from r1k_plugins.core.vocab import THINK_CLOSE, THINK_OPEN

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
PAD = "<|endoftext|>"
SPECIAL_TOKENS = [PAD, IM_START, IM_END, THINK_OPEN, THINK_CLOSE]

# ChatML; the assistant turn (content + <|im_end|>) sits inside {% generation %} so assistant masks
# include the stop token. Prompt (add_generation_prompt=True) is a prefix of prompt+completion.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['content'] is string %}{%- set content = message['content'] %}"
    "{%- elif message['content'] is none %}{%- set content = '' %}"
    "{%- else %}{%- set content = message['content'] | selectattr('type', 'equalto', 'text') "
    "| map(attribute='text') | join('') %}"
    "{%- endif %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- content + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

DEFAULT_ARCH = dict(
    hidden_size=128,
    intermediate_size=384,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=32768,
)
DEFAULT_VOCAB = 1536


def render_chatml(messages: list[dict], add_generation_prompt: bool = False) -> str:
    """Python twin of CHAT_TEMPLATE (used for the tokenizer's training text)."""
    out = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    return out + (f"{IM_START}assistant\n" if add_generation_prompt else "")


def corpus_from_records(records) -> list[str]:
    """The texts the tokenizer is trained on: every record in every trace format, chat and plain."""
    from r1k_plugins.core.render import completion_text, plain_prompt, prompt_messages
    from r1k_plugins.core.vocab import TRACE_FORMATS

    texts = []
    for rec in records:
        for tags in (False, True):
            prompt = prompt_messages(rec, direction_tags=tags)
            for fmt in TRACE_FORMATS:
                comp = completion_text(rec, fmt) if rec.reasoning else ""
                texts.append(render_chatml(prompt + [{"role": "assistant", "content": comp}]))
        texts.append(plain_prompt(rec.question, answer_type=rec.answer_type) + (rec.answer or ""))
    return texts


def train_tokenizer(texts: Iterable[str], vocab_size: int = DEFAULT_VOCAB):
    """A byte-level BPE ``tokenizers.Tokenizer`` (digits split individually) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok


def build_tiny_model(
    out_dir: str | os.PathLike,
    records=None,
    *,
    vocab_size: int = DEFAULT_VOCAB,
    seed: int = 0,
    arch: dict | None = None,
) -> dict:
    """Write a tiny Llama + tokenizer + generation config to ``out_dir``; return a summary dict."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    if records is None:
        from r1k_plugins.data.synth import generate

        train, test = generate()
        records = train + test
    tok = train_tokenizer(corpus_from_records(records), vocab_size)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD,
        unk_token=None,
        bos_token=None,
        additional_special_tokens=[IM_START, THINK_OPEN, THINK_CLOSE],
        model_max_length=(arch or DEFAULT_ARCH).get("max_position_embeddings", 32768),
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    a = dict(DEFAULT_ARCH, **(arch or {}))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        **a,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    # max_new_tokens caps this toy model's generations: a random-init model never emits its stop token,
    # and the tasks' default budget (16384 tokens) would keep a plain `lm_eval --tasks r1k_reverse` busy
    # for an hour on a CPU. transformers lets it take precedence over lm-eval's max_length; Inspect's
    # max_tokens (max_new_tokens) still overrides it. Trained tiny models stop after ~60-100 tokens.
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id],
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        do_sample=False,
        max_new_tokens=256,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "out": str(out),
        "vocab_size": len(tokenizer),
        "parameters": sum(p.numel() for p in model.parameters()),
        "arch": a,
        "records": len(records),
    }
