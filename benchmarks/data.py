"""Data-layer throughput: records/s of synth, import, invert, mix and pairs.

Target (issue 2): a 1,000-item s1K-sized run of import + invert + mix + pairs under 10 s on one
core, library import time excluded. Uses ../shared/data/r1k-sample-100.parquet, replicated to
1,000 s1K items (each question made unique), when present; otherwise synth data only.

    python benchmarks/data.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from r1k_plugins.core.io import write_jsonl
from r1k_plugins.core.record import read_records, write_records
from r1k_plugins.data.importers import import_records
from r1k_plugins.data.invert import MaskStrategy, invert_records
from r1k_plugins.data.mix import build_dpo_rows, build_sft_rows
from r1k_plugins.data.synth import generate

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "r1k-sample-100.parquet"


def timed(label, n, fn):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    print(f"{label:<44} {n:>6} records {dt:8.3f} s {n / dt:>12,.0f} records/s")
    return out, dt


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print("pinned to one core")
    tmp = Path(tempfile.mkdtemp(prefix="r1k-bench-"))
    (train, test), _ = timed("synth generate (1,000 pairs)", 2000, lambda: generate(1000, 1))
    timed(
        "synth write train+test jsonl",
        2000,
        lambda: (write_records(tmp / "train.jsonl", train), write_records(tmp / "test.jsonl", test)),
    )
    timed("read + validate jsonl", len(train), lambda: read_records(tmp / "train.jsonl"))

    if not SAMPLE.exists():
        print(f"{SAMPLE} not found: skipping the s1K-sized run")
        return
    rows = pq.read_table(SAMPLE).to_pylist()
    orig = [r for r in rows if r["sample_type"] == "original"]
    flip = [r for r in rows if r["sample_type"] == "flipped"]
    big_s1k, big_r1k = [], []
    for i in range(1000):
        o, f = dict(orig[i % 50]), dict(flip[i % 50])
        tag = f" (variant {i})"
        o["question"] += tag
        f["question"] += tag
        big_s1k.append(o)
        big_r1k += [o, f]
    s1k_file, r1k_file = tmp / "s1k.parquet", tmp / "r1k.parquet"
    pq.write_table(pa.Table.from_pylist(big_s1k), s1k_file)
    pq.write_table(pa.Table.from_pylist(big_r1k), r1k_file)

    print("-- s1K-sized run (1,000 items) --")
    total = 0.0
    s1k, dt = timed("import s1k preset (parquet -> records)", 1000, lambda: import_records(str(s1k_file), "s1k"))
    total += dt
    _, dt = timed("  + write jsonl", len(s1k), lambda: write_records(tmp / "s1k.jsonl", s1k))
    total += dt
    (inv, summary), dt = timed("invert --strategy mask", len(s1k), lambda: invert_records(s1k, MaskStrategy(seed=0)))
    total += dt
    print(f"    inverted {summary['inverted']}, skipped {summary['skipped']}")
    _, dt = timed("  + write jsonl", len(inv), lambda: write_records(tmp / "inv.jsonl", inv))
    total += dt
    r1k, dt = timed("import r1k-published (2,000 rows)", 2000, lambda: import_records(str(r1k_file), "r1k-published"))
    total += dt
    rows_sft, dt = timed(
        "mix --mode mixed (+ write)", len(r1k), lambda: write_jsonl(tmp / "sft.jsonl", build_sft_rows(r1k, "mixed"))
    )
    total += dt
    _, dt = timed("pairs (+ write)", len(r1k), lambda: write_jsonl(tmp / "dpo.jsonl", build_dpo_rows(r1k)))
    total += dt
    print(f"s1K-sized import+invert+mix+pairs total: {total:.2f} s (target < 10 s on one core)")


if __name__ == "__main__":
    sys.exit(main())
