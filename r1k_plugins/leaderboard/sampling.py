"""Sampled runs (k answers per item) on the leaderboard: read them from either harness's per-sample
log, compute avg@k / pass@k / maj@k (``r1k_plugins.core.sampling_metrics``), and compare the
harnesses on a sampled run by a paired test on per-item success proportions.

A run is *sampled* when it answers items more than once or at temperature > 0 on purpose:
lm-eval's ``r1k_*_k`` tasks (``repeats`` with per-sample verdicts logged in ``filtered_resps``) and
Inspect logs of the r1k tasks run with ``-T k=...`` or ``--epochs k`` (k > 1). Greedy runs stay on
the main board; sampled ones get their own table with their settings (k, temperature, top_p).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.sampling_metrics import item_metrics, mean_stderr, paired_proportion_test, same_answer
from r1k_plugins.leaderboard.ingest import INSPECT, LMEVAL, Figure, Source, dict_at, display_path

AGREE_ALPHA = 0.05
SCORER = "r1k_scorer"


@dataclass
class SampledRun:
    """One sampled run of one task: per item the verdicts and extracted answers of its samples."""

    harness: str
    model_id: str
    task: str  # base task name (lm-eval's r1k_reverse_k -> r1k_reverse)
    path: Path
    run: str
    k: int | None  # samples per item asked for (None: unknown)
    pass_k: int | None
    temperature: float | None
    top_p: float | None
    items: dict[str, tuple[list[bool], list[str | None], str]] = field(default_factory=dict)

    @property
    def sampled(self) -> bool:
        return (self.k or 1) > 1 or (self.temperature or 0) > 0

    def proportions(self) -> dict[str, float]:
        return {i: sum(v) / len(v) for i, (v, _, _) in self.items.items() if v}

    def metrics(self) -> dict:
        if not self.items:
            raise R1KError(
                f"{display_path(self.path)}: {self.task}: no per-sample verdicts logged "
                "(run lm-eval with --log_samples)"
            )
        fns: dict[str, Any] = {}
        n = min(len(v) for v, _, _ in self.items.values())
        k = min(self.pass_k or n, n)
        per: dict[str, list[float]] = {"avg@k": [], "pass@k": [], "maj@k": []}
        for verdicts, answers, answer_type in self.items.values():
            same = fns.setdefault(answer_type, same_answer(answer_type))
            for name, v in zip(per, item_metrics(verdicts, answers, k, same)):
                per[name].append(v)
        out: dict[str, Any] = {"k": k, "n": n, "n_items": len(self.items)}
        for name, vals in per.items():
            mean, se = mean_stderr(vals)
            out[name] = {"value": mean, "stderr": se}
        return out


def _num(x) -> float | None:
    try:
        return float(x) if x is not None else None
    except (TypeError, ValueError):
        return None


def _lmeval_runs(src: Source, data: dict) -> list[SampledRun]:
    runs = []
    configs = dict_at(data, "configs")
    for fig in src.figures:
        cfg = dict_at(configs, fig.task)
        if not any(str(m).startswith("avg@") for m in fig.metrics):
            continue
        gk = dict_at(cfg, "generation_kwargs")
        meta = dict_at(cfg, "metadata")
        base = fig.task[:-2] if fig.task.endswith("_k") else fig.task
        run = SampledRun(
            LMEVAL,
            src.model_id,
            base,
            src.path,
            src.run,
            cfg.get("repeats"),
            meta.get("r1k_pass_k") or cfg.get("repeats"),
            _num(gk.get("temperature")),
            _num(gk.get("top_p")),
        )
        ref = fig.sample_ref
        if ref is not None:
            _, sp, filt, _ = ref
            with open(sp, encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    obj = json.loads(line)
                    if obj.get("filter") != filt:
                        continue
                    doc = obj.get("doc") or {}
                    fr = obj.get("filtered_resps") or []
                    if fr and isinstance(fr[0], list):
                        fr = fr[0]
                    verdicts = [json.loads(v) if isinstance(v, str) else v for v in fr]
                    key = str(doc.get("id", obj.get("doc_id")))
                    run.items[key] = (
                        [bool(v.get("correct")) for v in verdicts],
                        [v.get("extracted") for v in verdicts],
                        doc.get("answer_type", "expression"),
                    )
        runs.append(run)
    return runs


def _inspect_runs(src: Source) -> list[SampledRun]:
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(src.path))
    ev = log.eval
    targs = ev.task_args or {}
    epochs = ev.config.epochs or 1
    if epochs <= 1 and not targs.get("k"):
        return []
    gen = ev.model_generate_config
    plan = log.plan.config if log.plan else None
    temp = gen.temperature if gen and gen.temperature is not None else (plan.temperature if plan else None)
    top_p = gen.top_p if gen and gen.top_p is not None else (plan.top_p if plan else None)
    fig = src.figures[0]
    run = SampledRun(
        INSPECT,
        src.model_id,
        fig.task,
        src.path,
        src.run,
        epochs,
        int(targs.get("pass_k") or epochs),
        _num(temp),
        _num(top_p),
    )
    for s in log.samples or []:
        sc = (s.scores or {}).get(SCORER)
        if sc is None:
            continue
        v, a, t = run.items.setdefault(str(s.id), ([], [], (s.metadata or {}).get("answer_type", "expression")))
        v.append(sc.value in ("C", True, 1, 1.0))
        a.append(sc.answer)
    return [run]


def take_sampled(sources: list[Source]) -> tuple[list[SampledRun], list[Source], list[tuple[Path, str]]]:
    """Split sampled runs off ``sources`` (their figures are removed from the sources); returns
    (sampled runs, sources left with no figure, [(path, reason)] for sampled logs that cannot be read)."""
    runs: list[SampledRun] = []
    emptied: list[Source] = []
    problems: list[tuple[Path, str]] = []
    for src in sources:
        try:
            if src.harness == LMEVAL:
                if not any(any(str(m).startswith("avg@") for m in f.metrics) for f in src.figures):
                    continue
                got = _lmeval_runs(src, json.loads(src.path.read_bytes()))
                tasks = {r.task + "_k" for r in got}
                src.figures = [f for f in src.figures if f.task not in tasks]
            else:
                if not src.figures or not _inspect_maybe_sampled(src):
                    continue
                got = _inspect_runs(src)
                if got:
                    src.figures = []
            for r in got:
                r.metrics()  # unreadable verdicts surface here, not in the renderer
        except (R1KError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
            problems.append((src.path, f"sampled run unreadable: {type(e).__name__}: {str(e)[:160]}"))
            src.figures = []
            emptied.append(src)
            continue
        runs.extend(got)
        if got and not src.figures:
            emptied.append(src)
    return runs, emptied, problems


def _inspect_maybe_sampled(src: Source) -> bool:
    """Cheap check from the header the board already read: epochs > 1 or -T k."""
    import zipfile

    try:
        if src.path.suffix == ".eval":
            try:
                import zipfile_zstd  # noqa: F401 - the zstd method Inspect may use (py < 3.14)
            except ImportError:
                pass
            with zipfile.ZipFile(src.path) as z:
                h = json.loads(z.read("header.json"))
        else:
            h = json.loads(src.path.read_bytes())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return False
    ev = h.get("eval") or {}
    epochs = (ev.get("config") or {}).get("epochs") or 1
    return (isinstance(epochs, int) and epochs > 1) or bool((ev.get("task_args") or {}).get("k"))


def _fmt_setting(x) -> str:
    return "?" if x is None else f"{x:g}"


def rows(runs: list[SampledRun], names: dict[str, str] | None = None) -> list[dict]:
    """One table row per sampled run, newest first per (model, task, harness)."""
    out = []
    for r in sorted(runs, key=lambda r: (r.model_id, r.task, r.harness, r.run)):
        m = r.metrics()
        out.append(
            {
                "model": (names or {}).get(r.model_id, r.model_id),
                "task": r.task,
                "harness": r.harness,
                "k": m["n"],
                "pass_k": m["k"],
                "temperature": r.temperature,
                "top_p": r.top_p,
                "n_items": m["n_items"],
                "avg@k": m["avg@k"],
                "pass@k": m["pass@k"],
                "maj@k": m["maj@k"],
                "path": display_path(r.path),
                "run": r.run,
            }
        )
    return out


def compare(a: SampledRun, b: SampledRun) -> dict:
    """The two harnesses (or any two runs) on the same items: paired test of per-item success
    proportions c_i/n_i. A sampled run is never compared with a greedy one (R1KError)."""
    if a.sampled != b.sampled:
        s, g = (a, b) if a.sampled else (b, a)
        raise R1KError(
            f"{display_path(s.path)} is a sampled run (k={s.k}, temperature={_fmt_setting(s.temperature)}) "
            f"and {display_path(g.path)} a greedy one: compare sampled runs with sampled runs "
            "(same k and settings)"
        )
    pa, pb = a.proportions(), b.proportions()
    common = sorted(set(pa) & set(pb))
    if not common:
        raise R1KError(
            f"{display_path(a.path)} and {display_path(b.path)} share no items (compare runs on the same data)"
        )
    t = paired_proportion_test([pa[i] for i in common], [pb[i] for i in common])
    notes = []
    for what, x, y in (("k", a.k, b.k), ("temperature", a.temperature, b.temperature), ("top_p", a.top_p, b.top_p)):
        if x is not None and y is not None and x != y:
            notes.append(f"{what} differs ({x} vs {y})")
    return {
        "task": a.task,
        "a": {"harness": a.harness, "path": display_path(a.path)},
        "b": {"harness": b.harness, "path": display_path(b.path)},
        "n_common": len(common),
        "mean_diff": t["mean_diff"],
        "stderr": t["stderr"],
        "p_value": t["p_value"],
        "exact": t["exact"],
        "method": "paired sign-flip test on per-item success proportions",
        "agree": (t["p_value"] >= AGREE_ALPHA) if not notes else None,
        "note": "; ".join(notes) or None,
    }


def cross_harness(runs: list[SampledRun], names: dict[str, str] | None = None) -> list[dict]:
    """lm-eval vs Inspect for every (model, task) sampled in both (the newest run of each)."""
    newest: dict[tuple, SampledRun] = {}
    for r in sorted(runs, key=lambda r: r.run):
        newest[(r.model_id, r.task, r.harness)] = r
    out = []
    for (model, task, h), r in sorted(newest.items()):
        other = newest.get((model, task, INSPECT))
        if h != LMEVAL or other is None:
            continue
        try:
            c = compare(r, other)
        except R1KError as e:  # e.g. no common items: reported, not judged
            c = {"task": task, "n_common": 0, "mean_diff": None, "p_value": None, "agree": None, "note": str(e)}
        c["model"] = (names or {}).get(model, model)
        out.append(c)
    return out


def board_section(runs: list[SampledRun], names: dict[str, str] | None = None) -> dict | None:
    """What the board document holds for sampled runs (None: there are none)."""
    if not runs:
        return None
    return {"rows": rows(runs, names), "cross_harness": cross_harness(runs, names)}


def read_run(path: str | Path, task: str | None = None) -> SampledRun:
    """One run (an lm-eval results file or folder, or an Inspect log) as a SampledRun; greedy runs
    come back with k=1. For ``r1k leaderboard compare``."""
    from r1k_plugins.leaderboard.ingest import Reject, discover, read_file

    disc = discover([str(path)])
    files = [f for f in disc.files if f.suffix in (".json", ".eval")]
    if not files:
        raise R1KError(f"{path}: no lm-eval results file or Inspect log found")
    found: list[SampledRun] = []
    for f in files:
        try:
            src = read_file(f)
        except Reject as e:
            raise R1KError(f"{display_path(f)}: {e}") from None
        sampled, _, problems = take_sampled([src])
        if problems:
            raise R1KError(f"{display_path(problems[0][0])}: {problems[0][1]}")
        found.extend(sampled)
        for fig in src.figures:  # greedy figures: one answer per item
            found.append(_greedy_run(src, fig))
    if task is not None:
        found = [r for r in found if r.task == task or r.task + "_k" == task]
    if len(found) != 1:
        have = ", ".join(sorted({r.task for r in found})) or "none"
        raise R1KError(f"{path}: {len(found)} runs found (tasks: {have}); name one file, or one task with --task")
    return found[0]


def _greedy_run(src: Source, fig: Figure) -> SampledRun:
    from r1k_plugins.leaderboard.ingest import load_sample_scores

    d = fig.decoding or {}
    run = SampledRun(
        src.harness,
        src.model_id,
        fig.task,
        src.path,
        src.run,
        1,
        1,
        d.get("temperature") if d.get("greedy") is False else 0.0,
        None,
    )
    if d.get("greedy") is False and src.harness == INSPECT:
        run.temperature = d.get("temperature") or 1.0
    scores = load_sample_scores(fig.sample_ref) if fig.sample_ref is not None else None
    for key, v in (scores or {}).items():
        run.items[key] = ([v >= 0.5], [None], "expression")
    return run
