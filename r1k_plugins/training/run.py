"""SFT and DPO runs with TRL: checks, model loading, training, saving, the r1k_run.json manifest.

Every bad input is checked before anything heavy is loaded and before the output folder is touched.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import move_into, note, package_versions, write_jsonl
from r1k_plugins.core.runs import CHECKPOINT_RE, RUN_MANIFEST, RunManifest, list_checkpoints, new_manifest
from r1k_plugins.training.recipe import Recipe

if TYPE_CHECKING:
    from trl import DPOTrainer, SFTTrainer

LOG_HISTORY = "log_history.jsonl"
ADAPTER_DIR = "adapter"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "spiece.model")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


# ---- checks (no heavy imports) -------------------------------------------------------------------
def check_model_path(spec: str | None, flag: str = "--model") -> str:
    """A local model folder (resolved) or a Hub id; fail early on a bad folder."""
    if not spec:
        raise R1KError(f"no model given: pass {flag} or set model_name_or_path in the recipe")
    p = Path(spec).expanduser()
    if p.exists():
        if not p.is_dir():
            raise R1KError(f"{flag} {spec}: is a file, expected a model folder (config.json + weights + tokenizer)")
        if not (p / "config.json").is_file():
            hint = (
                " (a LoRA adapter folder? pass the run's output folder, which holds the merged model)"
                if (p / "adapter_config.json").is_file()
                else ""
            )
            raise R1KError(f"{flag} {spec}: not a model folder, no config.json{hint}")
        if not any((p / f).is_file() for f in TOKENIZER_FILES):
            raise R1KError(
                f"{flag} {spec}: model folder has no tokenizer (tokenizer.json / tokenizer_config.json); "
                "save one there with tokenizer.save_pretrained(...)"
            )
        return str(p.resolve())
    looks_local = (
        spec.startswith((".", "/", "~")) or os.sep in spec.strip("/").replace("/", "", 1) or not _HUB_ID.match(spec)
    )
    if looks_local:
        raise R1KError(f"{flag} {spec}: model folder not found (check the path)")
    return spec


def find_checkpoint(out: Path) -> Path | None:
    ckpts = list_checkpoints(out)
    return ckpts[-1][1] if ckpts else None


def check_output_dir(out: str | None, *, resume: bool, overwrite: bool) -> tuple[Path, Path | None]:
    if not out:
        raise R1KError("no output folder: pass --output-dir or set output_dir in the recipe")
    p = Path(out).expanduser()
    if resume and overwrite:
        raise R1KError("--resume and --overwrite exclude each other (resume keeps the folder, overwrite replaces it)")
    if p.exists() and not p.is_dir():
        raise R1KError(f"--output-dir {out}: is a file, expected a folder")
    if resume:
        # an interrupted fresh run left its checkpoints in the hidden staging folder: resume there
        ckpt = find_checkpoint(p) or find_checkpoint(staging_dir(p))
        if ckpt is None:
            raise R1KError(
                f"--resume: no checkpoint-* folder in {out} to resume from (checkpoints are written every "
                "save_steps; run without --resume to start fresh)"
            )
        return p, ckpt
    if p.is_dir() and any(p.iterdir()) and not overwrite:
        raise R1KError(
            f"--output-dir {out}: folder is not empty; pass --overwrite to train into it anyway "
            "(its old checkpoints and manifest are removed) or --resume to continue its last checkpoint"
        )
    if not p.parent.exists():
        raise R1KError(f"--output-dir {out}: parent folder {p.parent} does not exist (mkdir -p {p.parent})")
    return p, None


def clear_previous_run(out: Path) -> None:
    """--overwrite: remove what a previous r1k-train run left (manifest first), never unrelated files."""
    for name in (RUN_MANIFEST, LOG_HISTORY):
        (out / name).unlink(missing_ok=True)
    for c in out.iterdir() if out.is_dir() else ():
        if c.is_dir() and (CHECKPOINT_RE.match(c.name) or c.name in (ADAPTER_DIR, "runs")):
            shutil.rmtree(c)
    for name in ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"):
        (out / name).unlink(missing_ok=True)


def staging_dir(out: Path) -> Path:
    """The hidden sibling a run trains into before it replaces ``out`` (same name on every rank)."""
    return out.parent / f".{out.name}.r1k-partial"


def promote(work: Path, out: Path, *, overwrite: bool) -> None:
    """Move a finished run from ``work`` into ``out``: the previous run's files go only now, and the
    manifest moves last (a folder without r1k_run.json is an unfinished run)."""
    try:
        if overwrite:
            clear_previous_run(out)
        move_into(work, out, last=RUN_MANIFEST)
    except OSError as e:
        from r1k_plugins.core.io import os_error

        raise os_error(out, e, f"cannot move the finished run in from {work}") from None


# ---- config --------------------------------------------------------------------------------------
def _accelerator() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        return "xpu"
    return "cpu"


HALF_DTYPES = ("bfloat16", "float16", "bf16", "fp16", "half")


def _uses_deepspeed(rec: Recipe) -> bool:
    return bool(rec.trainer_args.get("deepspeed")) or os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"


def precision_check(rec: Recipe) -> None:
    """Warn (one line) when the weights would be trained in half precision.

    A model loaded in bf16 and stepped by a plain optimizer keeps bf16 weights: an update smaller
    than about 1/256 of a weight rounds to nothing (at lr 5e-7, nearly every update). DeepSpeed
    (bf16 enabled) keeps an fp32 master copy, and PEFT keeps its adapters in fp32, so those are fine.
    """
    dtype = str(rec.model_args.get("dtype") or "")
    if dtype not in HALF_DTYPES or rec.model_args.get("use_peft") or _uses_deepspeed(rec):
        return
    lr = rec.trainer_args.get("learning_rate")
    print(
        f"warning: dtype={dtype} loads half-precision weights that a plain optimizer updates in place, so an "
        f"update below ~1/256 of a weight is lost (learning_rate {lr if lr is not None else 'default'}); "
        "use dtype: float32 with bf16: true (bf16 compute, fp32 master weights) or DeepSpeed ZeRO",
        file=sys.stderr,
        flush=True,
    )


def resolve_batch(rec: Recipe) -> None:
    """``effective_batch_size``: gradient accumulation = batch / (per-device batch x processes).

    The process count is the launch's (``WORLD_SIZE``, set by accelerate launch / torchrun). A launch
    that cannot reach the batch, or an explicit accumulation that misses it, is refused.
    """
    eff = rec.effective_batch_size
    if eff is None:
        return
    from r1k_plugins.training.recipe import trainer_fields

    flds = trainer_fields(rec.stage)
    ta = rec.trainer_args
    world = max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))
    per = int(ta.get("per_device_train_batch_size", flds["per_device_train_batch_size"].default))
    # an accumulation given at the same level as the batch (or above: --set over the recipe) is checked
    pinned = "gradient_accumulation_steps" in rec.explicit and (
        "gradient_accumulation_steps" in rec.from_set or "effective_batch_size" not in rec.from_set
    )
    if pinned:
        accum = int(ta["gradient_accumulation_steps"])
        if per * accum * world != eff:
            raise R1KError(
                f"effective_batch_size {eff}: per_device_train_batch_size {per} x "
                f"gradient_accumulation_steps {accum} x {world} process(es) = {per * accum * world}; "
                "leave gradient_accumulation_steps unset (it is derived) or set effective_batch_size=null"
            )
        return
    if eff % (per * world):
        ok = [n for n in range(1, eff // per + 1) if (eff // per) % n == 0] if eff % per == 0 else []
        raise R1KError(
            f"effective_batch_size {eff} is not divisible by per_device_train_batch_size {per} x "
            f"{world} process(es); launch with --num_processes in {ok or 'none'} "
            "or --set effective_batch_size=N"
        )
    ta["gradient_accumulation_steps"] = eff // (per * world)


def device_policy(rec: Recipe) -> str:
    """CPU: fp32, no gradient checkpointing. GPU: bf16 (fp16 where bf16 is unsupported) unless set."""
    ta, ma = rec.trainer_args, rec.model_args
    dev = "cpu" if ta.get("use_cpu") else _accelerator()
    if ma.get("attn_implementation") == "flash_attention_2":
        import importlib.util

        if dev != "cuda" or importlib.util.find_spec("flash_attn") is None:
            note(
                f"attn_implementation=flash_attention_2 needs CUDA and the flash-attn package; using sdpa "
                f"({'no GPU' if dev != 'cuda' else 'flash-attn not installed'})"
            )
            ma["attn_implementation"] = "sdpa"
    if dev == "cpu":
        changed = [k for k in ("bf16", "fp16", "gradient_checkpointing", "activation_checkpointing") if ta.get(k)]
        # use_cpu: a multi-process launch on CPUs runs as MULTI_CPU (gloo), not as N separate runs
        ta.update(bf16=False, fp16=False, activation_checkpointing=False, gradient_checkpointing=False, use_cpu=True)
        ta.setdefault("dataloader_pin_memory", False)
        if ma.get("dtype") not in (None, "float32", "auto"):
            changed.append(f"dtype={ma['dtype']}")
            ma["dtype"] = "float32"
        if changed:
            note(f"no GPU: training in fp32 without gradient checkpointing (recipe asked for {', '.join(changed)})")
    elif dev == "cuda":
        import torch

        if not ta.get("fp16") and ta.get("bf16") is not False:
            if torch.cuda.is_bf16_supported():
                ta["bf16"] = True
            else:
                note("GPU without bf16 support: training with fp16 mixed precision instead")
                ta.update(bf16=False, fp16=True)
    return dev


def build_config(rec: Recipe, output_dir: Path):
    from r1k_plugins.training.recipe import config_class

    cls = config_class(rec.stage)
    kw = dict(rec.trainer_args)
    kw["output_dir"] = str(output_dir)
    kw.setdefault("report_to", "none")
    if "activation_checkpointing" in kw and "gradient_checkpointing" in kw:
        kw["gradient_checkpointing"] = kw["activation_checkpointing"]
    try:
        cfg = cls(**kw)
    except (ValueError, TypeError, ImportError, RuntimeError) as e:
        msg = " ".join(str(e).split())
        raise R1KError(f"invalid {cls.__name__} settings: {msg[:400]}") from None
    check_report_to(cfg.report_to)
    return cfg


def check_report_to(report_to) -> None:
    """report_to passes through to transformers; fail early when its logger is not installed."""
    from transformers.integrations.integration_utils import (
        INTEGRATION_TO_CALLBACK,
        get_available_reporting_integrations,
    )

    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    available = set(get_available_reporting_integrations())
    for name in names:
        if name in ("none", "all"):
            continue
        if name not in INTEGRATION_TO_CALLBACK:
            raise R1KError(
                f"report_to {name!r} is not a known logger; use none, {', '.join(sorted(INTEGRATION_TO_CALLBACK))}"
            )
        if name not in available:
            pkg = {"comet_ml": "comet-ml"}.get(name, name)
            raise R1KError(f"report_to {name}: the {name} package is not installed (pip install {pkg})")


def model_init_kwargs(rec: Recipe, cfg) -> dict:
    ma = rec.model_args
    kw = dict(cfg.model_init_kwargs or {})
    kw.setdefault("dtype", ma.get("dtype") or "float32")
    if ma.get("attn_implementation"):
        kw.setdefault("attn_implementation", ma["attn_implementation"])
    if ma.get("model_revision") not in (None, "main"):
        kw.setdefault("revision", ma["model_revision"])
    kw.setdefault("trust_remote_code", cfg.trust_remote_code)
    if ma.get("load_in_4bit") or ma.get("load_in_8bit"):
        import torch
        from accelerate import PartialState
        from trl import ModelConfig, get_quantization_config

        mc = ModelConfig(**{k: v for k, v in ma.items()})
        kw["quantization_config"] = get_quantization_config(mc)
        # what TRL's get_kbit_device_map (gone from TRL 1.x) gave: the whole model on this process's GPU
        kw["device_map"] = {"": PartialState().local_process_index} if torch.cuda.is_available() else None
    return kw


def peft_config(rec: Recipe):
    ma = rec.model_args
    if not ma.get("use_peft"):
        return None
    from trl import ModelConfig, get_peft_config

    mc = ModelConfig(**{k: v for k, v in ma.items()})
    if mc.lora_target_modules is None:
        # TRL types the field list[str], yet documents `str | list[str]` and hands it to LoraConfig as is
        mc.lora_target_modules = "all-linear"  # type: ignore[assignment]
    return get_peft_config(mc)


def load_tokenizer(path: str, cfg, revision: str | None = None):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(
            path, trust_remote_code=cfg.trust_remote_code, **({"revision": revision} if revision else {})
        )
    except Exception as e:  # noqa: BLE001 - any load failure is a bad --model for the user
        msg = " ".join(str(e).split())
        raise R1KError(f"--model {path}: cannot load its tokenizer ({type(e).__name__}: {msg[:300]})") from None
    if isinstance(tok, bool) or not hasattr(tok, "apply_chat_template"):
        raise R1KError(f"--model {path}: no usable tokenizer")
    return tok


def load_model(path: str, init_kwargs: dict):
    from trl.trainer.utils import create_model_from_path

    try:
        return create_model_from_path(path, **init_kwargs)
    except Exception as e:  # noqa: BLE001
        msg = " ".join(str(e).split())
        raise R1KError(f"--model {path}: cannot load the model ({type(e).__name__}: {msg[:300]})") from None


# ---- outputs -------------------------------------------------------------------------------------
def json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (set, frozenset)):
        return sorted((json_safe(v) for v in obj), key=str)
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if hasattr(obj, "item") and callable(obj.item):
        try:
            return json_safe(obj.item())
        except (TypeError, ValueError):
            pass
    if hasattr(obj, "to_dict"):
        try:
            return json_safe(obj.to_dict())
        except Exception:  # noqa: BLE001
            pass
    return str(obj)


def versions() -> dict:
    """The package versions a run manifest records."""
    return package_versions(
        "r1k-plugins", "trl", "transformers", "torch", "peft", "accelerate", "datasets", python=True
    )


def read_parent(model_dir: str) -> RunManifest | None:
    """The starting model's own run manifest (an SFT run for DPO), or None (a note when unreadable)."""
    p = Path(model_dir) / RUN_MANIFEST
    if not p.is_file():
        return None
    try:
        return RunManifest.read(p)
    except R1KError as e:
        note(f"{e}; recording parent as null")
        return None


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def merge_lora(base_path: str, adapter_dir: Path, out: Path, init_kwargs: dict, tokenizer) -> None:
    """Reload the base on the CPU, apply the saved adapter, merge, save a full model into ``out``."""
    from peft import PeftModel
    from trl.trainer.utils import create_model_from_path

    kw = {k: v for k, v in init_kwargs.items() if k not in ("quantization_config", "device_map")}
    kw["dtype"] = "auto"
    kw["device_map"] = None
    base = create_model_from_path(base_path, **kw)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)


