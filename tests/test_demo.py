"""`r1k demo --quick` (at an even smaller size): every stage's artefacts, the board and the dynamics figure."""

import csv
import json

import pytest
from conftest import run

ARMS = ("forward-SFT", "reverse-SFT", "mixed-SFT", "mixed-SFT -> DPO")


@pytest.mark.e2e
def test_quick_demo_every_stage(tmp_path):
    out = tmp_path / "demo"
    proc = run(
        "r1k",
        "demo",
        "--quick",
        "--out",
        out,
        "--n",
        40,
        "--limit",
        2,
        "--max-new-tokens",
        16,
        "--probe-tokens",
        64,
        timeout=1500,
        check=True,
    )
    assert "demo finished" in proc.stdout
    # 1. data, 2. base model
    assert (out / "data" / "train.jsonl").stat().st_size > 0 and (out / "data" / "test.jsonl").stat().st_size > 0
    assert (out / "models" / "base" / "model.safetensors").is_file()
    # 3. SFT arms: one checkpoint per epoch (3), listed in the manifest with step and epoch
    for arm in ("forward", "reverse", "mixed"):
        d = out / "models" / f"{arm}-sft"
        m = json.loads((d / "r1k_run.json").read_text())
        assert m["data_mode"] == arm and m["stage"] == "sft"
        assert [round(c["epoch"]) for c in m["checkpoints"]] == [1, 2, 3]
        assert len(list(d.glob("checkpoint-*"))) == 3
    # 4. DPO: 16 steps, a checkpoint every 4
    m = json.loads((out / "models" / "mixed-sft-dpo" / "r1k_run.json").read_text())
    assert [c["step"] for c in m["checkpoints"]] == [4, 8, 12, 16]
    # 5. the probe on every checkpoint (plus each run's start), the harnesses on every final model
    probe = json.loads((out / "results" / "probe" / "probe.json").read_text())
    by_arm = {}
    for c in probe["checkpoints"]:
        by_arm.setdefault(c["arm"], []).append(c["step"])
    assert by_arm["base"] == [None]
    for arm in ARMS[:3]:
        assert by_arm[arm][0] == 0 and len(by_arm[arm]) == 4, by_arm  # start + 3 epochs
    assert by_arm["mixed-SFT -> DPO"] == [0, 4, 8, 12, 16]
    items = (out / "results" / "probe" / "items.jsonl").read_text().splitlines()
    assert len(items) == len(probe["checkpoints"]) * probe["counts"]["items"]
    lm = list((out / "results" / "lm_eval").rglob("results_*.json"))
    assert len(lm) == 5
    assert len(list((out / "results" / "inspect").glob("*.eval"))) == 10  # two tasks per model
    # 6. the board: every arm, the per-token table, the dynamics figure and its data
    board = out / "leaderboard"
    doc = json.loads((board / "leaderboard.json").read_text())
    assert {r["arm"] for r in doc["rows"]} == {"base", *ARMS}
    assert [t["arm"] for t in doc["probe"]["table"]] == ["base", *ARMS]
    png = (board / "dynamics.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    rows = list(csv.DictReader((board / "dynamics.csv").open()))
    assert len(rows) == 3 * len(probe["checkpoints"])
    md = (board / "leaderboard.md").read_text()
    assert "Directional distinction per token (probe)" in md and "](dynamics.png)" in md
    assert "dynamics.png" not in md.split("## Plots")[-1]
    html = (board / "leaderboard.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # scores, direction, dynamics
    # resumable: a rerun skips every finished step
    again = run(
        "r1k",
        "demo",
        "--quick",
        "--out",
        out,
        "--n",
        40,
        "--limit",
        2,
        "--max-new-tokens",
        16,
        "--probe-tokens",
        64,
        timeout=600,
        check=True,
    )
    assert "SFT on" not in again.stdout and "lm-eval on" not in again.stdout and "==> leaderboard" in again.stdout


MITIGATION_ARMS = (
    "mixed-SFT -> DPO+SFT",
    "mixed-SFT -> DPO-norm",
    "mixed-SFT [tags]",
    "mixed-SFT [tags] -> DPO [tags]",
)


@pytest.mark.e2e
def test_demo_mitigation_arms(tmp_path):
    """--arms with the mitigations (ches needs CHES scoring in `r1k data pairs`: tested where it is): each arm
    trains with its recipe, is probed (the tags arm under tagged prompts) and evaluated, and the board compares
    every arm; the paper's figure keeps the paper's arms only."""
    out = tmp_path / "demo"
    proc = run(
        "r1k",
        "demo",
        "--quick",
        "--out",
        out,
        "--n",
        40,
        "--limit",
        2,
        "--max-new-tokens",
        16,
        "--probe-tokens",
        32,
        "--arms",
        "mixed,dpo-sft,dpo-norm,tags",
        "--no-inspect",
        timeout=1500,
        check=True,
    )
    assert "demo finished" in proc.stdout
    cfg = {
        d: json.loads((out / "models" / d / "r1k_run.json").read_text())
        for d in ("mixed-sft-dpo-sft", "mixed-sft-dpo-norm", "mixed-sft-tags", "mixed-sft-tags-dpo")
    }
    assert cfg["mixed-sft-dpo-sft"]["config"]["loss_type"] == ["sigmoid", "sft"]
    assert cfg["mixed-sft-dpo-sft"]["config"]["loss_weights"] == [1.0, 1.0]
    assert cfg["mixed-sft-dpo-norm"]["config"]["loss_type"] == ["sigmoid_norm"]
    assert cfg["mixed-sft-tags"]["data_options"]["direction_tags"] is True
    assert cfg["mixed-sft-tags-dpo"]["data_options"]["direction_tags"] is True
    tags_probe = json.loads((out / "results" / "probe" / "probe-tags.json").read_text())
    assert tags_probe["settings"]["direction_tags"] is True
    doc = json.loads((out / "leaderboard" / "leaderboard.json").read_text())
    arms = [r["arm"] for r in doc["arms_compare"]]
    assert arms == [
        "base",
        "mixed-SFT",
        "mixed-SFT [tags]",
        "mixed-SFT -> DPO",
        *sorted(MITIGATION_ARMS[:2]),
        "mixed-SFT [tags] -> DPO [tags]",
    ], arms
    for r in doc["arms_compare"]:
        assert r["delta_forward"]["ci_low"] <= r["delta_forward"]["mean"] <= r["delta_forward"]["ci_high"]
        assert r["acc"]["r1k_forward"]["n"] == 2, r
    md = (out / "leaderboard" / "leaderboard.md").read_text()
    assert "## Arms compared" in md and "| mixed-SFT -> DPO-norm |" in md
    # the lm-eval prompts of the tags arm carried the tags
    samples = [p for p in (out / "results" / "lm_eval").rglob("samples_r1k_forward_*.jsonl") if "tags" in str(p)]
    assert samples and all("[forward] " in p.read_text() for p in samples)


def test_evaluations_run_a_group_of_models_per_harness_process(tmp_path):
    """The demo launches lm-eval and Inspect once per group of models (r1k_plugins.eval.batch), not once
    per model: the SFT arms and the base together, DPO (trained on top of them) apart; a model whose
    success marker exists is left out, and a group with nothing left has no step."""
    from r1k_plugins.demo import eval_groups, eval_steps

    models = {n: tmp_path / n for n in ("base", "mixed-sft", "forward-sft", "mixed-sft-dpo")}
    made_by = {
        "base": "tiny base model",
        "mixed-sft": "SFT on mixed data",
        "forward-sft": "SFT on forward data",
        "mixed-sft-dpo": "DPO on mixed-SFT",
    }
    (tmp_path / ".done").mkdir()
    (tmp_path / ".done" / "inspect-mixed-sft-dpo").touch()
    (tmp_path / ".done" / "lm_eval-base").touch()
    groups = eval_groups(models, {"mixed-sft-dpo"})
    assert groups == [["base", "mixed-sft", "forward-sft"], ["mixed-sft-dpo"]]
    steps = eval_steps(models, made_by, groups, tmp_path / "test.jsonl", 2, 16, tmp_path, True)
    assert [s.title for s in steps] == [
        "lm-eval on mixed-sft, forward-sft",
        "Inspect on base, mixed-sft, forward-sft",
        "lm-eval on mixed-sft-dpo",
    ]
    assert steps[1].after == ("tiny base model", "SFT on mixed data", "SFT on forward data")
    assert steps[2].after == ("DPO on mixed-SFT",)
    assert steps[0].cmd[1:4] == ["-m", "r1k_plugins.eval.batch", "lm-eval"]
    assert [steps[1].cmd[i + 1] for i, a in enumerate(steps[1].cmd) if a == "--model"] == [
        f"{n}={(tmp_path / n).resolve()}" for n in ("base", "mixed-sft", "forward-sft")
    ]
    assert [s.title for s in eval_steps(models, made_by, groups, tmp_path / "t", 2, 16, tmp_path, False)] == [
        "lm-eval on mixed-sft, forward-sft",
        "lm-eval on mixed-sft-dpo",
    ]
