"""Write every leaderboard output atomically into one folder: build the document (board.py), draw
the plots (plots.py), build the board model (sections.py) and render it (render.py)."""

from __future__ import annotations

from pathlib import Path

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import atomic_write_bytes, atomic_write_text
from r1k_plugins.leaderboard.board import build
from r1k_plugins.leaderboard.dynamics import to_csv as dynamics_csv
from r1k_plugins.leaderboard.render import to_csv, to_html, to_json, to_markdown
from r1k_plugins.leaderboard.sections import board_model

PLOT_FILES = ("scores.png", "direction.png", "dynamics.png")


def export(
    inputs: list[str], out: str | Path, baseline: str | None = None, keep_all: bool = False, plots: bool = True
) -> tuple[dict, list[Path]]:
    """Build the board from ``inputs`` and write it to ``out``; return (document, written paths)."""
    outdir = Path(out)
    if outdir.exists() and not outdir.is_dir():
        raise R1KError(f"{outdir}: exists and is not a folder; give --out a folder")
    doc = build(list(inputs), baseline=baseline, keep_all=keep_all, exclude=outdir)
    images: dict[str, bytes] = {}
    if plots:
        from r1k_plugins.leaderboard.plots import (
            render_plots,  # imports matplotlib: only when drawing
        )

        images = render_plots(doc)
    return doc, write_board(doc, images, outdir)


def write_board(doc: dict, images: dict[str, bytes], outdir: Path) -> list[Path]:
    """Write the document ``doc`` and its ``images`` (PNG bytes by file name) as the board's files
    into ``outdir``; sets ``doc["plots"]``. Returns the paths written."""
    doc["plots"] = sorted(images)[::-1]  # scores.png first
    board = board_model(doc, doc["plots"])
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
        put("dynamics.csv", dynamics_csv(doc["probe"]))
    put("leaderboard.csv", to_csv(doc))
    put("leaderboard.json", to_json(doc, board))
    put("leaderboard.md", to_markdown(board))
    put("leaderboard.html", to_html(board, {k: images[k] for k in doc["plots"]}))
    # plots left by an earlier export into the same folder would contradict this board
    for name in (*PLOT_FILES, "dynamics.csv"):
        if name not in images and not (name == "dynamics.csv" and doc.get("probe")) and (outdir / name).is_file():
            (outdir / name).unlink()
    return written
