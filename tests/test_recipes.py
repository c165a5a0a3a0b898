"""The paper recipes: their settings against docs/training.md's tables, the launch's batch rule,
fp32 master weights at lr 5e-7, prompt/completion truncation, and toy-size runs on the CPU."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, assert_one_line_error, run

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.record import write_records
from r1k_plugins.data.synth import generate
from r1k_plugins.training.recipe import load_recipe, read_yaml, resolve_keys, yaml_load

# the paper's own recipes (the mitigation arms' qwen2.5-7b-*-{sft,norm,tags,ches} variants: tests/test_arms.py)
PAPER_RECIPES = sorted(
    p.stem
    for p in (ROOT / "train").glob("qwen2.5-7b-*.yaml")
    if p.stem in ("qwen2.5-7b-dpo", "qwen2.5-7b-sft", "qwen2.5-7b-sft-lora")
)


def _flatten(raw: dict) -> dict:
    out = {}
    for k, v in raw.items():
        if k == "data" and isinstance(v, dict):
            out.update({f"data.{dk}": dv for dk, dv in v.items()})
        else:
            out[k] = v
    return out


def _doc_tables() -> dict[str, dict[str, str]]:
    """{recipe: {key: recipe cell}} from the '### Recipe `NAME`' tables of docs/training.md."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in (ROOT / "docs" / "training.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^### Recipe `([^`]+)`", line)
        if m:
            current = tables.setdefault(m.group(1), {})
            continue
        if line.startswith("#"):
            current = None
        if current is None or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        current[cells[0].strip("`")] = cells[1]
    return tables


def test_every_paper_recipe_has_a_table():
    assert PAPER_RECIPES == ["qwen2.5-7b-dpo", "qwen2.5-7b-sft", "qwen2.5-7b-sft-lora"]
    assert sorted(_doc_tables()) == PAPER_RECIPES


@pytest.mark.parametrize("name", PAPER_RECIPES)
def test_recipe_matches_documented_table(name):
    recipe = _flatten(read_yaml(ROOT / "train" / f"{name}.yaml"))
    table = _doc_tables()[name]
    in_recipe = {k: v for k, v in table.items() if v != "—"}
    assert sorted(in_recipe) == sorted(recipe), "keys differ between the recipe and its docs table"
    for key, cell in in_recipe.items():
        assert yaml_load(cell.strip("`")) == recipe[key], (name, key, cell, recipe[key])
    for key, cell in table.items():
        if cell == "—":
            assert key not in recipe, f"{key} is documented as left out of {name}"


def test_published_settings():
    """The values the issue names, read from the recipes themselves."""
    dpo = _flatten(read_yaml(ROOT / "train" / "qwen2.5-7b-dpo.yaml"))
    assert {
        k: dpo[k]
        for k in (
            "beta",
            "loss_type",
            "learning_rate",
            "lr_scheduler_type",
            "warmup_steps",
            "max_steps",
            "per_device_train_batch_size",
            "effective_batch_size",
            "max_prompt_length",
            "max_length",
            "save_steps",
            "save_total_limit",
            "dtype",
            "bf16",
        )
    } == {
        "beta": 0.1,
        "loss_type": "sigmoid",
        "learning_rate": 5e-7,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 20,
        "max_steps": 50,
        "per_device_train_batch_size": 1,
        "effective_batch_size": 16,
        "max_prompt_length": 600,
        "max_length": 20000,
        "save_steps": 7,
        "save_total_limit": 7,
        "dtype": "float32",
        "bf16": True,
    }
    sft = _flatten(read_yaml(ROOT / "train" / "qwen2.5-7b-sft.yaml"))
    assert {
        k: sft[k]
        for k in (
            "learning_rate",
            "lr_scheduler_type",
            "warmup_steps",
            "weight_decay",
            "adam_beta1",
            "adam_beta2",
            "num_train_epochs",
            "effective_batch_size",
            "max_length",
            "completion_only_loss",
            "save_strategy",
            "dtype",
            "bf16",
        )
    } == {
        "learning_rate": 1e-5,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.05,
        "weight_decay": 1e-4,
        "adam_beta1": 0.9,
        "adam_beta2": 0.95,
        "num_train_epochs": 5,
        "effective_batch_size": 16,
        "max_length": 20000,
        "completion_only_loss": True,
        "save_strategy": "epoch",
        "dtype": "float32",
        "bf16": True,
    }
    lora = _flatten(read_yaml(ROOT / "train" / "qwen2.5-7b-sft-lora.yaml"))
    assert (lora["use_peft"], lora["num_train_epochs"], lora["save_strategy"], lora["save_total_limit"]) == (
        True,
        6,
        "epoch",
        None,
    )
    zero3 = read_yaml(ROOT / "train" / "accelerate" / "zero3-offload.yaml")
    ds = zero3["deepspeed_config"]
    assert (
        ds["zero_stage"],
        ds["offload_optimizer_device"],
        ds["offload_param_device"],
        zero3["mixed_precision"],
        zero3["num_processes"],
    ) == (3, "cpu", "cpu", "bf16", 4)


