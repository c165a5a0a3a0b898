"""Write every leaderboard output atomically into one folder."""

from __future__ import annotations

from pathlib import Path

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import atomic_write_bytes, atomic_write_text
from r1k_plugins.leaderboard.board import build


def export(inputs: list[str], out: str | Path, baseline: str | None = None, keep_all: bool = False,
           plots: bool = True) -> tuple[dict, list[Path]]:
    """Build the board from ``inputs`` and write it to ``out``; return (document, written paths)."""
    outdir = Path(out)
    if outdir.exists() and not outdir.is_dir():
        raise R1KError(f"{outdir}: exists and is not a folder; give --out a folder")
    doc = build(list(inputs), baseline=baseline, keep_all=keep_all, exclude=outdir)
    from r1k_plugins.leaderboard.render import to_csv, to_html, to_json, to_markdown

    images: dict[str, bytes] = {}
    if plots:
        from r1k_plugins.leaderboard.plots import render_plots

        images = render_plots(doc)
        if doc.get("probe"):
            from r1k_plugins.leaderboard.dynamics import dynamics_png

            png = dynamics_png(doc["probe"])
            if png is not None:
                images["dynamics.png"] = png
    doc["plots"] = sorted(images)[::-1]  # scores.png first
    written: list[Path] = []
    outdir.mkdir(parents=True, exist_ok=True)

    def put(name: str, data: str | bytes) -> None:
        p = outdir / name
        if isinstance(data, bytes):
            atomic_write_bytes(p, data)
        else:
            atomic_write_text(p, data)
        written.append(p)

    for name in doc["plots"]:
        put(name, images[name])
    if doc.get("probe"):
        from r1k_plugins.leaderboard.dynamics import to_csv as dynamics_csv

        put("dynamics.csv", dynamics_csv(doc["probe"]))
    put("leaderboard.csv", to_csv(doc))
    put("leaderboard.json", to_json(doc))
    put("leaderboard.md", to_markdown(doc, doc["plots"]))
    put("leaderboard.html", to_html(doc, {k: images[k] for k in doc["plots"]}))
    # plots left by an earlier export into the same folder would contradict this board
    for name in ("scores.png", "direction.png", "dynamics.png", "dynamics.csv"):
        if name not in images and not (name == "dynamics.csv" and doc.get("probe")) and (outdir / name).is_file():
            (outdir / name).unlink()
    return doc, written
