"""``r1k-train`` (also ``r1k train`` and ``python -m r1k_plugins.training.cli``): tiny-model, sft, dpo.

Bad input (unknown recipe key, empty data for a mode, model folder without tokenizer, non-empty
output folder, missing files) -> one line on stderr, exit code 2, nothing deleted.
"""

from __future__ import annotations

import sys

import click

from r1k_plugins.cli import R1KGroup, run_cli
from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.runs import RUN_MANIFEST

_SET_HELP = (
    "Override a recipe key, KEY=VALUE, repeatable. Any TRL SFTConfig/DPOConfig (TrainingArguments) "
    "key, any TRL ModelConfig key (use_peft, lora_r, lora_alpha, lora_dropout, lora_target_modules, "
    "dtype, ...), model_name_or_path, or data.{path,mode,ratio,trace_format,direction_tags,seed}. "
    "VALUE is typed as a YAML scalar (1e-4, true, null, [q_proj,v_proj])."
)
_CONFIG_HELP = (
    "Recipe YAML: a path, or the name of a bundled recipe (tiny-sft, tiny-dpo, qwen2.5-7b-sft, "
    "qwen2.5-7b-dpo, qwen2.5-7b-sft-lora). Keys at the top level: model_name_or_path, data: {...}, "
    "TRL config keys, effective_batch_size (gradient accumulation derived from the process count), "
    "max_prompt_length."
)
_OUT_HELP = "Output folder (default: the recipe's output_dir). Must be empty unless --overwrite or --resume."


def _common(f):
    f = click.option(
        "--overwrite",
        is_flag=True,
        help="Train into a non-empty output folder; its old checkpoint-* folders, r1k_run.json "
        "and log_history.jsonl are replaced only once the new run has finished (other files "
        "are left alone; a failed run keeps the old one).",
    )(f)
    f = click.option(
        "--resume",
        is_flag=True,
        help="Continue from the last checkpoint-* folder in the output folder (same recipe; "
        "raise max_steps / num_train_epochs with --set to train further).",
    )(f)
    f = click.option(
        "--use-peft",
        "use_peft",
        is_flag=True,
        default=None,
        help="Train a LoRA adapter (lora_r, lora_alpha, lora_dropout, lora_target_modules via "
        "--set; target modules default to all-linear). The adapter is saved in "
        "OUTPUT/adapter and a merged full model in OUTPUT.",
    )(f)
    f = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)(f)
    f = click.option("--output-dir", "output_dir", type=str, default=None, help=_OUT_HELP)(f)
    return f


def _run(stage: str, config, model, data, mode, output_dir, sets, use_peft, resume, overwrite):
    from r1k_plugins.training.recipe import load_recipe, parse_set

    _quiet_warnings()
    rec = load_recipe(stage, config, parse_set(sets))
    if model:
        rec.model = model
    if mode:
        rec.data["mode"] = mode
    if use_peft:
        rec.model_args["use_peft"] = True
    from r1k_plugins.training.run import run

    manifest = run(
        rec,
        data_path=data,
        output_dir=output_dir,
        resume=resume,
        overwrite=overwrite,
        argv=["r1k-train", *sys.argv[1:]] if sys.argv else None,
    )
    if manifest is not None:  # None: not the main process
        loss = manifest.final_metrics.get("train_loss")
        click.echo(
            f"saved {manifest.output_dir} ({stage}, {manifest.final_step} steps, train_loss {loss:.4f}, {RUN_MANIFEST})"
            if isinstance(loss, float)
            else f"saved {manifest.output_dir} ({stage}, {RUN_MANIFEST})"
        )


@click.group(cls=R1KGroup, context_settings={"help_option_names": ["-h", "--help"]})
def train():
    """Train with TRL on r1k data: a tiny default model, SFT, DPO.

    \b
      r1k-train tiny-model --out tiny/
      r1k-train sft --config tiny-sft --model tiny/ --data train.jsonl --output-dir runs/sft
      r1k-train dpo --config tiny-dpo --model runs/sft --data train.jsonl --output-dir runs/dpo

    Each run folder holds the model + tokenizer, r1k_run.json (manifest, lineage) and
    log_history.jsonl. Multi-GPU: accelerate launch --config_file train/accelerate/zero3.yaml
    -m r1k_plugins.training.cli sft ... (see docs/training.md).
    """


@train.command("tiny-model", short_help="Write the tiny default model: random Llama, BPE tokenizer, chat template.")
@click.option("--out", "out", required=True, type=str, help="Folder to write the model + tokenizer into.")
@click.option(
    "--data",
    "data",
    type=str,
    default=None,
    help="r1k record file to train the tokenizer on (default: the embedded synth data, all splits).",
)
@click.option(
    "--vocab-size",
    type=click.IntRange(300, 65536),
    default=None,
    help="BPE vocabulary size cap (default 1536; the synth data yields ~600 tokens).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random initialisation.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty --out folder.")