@pytest.mark.parametrize("world,accum", [(1, 16), (2, 8), (4, 4), (8, 2), (16, 1), (3, None), (32, None)])
def test_effective_batch_derives_accumulation(monkeypatch, world, accum):
    from r1k_plugins.training.run import resolve_batch

    monkeypatch.setenv("WORLD_SIZE", str(world))
    rec = resolve_keys(load_recipe("dpo", "qwen2.5-7b-dpo", []))
    if accum is None:
        with pytest.raises(
            R1KError,
            match=rf"effective_batch_size 16 is not divisible by "
            rf"per_device_train_batch_size 1 x {world} process",
        ):
            resolve_batch(rec)
    else:
        resolve_batch(rec)
        assert rec.trainer_args["gradient_accumulation_steps"] == accum
    # an explicit accumulation that misses the batch is refused, one that meets it is kept
    rec = resolve_keys(load_recipe("dpo", "qwen2.5-7b-dpo", [("gradient_accumulation_steps", 4)]))
    if world == 4:
        resolve_batch(rec)
        assert rec.trainer_args["gradient_accumulation_steps"] == 4
    else:
        with pytest.raises(R1KError, match="gradient_accumulation_steps 4"):
            resolve_batch(rec)


# ---- the loader on TRL's parser: same values as the hand-written loader, same errors --------------------
RECORDED = json.loads((ROOT / "tests" / "fixtures" / "recipe_values.json").read_text(encoding="utf-8"))


def test_every_recipe_has_recorded_values():
    assert {p.stem for p in (ROOT / "train").glob("*.yaml")} <= set(RECORDED)


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_recipe_loads_to_the_recorded_values(case):
    """tests/fixtures/recipe_values.json was written by tests/make_recipe_values.py with the hand-written
    loader that came before TrlParser; every recipe (and each --set scenario) must load to the same
    values, types included (1.0 is not 1)."""
    from make_recipe_values import resolved

    want = RECORDED[case]
    got = resolved(want["stage"], want["recipe"], want["set"])
    assert json.dumps(got, sort_keys=True) == json.dumps(want["values"], sort_keys=True)


def test_r1k_keys_parse_with_trl_configs():
    """R1KConfig, SFTConfig and ModelConfig are one TrlParser: data.* reach it by their --data.KEY aliases."""
    from trl import TrlParser

    from r1k_plugins.training.recipe import R1KConfig, recipe_parser

    parser = recipe_parser("sft")
    assert isinstance(parser, TrlParser)
    ns = parser.parse_args(
        [
            "--data.mode",
            "reverse",
            "--data.seed",
            "3",
            "--learning_rate",
            "1e-4",
            "--lora_r",
            "8",
            "--effective_batch_size",
            "16",
        ]
    )
    assert (ns.data_mode, ns.data_mix_seed, ns.learning_rate, ns.lora_r, ns.effective_batch_size) == (
        "reverse",
        3,
        1e-4,
        8,
        16,
    )
    r1k = R1KConfig(**{k: getattr(ns, k) for k in R1KConfig.__dataclass_fields__})
    assert r1k.data()["mode"] == "reverse" and r1k.data()["seed"] == 3
    with pytest.raises(R1KError, match="data.mode"):
        parser.parse_args(["--data.mode", "sideways"])


