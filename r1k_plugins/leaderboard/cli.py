"""``r1k leaderboard export``: lm-eval results + Inspect logs -> CSV / JSON / Markdown / HTML / PNG."""

from __future__ import annotations

import time

import click


@click.group("leaderboard", context_settings={"help_option_names": ["-h", "--help"]})
def leaderboard():
    """Aggregate lm-eval results and Inspect logs into leaderboards (docs/leaderboard.md)."""


@leaderboard.command("export")
@click.argument("results", nargs=-1, type=click.Path())
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    required=True,
    help="Output folder (created if missing): leaderboard.{csv,json,md,html}, scores.png, direction.png; "
    "with probe outputs among RESULTS also dynamics.png and dynamics.csv.",
)
@click.option(
    "--baseline",
    default=None,
    metavar="NAME",
    help="Row name or arm (e.g. base, forward-SFT) to report deltas against.",
)
@click.option(
    "--all",
    "keep_all",
    is_flag=True,
    help="Keep older runs of a model/task as extra rows 'NAME @ RUN' instead of only the newest.",
)
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots (and their place in the HTML).")
def export_cmd(results, out, baseline, keep_all, no_plots):
    """Build a leaderboard from RESULTS: lm-eval --output_path folders or results_*.json files,
    and Inspect log folders or logs (.eval / .json), in any mix.

    One row per model/checkpoint (its arm read from the model folder's r1k_run.json), one
    column per task: score ± stderr, n and harness. Unusable files are listed as skipped,
    with the reason, here and in the outputs. Same inputs give byte-identical CSV/JSON/MD.
    """
    from r1k_plugins.leaderboard.export import export

    t0 = time.perf_counter()
    doc, written = export(list(results), out, baseline=baseline, keep_all=keep_all, plots=not no_plots)
    used = len(doc["sources"])
    click.echo(
        f"{len(doc['rows'])} row(s) x {len(doc['tasks'])} task(s) from {used} result file(s); "
        f"{len(doc['skipped'])} skipped"
    )
    if doc.get("sampled"):
        click.echo(f"{len(doc['sampled']['rows'])} sampled run(s) (k answers per item) in their own section")
    for s in doc["skipped"]:
        click.echo(f"  skipped {s['path']}: {s['reason']}")
    for w in doc["warnings"]:
        click.echo(f"  warning: {w}")
    if doc["baseline"]:
        click.echo(f"deltas against {doc['baseline']['name']!r} (matched by {doc['baseline']['matched_by']})")
    click.echo(f"wrote {', '.join(p.name for p in written)} to {out} in {time.perf_counter() - t0:.1f}s")


@leaderboard.command("compare")
@click.argument("run_a", type=click.Path(exists=True))
@click.argument("run_b", type=click.Path(exists=True))
@click.option(
    "--task",
    default=None,
    metavar="NAME",
    help="The task to compare when a results file holds several (e.g. r1k_reverse).",
)
def compare_cmd(run_a, run_b, task):
    """Compare two runs of one task on their common items (e.g. lm-eval against Inspect).

    RUN_A / RUN_B: an lm-eval results file or --output_path folder, or an Inspect log. Sampled runs
    (k answers per item) are compared by a paired sign-flip test on per-item success proportions
    (c_i / k); greedy runs on per-item verdicts. A sampled run is never compared with a greedy one.
    """
    from r1k_plugins.leaderboard.sampling import compare, read_run

    a, b = read_run(run_a, task), read_run(run_b, task)
    c = compare(a, b)
    verdict = {True: "agree", False: "differ", None: "not judged"}[c["agree"]]
    click.echo(
        f"{c['task']}: {a.harness} ({c['a']['path']}) vs {b.harness} ({c['b']['path']}), "
        f"k={a.k} vs k={b.k}: mean difference of per-item success proportions "
        f"{c['mean_diff']:+.4f} over {c['n_common']} common items, {c['method']} "
        f"p={c['p_value']:.3g}: {verdict}" + (f" ({c['note']})" if c["note"] else "")
    )
