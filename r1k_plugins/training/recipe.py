"""Training recipes: a YAML file (open-r1 layout) + ``--set KEY=VALUE`` -> the values r1k-train hands to TRL.

The keys are three dataclasses parsed together by TRL's :class:`trl.TrlParser` (an
``HfArgumentParser``), as open-r1 does: :class:`R1KConfig` (r1k's own keys: ``stage``, ``data.*``,
``effective_batch_size``, ``max_prompt_length``), ``SFTConfig`` / ``DPOConfig`` and ``ModelConfig``.
The parser gives the key set, each key's type, choices and default; :func:`check_value` is the one
place a value is checked (type from the parser, plus the ranges in :data:`RANGES`). Two steps, so
that a bad value fails before the heavy imports: :func:`load_recipe` (no TRL import) checks r1k's
keys and the keys with a range; :func:`resolve_keys` (the run calls it after its file checks)
checks every key on TRL's parser. What stays
r1k's: YAML 1.2 scalars (``save_strategy: no`` stays "no", ``1e-5`` is a number, only
``true``/``false`` are booleans; TrlParser's own ``--config`` reads YAML 1.1), bundled recipe names,
and one-line errors naming the key, the file or ``--set``, and the expected type. Layout: docs/training.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.vocab import MODES, TRACE_FORMATS

STAGES = ("sft", "dpo")
# Keys renamed in transformers 5 (and back): accepted under both names.
ALIASES = {
    "warmup_ratio": "warmup_steps",
    "activation_checkpointing": "gradient_checkpointing",
    "gradient_checkpointing": "activation_checkpointing",
    "torch_dtype": "dtype",
}
_BIG = 10**9


@dataclass
class R1KConfig:
    """r1k's recipe keys (TRL has none of them). ``data.KEY`` in a recipe or ``--set`` is field ``data_KEY``
    (``data.seed`` is ``data_mix_seed``: TrainingArguments has a ``data_seed`` of its own)."""

    # the choices come from the vocabulary (core.vocab): a runtime Literal, which type checkers cannot follow
    stage: Literal[STAGES] | None = field(  # type: ignore[valid-type]
        default=None, metadata={"help": "Guard: the recipe refuses to run under the other command (sft | dpo)."}
    )
    effective_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "per_device_train_batch_size x gradient_accumulation_steps x processes; the "
            "accumulation is derived from the launch's process count unless given."
        },
    )
    max_prompt_length: int | None = field(
        default=None,
        metadata={
            "help": "Prompts longer than this many tokens are cut (question end removed) "
            "before training; TRL 1.x has no such option."
        },
    )
    data_path: str | None = field(
        default=None, metadata={"aliases": ["--data.path"], "help": "data.path: r1k records or prebuilt JSONL."}
    )
    data_mode: Literal[MODES] = field(  # type: ignore[valid-type]
        default="mixed", metadata={"aliases": ["--data.mode"], "help": "data.mode: which records to train on."}
    )
    data_ratio: float | None = field(
        default=None,
        metadata={
            "aliases": ["--data.ratio"],
            "help": "data.ratio: mixed only, the reverse share (one item per pair).",
        },
    )
    data_trace_format: Literal[TRACE_FORMATS] = field(  # type: ignore[valid-type]
        default="s1", metadata={"aliases": ["--data.trace_format"], "help": "data.trace_format: s1 | think-tags."}
    )
    data_direction_tags: bool = field(
        default=False,
        metadata={
            "aliases": ["--data.direction_tags"],
            "help": "data.direction_tags: prefix prompts with a direction tag.",
        },
    )
    data_mix_seed: int | None = field(
        default=None,
        metadata={"aliases": ["--data.seed"], "help": "data.seed: seed of the ratio mix's pair draw (default: seed)."},
    )

    def data(self) -> dict:
        """The ``data.*`` keys as the data step reads them (path, mode, ratio, trace_format, direction_tags, seed)."""
        return {
            "path": self.data_path,
            "mode": self.data_mode,
            "ratio": self.data_ratio,
            "trace_format": self.data_trace_format,
            "direction_tags": self.data_direction_tags,
            "seed": self.data_mix_seed,
        }


DATA_KEYS = {
    "path": "data_path",
    "mode": "data_mode",
    "ratio": "data_ratio",
    "trace_format": "data_trace_format",
    "direction_tags": "data_direction_tags",
    "seed": "data_mix_seed",
}
R1K_KEYS = ("stage", "effective_batch_size", "max_prompt_length", *(f"data.{k}" for k in DATA_KEYS))

# Ranges: (low, low excluded, high, integer). Types, choices and null-ness come from the parser.
RANGES: dict[str, tuple[float, bool, float, bool]] = {
    "learning_rate": (0, True, _BIG, False),
    "num_train_epochs": (0, True, _BIG, False),
    "beta": (0, True, _BIG, False),
    "weight_decay": (0, False, _BIG, False),
    "max_grad_norm": (0, False, _BIG, False),
    "warmup_ratio": (0, False, 1, False),
    "warmup_steps": (0, False, _BIG, False),
    "max_steps": (-1, False, _BIG, True),
    "per_device_train_batch_size": (1, False, _BIG, True),
    "per_device_eval_batch_size": (1, False, _BIG, True),
    "gradient_accumulation_steps": (1, False, _BIG, True),
    "logging_steps": (0, True, _BIG, False),
    "save_steps": (0, True, _BIG, False),
    "max_length": (1, False, _BIG, True),
    "max_completion_length": (1, False, _BIG, True),
    "max_prompt_length": (1, False, _BIG, True),
    "effective_batch_size": (1, False, _BIG, True),
    "seed": (0, False, 2**32 - 1, True),
    "data.seed": (0, False, 2**32 - 1, True),
    "data.ratio": (0, False, 1, False),
}
_RANGE_TEXT = {
    "max_steps": f"an integer from 1 to {_BIG} (or -1: use epochs)",
    "data.ratio": "a number in [0, 1] (reverse share of the mix) or null",
    "effective_batch_size": "a positive integer or null",
    "max_prompt_length": "a positive integer or null",
}


@dataclass
class Recipe:
    """A loaded recipe: the values r1k-train hands to TRL, plus where they came from."""

    stage: str
    source: str  # recipe file (or "<none>")
    model: str | None = None
    data: dict = field(default_factory=lambda: R1KConfig().data())
    model_args: dict = field(default_factory=dict)  # TRL ModelConfig keys the recipe or --set gave
    trainer_args: dict = field(default_factory=dict)  # SFTConfig / DPOConfig keys the recipe or --set gave
    explicit: set = field(default_factory=set)  # TRL keys given by the recipe or --set
    from_set: set = field(default_factory=set)  # keys given by --set (they beat the recipe's)
    output_dir: str | None = None
    seed: int = 42  # TrainingArguments' default; also the data seed
    max_prompt_length: int | None = None  # R1KConfig.max_prompt_length
    effective_batch_size: int | None = None  # R1KConfig.effective_batch_size
    entries: list = field(default_factory=list)  # (key, value, where) until resolve_keys has checked them


def config_class(stage: str):
    """TRL's trainer config for a stage: SFTConfig or DPOConfig."""
    if stage == "sft":
        from trl import SFTConfig

        return SFTConfig
    from trl import DPOConfig

    return DPOConfig


