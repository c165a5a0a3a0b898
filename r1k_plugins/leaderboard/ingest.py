"""Read lm-eval results files and Inspect logs into harness-neutral figures.

Nothing here raises on a bad input file: every file found is either turned into a
:class:`Source` or reported as a :class:`Skipped` entry with a one-line reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from r1k_plugins.core.documents import LEADERBOARD, PROBE, RUN, document_kind
from r1k_plugins.core.runs import RUN_MANIFEST

LMEVAL = "lm-eval"
INSPECT = "inspect"
HARNESSES = (LMEVAL, INSPECT)
HARNESS_LABEL = {LMEVAL: "lm-eval", INSPECT: "Inspect"}  # as shown on the board

# Primary metric preference (then the task config's metric order, then alphabetical).
METRIC_PREFERENCE = ("acc", "accuracy", "exact_match", "acc_norm", "mean", "f1", "mcc", "pass@1", "bleu")
# Inspect's "accuracy" is lm-eval's "acc": one canonical name so the harnesses can be compared.
CANONICAL_METRIC = {"accuracy": "acc"}
# Inspect model providers whose model name is the model itself (hf/gpt2 == pretrained=gpt2).
_PASSTHROUGH_PROVIDERS = {"hf", "vllm", "sglang", "transformer_lens", "llama-cpp-python", "ollama"}
_MODEL_ARG_KEYS = ("model_path", "pretrained", "model", "path", "model_name")

_LM_RESULTS_RE = re.compile(r"^results_(?P<ts>.+)\.json$")
_LM_SAMPLES_RE = re.compile(r"^samples_(?P<task>.+)_(?P<ts>\d{4}-\d{2}-\d{2}T[0-9.\-]+)\.jsonl$")
_MAX_JSON_BYTES = 64 << 20  # bigger .json files are not lm-eval results files


def display_path(p: str | os.PathLike) -> str:
    """Path as shown in the outputs: relative to the working folder when inside it."""
    p = Path(os.path.abspath(p))
    try:
        rel = p.relative_to(Path.cwd())
        return rel.as_posix() or "."
    except ValueError:
        return p.as_posix()


def _utc(iso: str) -> str:
    """ISO time -> UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (sortable across files); unparsable: as is."""
    try:
        dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_label(run: str) -> str:
    """A run time as shown in row names: to the second."""
    return re.sub(r"\.\d+(?=Z$)", "", run)


MAX_ABS = 1e100  # larger "scores" / "stderrs" are corrupt values, read as missing


def dict_at(d: dict, key: Any) -> dict:
    """``d[key]`` when that is a dict, else an empty dict (a field of a foreign file may be anything)."""
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def _num(x: Any) -> float | None:
    """A finite float or None (lm-eval writes "N/A" / [] for missing stderrs)."""
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float)):
        try:
            f = float(x)
        except OverflowError:  # a 400-digit integer
            return None
        # finite, and small enough that squares and sums of stderrs stay finite (1e200**2 overflows)
        return f if math.isfinite(f) and abs(f) <= MAX_ABS else None
    return None


@dataclass
class Figure:
    """One number on the board: a task's primary metric from one harness run."""

    task: str
    harness: str
    metric: str  # canonical primary metric name
    score: float | None
    stderr: float | None
    n: int | None
    metrics: dict[str, dict[str, float | None]]  # raw name -> {"value", "stderr"}
    is_group: bool = False
    # where the per-sample scores live (None: not logged)
    sample_ref: tuple | None = None
    source: Source | None = None
    # decoding settings of a generation task: {"do_sample", "temperature", "greedy"} (None: not
    # a generation task, or not recorded)
    decoding: dict | None = None


@dataclass
class Source:
    """One usable results file (lm-eval) or log (Inspect)."""

    path: Path
    harness: str
    model_id: str
    model_args: dict[str, Any]
    run: str  # ISO time of the run: newest wins per (model, harness, task)
    dedupe_key: str
    figures: list[Figure] = field(default_factory=list)
    samples_files: list[Path] = field(default_factory=list)


@dataclass
class Skipped:
    path: str
    reason: str


