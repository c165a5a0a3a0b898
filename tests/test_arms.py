"""Mitigation arms (issue 19): their recipes differ from the paper's / the tiny ones only where the
mitigation says, resolve against TRL's configs, are named on the board from their manifests, and
`r1k demo --arms` refuses what it cannot run before writing anything."""

from __future__ import annotations

import pytest
from conftest import ROOT, assert_one_line_error, run

from r1k_plugins.training.recipe import load_recipe, read_yaml, resolve_keys

# recipe -> (the recipe it varies, {key: value} it changes); every other key must be equal
VARIANTS = {
    "qwen2.5-7b-dpo-sft": ("qwen2.5-7b-dpo", {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 1.0]}),
    "qwen2.5-7b-dpo-norm": ("qwen2.5-7b-dpo", {"loss_type": "sigmoid_norm"}),
    "qwen2.5-7b-dpo-tags": ("qwen2.5-7b-dpo", {"data.direction_tags": True}),
    "qwen2.5-7b-dpo-ches": ("qwen2.5-7b-dpo", {}),
    "qwen2.5-7b-sft-tags": ("qwen2.5-7b-sft", {"data.direction_tags": True}),
    "tiny-dpo-sft": ("tiny-dpo", {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 1.0]}),
    "tiny-dpo-norm": ("tiny-dpo", {"loss_type": "sigmoid_norm"}),
    "tiny-dpo-tags": ("tiny-dpo", {"data.direction_tags": True}),
    "tiny-dpo-ches": ("tiny-dpo", {}),
    "tiny-sft-tags": ("tiny-sft", {"data.direction_tags": True}),
}


def _flat(name: str) -> dict:
    out = {}
    for k, v in read_yaml(ROOT / "train" / f"{name}.yaml").items():
        if k == "data" and isinstance(v, dict):
            out.update({f"data.{dk}": dv for dk, dv in v.items()})
        else:
            out[k] = v
    return out


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_mitigation_recipe_changes_only_its_keys(name):
    parent, changes = VARIANTS[name]
    a, b = _flat(parent), _flat(name)
    changed = {k for k in set(a) | set(b) if a.get(k, "<absent>") != b.get(k, "<absent>")}
    assert changed == set(changes), (name, changed)
    for k, v in changes.items():
        assert b[k] == v, (name, k)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_mitigation_recipe_resolves_against_trl(name):
    stage = "sft" if "-sft-tags" in name else "dpo"
    rec = resolve_keys(load_recipe(stage, name, []))
    if name.endswith("dpo-sft"):
        assert rec.trainer_args["loss_type"] == ["sigmoid", "sft"] and rec.trainer_args["loss_weights"] == [1.0, 1.0]
    if name.endswith("dpo-norm"):
        from trl import DPOConfig

        cfg = DPOConfig(
            output_dir="/tmp/unused",
            use_cpu=True,
            bf16=False,
            **{k: v for k, v in rec.trainer_args.items() if k in ("loss_type", "beta")},
        )
        assert cfg.loss_type == ["sigmoid_norm"]
    if name.endswith("tags"):
        assert rec.data["direction_tags"] is True


def _manifest(stage, mode="mixed", loss_type=None, tags=False, recipe="tiny-dpo.yaml", parent=None):
    cfg = {} if loss_type is None else {"loss_type": loss_type}
    return {
        "schema": "r1k_run/1",
        "stage": stage,
        "data_mode": mode,
        "config": cfg,
        "data_options": {"direction_tags": tags},
        "recipe": f"/x/train/{recipe}",
        "parent": parent,
    }


def test_arm_names_from_manifests():
    from r1k_plugins.core.runs import RunManifest, arm_name, is_mitigation_arm
    from r1k_plugins.leaderboard.arms import arm_sort_key

    def _arm_from_manifest(m):
        return arm_name(RunManifest.from_obj(m, "test"))

    sft = _manifest("sft", recipe="tiny-sft.yaml")
    sft_tags = _manifest("sft", tags=True, recipe="tiny-sft-tags.yaml")
    names = {
        "plain": _arm_from_manifest(_manifest("dpo", loss_type=["sigmoid"], parent=sft)),
        "sft": _arm_from_manifest(_manifest("dpo", loss_type=["sigmoid", "sft"], parent=sft)),
        "norm": _arm_from_manifest(_manifest("dpo", loss_type=["sigmoid_norm"], parent=sft)),
        "tags": _arm_from_manifest(_manifest("dpo", loss_type=["sigmoid"], tags=True, parent=sft_tags)),
        "ches": _arm_from_manifest(_manifest("dpo", loss_type=["sigmoid"], recipe="tiny-dpo-ches.yaml", parent=sft)),
        "ipo": _arm_from_manifest(_manifest("dpo", loss_type=["ipo"], parent=sft)),
    }
    assert names == {
        "plain": "mixed-SFT -> DPO",
        "sft": "mixed-SFT -> DPO+SFT",
        "norm": "mixed-SFT -> DPO-norm",
        "tags": "mixed-SFT [tags] -> DPO [tags]",
        "ches": "mixed-SFT -> DPO [CHES]",
        "ipo": "mixed-SFT -> DPO(ipo)",
    }
    assert not is_mitigation_arm(names["plain"]) and not is_mitigation_arm("mixed-SFT")
    assert all(is_mitigation_arm(v) for k, v in names.items() if k != "plain")
    # the paper's arms first; the mitigations after the paper's DPO arm
    order = sorted(["mixed-SFT [tags]", *names.values(), "forward-SFT", "mixed-SFT"], key=arm_sort_key)
    assert order[:3] == ["forward-SFT", "mixed-SFT", "mixed-SFT [tags]"] and order[3] == "mixed-SFT -> DPO"