def trainer_fields(stage: str) -> dict[str, dataclasses.Field]:
    """The init fields of the stage's TRL config (name -> dataclasses.Field)."""
    return {f.name: f for f in dataclasses.fields(config_class(stage)) if f.init}


def recipe_parser(stage: str):
    """TRL's parser over (R1KConfig, SFTConfig | DPOConfig, ModelConfig); its errors are one-line R1KErrors."""
    from trl import ModelConfig, TrlParser

    class RecipeParser(TrlParser):
        def error(self, message):  # argparse would print usage and exit; r1k reports one line, exit 2
            raise R1KError(f"recipe: {message}")

    types: Any = (R1KConfig, config_class(stage), ModelConfig)
    return RecipeParser(types, add_help=False)


# ---- recipe files --------------------------------------------------------------------------------
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
            re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
            list("-+0123456789"),
        )
        _LOADER = Loader
    return _LOADER


def yaml_load(text: str):
    import yaml

    return yaml.load(text, Loader=yaml_loader())  # a SafeLoader subclass


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


# ---- the one check of a value --------------------------------------------------------------------
def _hint(action, parser) -> Any:
    """The declared annotation of the field behind an argparse action (HfArgumentParser rewrites field.type)."""
    for cls in parser.dataclass_types:
        if action.dest in cls.__dataclass_fields__:
            return typing.get_type_hints(cls)[action.dest]
    return Any


