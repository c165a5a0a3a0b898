"""What every harness task reads: one loader shared by the lm-eval YAML and the Inspect tasks.

With no data option a task reads the embedded default test split (generated in memory). A user
points a task at an r1k JSONL file or at a local copy of a benchmark (its own layout, converted by
the ``r1k data import`` preset), or lets a benchmark load its pinned hub dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.record import Record
from r1k_plugins.core.render import completion_text, user_prompt


@dataclass(frozen=True)
class TaskSpec:
    name: str
    direction: str | None  # forward / reverse / None (both)
    preset: str | None = None  # importer preset for a benchmark
    hub: str | None = None  # pinned hub dataset
    hub_config: str | None = None
    hub_split: str | None = None
    metadata_key: str = "r1k_data"  # lm-eval --metadata key that selects the data


TASKS: dict[str, TaskSpec] = {
    "r1k_forward": TaskSpec("r1k_forward", "forward"),
    "r1k_reverse": TaskSpec("r1k_reverse", "reverse"),
    "r1k_direction": TaskSpec("r1k_direction", None),
    "r1k_aime24": TaskSpec("r1k_aime24", "forward", "aime", "HuggingFaceH4/aime_2024", None, "train", "aime24_data"),
    "r1k_math500": TaskSpec(
        "r1k_math500", "forward", "math500", "HuggingFaceH4/MATH-500", None, "test", "math500_data"
    ),
    "r1k_gpqa_diamond": TaskSpec(
        "r1k_gpqa_diamond", "forward", "gpqa", "Idavidrein/gpqa", "gpqa_diamond", "train", "gpqa_data"
    ),
}


def _read_any(path: str, spec: TaskSpec) -> list[Record]:
    """An r1k JSONL file as is; anything else through the task's importer preset."""
    from r1k_plugins.core.record import looks_like_record, read_records
    from r1k_plugins.data.importers import import_records, load_rows

    p = Path(path).expanduser()
    if not p.exists():
        raise R1KError(f"{p}: data file for {spec.name} not found (check the path given to the task)")
    if p.suffix == ".jsonl":
        from r1k_plugins.core.io import iter_jsonl

        first = next((obj for _, obj in iter_jsonl(p)), None)
        if first is not None and looks_like_record(first):
            return read_records(p)
    if spec.preset is None:
        raise R1KError(
            f"{p}: {spec.name} reads r1k JSONL records (see docs/data.md); convert the file with `r1k data import`"
        )
    return import_records(str(p), spec.preset, rows=load_rows(str(p)))


def load_task_records(task: str, data: str | None = None, limit: int | None = None) -> list[Record]:
    """Records for a task: ``data`` (a path) if given, else the embedded default / the pinned hub data."""
    spec = TASKS[task]
    if data:
        records = _read_any(data, spec)
    elif spec.preset is None:
        from r1k_plugins.data.synth import default_split

        records = default_split("test")
    else:
        from r1k_plugins.data.importers import import_records

        assert spec.hub is not None  # every preset task in TASKS pins its hub dataset
        records = import_records(spec.hub, spec.preset, split=spec.hub_split, config=spec.hub_config)
    if spec.direction is not None:
        records = [r for r in records if r.direction == spec.direction]
    if task == "r1k_direction":
        from r1k_plugins.core.record import pair_index

        complete = {
            pid for pid, d in pair_index(records).items() if len(d) == 2 and all(x.reasoning for x in d.values())
        }
        records = [r for r in records if r.pair_id in complete]
    if not records:
        raise R1KError(
            f"{data or spec.hub or 'embedded default'}: no usable records for {task}"
            + (
                " (r1k_direction needs forward/reverse pairs with reasoning traces)"
                if task == "r1k_direction"
                else f" (needs {spec.direction} records)"
            )
        )
    if limit:
        records = records[: int(limit)]
    return records


def generation_doc(r: Record, trace_format: str | None = None, direction_tags: bool = False) -> dict:
    """Flat doc for a generation task (Arrow-friendly: no nested meta). ``direction_tags``: the
    prompt starts with the record's direction tag, as for a model trained with ``data.direction_tags``."""
    return {
        "id": r.id,
        "pair_id": r.pair_id,
        "direction": r.direction,
        "question": r.question,
        "answer": r.answer,
        "answer_type": r.answer_type,
        "prompt": user_prompt(
            r.question,
            answer_type=r.answer_type,
            trace_format=trace_format,
            direction=r.direction,
            direction_tags=direction_tags,
        ),
    }


def direction_docs(records: list[Record], trace_format: str = "s1", direction_tags: bool = False) -> list[dict]:
    """One doc per record of a complete pair: its prompt, its own trace and the other direction's trace."""
    from r1k_plugins.core.record import pair_index

    pairs = pair_index(records)
    docs = []
    for r in records:
        other = pairs[r.pair_id]["reverse" if r.direction == "forward" else "forward"]
        docs.append(
            {
                "id": r.id,
                "pair_id": r.pair_id,
                "direction": r.direction,
                "prompt": user_prompt(
                    r.question, answer_type=r.answer_type, direction=r.direction, direction_tags=direction_tags
                ),
                "matching": completion_text(r, trace_format),
                "other": completion_text(other, trace_format),
            }
        )
    return docs
