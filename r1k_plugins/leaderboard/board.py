"""Assemble the leaderboard document (the data of leaderboard.json) from the input files.

Every output is made from this one document: the CSV and the plots directly, the Markdown, HTML
and the JSON's ``board`` through the board model (sections.py -> model.py -> render.py), so they
always agree. The document holds no timestamps of its own and sorts everything, so the same
inputs give byte-identical files.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1k_plugins import __version__
from r1k_plugins.core.errors import R1KError
from r1k_plugins.leaderboard.arms import arm_for, arm_sort_key, is_local, model_key
from r1k_plugins.leaderboard.dynamics import read_probes, split_probe_files
from r1k_plugins.leaderboard.ingest import (
    HARNESSES,
    INSPECT,
    LMEVAL,
    Figure,
    Reject,
    Skipped,
    Source,
    discover,
    display_path,
    load_sample_scores,
    read_file,
    run_label,
)

SCHEMA = "r1k_leaderboard/1"
# Known r1k columns first, in this order; any other task follows alphabetically.
TASK_ORDER = (
    "r1k",
    "r1k_forward",
    "r1k_reverse",
    "r1k_direction",
    "r1k_bench",
    "r1k_aime24",
    "r1k_math500",
    "r1k_gpqa_diamond",
)
DIRECTION_TASK = "r1k_direction"
AGREE_SIGMAS = 2.0  # cross-harness without per-sample logs: flag |a-b| > 2*sqrt(se_a^2 + se_b^2)
AGREE_ALPHA = 0.05  # cross-harness with per-sample logs: flag when the exact McNemar p < 0.05
SIGNIFICANT_Z = 1.96  # deltas: |delta| > 1.96*se


@dataclass
class _Row:
    key: str  # model key
    run: str | None  # None: the main row; else an older run kept by --all
    figures: dict[tuple[str, str], Figure]


def _short_names(keys: list[str]) -> dict[str, str]:
    """Shortest unique display names: the last path component(s) of local models, else the id."""
    names = {k: k for k in keys if not k.startswith("/")}
    local = [k for k in keys if k.startswith("/")]
    depth = {k: 2 if Path(k).name.startswith("checkpoint-") else 1 for k in local}
    while True:
        cur = {k: "/".join(Path(k).parts[1:][-depth[k] :]) or k for k in local}
        counts = Counter(list(cur.values()) + list(names.values()))
        clash = [k for k in local if counts[cur[k]] > 1 and depth[k] < len(Path(k).parts) - 1]
        if not clash:
            break
        for k in clash:
            depth[k] += 1
    names.update(cur)
    counts = Counter(names.values())
    return {k: (k if counts[n] > 1 else n) for k, n in names.items()}


def _model_display(key: str) -> str:
    return display_path(key) if is_local(key) else key


def _task_sort_key(name: str) -> tuple:
    return (0, TASK_ORDER.index(name), name) if name in TASK_ORDER else (1, 0, name)


def _fnum(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def _figure_doc(fig: Figure) -> dict:
    ref = fig.sample_ref
    return {
        "score": _fnum(fig.score),
        "stderr": _fnum(fig.stderr),
        "n": fig.n,
        "metric": fig.metric,
        "metrics": {
            k: {"value": _fnum(v["value"]), "stderr": _fnum(v["stderr"])} for k, v in sorted(fig.metrics.items())
        },
        "group": fig.is_group,
        "source": display_path(fig.source.path) if fig.source else None,
        "samples": display_path(ref[1]) if ref else None,
        "run": fig.source.run if fig.source else None,
        "decoding": fig.decoding,
    }


def build(
    inputs: list[str], baseline: str | None = None, keep_all: bool = False, exclude: Path | None = None
) -> dict[str, Any]:
    """Read ``inputs`` (files / folders) and return the leaderboard document."""
    if not inputs:
        raise R1KError("no results given: pass lm-eval --output_path folders, results_*.json files or Inspect logs")
    disc = discover(inputs, exclude)
    skipped: list[Skipped] = list(disc.skipped)
    warnings: list[str] = []
    probe_files, result_files = split_probe_files(disc.files)
    probe = read_probes(probe_files, skipped, warnings)

    # 1. read every candidate; drop duplicates (same content / same Inspect eval_id), keeping the
    #    copy with per-sample logs beside it, then lm-eval's own results_<ts>.json name, then .eval
    read: list[Source] = []
    for f in result_files:
        try:
            read.append(read_file(f))
        except Reject as e:
            skipped.append(Skipped(display_path(f), str(e)))
        except Exception as e:  # noqa: BLE001 - a bug in one reader must not sink the export
            skipped.append(Skipped(display_path(f), f"unreadable: {type(e).__name__}: {str(e)[:160]}"))
    read.sort(
        key=lambda s: (
            s.dedupe_key,
            -len(s.samples_files),
            not s.path.name.startswith("results_"),
            s.path.suffix != ".eval",
            s.path.as_posix(),
        )
    )
    sources: list[Source] = []
    by_key: dict[str, Source] = {}
    for src in read:
        first = by_key.get(src.dedupe_key)
        if first is not None:
            what = "same Inspect eval_id" if src.harness == INSPECT else "identical content"
            skipped.append(Skipped(display_path(src.path), f"duplicate: {what} as {display_path(first.path)}"))
            continue
        by_key[src.dedupe_key] = src
        sources.append(src)

    # sampled runs (k answers per item) go to their own section (leaderboard/sampling.py)
    from r1k_plugins.leaderboard.sampling import take_sampled

    sampled_runs, emptied, problems = take_sampled(sources)
    skipped += [Skipped(display_path(p), why) for p, why in problems]
    sources = [s for s in sources if all(s is not e for e in emptied)]

    # 2. newest figure per (model, harness, task); older ones superseded (or kept as rows with --all)
    sources.sort(key=lambda s: (s.run, s.path.as_posix()))
    latest: dict[tuple[str, str, str], Figure] = {}
    for src in sources:
        key = model_key(src.model_id)
        for fig in src.figures:
            latest[(key, fig.harness, fig.task)] = fig  # later (newer) runs overwrite
    rows: dict[tuple[str, str | None], _Row] = {}
    used: dict[int, set[str]] = {}
    superseded: dict[int, list[str]] = {}
    for src in sources:
        key = model_key(src.model_id)
        for fig in src.figures:
            newest = latest[(key, fig.harness, fig.task)]
            if newest is fig:
                run = None
            elif keep_all:
                run = run_label(src.run) if src.run else display_path(src.path)
            else:
                superseded.setdefault(id(src), []).append(fig.task)
                continue
            if run is not None and (fig.task, fig.harness) in rows.get((key, run), _Row(key, run, {})).figures:
                run = f"{run} ({display_path(src.path)})"
            row = rows.setdefault((key, run), _Row(key, run, {}))
            row.figures[(fig.task, fig.harness)] = fig
            used.setdefault(id(src), set()).add(fig.task)
    for src in sources:
        if id(src) not in used:
            newer_paths = set()
            for other in src.figures:
                newer_src = latest[(model_key(src.model_id), other.harness, other.task)].source
                assert newer_src is not None  # ingest gives every figure its source
                newer_paths.add(display_path(newer_src.path))
            newer = sorted(newer_paths)
            skipped.append(
                Skipped(
                    display_path(src.path),
                    f"superseded: newer run of the same model and task(s) in {', '.join(newer)} (use --all to keep it)",
                )
            )
    used_samples = {sf for src in sources if id(src) in used for sf in src.samples_files}
    used_samples |= {sf for src in emptied for sf in src.samples_files}  # read by the sampled section
    for sp in sorted(disc.samples - used_samples, key=lambda p: p.as_posix()):
        m_ts = sp.name.rsplit("_", 1)[-1].removesuffix(".jsonl")
        res = sp.with_name(f"results_{m_ts}.json")
        if res.exists():
            skipped.append(Skipped(display_path(sp), f"lm-eval samples of {display_path(res)}, which is not used"))
        else:
            skipped.append(Skipped(display_path(sp), "lm-eval samples file without its results_<timestamp>.json"))

    if not rows and probe is None and sampled_runs:
        pass  # only sampled runs: the board is their section
    elif not rows and probe is None and not skipped:
        raise R1KError(
            f"no result files found in {', '.join(inputs)} (expected lm-eval results_*.json files "
            "or Inspect .eval / .json logs)"
        )
    elif not rows and probe is None:
        n = len(skipped)
        raise R1KError(
            f"nothing usable in {len(inputs)} input(s): {n} file(s) skipped "
            f"({'; '.join(f'{s.path}: {s.reason}' for s in skipped[:3])}{'; ...' if n > 3 else ''})"
        )

    # 3. names, arms, order
    keys = sorted({r.key for r in rows.values()})
    names = _short_names(keys)
    arms = {}
    for k in keys:
        info = arm_for(k)
        arms[k] = info
        if info.warning:
            warnings.append(info.warning)
    ordered = sorted(rows.values(), key=lambda r: r.run or "", reverse=True)  # newest history first
    ordered.sort(key=lambda r: (arm_sort_key(arms[r.key].arm), names[r.key], r.run is not None))
    tasks: dict[str, set[str]] = {}
    task_metric: dict[str, set[str]] = {}
    task_group: dict[str, bool] = {}
    for r in ordered:
        for (t, h), fig in r.figures.items():
            tasks.setdefault(t, set()).add(h)
            task_metric.setdefault(t, set()).add(fig.metric)
            task_group[t] = task_group.get(t, False) or fig.is_group
    task_names = sorted(tasks, key=_task_sort_key)
    for t in task_names:
        if len(task_metric[t]) > 1:
            warnings.append(f"task {t}: primary metric differs between files ({', '.join(sorted(task_metric[t]))})")

    row_docs: list[dict[str, Any]] = []
    for r in ordered:
        name = names[r.key] if r.run is None else f"{names[r.key]} @ {r.run}"
        info = arms[r.key]
        results: dict[str, dict] = {}
        for (t, h), fig in sorted(r.figures.items()):
            results.setdefault(t, {})[h] = _figure_doc(fig)
        row_docs.append(
            {
                "name": name,
                "arm": info.arm,
                "model": _model_display(r.key),
                "run": r.run,
                "manifest": info.manifest,
                "results": {t: results[t] for t in sorted(results, key=_task_sort_key)},
            }
        )

    # 4. baseline deltas
    base_doc = None
    if baseline is not None:
        base_idx, matched_by = _find_baseline(baseline, row_docs)
        base_doc = {"name": row_docs[base_idx]["name"], "matched_by": matched_by}
        cache: dict[Any, dict | None] = {}
        base_row = ordered[base_idx]
        for i, r in enumerate(ordered):
            if i == base_idx:
                continue
            deltas: dict[str, dict] = {}
            for (t, h), fig in sorted(r.figures.items()):
                bfig = base_row.figures.get((t, h))
                if bfig is None or fig.metric != bfig.metric:
                    continue
                deltas.setdefault(t, {})[h] = _delta(fig, bfig, cache)
            row_docs[i]["deltas"] = {t: deltas[t] for t in sorted(deltas, key=_task_sort_key)}

    # 5. cross-harness agreement
    cross = []
    xcache: dict[Any, dict | None] = {}
    for r, doc in zip(ordered, row_docs):
        for t in task_names:
            a, b = r.figures.get((t, LMEVAL)), r.figures.get((t, INSPECT))
            if a is None or b is None:
                continue
            c = _agreement(doc["name"], t, a, b, xcache)
            cross.append(c)
            if c["agree"] is False and c["method"] == "paired":
                warnings.append(
                    f"{doc['name']} / {t}: lm-eval and Inspect verdicts differ on {len(c['first_differing'])}"
                    f"{'+' if c['identical'] is not None and c['lmeval_better'] + c['inspect_better'] > 5 else ''} "
                    f"of {c['n_common']} common items (identical {c['identical']:.1%}, exact McNemar "
                    f"p={c['p_value']:.3g}; first: {', '.join(map(str, c['first_differing']))})"
                )
            elif c["agree"] is False:
                warnings.append(
                    f"{doc['name']} / {t}: lm-eval {a.score:.4f} vs Inspect {b.score:.4f} differ by "
                    f"{c['diff']:.4f} > {AGREE_SIGMAS:g}σ ({c['threshold']:.4f})"
                )
            elif c.get("note", "").startswith("not comparable: lm-eval decoded"):
                warnings.append(f"{doc['name']} / {t}: {c['note']}")

    sampled = _sampled_section(sampled_runs, warnings)
    srcs: list[dict[str, Any]] = []
    for src in sources:
        if id(src) not in used:
            continue
        srcs.append(
            {
                "path": display_path(src.path),
                "harness": src.harness,
                "model": _model_display(model_key(src.model_id)),
                "run": src.run,
                "tasks": sorted(used[id(src)], key=_task_sort_key),
                "superseded_tasks": sorted(superseded.get(id(src), []), key=_task_sort_key),
                "samples": sorted(display_path(p) for p in src.samples_files),
            }
        )
    srcs.sort(key=lambda s: s["path"])
    skipped.sort(key=lambda s: (s.path, s.reason))
    return {
        "schema": SCHEMA,
        "generator": f"r1k-plugins {__version__}",
        "options": {"all": bool(keep_all), "baseline": baseline},
        "harnesses": list(HARNESSES),
        "tasks": [
            {
                "name": t,
                "group": task_group[t],
                "metric": sorted(task_metric[t])[0],
                "harnesses": [h for h in HARNESSES if h in tasks[t]],
            }
            for t in task_names
        ],
        "rows": row_docs,
        "baseline": base_doc,
        "cross_harness": cross,
        "sources": srcs,
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        "warnings": sorted(set(warnings)),
        "probe": probe,  # r1k probe direction outputs (leaderboard/dynamics.py), or None
        # sampled runs: {"rows", "cross_harness"} (leaderboard/sampling.py), or None
        "sampled": sampled,
        # one row per arm: probe Δ / y± and accuracy side by side (leaderboard/arms_compare.py), or None
        "arms_compare": _arms_compare(row_docs, probe),
        "plots": [],  # filled in by export(): the PNG files written beside the board
    }


def _sampled_section(runs, warnings: list[str]) -> dict | None:
    from r1k_plugins.leaderboard.sampling import board_section

    names = {r.model_id: _model_display(model_key(r.model_id)) for r in runs}
    try:
        return board_section(runs, names)
    except R1KError as e:
        warnings.append(f"sampled runs: {e}")
        return None


def _arms_compare(row_docs: list[dict], probe: dict | None) -> list[dict] | None:
    if probe is None:
        return None
    from r1k_plugins.leaderboard.arms_compare import compare

    return compare(row_docs, probe) or None


def _find_baseline(name: str, rows: list[dict]) -> tuple[int, str]:
    for how, match in (
        ("name", lambda r: r["name"] == name),
        ("arm", lambda r: r["arm"] == name and r["run"] is None),
        ("name", lambda r: r["name"].lower() == name.lower()),
        ("arm", lambda r: r["arm"].lower() == name.lower() and r["run"] is None),
        ("model", lambda r: r["model"] == name and r["run"] is None),
    ):
        hits = [i for i, r in enumerate(rows) if match(r)]
        if len(hits) == 1:
            return hits[0], how
        if len(hits) > 1:
            raise R1KError(
                f"--baseline {name!r} matches {len(hits)} rows by {how} "
                f"({', '.join(rows[i]['name'] for i in hits[:5])}); give a row name instead"
            )
    avail = ", ".join(sorted({r["name"] for r in rows} | {r["arm"] for r in rows})[:12])
    raise R1KError(f"--baseline {name!r} matches no row name or arm (available: {avail})")


def _delta(fig: Figure, base: Figure, cache: dict) -> dict:
    """fig - base: paired over common items when both have per-sample scores, else from stderrs."""
    out: dict[str, Any] = {"delta": None, "stderr": None, "method": "unpaired", "n": None, "significant": None}
    if fig.sample_ref is not None and base.sample_ref is not None:
        a = _cached(fig.sample_ref, cache)
        b = _cached(base.sample_ref, cache)
        common = sorted(set(a or {}) & set(b or {}))
        if a and b:  # how many items each side has: runs over other data / --limit pair on common ids
            out.update(n_row=len(a), n_base=len(b))
        if a and b and len(common) >= 2:
            diffs = [a[k] - b[k] for k in common]
            n = len(diffs)
            mean = sum(diffs) / n
            var = sum((d - mean) ** 2 for d in diffs) / (n - 1)
            out.update(delta=mean, stderr=math.sqrt(var / n), method="paired", n=n)
    if out["method"] == "unpaired":
        if fig.score is not None and base.score is not None:
            out["delta"] = fig.score - base.score
        if fig.stderr is not None and base.stderr is not None:
            out["stderr"] = math.sqrt(fig.stderr**2 + base.stderr**2)
        if fig.n is not None and base.n is not None:
            out["n"] = min(fig.n, base.n)
    d, se = out["delta"], out["stderr"]
    if d is not None and se is not None:
        out["significant"] = abs(d) > SIGNIFICANT_Z * se if se > 0 else d != 0
    out["delta"], out["stderr"] = _fnum(d), _fnum(se)
    return out


def _cached(ref: tuple, cache: dict) -> dict | None:
    k = tuple(str(x) for x in ref)
    if k not in cache:
        cache[k] = load_sample_scores(ref)
    return cache[k]


def sign_test_p(b: int, c: int) -> float:
    """Exact two-sided McNemar (sign) test: the p-value of ``b`` vs ``c`` discordant pairs under
    'both harnesses score the same' (each discordant pair equally likely either way)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def _decoding_note(a: Figure, b: Figure) -> str | None:
    da, db = a.decoding, b.decoding
    if not da or not db or da.get("greedy") is None or db.get("greedy") is None:
        return None
    if da["greedy"] != db["greedy"]:
        how = {True: "greedy", False: "sampled"}
        return (
            f"not comparable: lm-eval decoded {how[da['greedy']]}, Inspect {how[db['greedy']]} "
            "(pass -M do_sample=false to Inspect's hf provider)"
        )
    return None


