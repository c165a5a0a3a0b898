"""``r1k data``: synth, import, invert, mix, pairs, verify."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import click

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import check_out_path, write_jsonl
from r1k_plugins.core.record import Record, read_records, write_records
from r1k_plugins.core.vocab import TRACE_FORMATS

MAX_SYNTH_PAIRS = 200_000  # documented limit (docs/errors.md): ~7 s, ~1 GB of memory, ~150 MB of JSONL


def _summary(label: str, records: list[Record], extra: str = "") -> str:
    d = Counter(r.direction for r in records)
    t = Counter(r.answer_type for r in records)
    types = ", ".join(f"{k} {t[k]}" for k in ("numeric", "expression", "choice", "text") if t.get(k))
    return (
        f"{label}: {len(records)} records ({d.get('forward', 0)} forward, {d.get('reverse', 0)} reverse; "
        f"answer types: {types or 'none'}){extra}"
    )


@click.group("data", context_settings={"help_option_names": ["-h", "--help"]})
def data():
    """Build r1k data: records (docs/data.md), SFT mixes and DPO pairs.

    Every command writes its output atomically (a temp file renamed into place), so an
    interrupted run never leaves a half file, and re-running it is safe.
    """


@data.command("synth")
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=2, max=MAX_SYNTH_PAIRS),
    default=1000,
    show_default=True,
    help=f"Number of forward/reverse pairs to generate (2 records each; at most {MAX_SYNTH_PAIRS:,}).",
)
@click.option(
    "--seed", type=int, default=1234, show_default=True, help="Random seed; the same seed gives byte-identical files."
)
@click.option(
    "--test-frac",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    help="Share of pairs that go to test.jsonl (split by pair).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    required=True,
    help="Output folder; train.jsonl and test.jsonl are written there (created if missing).",
)
def synth_cmd(n, seed, test_frac, out):
    """Write the embedded default: procedural arithmetic word problems, forward + reverse."""
    from r1k_plugins.data.synth import generate

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
@click.option("--preset", required=True, help="Column layout of SOURCE: s1k, r1k-published, math500, aime, gpqa.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output r1k JSONL file.")
@click.option(
    "--trace",
    type=click.Choice(["deepseek", "gemini"]),
    default=None,
    help="s1k only: which reasoning trace to keep (default: deepseek where the columns exist, "
    "as in s1K-1.1; gemini for s1K).",
)
@click.option("--split", default=None, help="Hub split to load (default per preset: train, test for math500).")
@click.option("--config", "config", default=None, help="Hub config name (default per preset: gpqa_diamond for gpqa).")
@click.option("--seed", type=int, default=0, show_default=True, help="gpqa only: seed of the option shuffle.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Keep only the first N source rows.")
def import_cmd(source, preset, out, trace, split, config, seed, limit):
    """Import SOURCE (hub dataset name, or local .parquet/.jsonl/.json) into r1k records.

    Gold short answers are extracted where the source has none as a column (a short solution
    as is, '### Answer:', else the last \\boxed{}); items with none become answer_type text.
    """
    from r1k_plugins.data.importers import PRESETS, import_records, load_rows

    check_out_path(out, inputs=[source])
    if preset not in PRESETS:
        raise R1KError(f"unknown preset {preset!r}; known presets: {', '.join(PRESETS)}")
    rows = load_rows(source, split or PRESETS[preset].default_split, config or PRESETS[preset].default_config)
    if limit:
        rows = rows[:limit]
    records = import_records(source, preset, trace=trace, seed=seed, rows=rows)
    write_records(out, records)
    click.echo(_summary(f"wrote {out}", records, f" from {len(rows)} source rows"))


def _default_cache_dir() -> str:
    return os.environ.get("R1K_CACHE_DIR") or str(Path.home() / ".cache" / "r1k" / "responses")


def _model_options(role: str):
    """Options shared by the teacher (invert) and the solver (verify)."""

    def deco(f):
        for opt in reversed(
            [
                click.option(
                    "--api-key-env",
                    default="OPENAI_API_KEY",
                    show_default=True,
                    help=f"openai: name of the environment variable holding the {role}'s API key "
                    "(the key itself is never written anywhere).",
                ),
                click.option(
                    "--max-connections",
                    type=click.IntRange(min=1),
                    default=32,
                    show_default=True,
                    help="openai: concurrent requests at most; hf: batch size.",
                ),
                click.option(
                    "--max-retries",
                    type=click.IntRange(min=0),
                    default=5,
                    show_default=True,
                    help="Retries per item on 429, 5xx, timeouts, dropped connections, malformed or unusable "
                    "replies (backoff 0.5 s doubling to 8 s, or the server's Retry-After); then the "
                    "item is recorded as failed with its reason.",
                ),
                click.option(
                    "--timeout",
                    type=click.FloatRange(min=0, min_open=True),
                    default=600.0,
                    show_default=True,
                    help="openai: seconds one request may take before it is retried. Opening a connection "
                    "may take at most 30 s or half of this; an endpoint that never takes one is "
                    "unreachable (the run stops).",
                ),
                click.option(
                    "--temperature",
                    type=click.FloatRange(min=0),
                    default=0.0,
                    show_default=True,
                    help="Sampling temperature (0: greedy).",
                ),
                click.option(
                    "--max-tokens",
                    type=click.IntRange(min=1),
                    default=8192,
                    show_default=True,
                    help="Most tokens per reply (a reply cut at this length is retried, then failed).",
                ),
                click.option(
                    "--cache-dir",
                    type=click.Path(file_okay=False),
                    default=None,
                    help="Response cache folder (default $R1K_CACHE_DIR or ~/.cache/r1k/responses); keyed by "
                    "prompt version, model, generation parameters and item, so a rerun asks nothing again.",
                ),
                click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache."),
                click.option(
                    "--progress/--no-progress",
                    default=True,
                    show_default=True,
                    help="Show a progress bar (rate and ETA) on stderr.",
                ),
            ]
        ):
            f = opt(f)
        return f

    return deco


def _manifest_path(out) -> Path:
    """out.jsonl -> out.manifest.json"""
    return Path(out).with_suffix(".manifest.json")


@data.command("invert")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--strategy",
    type=click.Choice(["mask", "teacher"]),
    default=None,
    help="mask (default without --teacher): deterministic FOBAR-style masking of one stated number. "
    "teacher: an LLM writes reverse question, short answer and a step-by-step reverse trace.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output r1k JSONL: the forward records and their reverse records (teacher: also "
    "the run manifest, out.jsonl -> out.manifest.json).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="mask: seed of the per-item choice of number.")
@click.option(
    "--teacher",
    "teacher_spec",
    default=None,
    metavar="SPEC",
    help="teacher backend: openai:MODEL@BASE_URL (any OpenAI-compatible server, `vllm serve` included), "
    "vllm:MODEL_OR_PATH (vLLM offline engine; needs the vllm extra), hf:PATH (transformers, "
    "local folder). vllm: and hf: take engine options after '?', e.g. "
    "vllm:Qwen/QwQ-32B?tensor_parallel_size=4 or hf:PATH?device=cuda&dtype=bfloat16. "
    "Implies --strategy teacher.",
)
@click.option(
    "--teacher-model", default=None, help="teacher: model served at --teacher-url (same as --teacher openai:MODEL@URL)."
)
@click.option(
    "--teacher-url",
    default="http://localhost:8000/v1",
    show_default=True,
    help="teacher: OpenAI-compatible base URL used with --teacher-model.",
)
@click.option(
    "--prompt-version", default=None, help="teacher: prompt template version (default: the newest, see docs/data.md)."
)
@_model_options("teacher")
def invert_cmd(
    file,
    strategy,
    out,
    seed,
    teacher_spec,
    teacher_model,
    teacher_url,
    prompt_version,
    api_key_env,
    max_connections,
    max_retries,
    timeout,
    temperature,
    max_tokens,
    cache_dir,
    no_cache,
    progress,
):
    """Invert forward items of FILE into reverse items.

    Every forward item ends as inverted, skipped (why) or failed (why); the counts add up to the
    input and are printed and written to the run manifest (teacher). The teacher run is
    resumable: finished items are appended to OUT.partial as they arrive (kill -9 safe), and a
    rerun of the same command asks only for the rest; answers are also kept in the response cache.
    """
    from r1k_plugins.data.invert import MaskStrategy, invert_records

    check_out_path(out, inputs=[file])
    strategy = strategy or ("teacher" if (teacher_spec or teacher_model) else "mask")
    if strategy == "mask":
        records = read_records(file)
        try:
            result, s = invert_records(records, MaskStrategy(seed=seed), progress=progress)
        except R1KError as e:
            raise type(e)(f"{file}: {e}") from None
        write_records(out, result)
        reasons = "; ".join(f"{k}: {v}" for k, v in sorted(s["skip_reasons"].items()))
        click.echo(
            f"wrote {out}: {s['forward']} forward, {s['inverted']} inverted"
            + (f", {s['already_reverse']} already had a reverse item" if s["already_reverse"] else "")
            + f", {s['skipped']} skipped"
            + (f" ({reasons})" if reasons else "")
        )
        return
    _invert_teacher_cmd(
        file,
        out,
        teacher_spec,
        teacher_model,
        teacher_url,
        prompt_version,
        api_key_env,
        max_connections,
        max_retries,
        timeout,
        temperature,
        max_tokens,
        cache_dir,
        no_cache,
        progress,
    )


def _invert_teacher_cmd(
    file,
    out,
    teacher_spec,
    teacher_model,
    teacher_url,
    prompt_version,
    api_key_env,
    max_connections,
    max_retries,
    timeout,
    temperature,
    max_tokens,
    cache_dir,
    no_cache,
    progress,
):
    import time

    from r1k_plugins.core.io import atomic_write_text, sha256_file
    from r1k_plugins.data.invert import TeacherStrategy, invert_teacher
    from r1k_plugins.data.teacher.backends import parse_spec
    from r1k_plugins.data.teacher.engine import RunStats
    from r1k_plugins.data.teacher.prompts import DEFAULT_PROMPT, get_prompt

    if teacher_spec and teacher_model:
        raise R1KError("give either --teacher SPEC or --teacher-model NAME (with --teacher-url), not both")
    if not teacher_spec and not teacher_model:
        raise R1KError(
            "--strategy teacher needs --teacher SPEC (openai:MODEL@URL, vllm:MODEL, hf:PATH) "
            "or --teacher-model NAME (the model the --teacher-url endpoint serves)"
        )
    spec = teacher_spec or f"openai:{teacher_model}@{teacher_url.rstrip('/')}"
    parse_spec(spec)
    get_prompt(prompt_version or DEFAULT_PROMPT)
    records = read_records(file)
    strat = TeacherStrategy(
        spec=spec,
        api_key_env=api_key_env,
        temperature=temperature,
        max_tokens=max_tokens,
        prompt_version=prompt_version or DEFAULT_PROMPT,
        max_connections=max_connections,
        max_retries=max_retries,
        timeout=timeout,
        cache_dir=None if no_cache else (cache_dir or _default_cache_dir()),
    )
    partial = Path(str(out) + ".partial")
    manifest_path = _manifest_path(out)
    stats = RunStats()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest = {
        "command": "r1k data invert",
        "input": str(file),
        "input_sha256": sha256_file(file),
        "output": str(out),
        "partial": str(partial),
        "started": started,
        **strat.config(),
    }
    try:
        result, s = invert_teacher(records, strat, partial, progress=progress, stats=stats)
    except R1KError as e:
        kept = sum(1 for _ in open(partial, encoding="utf-8")) if partial.exists() else 0
        atomic_write_text(
            manifest_path,
            json.dumps({**manifest, "status": "aborted", "error": str(e), "stats": stats.to_dict()}, indent=2) + "\n",
        )
        raise R1KError(f"{e} ({kept} finished items kept in {partial}; rerun the same command to resume)") from None
    write_records(out, result)
    atomic_write_text(
        manifest_path,
        json.dumps(
            {
                **manifest,
                "status": "done",
                "counts": {
                    k: s[k]
                    for k in (
                        "forward",
                        "inverted",
                        "new",
                        "from_cache",
                        "resumed",
                        "skipped",
                        "failed",
                        "reverse_in_input",
                    )
                },
                "skip_reasons": s["skip_reasons"],
                "fail_reasons": s["fail_reasons"],
                "stats": stats.to_dict(),
                "skipped_items": s["skipped_items"],
                "failed_items": s["failed_items"],
            },
            indent=2,
        )
        + "\n",
    )
    if partial.exists():
        os.unlink(partial)

    def why(d):
        return " (" + "; ".join(f"{k}: {v}" for k, v in sorted(d.items())) + ")" if d else ""

    click.echo(
        f"wrote {out}: {s['forward']} forward, {s['inverted']} inverted ({s['new']} new, "
        f"{s['from_cache']} from cache, {s['resumed']} resumed), "
        f"{s['skipped']} skipped{why(s['skip_reasons'])}, "
        f"{s['failed']} failed{why(s['fail_reasons'])}"
    )
    st = stats.to_dict()
    click.echo(
        f"  {st['requests']} requests, {st['retries']} retries, {st['prompt_tokens']} prompt + "
        f"{st['completion_tokens']} completion tokens, {st['elapsed_s']:.1f} s; manifest {manifest_path}"
    )
    for reason, said in st["server_said"].items():
        if reason in s["fail_reasons"]:
            click.echo(f"  {reason}: the server said: {said}")


@data.command("mix")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--mode", type=click.Choice(["forward", "reverse", "mixed"]), required=True, help="Which direction(s) to train on."
)
@click.option(
    "--ratio",
    type=float,
    default=None,
    help="mixed only: reverse share R in [0, 1]; each pair gives one item (R of them reverse). "
    "Without it, mixed keeps both items of every pair.",
)
@click.option("--direction-tags", is_flag=True, help="Prefix each prompt with [forward] / [reverse].")
@click.option(
    "--trace-format",
    type=click.Choice(TRACE_FORMATS),
    default="s1",
    show_default=True,
    help="s1: <|im_start|>think ... <|im_start|>answer ...; think-tags: <think>...</think> then the answer.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --ratio selection.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output JSONL in TRL's conversational prompt/completion format.",
)
def mix_cmd(file, mode, ratio, direction_tags, trace_format, seed, out):
    """Build SFT data (TRL prompt/completion) from r1k records."""
    from r1k_plugins.data.mix import build_sft_rows

    check_out_path(out, inputs=[file])
    if ratio is not None and not (0 <= ratio <= 1):  # also NaN
        raise R1KError(f"--ratio {ratio}: must be a number in [0, 1] (the reverse share of the mix)")
    stats: dict = {}
    rows = build_sft_rows(read_records(file), mode, ratio, direction_tags, trace_format, seed, stats)
    if not rows:
        raise R1KError(
            f"{file}: no records with a reasoning trace for --mode {mode}; "
            f"check the file's directions (r1k data verify {file})"
        )
    write_jsonl(out, rows)
    d = Counter(r["direction"] for r in rows)
    click.echo(
        f"wrote {out}: {len(rows)} SFT rows ({d.get('forward', 0)} forward, {d.get('reverse', 0)} reverse)"
        + (
            f"; {stats['skipped_no_reasoning']} records without reasoning skipped"
            if stats["skipped_no_reasoning"]
            else ""
        )
    )


@data.command("pairs")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--trace-format",
    type=click.Choice(TRACE_FORMATS),
    default="s1",
    show_default=True,
    help="Trace format of chosen/rejected completions.",
)
@click.option("--direction-tags", is_flag=True, help="Prefix each prompt with [forward] / [reverse].")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output JSONL of DPO rows (prompt/chosen/rejected, conversational).",
)
def pairs_cmd(file, trace_format, direction_tags, out):
    """Build DPO pairs as the paper did: the matching-direction trace is chosen, the other rejected."""
    from r1k_plugins.data.mix import build_dpo_rows

    check_out_path(out, inputs=[file])
    stats: dict = {}
    rows = build_dpo_rows(read_records(file), trace_format, direction_tags, stats)
    if not rows:
        raise R1KError(f"{file}: no complete forward/reverse pairs with traces; DPO pairs need both directions")
    write_jsonl(out, rows)
    click.echo(
        f"wrote {out}: {len(rows)} DPO rows from {stats['pairs']} pairs"
        + (
            f"; {stats['skipped_incomplete_pairs']} incomplete pairs skipped"
            if stats["skipped_incomplete_pairs"]
            else ""
        )
    )


@data.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--solver",
    "solver_spec",
    default=None,
    metavar="SPEC",
    help="Also solve each reverse question with this model (openai:MODEL@BASE_URL, vllm:MODEL_OR_PATH, "
    "hf:PATH; engine options after '?' as for invert --teacher) and score the reply against "
    "the gold with the shared scorer.",
)
@click.option(
    "--filter",
    "filter_",
    is_flag=True,
    help="With --out: keep only verified reverse items (no flag), and every forward item.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the records with their flags in meta.verify (all of them, or the verified ones with --filter).",
)
@click.option(
    "--report",
    "report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the JSON report: pass rates overall, by source and by cot_type; flag counts; solver stats.",
)
@_model_options("solver")
def verify_cmd(
    file,
    solver_spec,
    filter_,
    out,
    report,
    api_key_env,
    max_connections,
    max_retries,
    timeout,
    temperature,
    max_tokens,
    cache_dir,
    no_cache,
    progress,
):
    """Check FILE: bookkeeping (pairs, inversions; exit 1 if a check fails) and the quality of its
    reverse items.

    Always flags reverse questions that state their own answer or do not give the forward answer,
    and traces whose final answer is not the gold; with --solver, also answers that the solver
    gets wrong. Flags go into meta.verify; a reverse item is verified when it has none.
    """
    from r1k_plugins.core.io import atomic_write_text
    from r1k_plugins.data.verify import verify_quality, verify_records

    if filter_ and not out:
        raise R1KError("--filter needs --out FILE (where the verified records go)")
    for path in (out, report):
        if path:
            check_out_path(path)
    solver = None
    if solver_spec:
        from r1k_plugins.data.teacher.backends import parse_spec

        parse_spec(solver_spec, "--solver")
        solver = {
            "spec": solver_spec,
            "api_key_env": api_key_env,
            "max_connections": max_connections,
            "max_retries": max_retries,
            "timeout": timeout,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "cache_dir": None if no_cache else (cache_dir or _default_cache_dir()),
        }
    records = read_records(file)
    problems, facts = verify_records(records)
    rep = verify_quality(records, solver, progress=progress)
    click.echo(_summary(file, records))
    for line in facts:
        click.echo(f"  {line}")
    if rep["reverse"]:
        fl = ", ".join(f"{k} {v}" for k, v in rep["flags"].items()) or "none"
        click.echo(f"  {rep['passed']}/{rep['reverse']} reverse items verified ({rep['pass_rate']:.1%}); flags: {fl}")
        for name in ("by_source", "by_cot_type"):
            click.echo(
                f"  {name.replace('_', ' ')}: " + ", ".join(f"{k} {v['passed']}/{v['n']}" for k, v in rep[name].items())
            )
        if rep["solver"]:
            sv = rep["solver"]
            click.echo(
                f"  solver {sv['spec']}: {sv['correct']} correct, {sv['answered']} answered, {sv['failed']} failed"
            )
    if out:
        keep = [r for r in records if not filter_ or r.direction == "forward" or r.meta["verify"]["passed"]]
        write_records(out, keep)
        click.echo(f"  wrote {out}: {len(keep)} records")
    if report:
        atomic_write_text(report, json.dumps({"file": str(file), "problems": problems, **rep}, indent=2) + "\n")
        click.echo(f"  wrote {report}")
    for p in problems:
        click.echo(f"  problem: {p}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("  ok")
