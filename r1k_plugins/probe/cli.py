"""``r1k probe direction``: the per-token directional distinction over models and checkpoints."""

from __future__ import annotations

import click

from r1k_plugins.core.errors import R1KError

_CTX = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("probe", context_settings=_CTX)
def probe():
    """Measure models the way the paper does (per-token log-probs of traces)."""


@probe.command("direction", context_settings=_CTX)
@click.option("--model", "models", multiple=True, metavar="DIR",
              help="A model folder (config + weights) or a LoRA adapter folder (loaded through PEFT on the base "
                   "its adapter_config.json names). Repeatable.")
@click.option("--run", "runs", multiple=True, metavar="DIR",
              help="A training output folder (r1k-train --output-dir): every checkpoint-* in step order, then the "
                   "final model. Repeatable.")
@click.option("--with-start", is_flag=True,
              help="With --run: also score the model each run started from (its base_model), as step 0.")
@click.option("--data", "data", metavar="FILE", default=None,
              help="r1k records (JSONL). Complete forward/reverse pairs with reasoning in both directions are "
                   "used; the others are counted. Default: the embedded default test split.")
@click.option("--out", "out", required=True, metavar="FILE",
              help="Summary JSON (schema r1k_probe/1): per checkpoint and prompt direction (forward, reverse, all) "
                   "mean y+, y- and delta with 95% CIs and n, plus step, epoch and arm.")
@click.option("--per-item", "per_item", metavar="FILE", default=None,
              help="Also write one JSONL row per item and checkpoint (prompt, both texts, tokens scored, y+, y-).")
@click.option("--max-tokens", type=int, default=1000, show_default=True,
              help="Score the mean log-prob of the first N tokens of each continuation (the paper's N).")
@click.option("--trace-format", type=click.Choice(["s1", "think-tags"]), default="s1", show_default=True,
              help="How y+ and y- are written (the format the model was trained on).")
@click.option("--direction-tags", is_flag=True,
              help="Prefix prompts with [forward]/[reverse] (only for models trained with --direction-tags).")
@click.option("--batch-size", type=int, default=8, show_default=True,
              help="Sequences per forward pass (each item scores two sequences).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Use only the first N complete pairs of --data (2N items).")
@click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), default="auto",
              show_default=True, help="Weights dtype; auto = bfloat16 on a GPU that supports it, else float32. "
                                      "Log-softmax is always float32.")
@click.option("--device", default="auto", show_default=True,
              help="auto (cuda when available, else cpu), cpu, cuda, cuda:N, mps.")
@click.option("--trust-remote-code", is_flag=True, help="Allow model code from the model folder (off by default).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def direction(models, runs, with_start, data, out, per_item, max_tokens, trace_format, direction_tags, batch_size,
              limit, dtype, device, trust_remote_code, quiet):
    """Directional distinction per token: delta = mean log-prob(y+) - mean log-prob(y-).

    \b
    Under each record's own prompt, y+ is its own trace and y- the other direction's trace
    (see docs/probe.md). Resumable: rerun the same command after an interruption and finished
    checkpoints are skipped. Example:
      r1k probe direction --run runs/mixed-sft --run runs/mixed-dpo --data test.jsonl --out probe.json
    """
    from r1k_plugins.probe.checkpoints import model_ref, resolve_device, run_refs, start_ref

    if not models and not runs:
        raise R1KError("no model given: pass --model DIR and/or --run DIR")
    refs = [model_ref(m) for m in models]
    for r in runs:
        rr = run_refs(r)
        if with_start and (s := start_ref(rr[0])) is not None:
            rr.insert(0, s)
        refs += rr
    seen, unique = set(), []
    for r in refs:
        key = (r.path, r.run)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    if data:
        from r1k_plugins.core.record import read_records
        from r1k_plugins.core.io import sha256_file

        records, label, sha = read_records(data), data, sha256_file(data)
    else:
        from r1k_plugins.data.synth import default_split

        records, label, sha = default_split("test"), "embedded default (test split)", None
    from r1k_plugins.probe.run import run_probe

    doc = run_probe(unique, records, data_label=label, data_sha256=sha, out=out, per_item=per_item,
                    max_tokens=max_tokens, trace_format=trace_format, direction_tags=direction_tags,
                    batch_size=batch_size, limit=limit, dtype=dtype, device=resolve_device(device),
                    trust_remote_code=trust_remote_code, progress=not quiet)
    c = doc["counts"]
    click.echo(f"probed {len(doc['checkpoints'])} model(s) on {c['items']} items ({c['pairs_used']} pairs; "
               f"left out: {c['pairs_incomplete']} incomplete, {c['pairs_without_reasoning']} without reasoning)")
    for ck in doc["checkpoints"]:
        s = ck["summary"]
        def fmt(d):
            v = s[d]["delta"]
            return "n/a" if v["mean"] is None else f"{v['mean']:+.3f}"
        where = ck["label"] if ck["run"] is None else f"{ck['run'].rstrip('/').split('/')[-1]}/{ck['label']}"
        click.echo(f"  {ck['arm']:<22} {where:<32} step {ck['step']!s:>5}  delta fwd {fmt('forward')}  "
                   f"rev {fmt('reverse')}  all {fmt('all')}")
    click.echo(f"wrote {out}" + (f" and {per_item}" if per_item else ""))
