"""Wall time and CPU time of `r1k demo --quick` from a fresh --out (target: <= 180 s on 2 idle cores).

    python benchmarks/demo.py                      # this checkout
    python benchmarks/demo.py --ref 5ca7b8a        # also a git revision (exported to a temp folder), for before/after
    python benchmarks/demo.py --full               # the full demo (target: <= 10 minutes)

Prints, per run: wall seconds, CPU seconds of the demo and every process it started (user + system,
from getrusage of the children), the load average before and after (the machine is shared: compare
CPU seconds when it is busy), and the per-step times the demo printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_demo(code_root: Path, quick: bool, label: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix="r1k-demo-bench-")) / "demo"
    env = dict(
        os.environ,
        PYTHONPATH=str(code_root),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        INSPECT_DISPLAY="none",
    )
    cmd = [sys.executable, "-c", "from r1k_plugins.cli import main; main()", "demo", "--out", str(out)]
    if quick:
        cmd.append("--quick")
    load0, cpu0, t0 = os.getloadavg(), _cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=code_root)
    wall, cpu, load1 = time.perf_counter() - t0, _cpu() - cpu0, os.getloadavg()
    steps = [l.strip() for l in proc.stdout.splitlines() if l.strip().startswith("done:")]
    print(
        f"== {label}: exit {proc.returncode}, wall {wall:.0f} s, CPU {cpu:.0f} s (user+sys, all processes), "
        f"load average {load0[0]:.1f} before / {load1[0]:.1f} after"
    )
    for s in steps:
        print(f"   {s}")
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
    return {"label": label, "wall_s": wall, "cpu_s": cpu, "exit": proc.returncode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", help="also time this git revision of the project (before/after)")
    ap.add_argument("--full", action="store_true", help="the full demo instead of --quick")
    args = ap.parse_args()
    results = []
    if args.ref:
        with tempfile.TemporaryDirectory() as d:
            archive = subprocess.run(["git", "archive", args.ref], cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", d], input=archive, check=True)
            results.append(time_demo(Path(d), not args.full, f"{args.ref}"))
    results.append(time_demo(ROOT, not args.full, "this checkout"))
    if len(results) == 2:
        a, b = results
        print(f"== wall {a['wall_s']:.0f} s -> {b['wall_s']:.0f} s, CPU {a['cpu_s']:.0f} s -> {b['cpu_s']:.0f} s")


if __name__ == "__main__":
    main()
