"""lm-eval glue for the r1k tasks. Prompts, data and scoring live in r1k_plugins (one source of
truth shared with the Inspect tasks); this file only adapts them to lm-eval's hooks.

Data selection: ``--metadata '{"r1k_data": "my_r1k.jsonl"}'`` for r1k_forward / r1k_reverse /
r1k_direction; ``aime24_data``, ``math500_data``, ``gpqa_data`` for the benchmarks (a local copy
in the benchmark's own layout, or r1k JSONL); ``r1k_trace_format`` (s1 | think-tags): the
traces compared by r1k_direction, and a format hint added to the generation prompts;
``r1k_direction_tags`` (true | false): prompts start with the item's direction tag ([forward] /
[reverse]), for models trained with ``data.direction_tags``. With no key the embedded default test split (or the pinned hub dataset) is used.
"""

from __future__ import annotations

from r1k_plugins.eval.evaldata import TASKS, direction_docs, generation_doc, load_task_records
from r1k_plugins.core.scoring import extract_answer, is_equivalent


def _dataset(task: str, metadata: dict):
    import datasets

    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.core.schemas import check_metadata

    spec = TASKS[task]
    try:
        check_metadata(metadata, (spec.metadata_key,))
        records = load_task_records(task, metadata.get(spec.metadata_key))
    except R1KError as e:
        _fail(e)
    trace_format = metadata.get("r1k_trace_format")
    tags = bool(metadata.get("r1k_direction_tags"))
    if task == "r1k_direction":
        docs = direction_docs(records, trace_format or "s1", direction_tags=tags)
    else:
        docs = [generation_doc(r, trace_format, direction_tags=tags) for r in records]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def _fail(e):
    """Under the lm_eval command: the one-line message is the last line, exit 2 (lm-eval would wrap
    the error in its own traceback). Called from Python (simple_evaluate): raise it."""
    import os
    import sys

    if os.path.basename(sys.argv[0] or "") in ("lm_eval", "lm-eval", "__main__.py"):
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    raise e


def load_forward(**metadata):
    return _dataset("r1k_forward", metadata)


def load_reverse(**metadata):
    return _dataset("r1k_reverse", metadata)


def load_direction(**metadata):
    return _dataset("r1k_direction", metadata)


def load_aime24(**metadata):
    return _dataset("r1k_aime24", metadata)


def load_math500(**metadata):
    return _dataset("r1k_math500", metadata)


def load_gpqa_diamond(**metadata):
    return _dataset("r1k_gpqa_diamond", metadata)


def extract_answers(resps, docs):
    """Filter: each response -> its extracted final answer ("" if thinking never ended / none)."""
    return [[extract_answer(r, doc["answer_type"]) or "" for r in doc_resps] for doc_resps, doc in zip(resps, docs)]


def process_generation(doc, results):
    extracted = results[0]
    return {"acc": float(bool(extracted) and is_equivalent(extracted, doc["answer"], doc["answer_type"]))}


def process_direction(doc, results):
    (ll_match, _), (ll_other, _) = results[0], results[1]
    nb_match = max(1, len(doc["matching"].encode("utf-8")))
    nb_other = max(1, len(doc["other"].encode("utf-8")))
    margin = ll_match / nb_match - ll_other / nb_other
    d = doc["direction"]
    return {"acc": float(margin > 0), "margin": margin,
            # per prompt direction: (direction, value); aggregated by mean_forward / mean_reverse
            "acc_forward": (d, float(margin > 0)), "acc_reverse": (d, float(margin > 0)),
            "margin_forward": (d, margin), "margin_reverse": (d, margin)}


def _mean_of(direction, items):
    vals = [v for d, v in items if d == direction]
    return sum(vals) / len(vals) if vals else float("nan")


def mean_forward(items):
    """Mean over the items asked under a forward prompt."""
    return _mean_of("forward", items)


def mean_reverse(items):
    """Mean over the items asked under a reverse prompt."""
    return _mean_of("reverse", items)