class Reject(Exception):
    """Raised by :func:`read_file` for a file that is not used; the message is the reason shown
    to the user (it starts with one of the reasons in docs/leaderboard.md: ``unreadable:``,
    ``partial:``, ``foreign:``, ``no usable metrics:``)."""


# --------------------------------------------------------------------------- discovery


@dataclass
class Discovery:
    files: list[Path]  # candidate result files, unique, sorted
    samples: set[Path]  # lm-eval samples_*.jsonl seen while walking folders
    skipped: list[Skipped]


def discover(inputs: list[str], exclude: Path | None = None) -> Discovery:
    """Expand the command-line inputs into candidate files (folders are walked, sorted)."""
    seen: dict[Path, str] = {}
    files: list[Path] = []
    samples: set[Path] = set()
    skipped: list[Skipped] = []
    exclude = exclude.resolve() if exclude is not None else None

    def consider(p: Path, explicit: bool) -> None:
        rp = p.resolve()
        if rp in seen:
            if explicit:
                skipped.append(Skipped(display_path(p), f"duplicate: already read as {seen[rp]}"))
            return
        seen[rp] = display_path(p)
        name = p.name
        if _LM_SAMPLES_RE.match(name):
            samples.add(rp)
        elif name.endswith(".eval") or name.endswith(".json"):
            files.append(rp)
        else:
            skipped.append(
                Skipped(display_path(p), "not a result file (expected .json, .eval or lm-eval samples_*.jsonl)")
            )

    for raw in inputs:
        p = Path(raw).expanduser()
        if not p.exists():
            skipped.append(Skipped(raw, "does not exist"))
            continue
        if p.is_file():
            consider(p, explicit=True)
            continue
        if not p.is_dir():
            skipped.append(Skipped(display_path(p), "not a regular file or folder"))
            continue
        if exclude is not None and p.resolve() == exclude:
            skipped.append(Skipped(display_path(p) + "/", "the export's own --out folder, not read"))
            continue
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            d = Path(dirpath)
            keep = []
            for dn in sorted(dirnames):
                sub = d / dn
                if exclude is not None and sub.resolve() == exclude:
                    continue  # the export's own output folder
                if dn.startswith("."):
                    skipped.append(Skipped(display_path(sub) + "/", "hidden folder, not read"))
                    continue
                keep.append(dn)
            dirnames[:] = keep
            for fn in sorted(filenames):
                fp = d / fn
                if fn.startswith("."):
                    skipped.append(Skipped(display_path(fp), "hidden file, not read"))
                    continue
                if fn == RUN_MANIFEST:
                    skipped.append(
                        Skipped(display_path(fp), "r1k run manifest (read through the model path, not as a result)")
                    )
                    continue
                if not fp.is_file():
                    skipped.append(Skipped(display_path(fp), "not a regular file"))
                    continue
                consider(fp, explicit=False)
    files.sort(key=lambda q: q.as_posix())
    return Discovery(files, samples, skipped)


# --------------------------------------------------------------------------- reading