def tiny_model(out, data, vocab_size, seed, overwrite):
    """Write the embedded default model: a tiny random-init Llama with a byte-level BPE tokenizer
    and a ChatML chat template with {% generation %} markers (seconds on a CPU).

    Loadable by lm-eval (--model hf --model_args pretrained=OUT), Inspect (hf/...) and
    AutoModelForCausalLM / AutoTokenizer.
    """
    from pathlib import Path

    p = Path(out).expanduser()
    if p.exists() and not p.is_dir():
        raise R1KError(f"--out {out}: is a file, expected a folder")
    if p.is_dir() and any(p.iterdir()) and not overwrite:
        raise R1KError(f"--out {out}: folder is not empty; pass --overwrite to write into it")
    if not p.parent.exists():
        raise R1KError(f"--out {out}: parent folder {p.parent} does not exist (mkdir -p {p.parent})")
    records = None
    if data:
        from r1k_plugins.core.record import read_records

        dp = Path(data).expanduser()
        if not dp.is_file():
            raise R1KError(f"--data {data}: file not found (check the path)")
        records = read_records(dp)
    from r1k_plugins.core.io import building_folder
    from r1k_plugins.training.tiny import DEFAULT_VOCAB, build_tiny_model

    # build beside the target, then move in: no half-written model folder on failure
    with building_folder(p, existing="merge") as tmp:
        try:
            info = build_tiny_model(tmp, records, vocab_size=vocab_size or DEFAULT_VOCAB, seed=seed)
        except Exception as e:  # noqa: BLE001 - OSError, or safetensors' own error for the same full disk
            msg = " ".join(str(e).split())
            if not isinstance(e, OSError) and "os error" not in msg and "I/O error" not in msg:
                raise
            from r1k_plugins.core.errors import R1KOSError

            raise R1KOSError(
                f"--out {out}: cannot write the model ({msg[:200]}); free some disk space and rerun; "
                "nothing was replaced"
            ) from None
    a = info["arch"]
    click.echo(
        f"saved {p} (llama, {info['parameters']:,} parameters, {a['num_hidden_layers']} layers, "
        f"hidden {a['hidden_size']}, vocab {info['vocab_size']}; tokenizer trained on "
        f"{info['records']} records)"
    )


@train.command("sft", short_help="Supervised fine-tuning (TRL SFTTrainer) from a recipe.")
@click.option("--config", "config", required=True, type=str, help=_CONFIG_HELP)
@click.option(
    "--model",
    "model",
    type=str,
    default=None,
    help="Model folder or Hub id to fine-tune (default: the recipe's model_name_or_path).",
)
@click.option(
    "--data",
    "data",
    type=str,
    default=None,
    help="r1k record file (the mix is built on the fly) or prebuilt SFT JSONL (prompt+completion, "
    "or messages). Default: the recipe's data.path.",
)
@click.option(
    "--mode",
    type=click.Choice(["forward", "reverse", "mixed"]),
    default=None,
    help="Which records to train on (default: the recipe's data.mode, else mixed). Prebuilt rows are "
    "filtered by their direction field.",
)
@_common
def sft(config, model, data, mode, output_dir, sets, use_peft, resume, overwrite):
    """Supervised fine-tuning with TRL's SFTTrainer (loss on the completion only by default)."""
    _run("sft", config, model, data, mode, output_dir, sets, use_peft, resume, overwrite)


@train.command("dpo", short_help="DPO (TRL DPOTrainer); reference = the starting policy.")
@click.option("--config", "config", required=True, type=str, help=_CONFIG_HELP)
@click.option(
    "--model",
    "model",
    type=str,
    default=None,
    help="Starting policy (usually an SFT run folder); also loaded, frozen, as the reference model. "
    "Default: the recipe's model_name_or_path.",
)
@click.option(
    "--data",
    "data",
    type=str,
    default=None,
    help="r1k record file (forward/reverse preference pairs built on the fly: chosen = the trace in the "
    "question's own direction) or prebuilt DPO JSONL (prompt+chosen+rejected).",
)
@_common
def dpo(config, model, data, output_dir, sets, use_peft, resume, overwrite):
    """Direct preference optimisation with TRL's DPOTrainer (reference = the starting policy).

    Set precompute_ref_log_probs=true to compute the reference log-probs once before training
    and free the reference model.
    """
    _run("dpo", config, model, data, None, output_dir, sets, use_peft, resume, overwrite)


def _quiet_warnings() -> None:
    """Hide the transformers-6 rename warnings TRL triggers on every step (gradient -> activation checkpointing)."""
    import warnings

    warnings.filterwarnings("ignore", message=r".*deprecated and will be removed in v6.*", category=FutureWarning)


def main(argv=None):
    return run_cli(train.main, args=argv, prog_name="r1k-train")


if __name__ == "__main__":
    main()
