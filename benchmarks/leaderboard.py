"""Time ``r1k leaderboard export`` on 500 result files.

The files are copies of REAL lm-eval results files and Inspect logs (made by
tests/leaderboard_fixtures/make_fixtures.py, which runs both harnesses offline, unless
``--fixtures DIR`` points at an existing fixture folder), each with its own model path, run
time and jittered scores: 80% lm-eval results (with their per-sample logs), 20% Inspect .eval
logs of the same models (so the board has cross-harness pairs). The export runs as the real
command in a fresh process (imports included), without and with ``--baseline``.

    python benchmarks/leaderboard.py [--n 500] [--fixtures DIR] [--keep]

Prints the seconds per export; the target is < 5 s for 500 files.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "leaderboard_fixtures"))


def _real_files(fx: Path) -> tuple[list[Path], list[Path]]:
    lm = sorted(fx.glob("lm/*/results_*.json"))
    ins = sorted(p for p in fx.glob("inspect/*.eval") if "broken" not in p.name)
    if not lm or not ins:
        raise SystemExit(f"{fx}: no lm-eval results or Inspect .eval logs (make them with make_fixtures.py)")
    return lm, ins


def _jitter(x: float, rng: random.Random) -> float:
    return min(1.0, max(0.0, round(x + rng.uniform(-0.15, 0.15), 4)))


def generate(fx: Path, out: Path, n: int, seed: int = 0) -> int:
    from inspect_ai.log import read_eval_log, write_eval_log

    rng = random.Random(seed)
    lm_src, ins_src = _real_files(fx)
    ins_logs = [read_eval_log(str(p)) for p in ins_src]
    n_ins = n // 5
    n_lm = n - n_ins
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    models = out / "models"
    for i in range(n_lm):
        src = lm_src[i % len(lm_src)]
        data = json.loads(src.read_text(encoding="utf-8"))
        mdir = models / f"model_{i:04d}"
        mdir.mkdir(parents=True, exist_ok=True)
        data["config"]["model_args"] = f"pretrained={mdir}"
        data["model_name"] = str(mdir)
        data["date"] = (t0 + timedelta(minutes=i)).timestamp()
        for entry in data["results"].values():
            for k, v in list(entry.items()):
                if k.startswith("acc,"):
                    entry[k] = _jitter(v, rng)
        ts = (t0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H-%M-%S.%f")
        d = out / "lm" / f"model_{i:04d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"results_{ts}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
        old_ts = src.name[len("results_") : -len(".json")]
        for sp in src.parent.glob(f"samples_*_{old_ts}.jsonl"):
            task = sp.name[len("samples_") : -len(f"_{old_ts}.jsonl")]
            shutil.copyfile(sp, d / f"samples_{task}_{ts}.jsonl")
    for j in range(n_ins):
        log = ins_logs[j % len(ins_logs)].model_copy(deep=True)
        log.eval.model_args = {"model_path": str(models / f"model_{j:04d}")}
        log.eval.eval_id = f"bench{j:06d}"
        log.eval.created = (t0 + timedelta(minutes=j)).isoformat()
        for sc in log.results.scores:
            if "accuracy" in sc.metrics:
                sc.metrics["accuracy"].value = _jitter(sc.metrics["accuracy"].value, rng)
        d = out / "inspect"
        d.mkdir(parents=True, exist_ok=True)
        write_eval_log(log, str(d / f"bench_{j:04d}_r1k-direction.eval"))
    return n_lm + n_ins


def time_export(args: list[str]) -> float:
    cmd = [sys.executable, "-m", "r1k_plugins.leaderboard", "export", *args]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"export failed ({r.returncode}): {r.stderr or r.stdout}")
    print("   ", r.stdout.strip().splitlines()[0])
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="number of result files (default 500)")
    ap.add_argument("--fixtures", type=Path, help="existing make_fixtures.py output to copy from")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder and print its path")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="r1k_lb_bench_"))
    try:
        fx = a.fixtures
        if fx is None:
            from make_fixtures import make_fixtures

            fx = tmp / "fixtures"
            print("running lm-eval and Inspect once for real result files ...", flush=True)
            make_fixtures(fx)
        data = tmp / "results"
        t = time.perf_counter()
        n = generate(fx, data, a.n)
        print(f"generated {n} result files in {time.perf_counter() - t:.1f}s under {data}")
        inputs = [str(data / "lm"), str(data / "inspect")]
        t1 = time_export([*inputs, "--out", str(tmp / "board")])
        print(f"export of {n} files: {t1:.2f} s")
        t2 = time_export([*inputs, "--out", str(tmp / "board_bl"), "--baseline", "model_0000"])
        print(f"export of {n} files with --baseline (paired deltas from per-sample logs): {t2:.2f} s")
        print(f"target < 5 s: {'met' if t1 < 5 else 'NOT met'}")
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