def read_file(path: Path) -> Source:
    """Parse one candidate file; raises Reject(reason) when it is not usable."""
    if path.suffix == ".eval":
        return _read_inspect(path)
    try:
        size = path.stat().st_size
        if size > _MAX_JSON_BYTES:
            with open(path, "rb") as fh:
                head = fh.read(4096)
            if _looks_inspect(head):
                return _read_inspect(path)
            raise Reject(
                f"foreign: {size} bytes of JSON with no Inspect log header (too large for an lm-eval results file)"
            )
        raw = path.read_bytes()
    except OSError as e:
        raise Reject(f"unreadable: {e.strerror or e}") from None
    inspect_like = _looks_inspect(raw[:4096])
    try:
        data = json.loads(raw)
    except RecursionError:
        raise Reject("unreadable: JSON nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        msg = e.msg if isinstance(e, json.JSONDecodeError) else "not UTF-8 text"
        where = f" at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        if inspect_like:  # let Inspect's reader judge a damaged log
            return _read_inspect(path, fast=False)
        raise Reject(f"unreadable: malformed JSON ({msg}{where})") from None
    if isinstance(data, dict) and "version" in data and "eval" in data and "status" in data:
        return _read_inspect(path, data)
    kind = document_kind(data)  # an r1k document, by its schema field
    if kind == LEADERBOARD:
        raise Reject("foreign: an r1k leaderboard export, not a result file")
    if kind == RUN:
        raise Reject("foreign: an r1k run manifest, not a result file")
    if kind == PROBE:
        raise Reject("foreign: an r1k probe output, read by the dynamics section")
    return _read_lmeval(path, raw, data)


def _looks_inspect(head: bytes) -> bool:
    return re.match(rb'^\s*\{\s*"version"\s*:\s*\d+\s*,\s*"status"', head) is not None


# lm-eval ------------------------------------------------------------------------------


def parse_model_args(ma: Any) -> dict[str, Any]:
    """lm-eval's model_args: "k=v,k2=v2" string (as typed) or a dict (newer versions)."""
    if isinstance(ma, dict):
        return dict(ma)
    out: dict[str, Any] = {}
    if isinstance(ma, str):
        for part in ma.split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def _read_lmeval(path: Path, raw: bytes, data: Any) -> Source:
    if not isinstance(data, dict):
        raise Reject(f"foreign: JSON {type(data).__name__}, not an lm-eval results file or Inspect log")
    results = data.get("results")
    markers = ("config", "configs", "versions", "n-shot", "n-samples", "lm_eval_version")
    if not isinstance(results, dict) or not any(k in data for k in markers):
        keys = ", ".join(sorted(str(k) for k in data)[:6]) or "none"
        raise Reject(f"foreign: JSON with keys [{keys}], not an lm-eval results file or Inspect log")
    config = dict_at(data, "config")
    args = parse_model_args(config.get("model_args"))
    model_id = next((str(args[k]) for k in _MODEL_ARG_KEYS if args.get(k)), None)
    if model_id is None:
        model_id = str(data.get("model_name") or config.get("model") or "unknown")
    run = ""
    date = _num(data.get("date"))
    if date is not None and 0 <= date < 253402300800:  # up to year 9999; anything else is not a date
        run = datetime.fromtimestamp(date, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    m = _LM_RESULTS_RE.match(path.name)
    if not run and m:
        run = m.group("ts")
    src = Source(
        path=path,
        harness=LMEVAL,
        model_id=model_id,
        model_args=args,
        run=run,
        dedupe_key="lm-eval:" + hashlib.sha256(raw).hexdigest(),
    )

    group_subtasks = dict_at(data, "group_subtasks")
    groups = dict_at(data, "groups")
    configs = dict_at(data, "configs")
    nsamples = dict_at(data, "n-samples")
    # samples_<task>_<ts>.jsonl written beside results_<ts>.json by --log_samples
    samples_by_task: dict[str, Path] = {}
    if m:
        for task in results:
            try:
                sp = path.with_name(f"samples_{task}_{m.group('ts')}.jsonl")
            except ValueError:  # a task name that is no file name part ("a/b")
                continue
            if sp.is_file():
                samples_by_task[task] = sp.resolve()
    for task in sorted(results):
        entry = results[task]
        if not isinstance(entry, dict):
            continue
        is_group = bool(group_subtasks.get(task)) or task in groups
        fig = _lmeval_figure(task, entry, dict_at(configs, task))
        if fig is None:
            continue
        fig.is_group = is_group
        fig.n = _lmeval_n(task, entry, nsamples, group_subtasks)
        cfg = dict_at(configs, task)
        if cfg.get("output_type") == "generate_until":
            gk = dict_at(cfg, "generation_kwargs")
            fig.decoding = decoding_settings(gk.get("do_sample"), gk.get("temperature"))
        task_samples = samples_by_task.get(task)
        if task_samples is not None:
            metric_raw, filt = fig.sample_ref  # type: ignore[misc]
            fig.sample_ref = (LMEVAL, task_samples, filt, metric_raw)
            src.samples_files.append(task_samples)
        else:
            fig.sample_ref = None
        fig.source = src
        src.figures.append(fig)
    if not src.figures:
        raise Reject("no usable metrics: an lm-eval results file without numeric task metrics")
    return src


def decoding_settings(do_sample: Any, temperature: Any) -> dict:
    """``{"do_sample", "temperature", "greedy"}``: greedy when sampling is off, or (not set) at
    temperature 0 / unset, as lm-eval and transformers decide; ``greedy`` is None when unknown."""
    t = _num(temperature)
    ds = do_sample if isinstance(do_sample, bool) else None
    if ds is not None:
        greedy = not ds
    else:
        greedy = True if t is None or t == 0.0 else False
    return {"do_sample": ds, "temperature": t, "greedy": greedy}


def _lmeval_figure(task: str, entry: dict, cfg: dict) -> Figure | None:
    values: dict[tuple[str, str], float] = {}
    stderrs: dict[tuple[str, str], float | None] = {}
    for key, val in entry.items():
        if "," not in key:
            continue
        metric, filt = key.split(",", 1)
        if metric.endswith("_stderr"):
            stderrs[(metric[: -len("_stderr")], filt)] = _num(val)
            continue
        v = _num(val)
        if v is not None:
            values[(metric, filt)] = v
    if not values:
        return None
    filters = []
    for f in cfg.get("filter_list") or []:
        if isinstance(f, dict) and isinstance(f.get("name"), str):
            filters.append(f["name"])
    filt_rank = {"none": -1, **{f: i for i, f in enumerate(filters)}}
    cfg_metrics = [m.get("metric") for m in cfg.get("metric_list") or [] if isinstance(m, dict)]

    def metric_rank(name: str) -> tuple:
        if name in METRIC_PREFERENCE:
            return (0, METRIC_PREFERENCE.index(name), name)
        if name in cfg_metrics:
            return (1, cfg_metrics.index(name), name)
        return (2, 0, name)

    metric, filt = min(values, key=lambda mf: (metric_rank(mf[0]), filt_rank.get(mf[1], len(filters)), mf[1]))
    metrics = {}
    for (mname, f), v in sorted(values.items()):
        metrics[mname if f == "none" else f"{mname},{f}"] = {"value": v, "stderr": stderrs.get((mname, f))}
    return Figure(
        task=task,
        harness=LMEVAL,
        metric=CANONICAL_METRIC.get(metric, metric),
        score=values[(metric, filt)],
        stderr=stderrs.get((metric, filt)),
        n=None,
        metrics=metrics,
        sample_ref=(metric, filt),
    )


def _lmeval_n(task: str, entry: dict, nsamples: dict, group_subtasks: dict) -> int | None:
    ns = nsamples.get(task)
    if isinstance(ns, dict) and isinstance(ns.get("effective"), int):
        return ns["effective"]
    if isinstance(entry.get("sample_len"), int):
        return entry["sample_len"]
    subs = group_subtasks.get(task)
    if subs:
        total = 0
        for s in subs:
            n = _lmeval_n(s, {}, nsamples, group_subtasks)
            if n is None:
                return None
            total += n
        return total
    return None


# Inspect ------------------------------------------------------------------------------


def _header_fast(path: Path, data: dict | None = None) -> dict | None:
    """The log header as a dict, read directly: header.json of a .eval zip, or the parsed .json log.

    These are the fields ``read_eval_log(header_only=True)`` returns, without importing inspect_ai
    (seconds of start-up). None when the file is anything but a finished, known-version log with a
    header (e.g. a still-running .eval without header.json): then read_eval_log decides.
    """
    if data is None:
        import zipfile

        try:
            import zipfile_zstd  # noqa: F401 - teaches zipfile the zstd method Inspect uses (py < 3.14)
        except ImportError:
            pass
        try:
            with zipfile.ZipFile(path) as z:
                if "header.json" not in z.namelist():
                    return None
                data = json.loads(z.read("header.json"))
        except Exception:  # noqa: BLE001 - let read_eval_log produce the real error
            return None
    if not isinstance(data, dict) or data.get("version") not in (1, 2) or not isinstance(data.get("eval"), dict):
        return None
    return data


def _header_slow(path: Path) -> dict:
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:  # pragma: no cover - inspect-ai is a dependency
        raise Reject("unreadable: inspect-ai is not installed") from None
    try:
        log = read_eval_log(str(path), header_only=True)
    except Exception as e:  # noqa: BLE001 - any parse failure is a skip, never a crash
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise Reject(f"unreadable: {type(e).__name__}{': ' + msg[:160] if msg else ''}") from None
    return log.model_dump(mode="json", exclude={"samples", "reductions"})


def _read_inspect(path: Path, data: dict | None = None, fast: bool = True) -> Source:
    h = _header_fast(path, data) if fast else None
    if h is None:
        h = _header_slow(path)
    status = h.get("status")
    if status != "success":
        detail = ""
        err = h.get("error")
        if isinstance(err, dict) and err.get("message"):
            detail = ": " + str(err["message"]).strip().splitlines()[0][:160]
        raise Reject(f"partial: Inspect log status '{status}'{detail}")
    ev = h["eval"]
    res = dict_at(h, "results")
    scores = [sc for sc in res.get("scores") or [] if isinstance(sc, dict)]
    if not scores:
        raise Reject("partial: Inspect log has no scores")
    args = dict(ev.get("model_args") or {})
    model_id = next((str(args[k]) for k in _MODEL_ARG_KEYS if isinstance(args.get(k), str) and args[k]), None)
    if model_id is None:
        provider, _, rest = str(ev.get("model")).partition("/")
        model_id = rest if provider in _PASSTHROUGH_PROVIDERS and rest and rest != "local" else str(ev.get("model"))
        if provider == "openai-api" and rest.count("/") >= 1:  # openai-api/<service>/<model>: a served model
            model_id = rest.split("/", 1)[1]
    task = str(ev.get("task")).rsplit("/", 1)[-1]
    created = _utc(str(ev.get("created") or ""))
    key = ev.get("eval_id") or f"{ev.get('task_id')}:{created}"
    src = Source(
        path=path,
        harness=INSPECT,
        model_id=model_id,
        model_args={k: v for k, v in args.items() if isinstance(v, (str, int, float, bool))},
        run=created,
        dedupe_key=f"inspect:{key}",
    )

    def mval(sc: dict, name: str) -> float | None:
        m = (sc.get("metrics") or {}).get(name)
        return _num(m.get("value")) if isinstance(m, dict) else None

    # the task's headline scorer (Inspect >= 0.3.1xx records it) goes first
    headline = dict_at(res, "headline")
    hname = headline.get("score") or headline.get("scorer")
    hs = next((sc for sc in scores if sc.get("name") == hname), None)
    if hs is not None:
        scores = [hs] + [sc for sc in scores if sc is not hs]
    metrics: dict[str, dict[str, float | None]] = {}
    for i, sc in enumerate(scores):
        se = mval(sc, "stderr")
        for mname in sc.get("metrics") or {}:
            v = mval(sc, mname)
            if mname == "stderr" or v is None:
                continue
            metrics[mname if i == 0 else f"{sc.get('name')}/{mname}"] = {"value": v, "stderr": se}
    first = scores[0]
    cands = [m for m in first.get("metrics") or {} if m != "stderr" and mval(first, m) is not None]
    if not cands:
        raise Reject("no usable metrics: Inspect log without a numeric score")
    if headline.get("metric") in cands:
        primary = headline["metric"]
    else:
        primary = min(
            cands,
            key=lambda m: (
                METRIC_PREFERENCE.index(m) if m in METRIC_PREFERENCE else len(METRIC_PREFERENCE),
                cands.index(m),
            ),
        )
    n = res.get("completed_samples") or res.get("total_samples") or None
    epochs = (ev.get("config") or {}).get("epochs") or 1
    if isinstance(n, int) and isinstance(epochs, int) and epochs > 1:
        n = n // epochs
    fig = Figure(
        task=task,
        harness=INSPECT,
        metric=CANONICAL_METRIC.get(primary, primary),
        score=metrics[primary]["value"],
        stderr=metrics[primary]["stderr"],
        n=n if isinstance(n, int) else None,
        metrics=metrics,
        sample_ref=(INSPECT, path, str(first.get("name"))),
        source=src,
    )
    plan_cfg = (h.get("plan") or {}).get("config") if isinstance(h.get("plan"), dict) else None
    gen_cfg = dict_at(ev, "model_generate_config")
    temperature = gen_cfg.get("temperature")
    if temperature is None and isinstance(plan_cfg, dict):
        temperature = plan_cfg.get("temperature")
    do_sample = args.get("do_sample")
    if isinstance(do_sample, str):
        do_sample = do_sample.strip().lower() not in ("false", "0", "no")
    if do_sample is None and str(ev.get("model")).split("/", 1)[0] == "hf":
        do_sample = True  # Inspect's hf provider samples unless -M do_sample=false
    fig.decoding = decoding_settings(do_sample, temperature)
    src.figures.append(fig)
    return src


# --------------------------------------------------------------------------- per-sample scores


def _to_float(value: Any) -> float | None:
    """inspect_ai.scorer.value_to_float() with its defaults (C=1, P=0.5, I=N=0, yes/true, numbers);
    None where Inspect would warn (lists, dicts, other strings)."""
    if value == "C":
        return 1.0
    if value == "P":
        return 0.5
    if value in ("I", "N"):
        return 0.0
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        v = value.lower()
        if v in ("yes", "true"):
            return 1.0
        if v in ("no", "false"):
            return 0.0
        try:
            f = float(v)
            return f if math.isfinite(f) else None
        except ValueError:
            return None
    return None


def _inspect_summaries_fast(path: Path) -> list[dict] | None:
    """[{id, epoch, scores}] straight from summaries.json (.eval) or the samples of a .json log."""
    try:
        if path.suffix == ".eval":
            import zipfile

            try:
                import zipfile_zstd  # noqa: F401
            except ImportError:
                pass
            with zipfile.ZipFile(path) as z:
                if "summaries.json" not in z.namelist():
                    return None
                items = json.loads(z.read("summaries.json"))
        else:
            items = json.loads(path.read_bytes()).get("samples")
    except Exception:  # noqa: BLE001
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i for i in items):
        return None
    return items


def _inspect_summaries_slow(path: Path) -> list[dict]:
    from inspect_ai.log import read_eval_log_sample_summaries

    return [
        {"id": s.id, "epoch": s.epoch, "scores": {k: {"value": v.value} for k, v in (s.scores or {}).items()}}
        for s in read_eval_log_sample_summaries(str(path))
    ]


def load_sample_scores(ref: tuple, fast: bool = True) -> dict[str, float] | None:
    """Per-item primary-metric values keyed by item id (the record id in lm-eval's logged doc,
    else its doc_id / Inspect sample id).

    Items scored more than once (Inspect epochs, lm-eval repeats) are averaged. None when the
    per-sample scores cannot be read (the delta is then computed unpaired).
    """
    acc: dict[str, list[float]] = {}
    try:
        if ref[0] == LMEVAL:
            _, path, filt, metric = ref
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    obj = json.loads(line)
                    if obj.get("filter", "none") != filt:
                        continue
                    v = _num(obj.get(metric))
                    if v is None or "doc_id" not in obj:
                        continue
                    doc = dict_at(obj, "doc")
                    # the record's own id (what Inspect's sample id is) pairs runs over different
                    # data or --limit; lm-eval's doc_id is only a position
                    key = doc.get("id") if isinstance(doc.get("id"), (str, int)) else obj["doc_id"]
                    acc.setdefault(str(key), []).append(v)
        else:
            _, path, scorer = ref
            items = _inspect_summaries_fast(Path(path)) if fast else None
            if items is None:
                items = _inspect_summaries_slow(Path(path))
            for s in items:
                score = (s.get("scores") or {}).get(scorer)
                if not isinstance(score, dict):
                    continue
                v = _to_float(score.get("value"))
                if v is None:
                    return None
                acc.setdefault(str(s["id"]), []).append(v)
    except Exception:  # noqa: BLE001 - unreadable samples: fall back to unpaired
        return None
    return {k: sum(v) / len(v) for k, v in acc.items()} or None