def _stat(m, lo, hi):
    return {"mean": m, "ci_low": lo, "ci_high": hi, "n": 10}


def test_arms_compare_rows_and_markdown():
    from r1k_plugins.leaderboard.arms_compare import compare, table_cells

    def ck(arm, d_f, d_r, yp, ym):
        z = _stat(0.0, -0.1, 0.1)
        return {
            "arm": arm,
            "label": "final",
            "step": 40,
            "epoch": 0.2,
            "model": f"models/{arm}",
            "summary": {
                "forward": {"delta": _stat(*d_f), "y_plus": z, "y_minus": z},
                "reverse": {"delta": _stat(*d_r), "y_plus": z, "y_minus": z},
                "all": {"delta": z, "y_plus": _stat(*yp), "y_minus": _stat(*ym)},
            },
        }

    probe = {
        "table": [
            ck("mixed-SFT -> DPO+SFT", (0.5, 0.4, 0.6), (0.3, 0.2, 0.4), (-0.2, -0.3, -0.1), (-0.9, -1.0, -0.8)),
            ck("mixed-SFT -> DPO", (0.7, 0.6, 0.8), (0.6, 0.5, 0.7), (-0.4, -0.5, -0.3), (-1.0, -1.1, -0.9)),
        ]
    }
    rows = [
        {
            "name": "mixed-sft-dpo",
            "arm": "mixed-SFT -> DPO",
            "run": None,
            "results": {
                "r1k_forward": {
                    "lm-eval": {"score": 0.5, "stderr": 0.1, "n": 40},
                    "inspect": {"score": 0.4, "stderr": 0.1, "n": 40},
                },
                "r1k_reverse": {"inspect": {"score": 0.25, "stderr": 0.05, "n": 40}},
            },
        }
    ]
    out = compare(rows, probe)
    assert [r["arm"] for r in out] == ["mixed-SFT -> DPO", "mixed-SFT -> DPO+SFT"]
    dpo, mit = out
    assert dpo["acc"]["r1k_forward"]["harness"] == "lm-eval" and dpo["acc"]["r1k_forward"]["mean"] == 0.5
    assert dpo["acc"]["r1k_forward"]["ci_low"] == pytest.approx(0.5 - 1.96 * 0.1)
    assert dpo["acc"]["r1k_reverse"]["harness"] == "inspect"
    assert dpo["delta_forward"]["mean"] == 0.7 and dpo["y_minus"]["ci_high"] == -0.9 and not dpo["mitigation"]
    assert mit["mitigation"] and mit["acc"]["r1k_forward"] is None and mit["y_plus"]["mean"] == -0.2
    cells = table_cells(out)  # the text the board's "Arms compared" section shows
    assert cells[0][:4] == ["mixed-SFT -> DPO", "mixed-sft-dpo", "+0.700 [+0.600, +0.800]", "+0.600 [+0.500, +0.700]"]
    assert cells[0][6] == "0.500 [0.304, 0.696] (n=40)"


def test_generation_prompts_carry_direction_tags():
    from r1k_plugins.data.synth import generate
    from r1k_plugins.eval.evaldata import direction_docs, generation_doc

    _, test = generate(4, 1)
    for r in test:
        assert generation_doc(r, direction_tags=True)["prompt"].startswith(f"[{r.direction}] ")
        assert not generation_doc(r)["prompt"].startswith("[")
    docs = direction_docs(test, direction_tags=True)
    assert all(d["prompt"].startswith(f"[{d['direction']}] ") for d in docs)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "arms,needle", [("forward,nope", "unknown arm nope"), ("forward,dpo-sft", "add mixed to --arms")]
)
def test_demo_refuses_bad_arms_before_writing(tmp_path, arms, needle):
    out = tmp_path / "demo"
    proc = run("r1k", "demo", "--arms", arms, "--out", out)
    assert proc.returncode == 2
    assert_one_line_error(proc, needle)
    assert not out.exists()


@pytest.mark.e2e
def test_demo_ches_filter_out_of_range(tmp_path):
    out = tmp_path / "demo"
    proc = run("r1k", "demo", "--arms", "ches", "--ches-filter", "1.5", "--out", out)
    assert proc.returncode == 2 and "--ches-filter" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
