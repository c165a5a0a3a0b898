"""Which models a probe scores, in which order, and how each one is loaded.

``--model DIR``: a model folder (config + weights) or a LoRA adapter folder (loaded through PEFT
on the base its ``adapter_config.json`` names). ``--run DIR``: a training output folder: every
``checkpoint-N`` in step order, then the final model; a checkpoint at the final step is the final
model and is scored once. Step and epoch come from each checkpoint's ``trainer_state.json`` and
the run's ``r1k_run.json``; the arm from the run manifest (as on the leaderboard).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.runs import RunManifest, list_checkpoints, model_arm

WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


@dataclass
class ModelRef:
    path: str  # absolute folder
    kind: str  # "model" | "adapter"
    label: str  # "checkpoint-113", "final", or the folder name
    run: str | None = None  # the run folder, for --run
    step: int | None = None
    epoch: float | None = None
    arm: str = "base"
    stage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.path,
            "kind": self.kind,
            "label": self.label,
            "run": self.run,
            "step": self.step,
            "epoch": self.epoch,
            "arm": self.arm,
            "stage": self.stage,
        }


def _read_json(p: Path) -> dict | None:
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def folder_kind(p: Path) -> str | None:
    """ "model", "adapter" or None (no weights)."""
    if (p / "config.json").is_file() and any((p / w).is_file() for w in WEIGHTS):
        return "model"
    if (p / "adapter_config.json").is_file() and any((p / w).is_file() for w in ADAPTER_WEIGHTS):
        return "adapter"
    if (p / "config.json").is_file() and any(p.glob("model-*.safetensors")):
        return "model"
    return None


def _arm(path: Path) -> tuple[str, str | None]:
    info = model_arm(path.resolve())
    return info.arm, info.stage


def check_model_folder(spec: str, flag: str = "--model") -> tuple[Path, str]:
    p = Path(spec).expanduser()
    if not p.exists():
        raise R1KError(f"{flag} {spec}: folder not found (check the path)")
    if not p.is_dir():
        raise R1KError(
            f"{flag} {spec}: is a file, expected a model folder (config.json + weights) or a LoRA adapter folder"
        )
    kind = folder_kind(p)
    if kind is None:
        raise R1KError(
            f"{flag} {spec}: no model weights there (expected config.json + model.safetensors, "
            "or adapter_config.json + adapter_model.safetensors)"
        )
    return p.resolve(), kind


def model_ref(spec: str) -> ModelRef:
    p, kind = check_model_folder(spec)
    arm, stage = _arm(p)
    step = epoch = None
    state = _read_json(p / "trainer_state.json")
    if state:
        step, epoch = state.get("global_step"), state.get("epoch")
    return ModelRef(str(p), kind, p.name, step=step, epoch=epoch, arm=arm, stage=stage)


def run_refs(spec: str) -> list[ModelRef]:
    """Every checkpoint of a run in step order, then its final model."""
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise R1KError(
            f"--run {spec}: {'is a file' if root.exists() else 'folder not found'}; "
            "give a training output folder (r1k-train --output-dir)"
        )
    root = root.resolve()
    arm, stage = _arm(root)
    manifest = RunManifest.read_or_none(root) or RunManifest.model_validate({})
    refs: list[ModelRef] = []
    for step, c, state in list_checkpoints(root):
        kind = folder_kind(c)
        if kind is None:
            raise R1KError(
                f"--run {spec}: {c.name} holds no model or adapter weights (an interrupted save? "
                "delete that folder or retrain)"
            )
        refs.append(
            ModelRef(str(c), kind, c.name, str(root), state.get("global_step", step), state.get("epoch"), arm, stage)
        )
    final_kind = folder_kind(root)
    if final_kind is not None:
        final_step, final_epoch = manifest.final_step, manifest.final_epoch
        if final_step is None and refs:
            final_step = refs[-1].step
        if refs and refs[-1].step == final_step:
            final_epoch = refs[-1].epoch if final_epoch is None else final_epoch
            refs.pop()  # the last checkpoint is the final model: score it once
        refs.append(ModelRef(str(root), final_kind, "final", str(root), final_step, final_epoch, arm, stage))
    if not refs:
        raise R1KError(
            f"--run {spec}: no checkpoint-* folders and no final model there (save checkpoints with "
            "save_strategy=epoch or steps, see docs/training.md)"
        )
    return refs


def start_ref(run: ModelRef) -> ModelRef | None:
    """The model a run started from (step 0), from its manifest's base_model, when it is a local folder."""
    manifest = RunManifest.read_or_none(Path(run.run or run.path))
    base = manifest.base_model if manifest is not None else None
    if not base or not Path(base).is_dir():
        return None
    p = Path(base).resolve()
    kind = folder_kind(p)
    if kind is None:
        return None
    return ModelRef(str(p), kind, "start", run.run, 0, 0.0, run.arm, run.stage)


def adapter_base(path: Path) -> str:
    cfg = _read_json(path / "adapter_config.json") or {}
    base = cfg.get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise R1KError(
            f"{path}: adapter_config.json names no base_model_name_or_path; the adapter's base model cannot be found"
        )
    bp = Path(base).expanduser()
    if bp.is_dir():
        if folder_kind(bp) != "model":
            raise R1KError(f"{path}: the adapter's base {base} holds no model weights")
        return str(bp)
    if base.startswith(("/", ".", "~")):
        raise R1KError(
            f"{path}: the adapter's base model {base} was not found (move it back or edit "
            "base_model_name_or_path in adapter_config.json)"
        )
    return base  # a hub id: loaded from the local cache (HF_HUB_OFFLINE) or the hub


def _dtype(name: str, device: str):
    import torch

    if name == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise R1KError(f"--device {name}: no CUDA device here; use --device cpu")
    return name


def load(ref: ModelRef, *, dtype: str = "auto", device: str = "cpu", trust_remote_code: bool = False):
    """(model, tokenizer) in eval mode on ``device``; adapters are merged into their base."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    td = _dtype(dtype, device)
    path = Path(ref.path)
    src = adapter_base(path) if ref.kind == "adapter" else str(path)
    try:
        model = AutoModelForCausalLM.from_pretrained(src, dtype=td, trust_remote_code=trust_remote_code)
        if ref.kind == "adapter":
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
        tok_src = str(path) if any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")) else src
        tokenizer = AutoTokenizer.from_pretrained(tok_src, trust_remote_code=trust_remote_code)
    except R1KError:
        raise
    except Exception as e:  # noqa: BLE001 - a model that will not load is bad input here
        msg = " ".join(str(e).split())
        raise R1KError(f"{path}: cannot load the model ({type(e).__name__}: {msg[:300]})") from None
    # transformers wraps PreTrainedModel.to with functools.wraps, and the stub loses the bound self
    model.to(device)  # type: ignore[arg-type]
    model.eval()
    return model, tokenizer
