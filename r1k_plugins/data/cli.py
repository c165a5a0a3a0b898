"""``r1k data``: synth, import, invert, mix, pairs, verify."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import click

from ..errors import R1KError
from ..io import check_out_path, dumps_line, write_jsonl
from ..eval.prompts import TRACE_FORMATS
from .schema import Record, read_records, write_records


def _summary(label: str, records: list[Record], extra: str = "") -> str:
    d = Counter(r.direction for r in records)
    t = Counter(r.answer_type for r in records)
    types = ", ".join(f"{k} {t[k]}" for k in ("numeric", "expression", "choice", "text") if t.get(k))
    return (f"{label}: {len(records)} records ({d.get('forward', 0)} forward, {d.get('reverse', 0)} reverse; "
            f"answer types: {types or 'none'}){extra}")


@click.group("data", context_settings={"help_option_names": ["-h", "--help"]})
def data():
    """Build r1k data: records (docs/data.md), SFT mixes and DPO pairs.

    Every command writes its output atomically (a temp file renamed into place), so an
    interrupted run never leaves a half file, and re-running it is safe.
    """


@data.command("synth")
@click.option("--n", "n", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Number of forward/reverse pairs to generate (2 records each).")
@click.option("--seed", type=int, default=1234, show_default=True,
              help="Random seed; the same seed gives byte-identical files.")
@click.option("--test-frac", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              show_default=True, help="Share of pairs that go to test.jsonl (split by pair).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True,
              help="Output folder; train.jsonl and test.jsonl are written there (created if missing).")
def synth_cmd(n, seed, test_frac, out):
    """Write the embedded default: procedural arithmetic word problems, forward + reverse."""
    from .synth import generate

    outdir = Path(out)
    if outdir.exists() and not outdir.is_dir():
        raise R1KError(f"{outdir}: exists and is not a folder")
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        train, test = generate(n, seed, test_frac)
    except ValueError as e:
        raise R1KError(str(e)) from None
    write_records(outdir / "train.jsonl", train)
    write_records(outdir / "test.jsonl", test)
    click.echo(_summary(f"wrote {outdir / 'train.jsonl'}", train))
    click.echo(_summary(f"wrote {outdir / 'test.jsonl'}", test))


@data.command("import")
@click.argument("source")
@click.option("--preset", required=True,
              help="Column layout of SOURCE: s1k, r1k-published, math500, aime, gpqa.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output r1k JSONL file.")
@click.option("--trace", type=click.Choice(["deepseek", "gemini"]), default=None,
              help="s1k only: which reasoning trace to keep (default: deepseek where the columns exist, "
                   "as in s1K-1.1; gemini for s1K).")
@click.option("--split", default=None, help="Hub split to load (default per preset: train, test for math500).")
@click.option("--config", "config", default=None, help="Hub config name (default per preset: gpqa_diamond for gpqa).")
@click.option("--seed", type=int, default=0, show_default=True, help="gpqa only: seed of the option shuffle.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Keep only the first N source rows.")
def import_cmd(source, preset, out, trace, split, config, seed, limit):
    """Import SOURCE (hub dataset name, or local .parquet/.jsonl/.json) into r1k records.

    Gold short answers are extracted where the source has none as a column (a short solution
    as is, '### Answer:', else the last \\boxed{}); items with none become answer_type text.
    """
    from .importers import PRESETS, import_records, load_rows

    check_out_path(out)
    if preset not in PRESETS:
        raise R1KError(f"unknown preset {preset!r}; known presets: {', '.join(PRESETS)}")
    rows = load_rows(source, split or PRESETS[preset].default_split, config or PRESETS[preset].default_config)
    if limit:
        rows = rows[:limit]
    records = import_records(source, preset, trace=trace, seed=seed, rows=rows)
    write_records(out, records)
    click.echo(_summary(f"wrote {out}", records, f" from {len(rows)} source rows"))


@data.command("invert")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--strategy", type=click.Choice(["mask", "teacher"]), default="mask", show_default=True,
              help="mask: deterministic FOBAR-style masking of one stated number. teacher: an LLM behind an "
                   "OpenAI-compatible endpoint writes reverse question, answer and trace.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
              help="Output r1k JSONL: the forward records and their reverse records.")
@click.option("--seed", type=int, default=0, show_default=True, help="mask: seed of the per-item choice of number.")
@click.option("--teacher-model", default=None, help="teacher: model name served by the endpoint.")
@click.option("--teacher-url", default="http://localhost:8000/v1", show_default=True,
              help="teacher: OpenAI-compatible base URL (e.g. a local `vllm serve`).")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="teacher: name of the environment variable that holds the API key (the key is never written).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def invert_cmd(file, strategy, out, seed, teacher_model, teacher_url, api_key_env, progress):
    """Invert forward items of FILE into reverse items; items that cannot be inverted are counted.

    The teacher strategy is resumable: finished items are appended to OUT.partial as they
    arrive, and a rerun of the same command skips them.
    """
    from .invert import MaskStrategy, TeacherStrategy, invert_records

    check_out_path(out)
    records = read_records(file)
    partial = Path(str(out) + ".partial")
    done: dict[str, Record] = {}
    sink = None
    if strategy == "mask":
        strat = MaskStrategy(seed=seed)
    else:
        if not teacher_model:
            raise R1KError("--strategy teacher needs --teacher-model NAME (the model the endpoint serves)")
        strat = TeacherStrategy(model=teacher_model, base_url=teacher_url, api_key_env=api_key_env)
        if partial.exists():
            done = {r.pair_id: r for r in read_records(partial, allow_empty=True)}
        sink = open(partial, "a", encoding="utf-8")
    try:
        def on_result(rev):
            if sink is not None:
                sink.write(dumps_line(rev.to_dict()) + "\n")
                sink.flush()

        result, s = invert_records(records, strat, done=done, progress=progress, on_result=on_result)
    finally:
        if sink is not None:
            sink.close()
    write_records(out, result)
    if partial.exists():
        os.unlink(partial)
    reasons = "; ".join(f"{k}: {v}" for k, v in sorted(s["skip_reasons"].items()))
    click.echo(f"wrote {out}: {s['forward']} forward, {s['inverted']} inverted"
               + (f", {s['resumed']} resumed" if s["resumed"] else "")
               + (f", {s['already_reverse']} already had a reverse item" if s["already_reverse"] else "")
               + f", {s['skipped']} skipped" + (f" ({reasons})" if reasons else ""))


@data.command("mix")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--mode", type=click.Choice(["forward", "reverse", "mixed"]), required=True,
              help="Which direction(s) to train on.")
@click.option("--ratio", type=float, default=None,
              help="mixed only: reverse share R in [0, 1]; each pair gives one item (R of them reverse). "
                   "Without it, mixed keeps both items of every pair.")
@click.option("--direction-tags", is_flag=True, help="Prefix each prompt with [forward] / [reverse].")
@click.option("--trace-format", type=click.Choice(TRACE_FORMATS), default="s1", show_default=True,
              help="s1: <|im_start|>think ... <|im_start|>answer ...; think-tags: <think>...</think> then the answer.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --ratio selection.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
              help="Output JSONL in TRL's conversational prompt/completion format.")
def mix_cmd(file, mode, ratio, direction_tags, trace_format, seed, out):
    """Build SFT data (TRL prompt/completion) from r1k records."""
    from .mix import build_sft_rows

    check_out_path(out)
    stats: dict = {}
    rows = build_sft_rows(read_records(file), mode, ratio, direction_tags, trace_format, seed, stats)
    if not rows:
        raise R1KError(f"{file}: no records with a reasoning trace for --mode {mode}; "
                       f"check the file's directions (r1k data verify {file})")
    write_jsonl(out, rows)
    d = Counter(r["direction"] for r in rows)
    click.echo(f"wrote {out}: {len(rows)} SFT rows ({d.get('forward', 0)} forward, {d.get('reverse', 0)} reverse)"
               + (f"; {stats['skipped_no_reasoning']} records without reasoning skipped"
                  if stats["skipped_no_reasoning"] else ""))


@data.command("pairs")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--trace-format", type=click.Choice(TRACE_FORMATS), default="s1", show_default=True,
              help="Trace format of chosen/rejected completions.")
@click.option("--direction-tags", is_flag=True, help="Prefix each prompt with [forward] / [reverse].")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
              help="Output JSONL of DPO rows (prompt/chosen/rejected, conversational).")
def pairs_cmd(file, trace_format, direction_tags, out):
    """Build DPO pairs as the paper did: the matching-direction trace is chosen, the other rejected."""
    from .mix import build_dpo_rows

    check_out_path(out)
    stats: dict = {}
    rows = build_dpo_rows(read_records(file), trace_format, direction_tags, stats)
    if not rows:
        raise R1KError(f"{file}: no complete forward/reverse pairs with traces; DPO pairs need both directions")
    write_jsonl(out, rows)
    click.echo(f"wrote {out}: {len(rows)} DPO rows from {stats['pairs']} pairs"
               + (f"; {stats['skipped_incomplete_pairs']} incomplete pairs skipped"
                  if stats["skipped_incomplete_pairs"] else ""))


@data.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
def verify_cmd(file):
    """Validate an r1k file and check its pairs and inversions; exit 1 if a check fails."""
    from .verify import verify_records

    records = read_records(file)
    problems, facts = verify_records(records)
    click.echo(_summary(file, records))
    for line in facts:
        click.echo(f"  {line}")
    for p in problems:
        click.echo(f"  problem: {p}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("  ok")
