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


@pytest.mark.parametrize("max_tokens,batch", [(1000, 5), (7, 3)])
def test_probe_matches_unbatched_reference(tiny_model, synth_data, tmp_path, max_tokens, batch):
    out, per = tmp_path / "p.json", tmp_path / "items.jsonl"
    run("r1k", "probe", "direction", "--model", tiny_model, "--data", synth_data / "test.jsonl", "--out", out,
        "--per-item", per, "--max-tokens", max_tokens, "--batch-size", batch, "--limit", 6, "--quiet", check=True)
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
        run("r1k", "probe", "direction", "--model", d, "--data", synth_data / "test.jsonl", "--out", out,
            "--per-item", tmp_path / f"{name}.jsonl", "--limit", 3, "--quiet", check=True)
        res[name] = [json.loads(l) for l in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    for a, m, b in zip(res["adapter"], res["merged"], res["base"]):
        assert abs(a["y_plus"] - m["y_plus"]) < 1e-4 and abs(a["y_minus"] - m["y_minus"]) < 1e-4
    # and the adapter really changed the scores
    assert max(abs(a["y_plus"] - b["y_plus"]) for a, b in zip(res["adapter"], res["base"])) > 1e-3


def test_probe_run_orders_checkpoints_by_step(tiny_model, synth_data, tmp_path):
    out_dir = tmp_path / "run"
    run("r1k-train", "sft", "--config", "tiny-sft", "--model", tiny_model, "--data", synth_data / "train.jsonl",
        "--mode", "forward", "--output-dir", out_dir, "--set", "max_steps=12", "--set", "save_strategy=steps",
        "--set", "save_steps=3", "--set", "save_total_limit=null", check=True)
    # checkpoint-12 is the final model: it is scored once, as "final"
    assert sorted(p.name for p in out_dir.glob("checkpoint-*")) == ["checkpoint-12", "checkpoint-3",
                                                                     "checkpoint-6", "checkpoint-9"]
    out = tmp_path / "p.json"
    proc = run("r1k", "probe", "direction", "--run", out_dir, "--with-start", "--data", synth_data / "test.jsonl",
               "--out", out, "--limit", 2, "--quiet", check=True)
    doc = json.loads(out.read_text())
    cks = doc["checkpoints"]
    assert [c["step"] for c in cks] == [0, 3, 6, 9, 12]
    assert [c["label"] for c in cks] == ["start", "checkpoint-3", "checkpoint-6", "checkpoint-9", "final"]
    assert all(c["arm"] == "forward-SFT" for c in cks)
    assert cks[1]["epoch"] < cks[2]["epoch"] < cks[3]["epoch"]
    assert "forward-SFT" in proc.stdout


def test_probe_bad_input(tiny_model, synth_data, tmp_path):
    data = synth_data / "test.jsonl"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run("r1k", "probe", "direction", "--model", empty, "--data", data,
                              "--out", tmp_path / "o.json"), "no model weights")
    assert_one_line_error(run("r1k", "probe", "direction", "--run", empty, "--data", data,
                              "--out", tmp_path / "o.json"), "no checkpoint-* folders")
    assert_one_line_error(run("r1k", "probe", "direction", "--model", tiny_model, "--data", data,
                              "--out", tmp_path / "o.json", "--max-tokens", 0), "--max-tokens")
    # only forward records: no complete pair
    fwd = tmp_path / "fwd.jsonl"
    fwd.write_text("".join(l + "\n" for l in data.read_text().splitlines() if '"direction":"forward"' in l))
    assert_one_line_error(run("r1k", "probe", "direction", "--model", tiny_model, "--data", fwd,
                              "--out", tmp_path / "o.json"), "no complete forward/reverse pair")
    # an adapter whose base is gone
    ad = tmp_path / "ad"
    ad.mkdir()
    (ad / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tmp_path / "gone"),
                                                        "peft_type": "LORA"}))
    (ad / "adapter_model.safetensors").write_bytes(b"x")
    assert_one_line_error(run("r1k", "probe", "direction", "--model", ad, "--data", data,
                              "--out", tmp_path / "o.json"), "was not found")
    assert not (tmp_path / "o.json").exists()


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