def test_bad_values_fail_before_trl_is_imported():
    """Ranges, r1k keys, model and output folder are checked by load_recipe without importing TRL
    (a bad value fails in well under a second); resolve_keys then checks every key on TRL's parser."""
    import subprocess
    import sys

    code = (
        "import sys; from r1k_plugins.training.recipe import load_recipe, parse_set\n"
        "from r1k_plugins.core.errors import R1KError\n"
        "for kv in ('learning_rate=fast', 'max_steps=0', 'data.ratio=2', 'seed=-1', 'effective_batch_size=0',\n"
        "           'bf16=no', 'use_peft=1', 'data.mode=up'):\n"
        "    try:\n        load_recipe('sft', 'tiny-sft', parse_set([kv]))\n        raise SystemExit(kv)\n"
        "    except R1KError:\n        pass\n"
        "rec = load_recipe('sft', 'tiny-sft', parse_set(['data.mode=reverse', 'output_dir=o', 'seed=3']))\n"
        "assert (rec.data['mode'], rec.output_dir, rec.seed) == ('reverse', 'o', 3)\n"
        "assert 'trl' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]


def test_dedicated_flags_beat_the_recipe():
    """Precedence recipe < --set < the dedicated flags: r1k-train's --use-peft / --model / --mode set the
    loaded recipe before resolve_keys, which must not put the recipe's value back."""
    rec = load_recipe("sft", "smollm2-sft-full", [])  # use_peft: false
    rec.model_args["use_peft"] = True  # what --use-peft does (training/cli.py)
    rec.model, rec.data["mode"] = "m", "reverse"  # --model, --mode
    resolve_keys(rec)
    assert (rec.model_args["use_peft"], rec.model, rec.data["mode"]) == (True, "m", "reverse")
    assert resolve_keys(load_recipe("sft", "smollm2-sft-full", [])).model_args["use_peft"] is False


@pytest.mark.parametrize(
    "kv,needles",
    [
        ("data.ratio=abc", ("--set: key 'data.ratio' expects a number in [0, 1]", "got 'abc'")),
        ("data.mode=3", ("key 'data.mode' expects one of forward, reverse, mixed",)),
        ("data.direction_tags=yes", ("key 'data.direction_tags' expects a boolean",)),
        ("learning_rate=fast", ("key 'learning_rate' expects a number > 0", "'fast'")),
        ("learning_rate=", ("key 'learning_rate' needs a value",)),
        ("learning_rate=nan", ("learning_rate", "finite")),
        ("max_steps=2.5", ("key 'max_steps' expects an integer from 1 to",)),
        ("max_steps=0", ("key 'max_steps' expects an integer from 1 to",)),
        ("per_device_train_batch_size=[8]", ("key 'per_device_train_batch_size' expects an integer",)),
        ("warmup_ratio=2", ("key 'warmup_ratio' expects a number in [0, 1]",)),
        ("bf16=no", ("key 'bf16' expects a boolean (true or false), got 'no'",)),
        ("seed=1e400", ("key 'seed'", "finite")),
        ("effective_batch_size=0", ("key 'effective_batch_size' expects a positive integer or null",)),
        ("output_dir=5", ("key 'output_dir' expects text",)),
        ("learning_rat=1e-4", ("unknown --set key 'learning_rat' (did you mean learning_rate?)",)),
        ("data.ratoi=0.5", ("unknown data key 'ratoi' (did you mean ratio?)",)),
    ],
)
def test_bad_values_name_the_key_and_the_type(kv, needles):
    from r1k_plugins.training.recipe import parse_set

    with pytest.raises(R1KError) as e:
        resolve_keys(load_recipe("sft", "tiny-sft", parse_set([kv])))
    msg = str(e.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, msg


# ---- fixtures for the runs -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    p = tmp_path_factory.mktemp("recipes") / "train.jsonl"
    train, _ = generate(n=24, seed=5, test_frac=0.1)
    write_records(p, train)
    return p


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return tiny_model


def _weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _moved(before: dict, after: dict) -> float:
    """Share of weight elements that changed."""
    changed = total = 0
    for k, a in before.items():
        b = after[k].to(a.dtype)
        changed += int((a != b).sum())
        total += a.numel()
    return changed / total


# ---- precision -------------------------------------------------------------------------------------
def _train_with_recipe_precision(tiny: Path, data: Path, dtype: str | None):
    """Two DPO steps at lr 5e-7 with the recipe's precision settings, on the CPU: weights loaded as the
    recipe loads them (or as ``dtype``), bf16 autocast on (the recipe's bf16: true), no warm-up so that
    both steps run at 5e-7. Returns the share of policy weights that moved."""
    import torch
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from r1k_plugins.training.data import load_data
    from r1k_plugins.training.run import load_model, load_tokenizer, model_init_kwargs

    rec = resolve_keys(load_recipe("dpo", "qwen2.5-7b-dpo", [("dtype", dtype)] if dtype else []))
    ta = dict(rec.trainer_args)
    assert ta["bf16"] is True and ta["learning_rate"] == 5e-7
    ta.update(
        use_cpu=True,
        max_steps=2,
        warmup_steps=0,
        gradient_accumulation_steps=1,
        per_device_train_batch_size=4,
        max_length=256,
        activation_checkpointing=False,
        gradient_checkpointing=False,
        save_strategy="no",
        logging_steps=1,
        report_to="none",
        dataloader_pin_memory=False,
    )
    cfg = DPOConfig(output_dir=str(tiny.parent / f"prec-{dtype}"), **ta)
    mik = model_init_kwargs(rec, cfg)
    assert mik["dtype"] == (dtype or "float32")
    model = load_model(str(tiny), mik)
    ref = load_model(str(tiny), mik)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    rows = load_data(str(data), "dpo", dict(rec.data, seed=0)).rows
    trainer = DPOTrainer(
        model=model,
        ref_model=ref,
        args=cfg,
        train_dataset=Dataset.from_list(rows),
        processing_class=load_tokenizer(str(tiny), cfg),
    )
    assert trainer.accelerator.mixed_precision == "bf16"
    trainer.train()
    assert trainer.state.global_step == 2
    after = {k: v.detach() for k, v in model.state_dict().items()}
    assert all(v.dtype == (torch.float32 if dtype is None else torch.bfloat16) for v in after.values())
    return _moved(before, after)


def test_recipe_precision_moves_weights_at_5e7(tiny, data):
    """fp32 master weights + bf16 compute (the recipe) move nearly every weight at lr 5e-7; the same
    run with the weights loaded in bf16 and a plain optimizer moves almost none."""
    fp32_master = _train_with_recipe_precision(tiny, data, None)
    bf16_weights = _train_with_recipe_precision(tiny, data, "bfloat16")
    assert fp32_master > 0.9, fp32_master
    assert bf16_weights < 0.02, bf16_weights


# ---- truncation ------------------------------------------------------------------------------------
def test_truncation_keeps_prompt_whole_and_cuts_completion_end(tiny):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from r1k_plugins.training.data import prompt_token_ids, truncate_prompts
    from r1k_plugins.training.run import load_model, load_tokenizer

    cfg = DPOConfig(output_dir=str(tiny.parent / "trunc"), max_length=64, use_cpu=True, report_to="none")
    tok = load_tokenizer(str(tiny), cfg)
    question = "Tom has 3 apples and buys 4 more. How many apples does Tom have now? " * 6
    long_trace = "Step 1: 3 + 4 = 7. " * 40
    row = {
        "prompt": [{"role": "user", "content": question}],
        "chosen": [{"role": "assistant", "content": "forward " + long_trace}],
        "rejected": [{"role": "assistant", "content": "reverse " + long_trace}],
    }

    # max_prompt_length: the question keeps its start, the prompt fits
    full = len(prompt_token_ids(tok, row["prompt"]))
    assert full > 40
    rows = [dict(row)]
    assert truncate_prompts(rows, tok, 40) == 1
    cut = rows[0]["prompt"][0]["content"]
    assert question.startswith(cut) and len(cut) < len(question)
    assert 30 < len(prompt_token_ids(tok, rows[0]["prompt"])) <= 40
    assert truncate_prompts(rows, tok, 40) == 0  # already fits: untouched

    # max_length (TRL keep_start): the whole prompt, then the completions cut from their end
    model = load_model(str(tiny), {"dtype": "float32"})
    trainer = DPOTrainer(
        model=model,
        ref_model=load_model(str(tiny), {"dtype": "float32"}),
        args=cfg,
        train_dataset=Dataset.from_list(rows),
        processing_class=tok,
    )
    ex = trainer.train_dataset[0]
    batch = trainer.data_collator([ex])
    n_prompt = len(ex["prompt_ids"])
    assert n_prompt == len(prompt_token_ids(tok, rows[0]["prompt"]))
    assert len(ex["chosen_ids"]) > 64
    for i, completion in enumerate((ex["chosen_ids"], ex["rejected_ids"])):
        ids = batch["input_ids"][i].tolist()
        assert len(ids) == 64
        assert ids[:n_prompt] == ex["prompt_ids"]  # the prompt, whole
        assert ids[n_prompt:] == completion[: 64 - n_prompt]  # the completion's start, end cut
        assert batch["completion_mask"][i].tolist() == [0] * n_prompt + [1] * (64 - n_prompt)


# ---- the paper recipes at toy size on the CPU -------------------------------------------------------
@pytest.mark.e2e
def test_paper_recipes_run_on_cpu_at_toy_size(tmp_path, tiny, data):
    sft = tmp_path / "sft"
    p = run(
        "r1k-train",
        "sft",
        "--config",
        "qwen2.5-7b-sft",
        "--model",
        tiny,
        "--data",
        data,
        "--output-dir",
        sft,
        "--set",
        "max_steps=2",
        check=True,
    )
    assert (
        "note: no GPU: training in fp32 without gradient checkpointing (recipe asked for bf16, "
        "activation_checkpointing)" in p.stderr
    )
    m = json.loads((sft / "r1k_run.json").read_text())
    assert (m["config"]["gradient_accumulation_steps"], m["effective_batch_size"], m["num_processes"]) == (16, 16, 1)
    assert (m["config"]["learning_rate"], m["config"]["adam_beta2"], m["config"]["bf16"]) == (1e-5, 0.95, False)
    assert m["final_metrics"]["global_step"] == 2

    dpo = tmp_path / "dpo"
    p = run(
        "r1k-train",
        "dpo",
        "--config",
        "qwen2.5-7b-dpo",
        "--model",
        sft,
        "--data",
        data,
        "--output-dir",
        dpo,
        "--set",
        "max_steps=2",
        "--set",
        "max_prompt_length=50",
        "--set",
        "attn_implementation=flash_attention_2",
        check=True,
    )
    assert "note: attn_implementation=flash_attention_2 needs CUDA and the flash-attn package; using sdpa" in p.stderr
    assert re.search(r"note: max_prompt_length 50: \d+ of \d+ prompt\(s\) cut to 50 tokens", p.stderr)
    m = json.loads((dpo / "r1k_run.json").read_text())
    assert (m["config"]["beta"], m["config"]["learning_rate"], m["config"]["gradient_accumulation_steps"]) == (
        0.1,
        5e-7,
        16,
    )
    assert m["record_counts"]["prompts_truncated"] > 0 and m["data_options"]["max_prompt_length"] == 50
    # fp32 weights (the CPU fallback keeps the recipe's fp32 masters): lr 5e-7 moved them
    assert _moved(_weights(sft), _weights(dpo)) > 0.5


@pytest.mark.e2e
def test_bf16_weights_with_plain_optimizer_warn(tmp_path, tiny, data):
    p = run(
        "r1k-train",
        "sft",
        "--config",
        "qwen2.5-7b-sft",
        "--model",
        tiny,
        "--data",
        data,
        "--output-dir",
        tmp_path / "o",
        "--set",
        "max_steps=1",
        "--set",
        "dtype=bfloat16",
        "--set",
        "effective_batch_size=1",
        check=True,
    )
    warn = [line for line in p.stderr.splitlines() if line.startswith("warning: dtype=bfloat16")]
    assert len(warn) == 1 and "use dtype: float32 with bf16: true" in warn[0], p.stderr


@pytest.mark.e2e
def test_launch_that_cannot_split_the_batch_is_one_line_exit_2(tmp_path, tiny, data):
    p = run(
        "r1k-train",
        "dpo",
        "--config",
        "qwen2.5-7b-dpo",
        "--model",
        tiny,
        "--data",
        data,
        "--output-dir",
        tmp_path / "o",
        env={"WORLD_SIZE": "3"},
    )
    assert p.returncode == 2
    assert_one_line_error(
        p,
        "effective_batch_size 16 is not divisible by per_device_train_batch_size 1 x 3 process(es)",
        "--num_processes in [1, 2, 4, 8, 16]",
    )
    assert not (tmp_path / "o").exists()
