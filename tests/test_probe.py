"""r1k probe direction: exact values against an unbatched full-softmax reference, adapters, --run order."""

import json
import math

import pytest
from conftest import assert_one_line_error, run


def _reference(model_dir, rows, max_tokens):
    """Independent computation: one item at a time, the model's own full logits, full log-softmax."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    out = []
    with torch.no_grad():
        for r in rows:
            ctx = tok(r["prompt"], add_special_tokens=False)["input_ids"]
            vals = []
            for text in (r["y_plus_text"], r["y_minus_text"]):
                cont = tok(text, add_special_tokens=False)["input_ids"][:max_tokens]
                logits = model(torch.tensor([ctx + cont])).logits[0]
                lp = torch.log_softmax(logits.double(), -1)
                vals.append(sum(lp[len(ctx) - 1 + j, t].item() for j, t in enumerate(cont)) / len(cont))
            out.append(vals)
    return out


@pytest.mark.e2e
@pytest.mark.parametrize("max_tokens,batch", [(1000, 5), (7, 3)])
def test_probe_matches_unbatched_reference(tiny_model, synth_data, tmp_path, max_tokens, batch):
    out, per = tmp_path / "p.json", tmp_path / "items.jsonl"
    run(
        "r1k",
        "probe",
        "direction",
        "--model",
        tiny_model,
        "--data",
        synth_data / "test.jsonl",
        "--out",
        out,
        "--per-item",
        per,
        "--max-tokens",
        max_tokens,
        "--batch-size",
        batch,
        "--limit",
        6,
        "--quiet",
        check=True,
    )
    rows = [json.loads(l) for l in per.read_text().splitlines()]
    assert len(rows) == 12 and {r["prompt_direction"] for r in rows} == {"forward", "reverse"}
    # the chat template was applied with the generation prompt
    assert all(r["prompt"].endswith("<|im_start|>assistant\n") for r in rows)
    # y- is the partner's y+
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        partner = next(x for x in rows if x["pair_id"] == r["pair_id"] and x["id"] != r["id"])
        assert r["y_minus_text"] == partner["y_plus_text"]
    if max_tokens == 7:
        assert {r["n_plus"] for r in rows} == {7} and {r["n_minus"] for r in rows} == {7}
    else:  # whole traces of different lengths: padding is exercised
        assert len({r["n_plus"] for r in rows}) > 1
    ref = _reference(tiny_model, rows, max_tokens)
    for r, (p, m) in zip(rows, ref):
        assert abs(r["y_plus"] - p) < 1e-4 and abs(r["y_minus"] - m) < 1e-4, (r["id"], r["y_plus"], p)
    doc = json.loads(out.read_text())
    assert doc["schema"] == "r1k_probe/1"
    s = doc["checkpoints"][0]["summary"]
    fwd = [by_id[i] for i in by_id if by_id[i]["prompt_direction"] == "forward"]
    d = [r["y_plus"] - r["y_minus"] for r in fwd]
    assert s["forward"]["n"] == 6 and s["all"]["n"] == 12
    assert math.isclose(s["forward"]["delta"]["mean"], sum(d) / len(d), abs_tol=1e-9)
    lo, hi = s["all"]["delta"]["ci_low"], s["all"]["delta"]["ci_high"]
    assert lo < s["all"]["delta"]["mean"] < hi


@pytest.mark.e2e
def test_probe_adapter_equals_merged(tiny_model, synth_data, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)  # a non-trivial adapter
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    merged = tmp_path / "merged"
    peft_model.merge_and_unload().save_pretrained(merged)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(merged)
    res = {}
    for name, d in (("adapter", adapter), ("merged", merged), ("base", tiny_model)):
        out = tmp_path / f"{name}.json"
        run(
            "r1k",
            "probe",
            "direction",
            "--model",
            d,
            "--data",
            synth_data / "test.jsonl",
            "--out",
            out,
            "--per-item",
            tmp_path / f"{name}.jsonl",
            "--limit",
            3,
            "--quiet",
            check=True,
        )
        res[name] = [json.loads(l) for l in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    for a, m, _b in zip(res["adapter"], res["merged"], res["base"]):
        assert abs(a["y_plus"] - m["y_plus"]) < 1e-4 and abs(a["y_minus"] - m["y_minus"]) < 1e-4
    # and the adapter really changed the scores
    assert max(abs(a["y_plus"] - b["y_plus"]) for a, b in zip(res["adapter"], res["base"])) > 1e-3


@pytest.mark.e2e
def test_probe_run_orders_checkpoints_by_step(tiny_model, synth_data, tmp_path):
    out_dir = tmp_path / "run"
    run(
        "r1k-train",
        "sft",
        "--config",
        "tiny-sft",
        "--model",
        tiny_model,
        "--data",
        synth_data / "train.jsonl",
        "--mode",
        "forward",
        "--output-dir",
        out_dir,
        "--set",
        "max_steps=12",
        "--set",
        "save_strategy=steps",
        "--set",
        "save_steps=3",
        "--set",
        "save_total_limit=null",
        check=True,
    )
    # checkpoint-12 is the final model: it is scored once, as "final"
    assert sorted(p.name for p in out_dir.glob("checkpoint-*")) == [
        "checkpoint-12",
        "checkpoint-3",
        "checkpoint-6",
        "checkpoint-9",
    ]
    out = tmp_path / "p.json"
    proc = run(
        "r1k",
        "probe",
        "direction",
        "--run",
        out_dir,
        "--with-start",
        "--data",
        synth_data / "test.jsonl",
        "--out",
        out,
        "--limit",
        2,
        "--quiet",
        check=True,
    )
    doc = json.loads(out.read_text())
    cks = doc["checkpoints"]
    assert [c["step"] for c in cks] == [0, 3, 6, 9, 12]
    assert [c["label"] for c in cks] == ["start", "checkpoint-3", "checkpoint-6", "checkpoint-9", "final"]
    assert all(c["arm"] == "forward-SFT" for c in cks)
    assert cks[1]["epoch"] < cks[2]["epoch"] < cks[3]["epoch"]
    assert "forward-SFT" in proc.stdout


@pytest.mark.e2e
def test_probe_bad_input(tiny_model, synth_data, tmp_path):
    data = synth_data / "test.jsonl"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(
        run("r1k", "probe", "direction", "--model", empty, "--data", data, "--out", tmp_path / "o.json"),
        "no model weights",
    )
    assert_one_line_error(
        run("r1k", "probe", "direction", "--run", empty, "--data", data, "--out", tmp_path / "o.json"),
        "no checkpoint-* folders",
    )
    assert_one_line_error(
        run(
            "r1k",
            "probe",
            "direction",
            "--model",
            tiny_model,
            "--data",
            data,
            "--out",
            tmp_path / "o.json",
            "--max-tokens",
            0,
        ),
        "--max-tokens",
    )
    # only forward records: no complete pair
    fwd = tmp_path / "fwd.jsonl"
    fwd.write_text("".join(l + "\n" for l in data.read_text().splitlines() if '"direction":"forward"' in l))
    assert_one_line_error(
        run("r1k", "probe", "direction", "--model", tiny_model, "--data", fwd, "--out", tmp_path / "o.json"),
        "no complete forward/reverse pair",
    )
    # an adapter whose base is gone
    ad = tmp_path / "ad"
    ad.mkdir()
    (ad / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(tmp_path / "gone"), "peft_type": "LORA"})
    )
    (ad / "adapter_model.safetensors").write_bytes(b"x")
    assert_one_line_error(
        run("r1k", "probe", "direction", "--model", ad, "--data", data, "--out", tmp_path / "o.json"), "was not found"
    )
    assert not (tmp_path / "o.json").exists()


@pytest.mark.e2e
def test_probe_resumes_after_an_interruption(tiny_model, synth_data, tmp_path):
    """A run stopped after its first model keeps that model's rows in OUT.partial.jsonl; a line cut by a
    kill is ignored; the rerun scores only the rest and writes what a run in one go writes."""
    import shutil

    data, other = synth_data / "test.jsonl", tmp_path / "other"
    shutil.copytree(tiny_model, other)
    weights = next(other.glob("*.safetensors"))
    good = weights.read_bytes()
    weights.write_bytes(b"not a safetensors file")
    out, fresh = tmp_path / "p.json", tmp_path / "fresh.json"
    args = ["--model", tiny_model, "--model", other, "--data", data, "--max-tokens", 7, "--limit", 4, "--quiet"]
    p = run("r1k", "probe", "direction", *args, "--out", out)
    assert p.returncode != 0 and not out.exists()
    partial = tmp_path / "p.json.partial.jsonl"
    kept = [json.loads(l) for l in partial.read_text().splitlines()]
    assert [k["model"] for k in kept] == [str(tiny_model)]
    # mark the kept rows, so that the rerun shows where its first model's numbers came from
    kept[0]["rows"][0]["y_plus"] = 123.0
    partial.write_text(json.dumps(kept[0]) + "\n" + '{"fingerprint": "' + kept[0]["fingerprint"][:5])  # cut by a kill
    weights.write_bytes(good)
    run("r1k", "probe", "direction", *args, "--out", out, check=True)
    assert not partial.exists()
    run("r1k", "probe", "direction", *args, "--out", fresh, check=True)
    a, b = json.loads(out.read_text()), json.loads(fresh.read_text())
    assert [c["model"] for c in a["checkpoints"]] == [str(tiny_model), str(other)]
    assert a["checkpoints"][0]["seconds"] is None and a["checkpoints"][1]["seconds"] is not None  # resumed, scored
    assert a["checkpoints"][0]["summary"] != b["checkpoints"][0]["summary"]  # the marked row was used, not redone
    assert a["checkpoints"][1]["summary"] == b["checkpoints"][1]["summary"]


# ---- response families and CHES -------------------------------------------------------------------
def _greedy_reference(model, tok, ctx, n):
    """Unbatched greedy: the full forward pass over the whole sequence at every step, argmax of the
    last position, until an EOS token (kept) or n tokens."""
    import torch

    eos = {tok.eos_token_id} | (
        {model.generation_config.eos_token_id}
        if isinstance(model.generation_config.eos_token_id, int)
        else set(model.generation_config.eos_token_id or [])
    )
    ids = list(ctx)
    out = []
    for _ in range(n):
        t = int(model(torch.tensor([ids])).logits[0, -1].argmax())
        out.append(t)
        ids.append(t)
        if t in eos:
            break
    return out


def _mean_lp_and_top(model, ctx, cont):
    import torch

    logits = model(torch.tensor([ctx + cont])).logits[0].double()
    lp = torch.log_softmax(logits, -1)
    rows = range(len(ctx) - 1, len(ctx) - 1 + len(cont))
    return (
        sum(lp[r, t].item() for r, t in zip(rows, cont)) / len(cont),
        sum(int(logits[r].argmax()) == t for r, t in zip(rows, cont)) / len(cont),
    )


@pytest.mark.e2e
def test_probe_families_match_unbatched_reference(tiny_model, synth_data, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, per = tmp_path / "p.json", tmp_path / "items.jsonl"
    run(
        "r1k",
        "probe",
        "direction",
        "--model",
        tiny_model,
        "--data",
        synth_data / "test.jsonl",
        "--out",
        out,
        "--per-item",
        per,
        "--families",
        "greedy,irrelevant,argmax",
        "--greedy-tokens",
        12,
        "--max-tokens",
        40,
        "--batch-size",
        3,
        "--limit",
        4,
        "--quiet",
        check=True,
    )
    rows = [json.loads(l) for l in per.read_text().splitlines()]
    assert len(rows) == 8
    by_id = {r["id"]: r for r in rows}
    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    with torch.no_grad():
        for r in rows:
            ctx = tok(r["prompt"], add_special_tokens=False)["input_ids"]
            plus = tok(r["y_plus_text"], add_special_tokens=False)["input_ids"][:40]
            # argmax share of y+
            _, top = _mean_lp_and_top(model, ctx, plus)
            assert abs(r["argmax_share"] - top) < 1e-9, (r["id"], r["argmax_share"], top)
            # greedy: the same tokens as an unbatched greedy loop, scored the same way
            g = _greedy_reference(model, tok, ctx, 12)
            assert r["greedy_token_ids"] == g and r["n_greedy"] == len(g) and r["greedy_text"] == tok.decode(g)
            assert abs(r["y_greedy"] - _mean_lp_and_top(model, ctx, g)[0]) < 1e-4
            # irrelevant: another item's own trace, asked in the same direction, from another pair
            other = by_id[r["irrelevant_id"]]
            assert other["id"] != r["id"] and other["pair_id"] != r["pair_id"]
            assert other["prompt_direction"] == r["prompt_direction"]
            assert r["irrelevant_text"] == other["y_plus_text"]
            irr = tok(other["y_plus_text"], add_special_tokens=False)["input_ids"][:40]
            assert r["n_irrelevant"] == len(irr)
            assert abs(r["y_irrelevant"] - _mean_lp_and_top(model, ctx, irr)[0]) < 1e-4
    # a derangement: every item of a direction is someone's irrelevant response exactly once
    for d in ("forward", "reverse"):
        ids = sorted(r["id"] for r in rows if r["prompt_direction"] == d)
        assert sorted(r["irrelevant_id"] for r in rows if r["prompt_direction"] == d) == ids
    s = json.loads(out.read_text())["checkpoints"][0]["summary"]
    for k in ("y_greedy", "y_irrelevant", "argmax_share"):
        vals = [r[k] for r in rows if r["prompt_direction"] == "reverse"]
        assert math.isclose(s["reverse"][k]["mean"], sum(vals) / len(vals), abs_tol=1e-12)
        assert s["all"][k]["n"] == 8 and s["all"][k]["ci_low"] <= s["all"][k]["mean"] <= s["all"][k]["ci_high"]
    # greedy continuations are the model's most likely tokens: y_greedy beats y+ here
    assert s["all"]["y_greedy"]["mean"] > s["all"]["y_plus"]["mean"]


def test_irrelevant_partners_are_a_fixed_derangement():
    from r1k_plugins.probe.measure import ProbeItem, irrelevant_partners

    items = [ProbeItem(f"p{i}-{d[0]}", f"p{i}", d, [], "", "") for i in range(7) for d in ("forward", "reverse")]
    a, b = irrelevant_partners(items), irrelevant_partners(items)
    assert a == b  # fixed seed
    for i, j in enumerate(a):
        assert j != i and items[j].prompt_direction == items[i].prompt_direction
        assert items[j].pair_id != items[i].pair_id
    assert irrelevant_partners(items, seed=1) != a
    # a direction with one item has no irrelevant response
    assert irrelevant_partners(items[:2]) == [None, None]


def test_families_option_and_models_that_cannot_generate():
    import torch

    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.probe.measure import DEFAULT_FAMILIES, parse_families, probe_model

    assert parse_families("argmax,greedy") == ("greedy", "argmax")
    assert parse_families("none") == () and parse_families(None) == DEFAULT_FAMILIES
    with pytest.raises(R1KError, match="--families greedy,bogus: unknown family 'bogus'"):
        parse_families("greedy,bogus")

    class Encoder(torch.nn.Module):  # a model with no generate()
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(2, 2)

    with pytest.raises(R1KError, match="cannot generate"):
        probe_model(Encoder(), None, [], max_tokens=5, batch_size=2, families=("greedy",))


@pytest.mark.e2e
def test_probe_families_bad_input(tiny_model, synth_data, tmp_path):
    out = tmp_path / "o.json"
    assert_one_line_error(
        run(
            "r1k",
            "probe",
            "direction",
            "--model",
            tiny_model,
            "--data",
            synth_data / "test.jsonl",
            "--out",
            out,
            "--families",
            "greedy,squeeze",
        ),
        "--families",
        "squeeze",
    )
    assert not out.exists()


def _ches_reference(model, tok, row):
    """CHES from output_hidden_states=True, one sequence at a time, float64."""
    import torch

    prompt = tok.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    ctx = tok(prompt, add_special_tokens=False)["input_ids"]
    sums, lens = [], []
    for key in ("chosen", "rejected"):
        cont = tok(row[key][0]["content"], add_special_tokens=False)["input_ids"]
        h = model(torch.tensor([ctx + cont]), output_hidden_states=True).hidden_states[-1][0].double()
        sums.append(h[len(ctx) - 1 : len(ctx) + len(cont) - 1].sum(0))
        lens.append(len(cont))
    (sp, sm), (np_, nm) = sums, lens
    return float(sp @ sm - sp @ sp), float(sp @ sm / (np_ * nm) - sp @ sp / np_**2)


@pytest.mark.e2e
def test_ches_matches_hidden_states_and_filters(tiny_model, synth_data, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pairs, out, filt = tmp_path / "pairs.jsonl", tmp_path / "ches.jsonl", tmp_path / "filtered.jsonl"
    run("r1k", "data", "pairs", synth_data / "test.jsonl", "--out", pairs, check=True)
    src = [json.loads(l) for l in pairs.read_text().splitlines()][:10]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in src))
    run(
        "r1k",
        "probe",
        "ches",
        "--model",
        tiny_model,
        "--pairs",
        pairs,
        "--out",
        out,
        "--batch-size",
        3,
        "--quiet",
        check=True,
    )
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in src]
    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    with torch.no_grad():
        for r in rows:
            raw, norm = _ches_reference(model, tok, r)
            m = r["metadata"]
            assert abs(m["ches"] - raw) <= 1e-4 * max(1.0, abs(raw)), (r["id"], m["ches"], raw)
            assert abs(m["ches_normalized"] - norm) < 1e-4, (r["id"], m["ches_normalized"], norm)
            assert m["ches_model"] == str(tiny_model.resolve())
    # --ches-filter drops the floor(F n) pairs with the highest normalized CHES, keeps the rest in order
    run(
        "r1k",
        "probe",
        "ches",
        "--model",
        tiny_model,
        "--pairs",
        pairs,
        "--out",
        filt,
        "--ches-filter",
        0.3,
        "--quiet",
        check=True,
    )
    kept = [json.loads(l) for l in filt.read_text().splitlines()]
    ranked = sorted(rows, key=lambda r: -r["metadata"]["ches_normalized"])
    assert [r["id"] for r in kept] == [r["id"] for r in rows if r["id"] not in {x["id"] for x in ranked[:3]}]


@pytest.mark.e2e
def test_ches_bad_input(tiny_model, synth_data, tmp_path):
    pairs, out = tmp_path / "pairs.jsonl", tmp_path / "o.jsonl"
    run("r1k", "data", "pairs", synth_data / "test.jsonl", "--out", pairs, check=True)
    for f in ("0", "1", "-0.2", "1.5", "nan"):
        assert_one_line_error(
            run("r1k", "probe", "ches", "--model", tiny_model, "--pairs", pairs, "--out", out, "--ches-filter", f),
            "--ches-filter",
        )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(pairs.read_text().splitlines()[0] + "\n" + json.dumps({"prompt": "x", "chosen": "y"}) + "\n")
    assert_one_line_error(
        run("r1k", "probe", "ches", "--model", tiny_model, "--pairs", bad, "--out", out), f"{bad}:2", "not a DPO pair"
    )
    assert not out.exists()


def test_ches_needs_hidden_states():
    import torch

    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.probe.ches import hidden_model

    with pytest.raises(R1KError, match="exposes no hidden states"):
        hidden_model(torch.nn.Linear(2, 2))


def _probe_doc(families: bool) -> dict:
    def stat(m):
        return {"mean": m, "ci_low": m - 0.1, "ci_high": m + 0.1, "n": 4}

    def ck(arm, run, label, step, epoch, yp, ym, yg, yi, am):
        s = {"n": 4, "y_plus": stat(yp), "y_minus": stat(ym), "delta": stat(yp - ym)}
        if families:
            s |= {"y_greedy": stat(yg), "y_irrelevant": stat(yi), "argmax_share": stat(am)}
        return {
            "model": f"{run}/{label}",
            "run": run,
            "label": label,
            "arm": arm,
            "step": step,
            "epoch": epoch,
            "summary": {d: s for d in ("forward", "reverse", "all")},
        }

    return {
        "schema": "r1k_probe/1",
        "settings": {"max_tokens": 1000},
        "created_utc": "2026-12-06T00:00:00Z",
        "checkpoints": [
            ck("mixed-SFT", "/r/m", "start", 0, 0.0, -6.0, -6.0, -5.0, -6.0, 0.0),
            ck("mixed-SFT", "/r/m", "final", 20, 2.0, -1.0, -1.5, -0.8, -3.0, 0.5),
            ck("mixed-SFT -> DPO", "/r/d", "checkpoint-8", 8, 0.5, -1.2, -2.5, -0.7, -3.1, 0.55),
            ck("mixed-SFT -> DPO", "/r/d", "final", 16, 1.0, -1.4, -4.0, -0.5, -3.3, 0.6),
        ],
    }


def test_dynamics_families_panel(tmp_path):
    from pathlib import Path

    from r1k_plugins.leaderboard.dynamics import read_probes, to_csv
    from r1k_plugins.leaderboard.plots import dynamics_png, family_rows

    widths = {}
    for fam in (True, False):
        f = tmp_path / f"probe_{fam}.json"
        f.write_text(json.dumps(_probe_doc(fam)))
        probe = read_probes([Path(f)], [], [])
        rows = family_rows(probe)
        png = dynamics_png(probe)
        widths[fam] = int.from_bytes(png[16:20], "big")  # PNG IHDR width
        if fam:
            change = {r["stat"]: r["dpo_change"] for r in rows}
            # DPO (from the mixed arm's final checkpoint to DPO's final): y+ -0.4, y- -2.5, greedy +0.3,
            # irrelevant -0.3, argmax share +0.1
            for k, v in {
                "y_plus": -0.4,
                "y_minus": -2.5,
                "y_greedy": 0.3,
                "y_irrelevant": -0.3,
                "argmax_share": 0.1,
            }.items():
                assert math.isclose(change[k], v, abs_tol=1e-9), (k, change[k])
            assert all(r["arm"] == "mixed-SFT -> DPO" and len(r["x"]) == 4 for r in rows)
            assert rows[0]["x"] == [0.0, 2.0, 2.5, 3.0]
            head, first = to_csv(probe).splitlines()[:2]
            assert head.endswith("argmax_share,argmax_share_ci_low,argmax_share_ci_high")
            assert first.endswith("0.000000,-0.100000,0.100000")
        else:
            assert {r["stat"] for r in rows} == {"y_plus", "y_minus"}
    assert widths[True] > widths[False]  # the families panel was added


def test_greedy_batched_left_padded_equals_plain_loop():
    """A random model whose greedy outputs vary (unlike the tiny model's near-constant ones), prompts of
    different lengths in one left-padded batch, an EOS that ends some continuations early."""
    import random

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from r1k_plugins.probe.measure import Scorer, greedy_continuations, reference_scores

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=40,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        initializer_range=0.4,
        eos_token_id=None,
        bos_token_id=None,
        pad_token_id=None,
    )
    model = LlamaForCausalLM(cfg).eval()
    model.generation_config.eos_token_id = None

    class Tok:
        eos_token_id = None
        pad_token_id = 0

    rng = random.Random(0)
    prompts = [[rng.randrange(1, 40) for _ in range(n)] for n in (3, 9, 5, 12, 1, 7)]
    eos = greedy_continuations(model, Tok(), prompts, 15, batch_size=4)[0][3]  # a token the model does emit
    model.generation_config.eos_token_id = eos
    got = greedy_continuations(model, Tok(), prompts, 15, batch_size=4)
    with torch.no_grad():
        for p, g in zip(prompts, got):
            ids, want = list(p), []
            for _ in range(15):
                t = int(model(torch.tensor([ids])).logits[0, -1].argmax())
                want.append(t)
                ids.append(t)
                if t == eos:
                    break
            assert g == want
    assert len({tuple(g) for g in got}) > 3 and len(got[0]) <= 4 and got[0][-1] == eos
    # the argmax share and scores of the batched scorer equal the plain computation
    seqs = [(p, g) for p, g in zip(prompts, got)] + [(p, [rng.randrange(40) for _ in range(6)]) for p in prompts]
    fast, ref = Scorer(model, 4).score_detail(seqs), reference_scores(model, seqs)
    for (a, sa), (b, sb) in zip(fast, ref):
        assert abs(a - b) < 1e-4 and sa == sb
    assert all(s == 1.0 for _, s in fast[: len(prompts)])  # greedy tokens are the argmax everywhere
