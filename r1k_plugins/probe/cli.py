"""``r1k probe direction``: the per-token directional distinction (and response families) over models
and checkpoints; ``r1k probe ches``: the CHES score of each DPO pair under a model."""

from __future__ import annotations

import click

from r1k_plugins.core.errors import R1KError

_CTX = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("probe", context_settings=_CTX)
def probe():
    """Measure models the way the paper does (per-token log-probs of traces)."""


@probe.command("direction", context_settings=_CTX)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="DIR",
    help="A model folder (config + weights) or a LoRA adapter folder (loaded through PEFT on the base "
    "its adapter_config.json names). Repeatable.",
)
@click.option(
    "--run",
    "runs",
    multiple=True,
    metavar="DIR",
    help="A training output folder (r1k-train --output-dir): every checkpoint-* in step order, then the "
    "final model. Repeatable.",
)
@click.option(
    "--with-start",
    is_flag=True,
    help="With --run: also score the model each run started from (its base_model), as step 0.",
)
@click.option(
    "--data",
    "data",
    metavar="FILE",
    default=None,
    help="r1k records (JSONL). Complete forward/reverse pairs with reasoning in both directions are "
    "used; the others are counted. Default: the embedded default test split.",
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="FILE",
    help="Summary JSON (schema r1k_probe/1): per checkpoint and prompt direction (forward, reverse, all) "
    "mean y+, y- and delta with 95% CIs and n (and each --families field: y_greedy, y_irrelevant, "
    "argmax_share), plus step, epoch and arm.",
)
@click.option(
    "--per-item",
    "per_item",
    metavar="FILE",
    default=None,
    help="Also write one JSONL row per item and checkpoint (prompt, both texts, tokens scored, y+, y-, "
    "and the families' texts, tokens and scores).",
)
@click.option(
    "--max-tokens",
    type=int,
    default=1000,
    show_default=True,
    help="Score the mean log-prob of the first N tokens of each continuation (the paper's N).",
)
@click.option(
    "--families",
    "families",
    default="irrelevant,argmax",
    show_default=True,
    metavar="LIST",
    help="Response families scored besides y+ and y- (comma-separated, or none): greedy = the model's "
    "own greedy continuation at each checkpoint (a generation per item and checkpoint: the costly "
    "one), irrelevant = another item's trace of the same direction under this item's prompt "
    "(fixed-seed derangement), argmax = share of y+ positions where the model's top token is "
    "y+'s token (free). See docs/probe.md.",
)
@click.option(
    "--greedy-tokens",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="With greedy: generate at most N tokens (stopping at EOS), then score them.",
)
@click.option(
    "--trace-format",
    type=click.Choice(["s1", "think-tags"]),
    default="s1",
    show_default=True,
    help="How y+ and y- are written (the format the model was trained on).",
)
@click.option(
    "--direction-tags",
    is_flag=True,
    help="Prefix prompts with [forward]/[reverse] (only for models trained with --direction-tags).",
)
@click.option(
    "--batch-size",
    type=int,
    default=8,
    show_default=True,
    help="Sequences per forward pass (each item scores two sequences).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Use only the first N complete pairs of --data (2N items).",
)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
    help="Weights dtype; auto = bfloat16 on a GPU that supports it, else float32. Log-softmax is always float32.",
)
@click.option(
    "--device", default="auto", show_default=True, help="auto (cuda when available, else cpu), cpu, cuda, cuda:N, mps."
)
@click.option("--trust-remote-code", is_flag=True, help="Allow model code from the model folder (off by default).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def direction(
    models,
    runs,
    with_start,
    data,
    out,
    per_item,
    max_tokens,
    families,
    greedy_tokens,
    trace_format,
    direction_tags,
    batch_size,
    limit,
    dtype,
    device,
    trust_remote_code,
    quiet,
):
    """Directional distinction per token: delta = mean log-prob(y+) - mean log-prob(y-).

    \b
    Under each record's own prompt, y+ is its own trace and y- the other direction's trace
    (see docs/probe.md). Resumable: rerun the same command after an interruption and finished
    checkpoints are skipped. Example:
      r1k probe direction --run runs/mixed-sft --run runs/mixed-dpo --data test.jsonl --out probe.json
    """
    from r1k_plugins.probe.checkpoints import model_ref, resolve_device, run_refs, start_ref
    from r1k_plugins.probe.measure import parse_families

    fams = parse_families(families)

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
        from r1k_plugins.core.io import sha256_file
        from r1k_plugins.core.record import read_records

        records, label, sha = read_records(data), data, sha256_file(data)
    else:
        from r1k_plugins.data.synth import default_split

        records, label, sha = default_split("test"), "embedded default (test split)", None
    from r1k_plugins.probe.run import run_probe

    doc = run_probe(
        unique,
        records,
        data_label=label,
        data_sha256=sha,
        out=out,
        per_item=per_item,
        max_tokens=max_tokens,
        trace_format=trace_format,
        direction_tags=direction_tags,
        batch_size=batch_size,
        limit=limit,
        dtype=dtype,
        device=resolve_device(device),
        trust_remote_code=trust_remote_code,
        progress=not quiet,
        families=fams,
        greedy_tokens=greedy_tokens,
    )
    c = doc["counts"]
    click.echo(
        f"probed {len(doc['checkpoints'])} model(s) on {c['items']} items ({c['pairs_used']} pairs; "
        f"left out: {c['pairs_incomplete']} incomplete, {c['pairs_without_reasoning']} without reasoning)"
    )
    for ck in doc["checkpoints"]:
        s = ck["summary"]

        def fmt(d, s=s):
            v = s[d]["delta"]
            return "n/a" if v["mean"] is None else f"{v['mean']:+.3f}"

        where = ck["label"] if ck["run"] is None else f"{ck['run'].rstrip('/').split('/')[-1]}/{ck['label']}"
        click.echo(
            f"  {ck['arm']:<22} {where:<32} step {ck['step']!s:>5}  delta fwd {fmt('forward')}  "
            f"rev {fmt('reverse')}  all {fmt('all')}"
        )
    click.echo(f"wrote {out}" + (f" and {per_item}" if per_item else ""))