def _number(value: Any, integer: bool, what: str, where: str, key: str) -> Any:
    """A YAML / --set value as an int or a float: numeric text is read, bools, lists and inf/nan are not."""
    if isinstance(value, (bool, list, dict)):
        raise R1KError(f"{where} '{key}' expects {what}, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value) if integer and re.fullmatch(r"[-+]?\d+", value.strip()) else float(value)
        except ValueError:
            raise R1KError(f"{where} '{key}' expects {what}, got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise R1KError(f"{where} '{key}' expects {what}, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise R1KError(f"{where} '{key}' expects {what} (finite), got {value!r}")
    if integer and isinstance(value, float):
        if not value.is_integer():
            raise R1KError(f"{where} '{key}' expects {what}, got {value!r}")
        value = int(value)
    if not integer and isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            raise R1KError(f"{where} '{key}' expects {what} (finite), got {value!r}") from None
    return value


def _range_text(key: str, rng, integer: bool) -> str:
    if key in _RANGE_TEXT:
        return _RANGE_TEXT[key]
    kind = "an integer" if integer else "a number"
    if rng is None:
        return kind
    lo, lo_open, hi, _ = rng
    if integer:
        return f"{kind} from {lo} to {hi}"
    if hi <= 1:
        return f"{kind} in [{lo}, {hi}]"
    return f"{kind} > {lo}" if lo_open else f"{kind} >= {lo}"


class _ItemAction:
    """One item of a list-valued argparse action: its type and choices, one value, no default."""

    def __init__(self, action) -> None:
        self.type, self.choices, self.dest, self.default, self.nargs = (
            action.type,
            action.choices,
            action.dest,
            None,
            None,
        )


def check_value(key: str, value: Any, action, hint: Any, where: str) -> Any:
    """Check and type one value: the one place a recipe or ``--set`` value is checked.

    ``key``: as written (``data.ratio``, ``warmup_ratio``); ``action``: TRL's parser's argparse action
    for it (its type, choices); ``hint``: the field's annotation (null allowed?); ranges: :data:`RANGES`.
    Returns the typed value or raises a one-line R1KError naming the key and the expected type."""
    where = f"{where}: key" if where else "key"
    # TRL and transformers each have a string_to_bool; bool: a key checked before TRL is imported
    is_bool = action.type is bool or getattr(action.type, "__name__", "") == "string_to_bool"
    args = set(typing.get_args(hint)) if typing.get_origin(hint) in (typing.Union, types.UnionType) else {hint}
    rng = RANGES.get(key) or RANGES.get(action.dest)
    numeric = action.type in (int, float) or rng is not None
    integer = action.type is int or bool(rng and rng[3])
    if value is None:
        if type(None) in args or action.default is None or hint is Any:
            return None
        expects = "true or false" if is_bool else _range_text(key, rng, integer) if numeric else "a value"
        raise R1KError(f"{where} '{key}' needs a value (expects {expects}), got an empty one")
    if is_bool:  # strict: bf16: no / yes / 1 would be a silent guess
        if not isinstance(value, bool):
            raise R1KError(f"{where} '{key}' expects a boolean (true or false), got {value!r}")
        return value
    if action.nargs in ("+", "*") and isinstance(value, list):  # a list field (loss_type, loss_weights):
        return [
            check_value(f"{key}[{i}]", v, _ItemAction(action), hint, where.removesuffix(": key"))
            for i, v in enumerate(value)
        ]  # each item checked as the field's items
    if numeric:
        what = _range_text(key, rng, integer)
        typed = _number(value, integer, what, where, key)
        if rng is not None:
            lo, lo_open, hi, _ = rng
            if typed < lo or (lo_open and typed == lo) or typed > hi or (key == "max_steps" and typed == 0):
                raise R1KError(f"{where} '{key}' expects {what}, got {value!r}")
        return typed
    if action.choices is not None and not (isinstance(value, str) and value in action.choices):
        if str in args:
            return value  # an Enum | str field: TRL checks the name when it builds the config
        raise R1KError(f"{where} '{key}' expects one of {', '.join(map(str, action.choices))}, got {value!r}")
    if args - {type(None)} == {str} and not isinstance(value, str):
        raise R1KError(f"{where} '{key}' expects text, got {type(value).__name__} {value!r}")
    return value


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


# ---- loading -------------------------------------------------------------------------------------
def _entries(path: Path | None, sets: list[tuple[str, Any]]) -> list[tuple[str, Any, str]]:
    """(key, value, where) from the recipe file, then from --set; ``data: {k: v}`` becomes ``data.k``."""
    raw = read_yaml(path) if path else {}
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
            raise R1KError(
                f"{path}: put TRL config keys at the top level of the recipe, not under 'training:' "
                "(see docs/training.md)"
            )
        else:
            entries.append((k, v, str(path)))
    return entries + [(k, v, "--set") for k, v in sets]


class _Known:
    """A stand-in for a parser action where the key's type is known without importing TRL: the keys
    run() needs before the heavy imports (model, output folder, seed) and every key with a range."""

    choices = None
    nargs = None

    def __init__(self, dest: str, type_, default: Any):
        self.dest, self.type, self.default = dest, type_, default


# keys checked before TRL is imported (fail fast): their type, and whether null is allowed
_EARLY: dict[str, tuple[Any, bool]] = {"model_name_or_path": (str, True), "output_dir": (str, True)}
_EARLY |= {
    k: (int if r[3] else float, k in ("max_length", "max_completion_length"))
    for k, r in RANGES.items()
    if not k.startswith("data.") and k not in ("max_prompt_length", "effective_batch_size")
}
# the TRL booleans recipes use: only true / false (``bf16: no`` would be a silent guess)
_EARLY |= {
    k: (bool, True)
    for k in (
        "bf16",
        "fp16",
        "tf32",
        "use_cpu",
        "use_peft",
        "packing",
        "gradient_checkpointing",
        "activation_checkpointing",
        "precompute_ref_log_probs",
        "load_in_4bit",
        "load_in_8bit",
        "trust_remote_code",
    )
}


def _r1k_parser():
    from transformers import HfArgumentParser

    # transformers types the argument NewType("DataClassType", Any), which no dataclass matches
    return HfArgumentParser(R1KConfig)  # type: ignore[arg-type]


def load_recipe(stage: str, config: str | None, sets: list[tuple[str, Any]]) -> Recipe:
    """Read the recipe and the ``--set`` overrides (which win); check the keys that need no TRL import:
    the stage guard, r1k's keys (R1KConfig, on an HfArgumentParser), and every key with a range or that
    the run needs first (model, output folder, seed). :func:`resolve_keys` checks the rest on TRL's
    parser after the cheap checks of the run (files, folders): a bad value fails in well under a second."""
    path = find_recipe(config) if config else None
    entries = _entries(path, sets)
    for key, value, where in entries:  # the stage guard first: a DPO recipe under sft says so
        if key == "stage" and value != stage:
            if value not in STAGES:
                raise R1KError(f"{where}: stage is {value!r}; use one of {', '.join(STAGES)}")
            raise R1KError(f"{where}: is a {value} recipe; run it with `r1k-train {value}` (or pick a {stage} recipe)")
    rec = Recipe(stage=stage, source=str(path) if path else "<none>", entries=entries)
    rec.from_set = {ALIASES.get(k, k) if k == "warmup_ratio" else k for k, _ in sets}
    parser = _r1k_parser()
    actions = {a.dest: a for a in parser._actions}
    r1k: dict[str, Any] = {}
    for key, value, where in entries:
        if key.startswith("data."):
            dk = key[5:]
            if dk not in DATA_KEYS:
                raise R1KError(
                    f"{where}: unknown data key '{dk}'{_suggest(dk, DATA_KEYS)}; data keys are {', '.join(DATA_KEYS)}"
                )
            key_dest = DATA_KEYS[dk]
        elif key in R1K_KEYS:
            key_dest = key
        else:
            early = _EARLY.get(key)
            if early is not None:
                tp, nullable = early
                typed = check_value(
                    key, value, _Known(key, tp, None if nullable else 0), tp | None if nullable else tp, where
                )
                if key == "model_name_or_path":
                    rec.model = typed
                elif key == "output_dir":
                    rec.output_dir = typed
                elif key == "seed":
                    rec.seed = typed
            continue
        action = actions[key_dest]
        r1k[key_dest] = check_value(key, value, action, _hint(action, parser), where)
    cfg = R1KConfig(**r1k)
    rec.data = cfg.data()
    rec.max_prompt_length, rec.effective_batch_size = cfg.max_prompt_length, cfg.effective_batch_size
    return rec


def resolve_keys(rec: Recipe) -> Recipe:
    """Check every key of the recipe and ``--set`` on TRL's parser (R1KConfig + SFTConfig / DPOConfig +
    ModelConfig) and fill ``trainer_args`` / ``model_args`` with the typed values the recipe gave.

    The TRL configs themselves are built later, by the run, once the device policy has adjusted them
    (an SFTConfig with bf16 cannot even be built on a CPU)."""
    parser = recipe_parser(rec.stage)
    actions: dict[str, Any] = {}
    for a in parser._actions:  # a bool field's --no_X complement shares X's dest: keep X's own action
        actions.setdefault(a.dest, a)
    cls = config_class(rec.stage)
    trainer_keys = {f.name for f in dataclasses.fields(cls) if f.init}
    r1k_keys = {f.name for f in dataclasses.fields(R1KConfig)}
    known = (set(actions) - r1k_keys) | set(R1K_KEYS) | {a for a, target in ALIASES.items() if target in actions}
    values: dict[str, Any] = {}
    explicit: set[str] = set()
    for key, value, where in rec.entries:
        if key.startswith("data."):
            dest = DATA_KEYS[key[5:]]
        elif key in actions and key in known:
            dest = key
        elif key in ALIASES and ALIASES[key] in actions:
            dest = ALIASES[key]
        else:
            src = "--set" if where == "--set" else "recipe"
            raise R1KError(
                f"{where}: unknown {src} key '{key}'{_suggest(key, known)}; keys are TRL "
                f"{cls.__name__} / ModelConfig fields, model_name_or_path, max_prompt_length, "
                "effective_batch_size, data.{path,mode,ratio,trace_format,direction_tags,seed}"
            )
        action = actions[dest]
        values[dest] = check_value(key, value, action, _hint(action, parser), where)
        if dest not in r1k_keys and dest != "model_name_or_path":
            explicit.add(dest)

    # TRL's parser: the checked values become its defaults (TrlParser.set_defaults_with_config, as for
    # its own --config), then one parse yields every key of the three dataclasses.
    unused = parser.set_defaults_with_config(**values)
    ns, rest = parser.parse_known_args([])
    if unused or rest:
        raise R1KError(f"recipe: keys the parser did not take: {unused + rest}")
    parsed = vars(ns)
    for dest in explicit:
        (rec.trainer_args if dest in trainer_keys else rec.model_args).setdefault(dest, parsed[dest])
    rec.explicit |= explicit
    rec.entries = []
    return rec
