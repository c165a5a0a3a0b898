"""Start-up cost of the lm-eval discovery hook (r1k_plugins_lmeval.pth) on `python -c pass`.

Runs `python -c pass` N times with the hook active and with R1K_NO_LMEVAL_HOOK=1, interleaved,
and prints the medians. Target: no measurable difference (the hook imports one 2 kB module).

    python benchmarks/startup.py [N]
"""

import os
import statistics
import subprocess
import sys
import time


def once(env):
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    base = {k: v for k, v in os.environ.items() if k not in ("R1K_NO_LMEVAL_HOOK", "PYTHONDONTWRITEBYTECODE")}
    # PYTHONDONTWRITEBYTECODE would recompile the hook on every start; installs normally cache .pyc
    subprocess.run([sys.executable, "-c", "pass"], env=base, check=True)
    on, off = dict(base), dict(base, R1K_NO_LMEVAL_HOOK="1")
    a, b = [], []
    for _ in range(n):
        a.append(once(on))
        b.append(once(off))
    ma, mb = statistics.median(a), statistics.median(b)
    print(
        f"python -c pass, median of {n}: hook on {ma * 1000:.2f} ms, hook off {mb * 1000:.2f} ms, "
        f"difference {(ma - mb) * 1000:+.2f} ms"
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], env=on, capture_output=True, text=True
    ).stderr
    for line in out.splitlines():
        if "r1k" in line:
            print("importtime:", line.strip())


if __name__ == "__main__":
    main()
