"""Training recipes: YAML files (open-r1 layout) + ``--set key=value`` overrides -> TRL configs.

Layout (everything at the top level, as in open-r1's recipes)::

    stage: sft                      # optional guard: sft | dpo
    model_name_or_path: Qwen/Qwen2.5-7B-Instruct
    data: {path: ..., mode: mixed, ratio: null, trace_format: s1, direction_tags: false}
    use_peft: false                 # TRL ModelConfig keys: dtype, attn_implementation, lora_r, ...
    learning_rate: 1.0e-5           # any SFTConfig / DPOConfig (TrainingArguments) key
    ...

Values are typed as YAML 1.2 scalars: ``1e-5`` is a number, only ``true``/``false`` are booleans
(``save_strategy: no`` stays "no"). Unknown keys fail, naming the key and the closest known ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1k_plugins.core.errors import R1KError

STAGES = ("sft", "dpo")
R1K_KEYS = ("stage", "model_name_or_path", "data", "max_prompt_length", "effective_batch_size")
DATA_KEYS = {"path": None, "mode": "mixed", "ratio": None, "trace_format": "s1", "direction_tags": False,
             "seed": None}
# Keys renamed in transformers 5 (and back): accepted under both names.
ALIASES = {"warmup_ratio": "warmup_steps", "activation_checkpointing": "gradient_checkpointing",
           "gradient_checkpointing": "activation_checkpointing", "torch_dtype": "dtype"}


@dataclass
class Recipe:
    stage: str
    source: str                                   # recipe file (or "<none>")
    model: str | None = None
    data: dict = field(default_factory=lambda: dict(DATA_KEYS))
    model_args: dict = field(default_factory=dict)   # TRL ModelConfig keys (use_peft, lora_*, dtype, ...)
    trainer_args: dict = field(default_factory=dict)  # SFTConfig / DPOConfig keys
    explicit: set = field(default_factory=set)        # keys given by the recipe or --set
    from_set: set = field(default_factory=set)        # keys given by --set (they beat the recipe's)
    output_dir: str | None = None
    seed: int = 42                                    # TrainingArguments' default; also the data seed
    pending: list = field(default_factory=list)       # (key, value, where) not yet checked against TRL
    # r1k data-step key (TRL 1.x has none): prompts longer than this many tokens are cut before training
    max_prompt_length: int | None = None
    # r1k key: per-device batch x gradient accumulation x processes must equal it; accumulation is
    # derived from the launch's process count unless given, and a launch that cannot reach it is refused
    effective_batch_size: int | None = None


def config_class(stage: str):
    if stage == "sft":
        from trl import SFTConfig

        return SFTConfig
    from trl import DPOConfig

    return DPOConfig


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def model_fields() -> dict[str, dataclasses.Field]:
    from trl import ModelConfig

    out = _fields(ModelConfig)
    out.pop("model_name_or_path", None)
    return out


def recipe_names() -> list[str]:
    from r1k_plugins.paths import recipes_dir

    d = recipes_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def find_recipe(spec: str) -> Path:
    """A recipe path, or the name of a bundled recipe (``tiny-sft``, ``tiny-sft.yaml``)."""
    from r1k_plugins.paths import recipes_dir

    p = Path(spec).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        raise R1KError(f"--config {spec}: is a folder; give a recipe .yaml file or a bundled recipe name")
    if len(p.parts) == 1:
        name = spec if spec.endswith((".yaml", ".yml")) else f"{spec}.yaml"
        cand = recipes_dir() / name
        if cand.is_file():
            return cand
    names = recipe_names()
    hint = difflib.get_close_matches(p.stem, names, n=1)
    raise R1KError(
        f"--config {spec}: recipe file not found"
        + (f" (did you mean {hint[0]}?)" if hint else "")
        + (f"; bundled recipes: {', '.join(names)}" if names else "")
    )


_LOADER = None


def yaml_loader():
    """SafeLoader with YAML 1.2 scalars: only true/false are booleans (``save_strategy: no`` stays
    the string "no"), and ``1e-5`` is a float."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        bool_tag = "tag:yaml.org,2002:bool"
        Loader.yaml_implicit_resolvers = {
            ch: [(tag, rx) for tag, rx in res if tag != bool_tag]
            for ch, res in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        Loader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
        Loader.add_implicit_resolver(
            "tag:yaml.org,2002:float",
            re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))
        _LOADER = Loader
    return _LOADER