def _agreement(row: str, task: str, a: Figure, b: Figure, cache: dict | None = None) -> dict:
    """lm-eval vs Inspect for one row and task. With per-sample logs on both sides the verdicts are
    compared item by item on the common record ids: the share identical, the first differing ids,
    and an exact McNemar test on the discordant items (agree unless p < AGREE_ALPHA). Without them,
    the old rule: |Δ| within AGREE_SIGMAS·√(se₁²+se₂²). Sampled vs greedy decoding is never judged."""
    doc: dict[str, Any] = {
        "row": row,
        "task": task,
        "metric": a.metric,
        LMEVAL: {
            "score": _fnum(a.score),
            "stderr": _fnum(a.stderr),
            "n": a.n,
            "metric": a.metric,
            "decoding": a.decoding,
        },
        INSPECT: {
            "score": _fnum(b.score),
            "stderr": _fnum(b.stderr),
            "n": b.n,
            "metric": b.metric,
            "decoding": b.decoding,
        },
        "diff": None,
        "threshold": None,
        "agree": None,
        "method": None,
    }
    if a.metric != b.metric or a.score is None or b.score is None:
        doc["note"] = "not comparable: different metrics" if a.metric != b.metric else "missing score"
        return doc
    doc["diff"] = _fnum(abs(a.score - b.score))
    note = _decoding_note(a, b)
    if note:
        doc["note"] = note
        return doc
    cache = {} if cache is None else cache
    sa = _cached(a.sample_ref, cache) if a.sample_ref is not None else None
    sb = _cached(b.sample_ref, cache) if b.sample_ref is not None else None
    if sa and sb:
        common = sorted(set(sa) & set(sb))
        if common:
            differ = [k for k in common if sa[k] != sb[k]]
            n_b = sum(1 for k in differ if sa[k] > sb[k])
            n_c = sum(1 for k in differ if sa[k] < sb[k])
            p = sign_test_p(n_b, n_c)
            doc.update(
                method="paired",
                n_common=len(common),
                n_lmeval=len(sa),
                n_inspect=len(sb),
                identical=_fnum(1 - len(differ) / len(common)),
                first_differing=differ[:5],
                lmeval_better=n_b,
                inspect_better=n_c,
                p_value=_fnum(p),
                diff=_fnum(sum(sa[k] - sb[k] for k in common) / len(common)),
                agree=bool(p >= AGREE_ALPHA),
            )
            return doc
    doc["method"] = "unpaired"
    diff = doc["diff"]
    if a.stderr is None or b.stderr is None:
        doc["note"] = "no stderr on one side: agreement not judged"
        return doc
    thr = AGREE_SIGMAS * math.sqrt(a.stderr**2 + b.stderr**2)
    doc["threshold"] = _fnum(thr)
    doc["agree"] = bool(diff <= thr + 1e-12)
    return doc


def verdict(c: dict) -> str:
    """A ``cross_harness`` entry's verdict as shown: ``agree``, ``DISAGREE`` or ``not judged``."""
    if c["agree"] is True:
        return "agree"
    if c["agree"] is False:
        return "DISAGREE"
    return "not judged"


__all__ = ["SCHEMA", "build", "verdict"]