@probe.command("ches", context_settings=_CTX)
@click.option(
    "--model",
    "model",
    required=True,
    metavar="DIR",
    help="The model the pairs are scored under (usually the SFT model DPO starts from): a model folder "
    "or a LoRA adapter folder.",
)
@click.option(
    "--pairs",
    "pairs",
    required=True,
    metavar="FILE",
    help="DPO pairs JSONL (`r1k data pairs` output: prompt, chosen, rejected; TRL conversational or standard format).",
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="FILE",
    help="The pairs again, each with metadata.ches and metadata.ches_normalized (and the tokens used); "
    "with --ches-filter, without the dropped pairs. Written atomically.",
)
@click.option(
    "--ches-filter",
    "ches_filter",
    type=float,
    default=None,
    metavar="F",
    help="Drop the floor(F x n) pairs with the highest CHES (F strictly between 0 and 1): the pairs "
    "most likely to displace the chosen response's likelihood.",
)
@click.option(
    "--ches-by",
    type=click.Choice(["normalized", "raw"]),
    default="normalized",
    show_default=True,
    help="Which score --ches-filter ranks by: the length-normalised CHES (mean embeddings) or the raw one.",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Use only the first N tokens of each response (default: whole responses).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Sequences per forward pass (each pair is two sequences).",
)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
    help="Weights dtype; auto = bfloat16 on a GPU that supports it, else float32. Embedding sums are float64.",
)
@click.option(
    "--device", default="auto", show_default=True, help="auto (cuda when available, else cpu), cpu, cuda, cuda:N, mps."
)
@click.option("--trust-remote-code", is_flag=True, help="Allow model code from the model folder (off by default).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ches(model, pairs, out, ches_filter, ches_by, max_tokens, batch_size, dtype, device, trust_remote_code, quiet):
    """CHES score of each DPO pair (Razin et al., ICLR 2025), written into the pair's metadata.

    \b
    CHES = <S+, S-> - ||S+||^2, S+/S- = the sums of the last hidden layer's states at the
    positions that predict each chosen/rejected token; the normalized variant uses their means
    (see docs/probe.md). A high CHES predicts that DPO on the pair lowers the chosen response's
    likelihood. Example:
      r1k data pairs train.jsonl --out pairs.jsonl
      r1k probe ches --model runs/mixed-sft --pairs pairs.jsonl --out pairs_ches.jsonl --ches-filter 0.1
    """
    from r1k_plugins.core.io import check_out_path, write_jsonl
    from r1k_plugins.probe.checkpoints import load, model_ref, resolve_device
    from r1k_plugins.probe.ches import check_fraction, ches_scores, hidden_model, read_pairs, top_fraction

    check_fraction(ches_filter)
    check_out_path(out, inputs=[pairs])
    rows = read_pairs(pairs)
    ref = model_ref(model)
    m, tok = load(ref, dtype=dtype, device=resolve_device(device), trust_remote_code=trust_remote_code)
    hidden_model(m)  # a model without hidden states fails here, before any work
    bar = None
    if not quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * len(rows), unit="seq", desc="ches", dynamic_ncols=True)
    try:
        scores = ches_scores(m, tok, rows, batch_size=batch_size, max_tokens=max_tokens, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    key = "ches_normalized" if ches_by == "normalized" else "ches"
    drop = top_fraction([s[key] for s in scores], ches_filter) if ches_filter is not None else set()
    kept = []
    for i, (r, s) in enumerate(zip(rows, scores)):
        if i in drop:
            continue
        kept.append(r | {"metadata": dict(r.get("metadata") or {}) | s | {"ches_model": ref.path}})
    write_jsonl(out, kept)
    vals = sorted(s[key] for s in scores)
    msg = f"scored {len(rows)} pairs under {ref.label}: {key} median {vals[len(vals) // 2]:+.4g}"
    if ches_filter is not None:
        cut = min((scores[i][key] for i in drop), default=None)
        msg += (
            f"; dropped {len(drop)} with the highest {key}"
            + (f" (>= {cut:+.4g})" if cut is not None else "")
            + f", kept {len(kept)}"
        )
    click.echo(msg)
    click.echo(f"wrote {out}")
