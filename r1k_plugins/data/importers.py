"""Import public datasets into r1k records: ``r1k data import SOURCE --preset P``.

SOURCE is a hub dataset name (loaded with ``datasets.load_dataset``) or a local
``.parquet`` / ``.jsonl`` / ``.json`` file. Presets map a column layout to records:

``s1k``            simplescaling/s1K and s1K-1.1 (forward records; ``--trace deepseek|gemini``)
``r1k-published``  the published r1k parquet (forward + reverse records with matching pair ids)
``math500``        problem / solution / answer
``aime``           problem / answer
``gpqa``           Question + Correct Answer + Incorrect Answer 1-3 -> a lettered choice
                   (options shuffled with a fixed seed per item)
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.record import Record, record_error
from r1k_plugins.core.vocab import S1_ANSWER, S1_THINK

TRACE_SOURCES = ("deepseek", "gemini")


# ---------------------------------------------------------------- loading rows
def load_rows(source: str, split: str | None = None, config: str | None = None) -> list[dict]:
    """Rows of a local file (parquet/jsonl/json) or a hub dataset, as plain dicts."""
    p = Path(source)
    if (
        p.exists()
        or p.suffix.lower() in (".parquet", ".jsonl", ".json")
        or "/" not in source
        or source.startswith((".", "/"))
    ):
        if not p.exists():
            raise R1KError(
                f"{source}: file not found (give a local .parquet/.jsonl/.json file or a hub name like "
                "simplescaling/s1K-1.1)"
            )
        return _load_local(p)
    return _load_hub(source, split, config)


def _load_local(p: Path) -> list[dict]:
    """Rows of a local source through the one reader (r1k_plugins.core.readers)."""
    from r1k_plugins.core.readers import check_input_file, iter_jsonl, load_json_file, read_parquet_rows

    suffix = p.suffix.lower()
    check_input_file(p, "source file")
    if suffix == ".parquet":
        rows = read_parquet_rows(p)
    elif suffix == ".jsonl":
        rows = [obj for _, obj in iter_jsonl(p)]
    elif suffix == ".json":
        rows = _json_rows(p, load_json_file(p))
    else:
        raise R1KError(f"{p}: unsupported file type {suffix or '(none)'}; use .parquet, .jsonl or .json")
    bad = next((i for i, r in enumerate(rows, 1) if not isinstance(r, dict)), None)
    if bad is not None:
        raise R1KError(f"{p}: row {bad} is a {type(rows[bad - 1]).__name__}, expected an object (column: value)")
    return rows


def _json_rows(p: Path, data) -> list[dict]:
    if isinstance(data, dict):  # {"data": [...]} / {"rows": [...]} / column dict
        for key in ("data", "rows", "train", "test"):
            if isinstance(data.get(key), list):
                return data[key]
        if data and all(isinstance(v, list) for v in data.values()):
            lengths = {k: len(v) for k, v in data.items()}
            if len(set(lengths.values())) > 1:
                short = min(lengths, key=lambda k: lengths[k])
                raise R1KError(
                    f"{p}: ragged columns (column '{short}' has {lengths[short]} values, others up to "
                    f"{max(lengths.values())}); every column needs one value per row"
                )
            n = len(next(iter(data.values())))
            return [{k: v[i] for k, v in data.items()} for i in range(n)]
    if isinstance(data, list) and all(isinstance(x, dict) for x in data):
        return data
    raise R1KError(f'{p}: expected a JSON list of objects (or {{"data": [...]}})')


def _load_hub(name: str, split: str | None, config: str | None) -> list[dict]:
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise R1KError("the 'datasets' package is needed to load from the hub: pip install datasets") from None
    try:
        ds = datasets.load_dataset(name, config, split=split or "train")
    except Exception as e:
        msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise R1KError(
            f"{name}: could not load from the Hugging Face hub ({msg}); check the name/--config/--split, "
            f"or download it and pass the local parquet/jsonl file"
        ) from None
    return [dict(r) for r in ds]


# ---------------------------------------------------------------- helpers
def pair_id_for(question: str, prefix: str = "s1k") -> str:
    """Stable pair id from the forward question text (so s1K and r1k imports agree)."""
    return f"{prefix}-{hashlib.sha1(question.strip().encode('utf-8')).hexdigest()[:12]}"


_NUM = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[-+]?\.\d+$|^[-+]?\d+/\d+$")
_MATHY = re.compile(r"[\\^_{}=+*/()\[\]<>]|\d")


def classify_answer(ans: str) -> str:
    a = ans.strip().strip("$").strip()
    if _NUM.match(a.replace(" ", "")):
        return "numeric"
    if re.fullmatch(r"\(?[A-J]\)?", a):
        return "choice"
    if len(a) <= 80 and _MATHY.search(a):
        return "expression"
    return "text"


_NOT_AN_ANSWER = re.compile(r"^(?:[\s$.,;:]*|\\(?:blacksquare|square|qed|Box)|Q\.?E\.?D\.?)$")


def extract_gold(text: str | None) -> str | None:
    """A short gold answer from a solution/attempt: a whole short answer, ``### Answer:``, last \\boxed{}.

    Proof end marks (``\\blacksquare``, QED) and empty math (``$$``) are not answers.
    """
    ans = _extract_gold(text)
    if ans is None or _NOT_AN_ANSWER.match(ans.strip()):
        return None
    return ans


def _extract_gold(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    t = text.strip()
    if len(t) <= 40 and "\n" not in t and "\\boxed" not in t:  # 'Answer: \boxed{7}' goes on to extraction
        return t.strip("$ ").strip() or None
    m = re.search(r"###\s*Answer\s*:\s*(.+)", t)
    if m:
        return m.group(1).strip().strip("$ ").strip() or None
    from r1k_plugins.core.scoring import extract_answer

    ans = extract_answer(t, "expression")
    if ans and len(ans) <= 200:
        return ans
    return None


def split_s1_text(text: str) -> tuple[str | None, str | None]:
    """(reasoning, final) from an s1-format chat text (``<|im_start|>think ... <|im_start|>answer ...``)."""
    if not text:
        return None, None
    a = text.rfind("<|im_start|>assistant")
    body = text[a + len("<|im_start|>assistant") :] if a >= 0 else text
    t = body.find(S1_THINK)
    s = body.find(S1_ANSWER)
    if t < 0 or s < 0:
        return None, None
    reasoning = body[t + len(S1_THINK) : s].strip()
    final = body[s + len(S1_ANSWER) :]
    final = final.split("<|im_end|>")[0].strip()
    return reasoning or None, final or None


def _answer_fields(gold: str | None, fallback: str | None) -> tuple[str, str]:
    if gold:
        return gold, classify_answer(gold)
    return (fallback or "").strip(), "text"


def _req(row: dict, cols: Iterable[str], preset: str, lineno: int) -> None:
    from r1k_plugins.core.schemas import check_source_row

    check_source_row(preset, row, f"row {lineno}")
    missing = [c for c in cols if c not in row]
    if missing:
        raise R1KError(
            f"row {lineno}: preset '{preset}' needs column(s) {', '.join(missing)} but the source has "
            f"{', '.join(sorted(row)[:12])}; pick the preset that matches the source (see r1k data import --help)"
        )


def _keep(row: dict, cols: Iterable[str]) -> dict:
    out = {}
    for c in cols:
        v = row.get(c)
        if v is None or isinstance(v, (str, int, float, bool)):
            out[c] = v
        else:
            out[c] = str(v)
    return out


# ---------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    name: str
    columns: tuple[str, ...]
    convert: Callable[..., list[Record]]
    default_split: str = "train"
    default_config: str | None = None
    doc: str = ""


def _s1k(rows: list[dict], trace: str | None = None, **_) -> list[Record]:
    out = []
    for i, row in enumerate(rows, 1):
        _req(row, ("question", "solution"), "s1k", i)
        t = trace or ("deepseek" if "deepseek_thinking_trajectory" in row else "gemini")
        if t == "deepseek":
            if "deepseek_thinking_trajectory" not in row:
                raise R1KError(
                    f"row {i}: --trace deepseek needs s1K-1.1's deepseek_* columns; use --trace gemini for s1K"
                )
            reasoning, response = row.get("deepseek_thinking_trajectory"), row.get("deepseek_attempt")
        else:
            if "gemini_thinking_trajectory" in row:
                reasoning, response = row.get("gemini_thinking_trajectory"), row.get("gemini_attempt")
            else:
                tt = row.get("thinking_trajectories")
                reasoning = tt[0] if isinstance(tt, (list, tuple)) and tt else tt
                response = row.get("attempt")
        q = row["question"]
        gold = extract_gold(row.get("solution"))
        answer, atype = _answer_fields(gold, row.get("solution"))
        pid = pair_id_for(q)
        out.append(
            Record(
                id=f"{pid}-f",
                pair_id=pid,
                direction="forward",
                question=q,
                answer=answer,
                answer_type=atype,
                source="s1k",
                reasoning=reasoning or None,
                response=response or None,
                meta={
                    "trace": t,
                    "solution": row.get("solution"),
                    **_keep(row, ("cot_type", "source_type", f"{t}_grade")),
                },
            )
        )
    return out


def _r1k_published(rows: list[dict], **_) -> list[Record]:
    out = []
    for i, row in enumerate(rows, 1):
        _req(row, ("question", "solution", "text", "sample_type", "relevant-question"), "r1k-published", i)
        kind = row["sample_type"]
        if kind not in ("original", "flipped"):
            raise R1KError(f"row {i}: sample_type {kind!r} is neither 'original' nor 'flipped'")
        pid = pair_id_for(row["question"])
        reasoning, final = split_s1_text(row["text"])
        keep = _keep(row, ("cot_type", "source_type"))
        if kind == "original":
            gold = extract_gold(row["solution"])
            answer, atype = _answer_fields(gold, row["solution"])
            out.append(
                Record(
                    id=f"{pid}-f",
                    pair_id=pid,
                    direction="forward",
                    question=row["question"],
                    answer=answer,
                    answer_type=atype,
                    source="r1k-published",
                    reasoning=reasoning,
                    response=final,
                    meta={"solution": row["solution"], **keep},
                )
            )
        else:
            gold = extract_gold(final) if final else None
            answer, atype = _answer_fields(gold, final)
            out.append(
                Record(
                    id=f"{pid}-r",
                    pair_id=pid,
                    direction="reverse",
                    question=row["relevant-question"],
                    answer=answer,
                    answer_type=atype,
                    source="r1k-published",
                    reasoning=reasoning,
                    response=final,
                    meta={"inversion": {"strategy": "published", "from_question": row["question"]}, **keep},
                )
            )
    return out


def _math500(rows: list[dict], **_) -> list[Record]:
    out = []
    for i, row in enumerate(rows, 1):
        _req(row, ("problem", "answer"), "math500", i)
        rid = str(row.get("unique_id") or pair_id_for(row["problem"], "math500"))
        answer = str(row["answer"]).strip()
        out.append(
            Record(
                id=rid,
                pair_id=rid,
                direction="forward",
                question=row["problem"],
                answer=answer,
                answer_type=classify_answer(answer),
                source="math500",
                reasoning=None,
                response=row.get("solution"),
                meta=_keep(row, ("subject", "level")),
            )
        )
    return out


def _aime(rows: list[dict], **_) -> list[Record]:
    out = []
    for i, row in enumerate(rows, 1):
        pcol = "problem" if "problem" in row else "Problem"
        acol = "answer" if "answer" in row else "Answer"
        _req(row, (pcol, acol), "aime", i)
        rid = str(row.get("id") or row.get("ID") or pair_id_for(row[pcol], "aime"))
        pid = rid if rid.startswith("aime") else f"aime-{rid}"
        answer = str(row[acol]).strip()
        out.append(
            Record(
                id=pid,
                pair_id=pid,
                direction="forward",
                question=row[pcol],
                answer=answer,
                answer_type=classify_answer(answer),
                source="aime",
                reasoning=None,
                response=row.get("solution"),
                meta=_keep(row, ("year", "url")),
            )
        )
    return out


def _gpqa(rows: list[dict], seed: int = 0, **_) -> list[Record]:
    out = []
    cols = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
    for i, row in enumerate(rows, 1):
        _req(row, cols, "gpqa", i)
        rid = str(row.get("Record ID") or pair_id_for(row["Question"], "gpqa"))
        options = [str(row[c]).strip() for c in cols[1:]]
        order = list(range(4))
        random.Random(f"{seed}-{rid}").shuffle(order)
        letters = "ABCD"
        shuffled = [options[j] for j in order]
        gold = letters[order.index(0)]
        q = row["Question"].strip() + "\n\n" + "\n".join(f"{letters[k]}) {o}" for k, o in enumerate(shuffled))
        out.append(
            Record(
                id=f"gpqa-{rid}",
                pair_id=f"gpqa-{rid}",
                direction="forward",
                question=q,
                answer=gold,
                answer_type="choice",
                source="gpqa",
                reasoning=None,
                response=None,
                meta={
                    "options": shuffled,
                    "correct": options[0],
                    "shuffle_seed": seed,
                    **_keep(row, ("Subdomain", "High-level domain")),
                },
            )
        )
    return out


PRESETS: dict[str, Preset] = {
    "s1k": Preset("s1k", ("question", "solution"), _s1k, doc="simplescaling/s1K, simplescaling/s1K-1.1"),
    "r1k-published": Preset(
        "r1k-published",
        ("question", "text", "sample_type", "relevant-question"),
        _r1k_published,
        doc="the published r1k parquet",
    ),
    "math500": Preset("math500", ("problem", "answer"), _math500, default_split="test", doc="HuggingFaceH4/MATH-500"),
    "aime": Preset("aime", ("problem", "answer"), _aime, doc="HuggingFaceH4/aime_2024"),
    "gpqa": Preset(
        "gpqa",
        ("Question", "Correct Answer"),
        _gpqa,
        default_config="gpqa_diamond",
        doc="Idavidrein/gpqa (gpqa_diamond)",
    ),
}


def import_records(
    source: str,
    preset: str,
    *,
    trace: str | None = None,
    split: str | None = None,
    config: str | None = None,
    seed: int = 0,
    rows: list[dict] | None = None,
) -> list[Record]:
    if preset not in PRESETS:
        raise R1KError(f"unknown preset {preset!r}; known presets: {', '.join(PRESETS)}")
    if trace is not None and trace not in TRACE_SOURCES:
        raise R1KError(f"unknown --trace {trace!r}; use one of {', '.join(TRACE_SOURCES)}")
    p = PRESETS[preset]
    if rows is None:
        rows = load_rows(source, split or p.default_split, config or p.default_config)
    if not rows:
        raise R1KError(f"{source}: no rows to import (empty input)")
    try:
        records = p.convert(rows, trace=trace, seed=seed)  # Record(...) validates each item
    except R1KError as e:
        raise R1KError(f"{source}: {e}") from None
    except ValidationError as e:
        raise R1KError(record_error(e, f"{source}: a converted item")) from None

    seen: set[str] = set()
    unique = []
    for r in records:
        if r.id in seen:  # duplicate questions in a source: keep the first
            continue
        seen.add(r.id)
        unique.append(r)
    return unique