def yaml_load(text: str):
    import yaml

    return yaml.load(text, Loader=yaml_loader())  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path) -> dict:
    from r1k_plugins.core.readers import load_yaml_file

    obj = load_yaml_file(path, loader=yaml_loader(), what="recipe")
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise R1KError(f"{path}: a recipe is a YAML mapping of keys to values, got {type(obj).__name__}")
    return obj


def parse_set(items: tuple[str, ...] | list[str]) -> list[tuple[str, Any]]:
    """``key=value`` pairs; values typed as YAML scalars (``none``/``null`` -> None)."""
    import yaml

    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise R1KError(f"--set {item!r}: expected key=value (e.g. --set learning_rate=1e-4)")
        try:
            value = yaml_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and value.lower() == "none":
            value = None
        out.append((key, value))
    return out


def _type_names(tp) -> set[str]:
    """Basic type names an annotation admits ('float', 'int', 'bool', 'str', 'list', 'dict', 'None')."""
    if isinstance(tp, str):
        return set(re.findall(r"\b(float|int|bool|str|list|dict|None|Literal)\b", tp)) or {"any"}
    import typing

    origin = typing.get_origin(tp)
    if origin is None:
        if tp is type(None):
            return {"None"}
        name = getattr(tp, "__name__", "any")
        if isinstance(tp, type) and issubclass(tp, str) and name != "str":
            return {"str"}  # str-valued enums
        return {name if name in ("float", "int", "bool", "str", "list", "dict") else "any"}
    if origin is typing.Literal:
        return {"Literal"}
    if origin in (list, tuple):
        return {"list"}
    if origin is dict:
        return {"dict"}
    names: set[str] = set()
    for arg in typing.get_args(tp):
        names |= _type_names(arg)
    return names


