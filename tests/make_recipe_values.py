"""Dump the fully resolved values of every recipe in train/ (and a few --set scenarios) to
tests/fixtures/recipe_values.json: the values r1k-train hands to TRL (trainer config, model config,
r1k keys). Written once with the pre-TrlParser loader; tests/test_recipes.py compares the current
loader against it, so every recipe keeps loading to the same values.

    python tests/make_recipe_values.py            # rewrite the fixture (only on a deliberate change)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "recipe_values.json"

# (stage, recipe, --set items): the --set front end's typing, aliases and precedence
SCENARIOS = [
    (
        "sft",
        "tiny-sft",
        [
            "learning_rate=1e-5",
            "max_steps=7",
            "bf16=false",
            "lora_target_modules=[q_proj,v_proj]",
            "warmup_ratio=0.1",
            "data.mode=reverse",
            "report_to=tensorboard",
        ],
    ),
    (
        "sft",
        "tiny-sft",
        [
            "learning_rate=1",
            "max_steps=7.0",
            "save_total_limit=null",
            "data.seed=3",
            "data.ratio=0.25",
            "data.direction_tags=true",
            "data.trace_format=think-tags",
            "torch_dtype=bfloat16",
            "gradient_checkpointing=true",
            "use_peft=true",
            "lora_r=8",
            "max_prompt_length=100",
            "effective_batch_size=32",
            "seed=7",
            "output_dir=runs/x",
            "model_name_or_path=some/model",
            "lr_scheduler_type=linear",
            "save_strategy=no",
        ],
    ),
    ("dpo", "qwen2.5-7b-dpo", ["gradient_accumulation_steps=4"]),
    (
        "dpo",
        "tiny-dpo",
        ["beta=0.5", "precompute_ref_log_probs=true", "effective_batch_size=null", "data.path=x.jsonl"],
    ),
]


def resolved(stage: str, name: str, sets: list[str]) -> dict:
    """The loader's result as plain JSON: what run() reads from the recipe."""
    from r1k_plugins.training.recipe import load_recipe, parse_set

    try:
        from r1k_plugins.training.recipe import resolve_keys
    except ImportError:  # the TrlParser loader resolves everything in load_recipe

        def resolve_keys(rec):
            return rec

    rec = resolve_keys(load_recipe(stage, name, parse_set(sets)))
    return {
        "stage": rec.stage,
        "model": rec.model,
        "data": dict(rec.data),
        "trainer_args": {k: rec.trainer_args[k] for k in sorted(rec.trainer_args)},
        "model_args": {k: rec.model_args[k] for k in sorted(rec.model_args)},
        "explicit": sorted(rec.explicit),
        "from_set": sorted(rec.from_set),
        "output_dir": rec.output_dir,
        "seed": rec.seed,
        "max_prompt_length": rec.max_prompt_length,
        "effective_batch_size": rec.effective_batch_size,
    }


def cases() -> list[tuple[str, str, str, list[str]]]:
    """(case id, stage, recipe, --set items): every recipe in train/ as it is, then SCENARIOS."""
    import yaml

    out = []
    for p in sorted((ROOT / "train").glob("*.yaml")):
        stage = yaml.safe_load(p.read_text(encoding="utf-8"))["stage"]
        out.append((p.stem, stage, p.stem, []))
    for i, (stage, name, sets) in enumerate(SCENARIOS):
        out.append((f"{name}+set{i}", stage, name, sets))
    return out


def main() -> None:
    sys.path.insert(0, str(ROOT))
    doc = {
        cid: {"stage": stage, "recipe": name, "set": sets, "values": resolved(stage, name, sets)}
        for cid, stage, name, sets in cases()
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(doc)} cases)")


if __name__ == "__main__":
    main()
