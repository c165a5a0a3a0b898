"""Bad input never crashes and never loses data (docs/errors.md), table-driven.

Every case of ``tests/bad_input_corpus.py`` runs the real console script and asserts: the exit
code, one line of error naming what and where, no traceback, and prior outputs byte-identical.
A few contracts need their own test: Ctrl-C (exit 130), a failed ``--overwrite`` run that must
keep the previous run, Markdown escaping, and the tiny model's file permissions.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from bad_input_corpus import Case, build_cases
from conftest import BIN, run

CASES = build_cases()


def test_corpus_is_large_and_covers_every_command():
    assert len(CASES) >= 150, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES)
    seen = {(c.cmd, c.argv[0] if c.cmd != "r1k" else " ".join(c.argv[:2])) for c in CASES}
    for want in [
        ("r1k", "data synth"),
        ("r1k", "data import"),
        ("r1k", "data invert"),
        ("r1k", "data mix"),
        ("r1k", "data pairs"),
        ("r1k", "data verify"),
        ("r1k", "leaderboard export"),
        ("r1k-train", "tiny-model"),
        ("r1k-train", "sft"),
        ("r1k-train", "dpo"),
        ("lm_eval", "run"),
        ("inspect", "eval"),
    ]:
        assert want in seen, want
    assert any(c.cmd == "r1k" and c.argv[0] == "demo" for c in CASES)


@pytest.fixture(scope="session")
def ro_dir(tmp_path_factory):
    """A folder the OS refuses to write into: chmod 0555 (root ignores that: then /sys)."""
    d = tmp_path_factory.mktemp("ro")
    os.chmod(d, 0o555)
    for cand in (d, Path("/sys")):
        try:
            fd, probe = tempfile.mkstemp(dir=cand)
        except OSError:
            return cand
        os.close(fd)
        os.unlink(probe)
    pytest.skip("no folder here refuses writes (root without a read-only /sys)")


@pytest.fixture(scope="session")
def unreadable(tmp_path_factory):
    """A file the OS refuses to read: chmod 000 (root ignores that: then /proc/self/mem, EIO)."""
    f = tmp_path_factory.mktemp("unreadable") / "secret.jsonl"
    f.write_text("{}\n")
    os.chmod(f, 0)
    try:
        f.read_bytes()
    except OSError:
        return f
    return Path("/proc/self/mem")


def _fill(s: str, ctx: dict) -> str:
    for k, v in ctx.items():
        s = s.replace("{" + k + "}", str(v))
    return s


def _materialize(case: Case, d: Path, ctx: dict) -> None:
    for name, content in case.files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple) and content[0] == "symlink":
            p.symlink_to(d / content[1])
            continue
        if callable(content):
            content = content(d)
        if isinstance(content, str):
            content = _fill(content, ctx).encode("utf-8", "surrogatepass")
        p.write_bytes(content)


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _limit_fsize(n: int):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))

    return pre


@pytest.fixture(scope="session")
def ctx(synth_data, tiny_model, ro_dir, unreadable):
    return {
        "good": synth_data / "train.jsonl",
        "goodtest": synth_data / "test.jsonl",
        "tiny": tiny_model,
        "ro": ro_dir,
        "unreadable": unreadable,
    }


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, ctx, tmp_path):
    d = tmp_path / "case"
    d.mkdir()
    c = dict(ctx, d=d)
    _materialize(case, d, c)
    guard_before = {g: _digest(d / g) for g in case.guard}
    inputs_before = {p: _digest(p) for p in (ctx["good"], ctx["tiny"] / "config.json")}
    argv = [_fill(a, c) for a in case.argv]
    env = dict(os.environ, COLUMNS="1000", INSPECT_DISPLAY="plain", R1K_DEBUG="")
    proc = subprocess.run(
        [str(BIN / case.cmd), *argv],
        cwd=d,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=case.timeout,
        preexec_fn=_limit_fsize(case.fsize) if case.fsize else None,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-3000:]
    assert proc.returncode == case.rc, (proc.returncode, out[-3000:])
    if case.rc == 0:
        for n in case.needles:
            assert n in out, (n, out[-2000:])
    else:
        stream = proc.stdout if case.stdout_msg else proc.stderr
        lines = [l for l in stream.splitlines() if l.strip()]
        assert lines, out[-2000:]
        if not (case.last_line or case.stdout_msg):
            assert len(lines) == 1, stream[-3000:]
        if case.stdout_msg:
            assert len(lines) == 1 and not proc.stderr.strip(), out[-3000:]
        line = lines[-1]
        assert line.startswith("error: "), line
        for n in case.needles:
            assert _fill(n, c) in line, (n, line)
    for g, h in guard_before.items():
        assert (d / g).exists() and _digest(d / g) == h, f"{g} changed or lost"
    for p, h in inputs_before.items():
        assert _digest(p) == h, f"{p} changed"
    leftovers = [p.name for p in d.rglob(".*.tmp")]
    assert not leftovers, leftovers


# ---------------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_ctrl_c_exits_130_and_keeps_existing_output(tmp_path):
    """SIGINT in the middle of a long synth: exit 130, the documented line, the old files as they were."""
    out = tmp_path / "s"
    out.mkdir()
    (out / "train.jsonl").write_text("PRIOR\n")
    (out / "test.jsonl").write_text("PRIOR\n")
    # SIGINT as a terminal user has it: a CI runner that started us in the background may have left it
    # ignored, and an ignored SIGINT is inherited (the child would never see the Ctrl-C)
    proc = subprocess.Popen(
        [str(BIN / "r1k"), "data", "synth", "--n", "200000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(2.5)  # inside generate() (7-20 s for 200,000 pairs)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted: finished outputs are kept; rerun the same command to resume", err
    assert (out / "train.jsonl").read_text() == "PRIOR\n"
    assert (out / "test.jsonl").read_text() == "PRIOR\n"
    assert not list(out.glob(".*.tmp"))


@pytest.mark.e2e
def test_failed_overwrite_keeps_the_previous_run(tiny_model, synth_data, tmp_path):
    """--overwrite onto a finished run, failing only once TRL builds the trainer: the old run survives."""
    runs = tmp_path / "run"
    runs.mkdir()
    old = {
        "r1k_run.json": '{"schema": "r1k_run/1", "stage": "sft"}\n',
        "log_history.jsonl": "{}\n",
        "model.safetensors": "OLD WEIGHTS",
        "checkpoint-5/trainer_state.json": "{}",
    }
    for name, text in old.items():
        (runs / name).parent.mkdir(parents=True, exist_ok=True)
        (runs / name).write_text(text)
    proc = run(
        "r1k-train",
        "sft",
        "--config",
        "tiny-sft",
        "--model",
        tiny_model,
        "--data",
        synth_data / "train.jsonl",
        "--output-dir",
        runs,
        "--overwrite",
        "--set",
        "eval_strategy=steps",
        "--set",
        "max_steps=2",
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "eval" in last, last
    for name, text in old.items():
        assert (runs / name).read_text() == text, name


@pytest.mark.e2e
def test_markdown_board_escapes_html_from_result_files(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "results_2024-01-01T00-00-00.json").write_text(
        json.dumps(
            {
                "results": {"r1k<script>alert(1)</script>": {"acc,none": 0.5, "acc_stderr,none": 0.1}},
                "config": {"model": "hf", "model_args": "pretrained=<img src=x onerror=alert(1)>"},
                "date": 1700000000,
            }
        )
    )
    run("r1k", "leaderboard", "export", res, "--out", tmp_path / "board", "--no-plots", check=True)
    for name in ("leaderboard.md", "leaderboard.html"):
        text = (tmp_path / "board" / name).read_text()
        assert "<script>alert" not in text and "<img src=x" not in text, name
    md = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "&lt;script>alert(1)&lt;/script>" in md and "&lt;img src=x onerror=alert(1)>" in md


def test_tiny_model_files_have_normal_permissions(tiny_model):
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(tiny_model.stat().st_mode) == 0o777 & ~umask
    for f in tiny_model.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f