def coerce(key: str, value: Any, f: dataclasses.Field, where: str) -> Any:
    where = f"{where}: key" if where else "key"
    """Light typing: numeric strings -> numbers for numeric keys; reject non-bools for bool keys."""
    names = _type_names(f.type)
    if value is None and "None" not in names and "any" not in names and f.default is not None:
        raise R1KError(f"{where} '{key}' needs a value (got an empty one)")
    if value is None or "any" in names:
        return value
    if isinstance(value, float) and not math.isfinite(value) and names & {"float", "int"}:
        raise R1KError(f"{where} '{key}' expects a finite number, got {value!r}")
    if isinstance(value, (list, dict)) and names and names <= {"float", "int", "bool", "None"}:
        raise R1KError(f"{where} '{key}' expects a single value, got a {type(value).__name__}")
    if "bool" in names and names <= {"bool", "None"} and not isinstance(value, bool):
        raise R1KError(f"{where} '{key}' expects true or false, got {value!r}")
    numeric = names & {"float", "int"}
    if isinstance(value, str) and numeric and not names & {"str", "Literal", "dict"}:
        for conv in ((int, float) if "int" in names else (float,)):
            try:
                out = conv(value)
            except ValueError:
                continue
            if isinstance(out, float) and not math.isfinite(out):
                raise R1KError(f"{where} '{key}' expects a finite number, got {value!r}")
            return out
        raise R1KError(f"{where} '{key}' expects a number, got {value!r}")
    if names == {"bool"} and not isinstance(value, bool):
        raise R1KError(f"{where} '{key}' expects true or false, got {value!r}")
    if isinstance(value, bool) and names <= {"float", "int", "None"}:
        raise R1KError(f"{where} '{key}' expects a number, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool) and names <= {"float", "None"}:
        try:
            return float(value)
        except OverflowError:
            raise R1KError(f"{where} '{key}' expects a finite number, got {value!r}") from None
    if isinstance(value, float) and "int" in names and "float" not in names:
        if not value.is_integer():
            raise R1KError(f"{where} '{key}' expects an integer, got {value!r}")
        return int(value)
    return value


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def load_recipe(stage: str, config: str | None, sets: list[tuple[str, Any]]) -> Recipe:
    """Read the recipe and ``--set`` overrides; r1k keys (stage, model, data.*) are applied now.

    TRL keys are only collected here and checked by :func:`resolve_keys`, which imports TRL: cheap
    checks (files, folders) run first and fail fast.
    """
    path = find_recipe(config) if config else None
    raw = read_yaml(path) if path else {}
    rec = Recipe(stage=stage, source=str(path) if path else "<none>")

    entries: list[tuple[str, Any, str]] = []
    for k, v in raw.items():
        k = str(k)
        if k == "data":
            if v is None:
                continue
            if not isinstance(v, dict):
                raise R1KError(f"{path}: 'data' must be a mapping (path, mode, ratio, trace_format, direction_tags)")
            entries += [(f"data.{dk}", dv, str(path)) for dk, dv in v.items()]
        elif k == "training" and isinstance(v, dict):
            raise R1KError(f"{path}: put TRL config keys at the top level of the recipe, not under 'training:' "
                           "(see docs/training.md)")
        else:
            entries.append((k, v, str(path)))
    entries += [(k, v, "--set") for k, v in sets]
    rec.from_set = {ALIASES.get(k, k) if k == "warmup_ratio" else k for k, _ in sets}
    from r1k_plugins.core.schemas import check_recipe_values

    check_recipe_values(entries)  # declared types/ranges (data.*, learning rate, steps, batch sizes) first

    for key, value, where in entries:
        if key == "stage":
            if value not in STAGES:
                raise R1KError(f"{where}: stage is {value!r}; use one of {', '.join(STAGES)}")
            if value != stage:
                raise R1KError(f"{where}: is a {value} recipe; run it with `r1k-train {value}` "
                               f"(or pick a {stage} recipe)")
        elif key == "model_name_or_path":
            rec.model = None if value is None else str(value)
        elif key in ("max_prompt_length", "effective_batch_size"):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                try:
                    value = int(str(value))
                    assert value >= 1
                except (ValueError, AssertionError):
                    raise R1KError(f"{where}: key '{key}' expects a positive integer or null, got {value!r}") from None
            setattr(rec, key, value)
        elif key.startswith("data."):
            dk = key[5:]
            if dk not in DATA_KEYS:
                raise R1KError(f"{where}: unknown data key '{dk}'{_suggest(dk, DATA_KEYS)}; data keys are "
                               f"{', '.join(DATA_KEYS)}")
            rec.data[dk] = value
        else:
            if key == "output_dir":
                rec.output_dir = None if value is None else str(value)
            elif key == "seed":
                try:
                    rec.seed = int(value)
                except (TypeError, ValueError):
                    raise R1KError(f"{where}: key 'seed' expects an integer, got {value!r}") from None
            rec.pending.append((key, value, where))
    return rec


def resolve_keys(rec: Recipe) -> Recipe:
    """Check every TRL key against SFTConfig/DPOConfig and ModelConfig; type the values."""
    cls = config_class(rec.stage)
    cfg_fields = _fields(cls)
    mdl_fields = model_fields()
    known = set(cfg_fields) | set(mdl_fields) | set(R1K_KEYS) | {f"data.{k}" for k in DATA_KEYS}
    known |= {a for a, target in ALIASES.items() if target in cfg_fields or target in mdl_fields}
    for key, value, where in rec.pending:
        src = "--set" if where == "--set" else "recipe"
        if key not in known:
            raise R1KError(f"{where}: unknown {src} key '{key}'{_suggest(key, known)}; keys are TRL "
                           f"{cls.__name__} / ModelConfig fields, model_name_or_path, max_prompt_length, "
                           "effective_batch_size, data.{path,mode,ratio,trace_format,direction_tags,seed}")
        target = key
        if key in ALIASES and key not in cfg_fields and key not in mdl_fields:
            target = ALIASES[key]
        if target in cfg_fields:
            rec.trainer_args[target] = coerce(target, value, cfg_fields[target], where)
        else:
            rec.model_args[target] = coerce(target, value, mdl_fields[target], where)
        rec.explicit.add(target)
    rec.pending = []
    return rec