# ---- the run -------------------------------------------------------------------------------------
def run(
    rec: Recipe,
    *,
    data_path: str | None,
    output_dir: str | None,
    resume: bool,
    overwrite: bool,
    argv: list[str] | None = None,
) -> RunManifest | None:
    """Train one run; returns its manifest (None on the non-main processes of a multi-process run)."""
    t0 = time.time()
    stage = rec.stage
    # 1. cheap checks: model folder, output folder, data
    model_spec = check_model_path(rec.model)
    out, ckpt = check_output_dir(output_dir or rec.output_dir, resume=resume, overwrite=overwrite)
    data_path = data_path or rec.data.get("path")
    if not data_path:
        raise R1KError(
            "no training data: pass --data FILE or set data.path in the recipe (r1k records, or SFT/DPO JSONL)"
        )
    from r1k_plugins.training.data import load_data

    opts = dict(rec.data)
    if opts.get("seed") is None:
        opts["seed"] = rec.seed  # the mixed-ratio pair draw follows the training seed
    data = load_data(data_path, stage, opts)

    # 2. recipe keys on TRL's parser, config, tokenizer, models (heavy imports from here)
    from r1k_plugins.training.recipe import resolve_keys

    resolve_keys(rec)
    resolve_batch(rec)
    precision_check(rec)
    device = device_policy(rec)
    # A fresh or --overwrite run trains into a hidden sibling folder and replaces the old run only
    # once it has succeeded: a run that fails (bad value, OOM, Ctrl-C) leaves the old one as it was.
    work = ckpt.parent if ckpt else staging_dir(out)
    cfg = build_config(rec, work)
    mik = model_init_kwargs(rec, cfg)
    tokenizer = load_tokenizer(model_spec, cfg, mik.get("revision"))
    needs_template = data.conversational and not getattr(cfg, "chat_template_path", None)
    if needs_template and not tokenizer.chat_template:
        raise R1KError(
            f"--model {model_spec}: its tokenizer has no chat template, which conversational data needs; "
            "set chat_template_path in the recipe or use a model with one (r1k-train tiny-model has one)"
        )
    if rec.max_prompt_length:
        from r1k_plugins.training.data import truncate_prompts

        n_cut = truncate_prompts(data.rows, tokenizer, rec.max_prompt_length)
        data.counts["prompts_truncated"] = n_cut
        if n_cut and _is_main():
            note(
                f"max_prompt_length {rec.max_prompt_length}: {n_cut} of {len(data.rows)} prompt(s) cut to "
                f"{rec.max_prompt_length} tokens (question end removed, as the paper's DPO code did)"
            )
    peft_cfg = peft_config(rec)
    parent = read_parent(model_spec) if Path(model_spec).is_dir() else None

    from accelerate import PartialState
    from datasets import Dataset

    _ = cfg.device  # the config sets the distributed state up (backend, CPU or GPU) before anyone else
    state = PartialState()
    model = load_model(model_spec, mik)
    # The reference is the starting policy, loaded here from the same path: TRL never reloads
    # another model from config._name_or_path. With PEFT, None = the adapter-disabled base.
    ref_model = load_model(model_spec, mik) if stage == "dpo" and peft_cfg is None else None
    state.wait_for_everyone()  # every rank has checked its inputs before anything is written
    if work != out and state.is_main_process:
        shutil.rmtree(work, ignore_errors=True)  # a stale one from a crashed run
        try:
            work.mkdir()
        except OSError as e:
            from r1k_plugins.core.io import os_error

            raise os_error(work.parent, e, "cannot create the run folder") from None
    state.wait_for_everyone()

    dataset = Dataset.from_list(data.rows)
    trainer: SFTTrainer | DPOTrainer
    try:  # TRL's own checks of the settings (e.g. eval_strategy without eval data) fail here
        if stage == "sft":
            from trl import SFTTrainer

            trainer = SFTTrainer(
                model=model, args=cfg, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_cfg
            )
        else:
            from trl import DPOTrainer

            trainer = DPOTrainer(
                model=model,
                ref_model=ref_model,
                args=cfg,
                train_dataset=dataset,
                processing_class=tokenizer,
                peft_config=peft_cfg,
            )
    except (ValueError, TypeError, KeyError) as e:
        msg = " ".join(str(e).split())
        raise R1KError(
            f"cannot set up the {stage} trainer with these settings ({type(e).__name__}: "
            f"{msg[:300]}); fix the recipe or --set values"
        ) from None
    if stage == "dpo" and cfg.precompute_ref_log_probs and ref_model is not None:
        # the reference log-probs are columns of the dataset now: free the reference model
        assert isinstance(trainer, DPOTrainer)
        prepared, trainer.ref_model = trainer.ref_model, None
        trainer.accelerator._models = [
            m for m in trainer.accelerator._models if m is not prepared and m is not ref_model
        ]
        del prepared, ref_model
        _free_memory()

    result = trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)

    # 3. save: model + tokenizer (LoRA: adapter/ + merged full model at the top level)
    if peft_cfg is not None:
        trainer.save_model(str(work / ADAPTER_DIR))
        state.wait_for_everyone()
        if state.is_main_process:
            merge_lora(model_spec, work / ADAPTER_DIR, work, mik, tokenizer)
    else:
        trainer.save_model(str(work))
        if state.is_main_process:
            tokenizer.save_pretrained(work)
    state.wait_for_everyone()
    if not state.is_main_process:
        return None

    history = [json_safe(h) for h in trainer.state.log_history]
    write_jsonl(work / LOG_HISTORY, history)
    last_step: dict = next((h for h in reversed(history) if "loss" in h and "train_runtime" not in h), {})
    final = {k: v for k, v in last_step.items() if k not in ("step", "epoch")}
    final.update(json_safe(result.metrics))
    final["global_step"] = trainer.state.global_step

    checkpoints = [
        {"name": c.name, "step": st.get("global_step", step), "epoch": st.get("epoch")}
        for step, c, st in list_checkpoints(work)
    ]
    final["epoch"] = trainer.state.epoch

    manifest = new_manifest(
        **json_safe(
            {
                "base_model": model_spec,
                "stage": stage,
                "data_mode": data.data_mode,
                "data_file": data.path,
                "data_sha256": data.sha256,
                "data_kind": data.kind,
                "data_options": json_safe(
                    {**{k: v for k, v in opts.items() if k != "path"}, "max_prompt_length": rec.max_prompt_length}
                ),
                "effective_batch_size": rec.effective_batch_size,
                "num_processes": state.num_processes,
                "distributed_type": str(trainer.accelerator.distributed_type).rsplit(".", 1)[-1],
                "record_counts": data.counts,
                "config": json_safe(cfg.to_dict()),
                "model_config": json_safe(rec.model_args),
                "peft": json_safe(peft_cfg.to_dict()) if peft_cfg is not None else None,
                "adapter_dir": str((out / ADAPTER_DIR).resolve()) if peft_cfg is not None else None,
                "versions": versions(),
                "device": device,
                "wall_time_s": round(time.time() - t0, 3),
                "final_metrics": final,
                "checkpoints": checkpoints,  # step and epoch of every kept checkpoint-N (r1k probe direction --run)
                "parent": parent.to_dict() if parent is not None else None,
                "output_dir": str(out.resolve()),
                "seed": cfg.seed,
                "resumed_from": ckpt.name if ckpt else None,
                "recipe": rec.source,
                "command": argv,
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    )
    manifest.write(work / RUN_MANIFEST)
    if work != out:
        promote(work, out, overwrite=overwrite)
    return manifest
