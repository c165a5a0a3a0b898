"""Record reading speed: ``read_records`` (parse + validate) on 10,000 synthetic records.

Every record carries meta (synth writes template values; reverse records carry meta.inversion),
so the full validation runs on each line.

    python benchmarks/records.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from r1k_plugins.core.record import read_records, write_records
from r1k_plugins.data.synth import generate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    train, test = generate(n // 2, 0, test_frac=0.5)
    train = train + test
    path = Path(tempfile.mkdtemp(prefix="r1k-bench-")) / "records.jsonl"
    write_records(path, train)
    n = len(train)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        recs = read_records(path)
        best = min(best, time.perf_counter() - t)
    assert len(recs) == n
    print(f"read_records: {n} records, best of 5 {best:.3f} s, {n / best:,.0f} records/s")


if __name__ == "__main__":
    main()
