"""lm-eval glue for the r1k tasks. Prompts, data and scoring live in r1k_plugins (one source of
truth shared with the Inspect tasks); this file only adapts them to lm-eval's hooks.

Data selection: ``--metadata '{"r1k_data": "my_r1k.jsonl"}'`` for r1k_forward / r1k_reverse /
r1k_direction; ``aime24_data``, ``math500_data``, ``gpqa_data`` for the benchmarks (a local copy
in the benchmark's own layout, or r1k JSONL); ``r1k_trace_format`` (s1 | think-tags): the
traces compared by r1k_direction, and a format hint added to the generation prompts;
``r1k_direction_tags`` (true | false): prompts start with the item's direction tag ([forward] /
[reverse]), for models trained with ``data.direction_tags``.
With no key the embedded default test split (or the pinned hub dataset) is used.
"""

from __future__ import annotations

from r1k_plugins.core.scoring import extract_answer_for, is_equivalent
from r1k_plugins.eval.evaldata import TASKS, direction_docs, generation_doc, load_task_records


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
    return [
        [extract_answer_for(r, doc["answer"], doc["answer_type"]) or "" for r in doc_resps]
        for doc_resps, doc in zip(resps, docs)
    ]


def process_generation(doc, results):
    extracted = results[0]
    return {"acc": float(bool(extracted) and is_equivalent(extracted, doc["answer"], doc["answer_type"]))}


def process_direction(doc, results):
    (ll_match, _), (ll_other, _) = results[0], results[1]
    nb_match = max(1, len(doc["matching"].encode("utf-8")))
    nb_other = max(1, len(doc["other"].encode("utf-8")))
    margin = ll_match / nb_match - ll_other / nb_other
    d = doc["direction"]
    return {
        "acc": float(margin > 0),
        "margin": margin,
        # per prompt direction: (direction, value); aggregated by mean_forward / mean_reverse
        "acc_forward": (d, float(margin > 0)),
        "acc_reverse": (d, float(margin > 0)),
        "margin_forward": (d, margin),
        "margin_reverse": (d, margin),
    }


def _mean_of(direction, items):
    vals = [v for d, v in items if d == direction]
    return sum(vals) / len(vals) if vals else float("nan")


def mean_forward(items):
    """Mean over the items asked under a forward prompt."""
    return _mean_of("forward", items)


def mean_reverse(items):
    """Mean over the items asked under a reverse prompt."""
    return _mean_of("reverse", items)


# ---------------------------------------------------------------------------- k samples per item
# The r1k_*_k tasks (tasks/_r1k_sampled_yaml): every item is answered k times by sampling
# (lm-eval's `repeats`); the filter scores every sample, and the per-item metrics come from
# r1k_plugins.core.sampling_metrics. --metadata keys: r1k_k (samples per item, default 4),
# r1k_temperature (0.6), r1k_top_p (0.95), r1k_pass_k (the k of pass@k, default r1k_k).
SAMPLED_DEFAULTS = {"r1k_k": 4, "r1k_temperature": 0.6, "r1k_top_p": 0.95}


def sampled_settings(metadata: dict) -> dict:
    """Validated sampling settings from --metadata: {"k", "pass_k", "temperature", "top_p"}."""
    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.core.sampling_metrics import check_k

    m = {**SAMPLED_DEFAULTS, **{k: v for k, v in (metadata or {}).items() if v is not None}}
    k = check_k(m["r1k_k"], what="--metadata r1k_k")
    pass_k = check_k(m.get("r1k_pass_k", k), k, what="--metadata r1k_pass_k")
    out = {"k": k, "pass_k": pass_k}
    for key, lo, hi in (("r1k_temperature", 0.0, 100.0), ("r1k_top_p", 0.0, 1.0)):
        try:
            v = float(m[key])
        except (TypeError, ValueError):
            raise R1KError(f"--metadata {key}={m[key]!r}: expected a number") from None
        if not (lo < v <= hi):
            raise R1KError(
                f"--metadata {key}={v:g}: expected a number in ({lo:g}, {hi:g}] "
                "(use the greedy r1k_* tasks for temperature 0)"
            )
        out[key.removeprefix("r1k_")] = v
    return out


def _sampled_task_class():
    from lm_eval.api.task import ConfigurableTask

    class R1KSampledTask(ConfigurableTask):
        """A generation task answered k times per item at the --metadata sampling settings."""

        def __init__(self, data_dir=None, cache_dir=None, download_mode=None, config=None):
            from r1k_plugins.core.errors import R1KError

            config = dict(config or {})
            config.pop("class", None)
            try:
                s = sampled_settings(config.get("metadata") or {})
            except R1KError as e:
                _fail(e)
            gen = dict(config.get("generation_kwargs") or {})
            gen.update(do_sample=True, temperature=s["temperature"], top_p=s["top_p"])
            config["generation_kwargs"] = gen
            config["repeats"] = s["k"]
            config["metadata"] = {
                **config.get("metadata", {}),
                "r1k_k": s["k"],
                "r1k_pass_k": s["pass_k"],
                "r1k_temperature": s["temperature"],
                "r1k_top_p": s["top_p"],
            }
            names = sampled_metric_names(s["k"], s["pass_k"])
            _register_metrics(names)
            config["metric_list"] = [
                {"metric": name, "aggregation": "mean", "higher_is_better": True} for name in names
            ]
            super().__init__(data_dir=data_dir, cache_dir=cache_dir, download_mode=download_mode, config=config)

        def process_results(self, doc, results):
            meta = self.config.metadata
            return process_sampled(doc, results, meta["r1k_k"], meta["r1k_pass_k"])

    return R1KSampledTask


def sampled_metric_names(k: int, pass_k: int) -> list[str]:
    return [f"avg@{k}", f"pass@{pass_k}", f"maj@{k}"]


def _register_metrics(names):
    """Make lm-eval know the metric names (else it looks them up in HF `evaluate`, over the network)."""
    from lm_eval.api.registry import metric_registry, register_metric

    for name in names:
        if name not in metric_registry:
            register_metric(metric=name, higher_is_better=True, aggregation="mean")(lambda items: items)


def __getattr__(name):  # `class: !function utils.R1KSampledTask` (lm-eval imported lazily)
    if name == "R1KSampledTask":
        return _sampled_task_class()
    raise AttributeError(name)


def score_samples(resps, docs):
    """Filter: each item's k responses -> one verdict per sample, logged in filtered_resps as a
    JSON string {"correct": bool, "extracted": str | null, "finished": bool, "reason": str}."""
    import json

    from r1k_plugins.core.scoring import score_response

    return [
        [json.dumps(score_response(r, doc["answer"], doc["answer_type"])) for r in doc_resps]
        for doc_resps, doc in zip(resps, docs)
    ]


def process_sampled(doc, results, k: int, pass_k: int):
    """Per item: avg@k, pass@k and maj@k of its k scored samples (r1k_plugins.core.sampling_metrics)."""
    import json

    from r1k_plugins.core.sampling_metrics import avg_at_k, maj_correct, pass_at_k, same_answer

    verdicts = [json.loads(v) for v in (results[0] if results and isinstance(results[0], list) else results)]
    correct = [bool(v["correct"]) for v in verdicts]
    answers = [v["extracted"] for v in verdicts]
    names = sampled_metric_names(k, pass_k)
    return {
        names[0]: avg_at_k(correct),
        names[1]: pass_at_k(len(correct), sum(correct), pass_k),
        names[2]: maj_correct(answers, correct, same_answer(doc["answer_type"])),
    }
