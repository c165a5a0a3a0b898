"""r1k-train end to end on the CPU: tiny-model -> sft -> dpo, resume, LoRA, manifests, bad input.

Real TRL runs through the real ``r1k-train`` command (subprocesses), a few steps each, on a small
synth set. Session fixtures share the runs between tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from r1k_plugins.core.io import sha256_file
from r1k_plugins.core.record import write_records
from r1k_plugins.data.synth import generate

pytestmark = pytest.mark.e2e

ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "WANDB_MODE": "disabled",
}
os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
# a few steps, small batches, a log line per step
FAST = ["--set", "per_device_train_batch_size=4", "--set", "logging_steps=1", "--set", "max_length=256"]


def _exe() -> list[str]:
    script = Path(sys.executable).parent / "r1k-train"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "r1k_plugins.training.cli"]


def r1k_train(*args, ok: bool = True, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([*_exe(), *map(str, args)], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)
    if ok and proc.returncode != 0:
        raise AssertionError(f"r1k-train {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def manifest(d: Path) -> dict:
    return json.loads((d / "r1k_run.json").read_text())


def log_history(d: Path) -> list[dict]:
    return [json.loads(line) for line in (d / "log_history.jsonl").read_text().splitlines() if line.strip()]


# ---- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def data(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("data")
    train, test = generate(n=40, seed=7, test_frac=0.1)
    write_records(d / "train.jsonl", train)
    write_records(d / "test.jsonl", test)
    write_records(d / "forward_only.jsonl", [r for r in train if r.direction == "forward"])
    return {"dir": d, "train": d / "train.jsonl", "test": d / "test.jsonl", "forward_only": d / "forward_only.jsonl"}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "tiny"
    proc = r1k_train("tiny-model", "--out", out)  # the embedded default data
    assert "saved" in proc.stdout
    return out


@pytest.fixture(scope="session")
def sft_run(tmp_path_factory, tiny, data) -> Path:
    out = tmp_path_factory.mktemp("runs") / "sft"
    r1k_train(
        "sft",
        "--config",
        "tiny-sft",
        "--model",
        tiny,
        "--data",
        data["train"],
        "--output-dir",
        out,
        *FAST,
        "--set",
        "max_steps=4",
        "--set",
        "save_steps=2",
    )
    return out


@pytest.fixture(scope="session")
def dpo_run(tmp_path_factory, sft_run, data) -> Path:
    out = tmp_path_factory.mktemp("runs") / "dpo"
    r1k_train(
        "dpo",
        "--config",
        "tiny-dpo",
        "--model",
        sft_run,
        "--data",
        data["train"],
        "--output-dir",
        out,
        *FAST,
        "--set",
        "per_device_train_batch_size=2",
        "--set",
        "max_steps=3",
    )
    return out


def _generate(model_dir: Path, question: str = "Ana has 3 apples. How many?") -> str:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, tokenize=False
    )
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > enc["input_ids"].shape[1]
    return tok.decode(out[0, enc["input_ids"].shape[1] :])


# ---- tiny model ----------------------------------------------------------------------------------
@pytest.mark.e2e
def test_tiny_model_is_a_loadable_chat_model(tiny):
    from transformers import AutoConfig, AutoTokenizer

    cfg = AutoConfig.from_pretrained(tiny)
    assert cfg.model_type == "llama" and cfg.num_hidden_layers <= 4 and cfg.hidden_size <= 128
    tok = AutoTokenizer.from_pretrained(tiny)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token is not None and tok.pad_token != tok.eos_token
    assert 256 < len(tok) <= 2048
    for s in ("<|im_start|>", "<|im_end|>", "<think>", "</think>"):
        assert len(tok(s, add_special_tokens=False)["input_ids"]) == 1, s
    msgs = [{"role": "user", "content": "What is 2 + 3?"}]
    prompt = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>assistant\n")
    full = tok.apply_chat_template(
        msgs + [{"role": "assistant", "content": "5"}],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    masked = [i for i, m in zip(full["input_ids"], full["assistant_masks"]) if m]
    assert tok.decode(masked) == "5<|im_end|>"  # {% generation %} covers the answer and the stop token
    assert (tiny / "generation_config.json").is_file()
    _generate(tiny)


@pytest.mark.e2e
def test_tiny_model_refuses_non_empty_out(tiny):
    before = sorted(p.name for p in tiny.iterdir())
    proc = r1k_train("tiny-model", "--out", tiny, ok=False)
    _assert_one_line_error(proc)
    assert sorted(p.name for p in tiny.iterdir()) == before


# ---- sft / dpo -----------------------------------------------------------------------------------
@pytest.mark.e2e
def test_sft_run_manifest_and_checkpoint(sft_run, tiny, data):
    m = manifest(sft_run)
    assert m["schema"] == "r1k_run/1" and m["stage"] == "sft" and m["data_mode"] == "mixed"
    assert m["base_model"] == str(tiny.resolve()) and m["parent"] is None
    assert m["data_file"] == str(data["train"].resolve()) and m["data_sha256"] == sha256_file(data["train"])
    assert m["record_counts"]["rows"] == m["record_counts"]["forward"] + m["record_counts"]["reverse"] > 0
    assert m["config"]["max_steps"] == 4 and m["config"]["learning_rate"] == 3e-3
    assert m["config"]["bf16"] is False and m["config"]["gradient_checkpointing"] is False  # CPU policy
    assert set(m["versions"]) >= {"r1k_plugins", "trl", "transformers", "torch", "peft", "python"}
    assert m["final_metrics"]["global_step"] == 4 and "train_runtime" in m["final_metrics"]
    assert m["output_dir"] == str(sft_run.resolve()) and m["seed"] == 42 and m["wall_time_s"] > 0
    steps = [h["step"] for h in log_history(sft_run) if "loss" in h]
    assert steps == [1, 2, 3, 4]
    assert (sft_run / "checkpoint-4").is_dir() and (sft_run / "tokenizer.json").is_file()
    _generate(sft_run)


@pytest.mark.e2e
def test_sft_forward_mode_counts_and_overwrite(tmp_path, tiny, data):
    out = tmp_path / "fwd"
    (out / "checkpoint-9").mkdir(parents=True)
    (out / "r1k_run.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    r1k_train(
        "sft",
        "--config",
        "tiny-sft",
        "--model",
        tiny,
        "--data",
        data["train"],
        "--mode",
        "forward",
        "--output-dir",
        out,
        "--overwrite",
        *FAST,
        "--set",
        "max_steps=1",
        "--set",
        "save_strategy=no",
    )
    m = manifest(out)
    assert m["data_mode"] == "forward"
    assert m["record_counts"]["reverse"] == 0 and m["record_counts"]["forward"] == m["record_counts"]["rows"]
    assert not (out / "checkpoint-9").exists()  # the previous run's checkpoints go ...
    assert (out / "notes.txt").read_text() == "mine"  # ... unrelated files stay


@pytest.mark.e2e
def test_dpo_lineage_and_metrics(dpo_run, sft_run):
    m = manifest(dpo_run)
    assert m["stage"] == "dpo" and m["base_model"] == str(sft_run.resolve())
    assert m["parent"] == manifest(sft_run)  # lineage: the SFT run's manifest, verbatim
    assert m["config"]["beta"] == 0.1 and m["data_mode"] == "mixed"
    steps = [h for h in log_history(dpo_run) if "loss" in h]
    assert [h["step"] for h in steps] == [1, 2, 3]
    for h in steps:
        for key in ("logps/chosen", "logps/rejected", "rewards/margins", "rewards/chosen", "rewards/accuracies"):
            assert isinstance(h.get(key), float), (key, h)
    # the reference is the starting policy: before any update the rewards are exactly 0
    assert steps[0]["rewards/margins"] == 0.0
    _generate(dpo_run)


@pytest.mark.e2e
def test_dpo_precomputed_reference_and_lora(tmp_path, sft_run, data):
    out = tmp_path / "dpo-pre"
    r1k_train(
        "dpo",
        "--config",
        "tiny-dpo",
        "--model",
        sft_run,
        "--data",
        data["train"],
        "--output-dir",
        out,
        *FAST,
        "--set",
        "per_device_train_batch_size=2",
        "--set",
        "max_steps=1",
        "--set",
        "save_strategy=no",
        "--set",
        "precompute_ref_log_probs=true",
    )
    first = [h for h in log_history(out) if "loss" in h][0]
    assert abs(first["rewards/margins"]) < 1e-3 and manifest(out)["config"]["precompute_ref_log_probs"] is True
    out = tmp_path / "dpo-lora"
    r1k_train(
        "dpo",
        "--config",
        "tiny-dpo",
        "--model",
        sft_run,
        "--data",
        data["train"],
        "--output-dir",
        out,
        "--use-peft",
        *FAST,
        "--set",
        "per_device_train_batch_size=2",
        "--set",
        "max_steps=1",
        "--set",
        "save_strategy=no",
        "--set",
        "lora_r=4",
    )
    first = [h for h in log_history(out) if "loss" in h][0]
    assert first["rewards/margins"] == 0.0  # reference = the adapter-disabled starting model
    assert (out / "adapter" / "adapter_config.json").is_file() and manifest(out)["parent"] == manifest(sft_run)


@pytest.mark.e2e
def test_resume_continues_from_last_checkpoint(tmp_path, sft_run, tiny, data):
    out = tmp_path / "resumed"
    shutil.copytree(sft_run, out)
    r1k_train(
        "sft",
        "--config",
        "tiny-sft",
        "--model",
        tiny,
        "--data",
        data["train"],
        "--output-dir",
        out,
        "--resume",
        *FAST,
        "--set",
        "max_steps=6",
        "--set",
        "save_steps=2",
    )
    m = manifest(out)
    assert m["resumed_from"] == "checkpoint-4" and m["final_metrics"]["global_step"] == 6
    steps = [h["step"] for h in log_history(out) if "loss" in h]
    assert steps == [1, 2, 3, 4, 5, 6]  # history restored from the checkpoint, then continued
    assert (out / "checkpoint-6").is_dir()


@pytest.mark.e2e
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_lora_writes_adapter_and_loadable_merged_model(tmp_path, tiny, data):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "lora"
    r1k_train(
        "sft",
        "--config",
        "tiny-sft",
        "--model",
        tiny,
        "--data",
        data["train"],
        "--output-dir",
        out,
        "--use-peft",
        *FAST,
        "--set",
        "lora_r=4",
        "--set",
        "lora_alpha=8",
        "--set",
        "max_steps=2",
        "--set",
        "save_strategy=no",
    )
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert not (out / "adapter_config.json").exists()  # the top level is a plain full model (lm-eval pretrained=)
    m = manifest(out)
    assert m["peft"]["r"] == 4 and m["adapter_dir"] == str((out / "adapter").resolve())
    tok = AutoTokenizer.from_pretrained(out)
    merged = AutoModelForCausalLM.from_pretrained(out)
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), out / "adapter")
    x = tok("Ana has 12 apples.", return_tensors="pt")
    with torch.no_grad():
        diff = (merged(**x).logits - with_adapter(**x).logits).abs().max().item()
        base = (AutoModelForCausalLM.from_pretrained(tiny)(**x).logits - merged(**x).logits).abs().max().item()
    assert diff < 1e-4 and base > 0
    _generate(out)


# ---- bad input -----------------------------------------------------------------------------------
def _assert_one_line_error(proc):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.fixture(scope="session")
def no_tokenizer_model(tmp_path_factory, tiny) -> Path:
    d = tmp_path_factory.mktemp("models") / "no-tokenizer"
    d.mkdir()
    for f in ("config.json", "model.safetensors", "generation_config.json"):
        shutil.copy(tiny / f, d / f)
    return d


@pytest.mark.e2e
@pytest.mark.parametrize(
    "case",
    [
        "unknown-key",
        "unknown-recipe-key",
        "no-records-for-mode",
        "no-tokenizer",
        "non-empty-output",
        "missing-config",
        "unknown-model",
        "missing-data",
        "resume-without-checkpoint",
        "wrong-stage",
    ],
)
def test_bad_input_is_one_line(case, tmp_path, tiny, data, sft_run, no_tokenizer_model):
    out = tmp_path / "out"
    base = ["sft", "--config", "tiny-sft", "--model", tiny, "--data", data["train"], "--output-dir", out]
    if case == "unknown-key":
        args = base + ["--set", "learning_rat=1e-4"]
        expect = "learning_rate"
    elif case == "unknown-recipe-key":
        recipe = tmp_path / "bad.yaml"
        recipe.write_text("stage: sft\nnum_train_epoch: 2\n")
        args = ["sft", "--config", recipe, "--model", tiny, "--data", data["train"], "--output-dir", out]
        expect = "num_train_epochs"
    elif case == "no-records-for-mode":
        args = base[:-4] + ["--data", data["forward_only"], "--mode", "reverse", "--output-dir", out]
        expect = "reverse"
    elif case == "no-tokenizer":
        args = [
            "sft",
            "--config",
            "tiny-sft",
            "--model",
            no_tokenizer_model,
            "--data",
            data["train"],
            "--output-dir",
            out,
        ]
        expect = "tokenizer"
    elif case == "non-empty-output":
        before = sorted(p.name for p in sft_run.iterdir())
        args = base[:-1] + [sft_run]
        expect = "--overwrite"
    elif case == "missing-config":
        args = [
            "sft",
            "--config",
            tmp_path / "nope.yaml",
            "--model",
            tiny,
            "--data",
            data["train"],
            "--output-dir",
            out,
        ]
        expect = "not found"
    elif case == "unknown-model":
        args = [
            "sft",
            "--config",
            "tiny-sft",
            "--model",
            tmp_path / "no-such-model",
            "--data",
            data["train"],
            "--output-dir",
            out,
        ]
        expect = "not found"
    elif case == "missing-data":
        args = base[:-4] + ["--data", tmp_path / "none.jsonl", "--output-dir", out]
        expect = "not found"
    elif case == "resume-without-checkpoint":
        args = base + ["--resume"]
        expect = "checkpoint"
    else:  # a DPO recipe under sft
        args = ["sft", "--config", "tiny-dpo", "--model", tiny, "--data", data["train"], "--output-dir", out]
        expect = "dpo"
    proc = r1k_train(*args, ok=False)
    _assert_one_line_error(proc)
    assert expect in proc.stderr
    assert not out.exists()  # nothing created ...
    if case == "non-empty-output":
        assert sorted(p.name for p in sft_run.iterdir()) == before  # ... and nothing deleted


@pytest.mark.e2e
def test_help_explains_every_option():
    top = r1k_train("--help").stdout
    for cmd in ("tiny-model", "sft", "dpo"):
        assert cmd in top
    sft = r1k_train("sft", "--help").stdout
    for opt in (
        "--config",
        "--model",
        "--data",
        "--mode",
        "--output-dir",
        "--set",
        "--use-peft",
        "--resume",
        "--overwrite",
    ):
        assert opt in sft
    dpo = r1k_train("dpo", "--help").stdout
    assert "reference" in dpo and "precompute_ref_log_probs" in dpo
    via_module = subprocess.run(
        [sys.executable, "-m", "r1k_plugins.training.cli", "--help"], capture_output=True, text=True, env=ENV
    )
    assert via_module.returncode == 0 and "sft" in via_module.stdout
    r1k = Path(sys.executable).parent / "r1k"
    cmd = [str(r1k)] if r1k.is_file() else [sys.executable, "-c", "from r1k_plugins.cli import main; main()"]
    via_r1k = subprocess.run([*cmd, "train", "--help"], capture_output=True, text=True, env=ENV)
    assert via_r1k.returncode == 0 and "tiny-model" in via_r1k.stdout


# ---- in-process units (no training) --------------------------------------------------------------
def test_set_values_are_typed_and_checked():
    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.training.recipe import load_recipe, parse_set, resolve_keys

    rec = resolve_keys(
        load_recipe(
            "sft",
            "tiny-sft",
            parse_set(
                [
                    "learning_rate=1e-5",
                    "max_steps=7",
                    "bf16=false",
                    "lora_target_modules=[q_proj,v_proj]",
                    "warmup_ratio=0.1",
                    "data.mode=reverse",
                    "report_to=tensorboard",
                ]
            ),
        )
    )
    ta = rec.trainer_args
    assert ta["learning_rate"] == 1e-5 and isinstance(ta["learning_rate"], float)
    assert ta["max_steps"] == 7 and ta["bf16"] is False and ta["report_to"] == "tensorboard"
    assert ta["warmup_steps"] == 0.1  # transformers 5 folded warmup_ratio into warmup_steps
    assert rec.model_args["lora_target_modules"] == ["q_proj", "v_proj"] and rec.data["mode"] == "reverse"
    with pytest.raises(R1KError, match="expects a number"):
        resolve_keys(load_recipe("sft", "tiny-sft", parse_set(["learning_rate=fast"])))
    with pytest.raises(R1KError, match="did you mean per_device_train_batch_size"):
        resolve_keys(load_recipe("sft", "tiny-sft", parse_set(["per_device_train_batchsize=2"])))
    with pytest.raises(R1KError, match="key=value"):
        parse_set(["learning_rate"])


def test_bundled_recipes_resolve_and_validate():
    from r1k_plugins.training.recipe import load_recipe, resolve_keys

    for name, stage in (("tiny-sft", "sft"), ("tiny-dpo", "dpo"), ("qwen2.5-7b-sft", "sft"), ("qwen2.5-7b-dpo", "dpo")):
        rec = resolve_keys(load_recipe(stage, name, []))
        assert rec.trainer_args, name
    s1 = resolve_keys(load_recipe("sft", "qwen2.5-7b-sft", [])).trainer_args
    assert s1["learning_rate"] == 1e-5 and s1["num_train_epochs"] == 5 and s1["weight_decay"] == 1e-4
    assert s1["adam_beta2"] == 0.95 and s1["warmup_steps"] == 0.05 and s1["max_length"] == 20000
    assert s1["completion_only_loss"] is True and s1["bf16"] is True
    dpo = resolve_keys(load_recipe("dpo", "qwen2.5-7b-dpo", [])).trainer_args
    assert dpo["beta"] == 0.1 and dpo["learning_rate"] == 5e-7 and dpo["warmup_steps"] == 20


def test_prebuilt_files_are_detected(tmp_path, data):
    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.core.io import write_jsonl
    from r1k_plugins.core.record import read_records
    from r1k_plugins.data.mix import build_dpo_rows, build_sft_rows
    from r1k_plugins.training.data import load_data

    recs = read_records(data["train"])
    write_jsonl(tmp_path / "sft.jsonl", build_sft_rows(recs, "mixed"))
    write_jsonl(tmp_path / "dpo.jsonl", build_dpo_rows(recs))
    write_jsonl(
        tmp_path / "msgs.jsonl", [{"messages": r["prompt"] + r["completion"]} for r in build_sft_rows(recs, "forward")]
    )
    sft = load_data(tmp_path / "sft.jsonl", "sft", {"mode": "reverse"})
    assert sft.kind == "sft-prompt-completion" and sft.data_mode == "reverse" and sft.counts["forward"] == 0
    assert load_data(tmp_path / "sft.jsonl", "sft", {"mode": "mixed"}).data_mode == "mixed"
    msgs = load_data(tmp_path / "msgs.jsonl", "sft", {})
    assert msgs.kind == "sft-messages" and msgs.data_mode is None and msgs.conversational
    dpo = load_data(tmp_path / "dpo.jsonl", "dpo", {})
    assert dpo.kind == "dpo" and dpo.data_mode is None and set(dpo.rows[0]) >= {"prompt", "chosen", "rejected"}
    with pytest.raises(R1KError, match="r1k-train dpo"):
        load_data(tmp_path / "dpo.jsonl", "sft", {})
    with pytest.raises(R1KError, match="no 'direction'"):
        load_data(tmp_path / "msgs.jsonl", "sft", {"mode": "forward"})
