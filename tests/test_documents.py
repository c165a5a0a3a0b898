"""Unit tests of the typed documents in core: the record (one validation, the same one-line
messages), the run manifest, the probe document, document_kind, and the one-of-each mechanisms
in core.io (building a folder beside its place, reading an append-only file a kill cut)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1k_plugins.core import schemas
from r1k_plugins.core.documents import LEADERBOARD, PROBE, RUN, document_kind
from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import building_folder, package_versions, read_whole_lines
from r1k_plugins.core.probe_doc import PROBE_SCHEMA, ProbeDocument
from r1k_plugins.core.record import Record, read_records
from r1k_plugins.core.runs import RUN_MANIFEST, RUN_SCHEMA, RunManifest, arm_family, list_checkpoints, model_arm

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_MANIFEST = ROOT / "tests" / "data" / "r1k_run_dpo.json"  # written by r1k-train dpo (the demo)
GOOD = {
    "id": "p1-f",
    "pair_id": "p1",
    "direction": "forward",
    "question": "What is 3 + 4?",
    "answer": "7",
    "answer_type": "numeric",
    "source": "test",
}


# ---- the record ----------------------------------------------------------------------------------
def test_record_is_the_one_definition():
    assert not hasattr(schemas, "RecordModel")  # the second record model is gone
    rec = Record.from_dict(GOOD)
    assert rec.to_dict() == {**GOOD, "reasoning": None, "response": None, "meta": {}}
    assert Record.from_dict({**GOOD, "meta": None}).meta == {}


DROP = object()
BAD = [  # (change to the good record, the message as the hand-written validate() wrote it)
    ({"question": 5}, "field 'question' must be a string, got int"),
    ({"answer": None}, "field 'answer' must be a string, got NoneType"),
    ({"id": ["a"]}, "field 'id' must be a string, got list"),
    ({"direction": 1}, "field 'direction' is 1; use one of forward, reverse"),
    ({"answer_type": "number"}, "field 'answer_type' is 'number'; use one of numeric, expression, choice, text"),
    ({"question": "  "}, "field 'question' is empty"),
    ({"reasoning": {"a": 1}}, "field 'reasoning' must be a string or null"),
    ({"meta": [1]}, "field 'meta' must be an object"),
    ({"extra": 1, "more": 2}, "unknown field(s) extra, more; put extra columns under 'meta'"),
    (
        {"answer_type": DROP, "source": DROP},
        "record is missing required field(s) answer_type, source (an r1k record needs id, pair_id, direction, "
        "question, answer, answer_type, source; see docs/data.md)",
    ),
    (
        {"meta": {"inversion": {"strategy": "mask", "span": 5}}},
        "field 'meta.inversion.span': input should be a valid tuple (got int 5)",
    ),
    (
        {"meta": {"inversion": [1, 2]}},
        "field 'meta.inversion': input should be a valid dictionary or instance of Inversion (got list [1, 2])",
    ),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_record_message_names_file_line_and_field(tmp_path, change, message):
    bad = {k: v for k, v in {**GOOD, **change}.items() if v is not DROP}
    f = tmp_path / "in.jsonl"
    other = {**GOOD, "id": "p0-f", "pair_id": "p0"}
    f.write_text(json.dumps(other) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(R1KError) as e:
        read_records(f)
    assert str(e.value) == f"{f}:2: {message}"
    with pytest.raises(R1KError) as e:
        Record.from_dict(bad, "here")
    assert str(e.value) == f"here: {message}"


def test_duplicate_ids_and_extra_inversion_keys(tmp_path):
    f = tmp_path / "in.jsonl"
    rev = {
        **GOOD,
        "id": "p1-r",
        "direction": "reverse",
        "meta": {"inversion": {"strategy": "mask", "span": [0, 3], "custom": {"x": 1}}, "note": "kept"},
    }
    f.write_text(json.dumps(GOOD) + "\n" + json.dumps(rev) + "\n", encoding="utf-8")
    recs = read_records(f)
    assert recs[1].meta == rev["meta"]  # meta stays the plain dict it was, extra keys included
    f.write_text(json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n", encoding="utf-8")
    with pytest.raises(R1KError, match=r"in.jsonl:2: duplicate id 'p1-f' \(first on line 1\)"):
        read_records(f)


# ---- the run manifest ----------------------------------------------------------------------------
def test_run_manifest_round_trip_is_byte_identical(tmp_path):
    m = RunManifest.read(SAMPLE_MANIFEST)
    assert m.schema_id == RUN_SCHEMA and m.stage == "dpo" and m.parent is not None and m.parent.stage == "sft"
    assert m.arm == "mixed-SFT -> DPO"
    assert m.final_step == m.checkpoints[-1]["step"] and isinstance(m.final_epoch, float)
    assert m.versions is not None and m.versions["trl"]
    out = tmp_path / "run"
    out.mkdir()
    m.write(out)  # a folder gets r1k_run.json inside
    assert (out / RUN_MANIFEST).read_bytes() == SAMPLE_MANIFEST.read_bytes()
    assert RunManifest.read(out) == m


def test_older_and_hand_made_manifests_still_load(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "leaderboard_fixtures"))
    from make_fixtures import write_models  # the manifests the leaderboard tests use

    folders = write_models(tmp_path)
    arms = {name: model_arm(d).arm for name, d in folders.items()}
    assert arms == {
        "base": "base",
        "fwd-sft": "forward-SFT",
        "rev-sft": "reverse-SFT",
        "mixed-sft": "mixed-SFT",
        "mixed-dpo": "mixed-SFT -> DPO",
    }
    old = tmp_path / "old"
    old.mkdir()
    (old / RUN_MANIFEST).write_text('{"stage": "sft", "data_mode": "reverse", "note": 1}', encoding="utf-8")
    m = RunManifest.read(old)
    assert m.schema_id is None and m.arm == "reverse-SFT" and m.to_dict()["note"] == 1
    (old / RUN_MANIFEST).write_text('{"stage": ["sft"]}', encoding="utf-8")
    info = model_arm(old / "checkpoint-3")  # a checkpoint reads its run's manifest
    assert info.arm == "unknown" and "stage" in info.problem
    with pytest.raises(R1KError, match=r"r1k_run.json: field 'stage'"):
        RunManifest.read(old)


def test_checkpoints_and_arm_families(tmp_path):
    for n in (10, 2, 33):
        (tmp_path / f"checkpoint-{n}").mkdir()
    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2, "epoch": 0.5}')
    (tmp_path / "checkpoint-x").mkdir()
    found = list_checkpoints(tmp_path)
    assert [n for n, _, _ in found] == [2, 10, 33] and found[0][2]["epoch"] == 0.5 and found[1][2] == {}
    assert [arm_family(a) for a in ("base", "forward-SFT", "mixed-SFT -> DPO", "DPO", "reverse-DPO")] == [
        "base",
        "forward",
        "mixed",
        "other",
        "reverse",
    ]


# ---- the probe document and document kinds -------------------------------------------------------
def _probe_doc() -> dict:
    stat = {"mean": 0.5, "ci_low": 0.25, "ci_high": 0.75, "n": 4}
    summ = {
        d: {"n": 4, "y_plus": stat, "y_minus": stat, "delta": stat, "family_x": {"mean": 1.0}}
        for d in ("forward", "reverse", "all")
    }
    return {
        "schema": PROBE_SCHEMA,
        "definition": "d",
        "settings": {"max_tokens": 8},
        "counts": {"pairs": 2},
        "checkpoints": [
            {
                "model": "/m",
                "kind": "model",
                "label": "final",
                "run": "/m",
                "step": 3,
                "epoch": 1.0,
                "arm": "mixed-SFT",
                "stage": "sft",
                "n_items": 4,
                "tokens_scored": 64,
                "seconds": None,
                "summary": summ,
                "responses": {"sampled": 2},
            }
        ],
        "created_utc": "2026-12-06T00:00:00Z",
    }


def test_probe_document_round_trip_keeps_extra_row_fields(tmp_path):
    raw = _probe_doc()
    p = tmp_path / "probe.json"
    ProbeDocument.model_validate(raw).write(p)
    assert json.loads(p.read_text(encoding="utf-8")) == raw  # extra per-row fields are kept
    doc = ProbeDocument.read(p)
    ck = doc.checkpoints[0]
    assert ck.arm == "mixed-SFT" and ck.summary["reverse"].delta.ci_high == 0.75
    bad = {**raw, "checkpoints": [{"label": "x"}]}
    with pytest.raises(R1KError, match=r"field 'checkpoints.0.model'"):
        ProbeDocument.from_obj(bad, "p.json")
    with pytest.raises(R1KError, match=r"not a probe output"):
        ProbeDocument.from_obj({**raw, "schema": "r1k_probe/9"}, "p.json")


def test_document_kind_reads_the_schema_field(tmp_path):
    probe = tmp_path / "probe.json"
    probe.write_text(json.dumps(_probe_doc(), indent=1), encoding="utf-8")
    # the schema field anywhere in the object counts (no sniffing of the first bytes)
    late = tmp_path / "late.json"
    late.write_text(json.dumps({"checkpoints": [], "x": "y" * 500, "schema": PROBE_SCHEMA}), encoding="utf-8")
    results = tmp_path / "results_2026-01-01T00-00-00.json"
    results.write_text(json.dumps({"results": {"r1k_forward": {"acc,none": 0.5}}, "config": {"model": "hf"}}))
    text = tmp_path / "notes.json"
    text.write_text("not json")
    assert document_kind(probe) == PROBE and document_kind(late) == PROBE
    assert document_kind(SAMPLE_MANIFEST) == RUN
    assert document_kind(ROOT / "leaderboards" / "embedded-default" / "leaderboard.json") == LEADERBOARD
    assert document_kind(results) is None and document_kind(text) is None
    assert document_kind({"schema": RUN_SCHEMA}) == RUN and document_kind([1]) is None


# ---- core.io: one of each mechanism --------------------------------------------------------------
def test_read_whole_lines_cuts_the_torn_tail(tmp_path):
    p = tmp_path / "partial.jsonl"
    p.write_bytes(b'{"a": 1}\n{"broken\n{"a": 2}\n{"a": 3, "cut by a ki')
    seen = []
    kept = read_whole_lines(p, lambda o: seen.append(o["a"]))
    assert seen == [1, 2]
    assert p.read_bytes() == b'{"a": 1}\n{"broken\n{"a": 2}\n' and kept == p.stat().st_size
    with open(p, "a", encoding="utf-8") as fh:  # the next append starts on a line of its own
        fh.write('{"a": 4}\n')
    seen.clear()
    read_whole_lines(p, lambda o: seen.append(o["a"]))
    assert seen == [1, 2, 4]


def test_building_folder_keep_replace_merge_and_failure(tmp_path):
    final = tmp_path / "out"
    with building_folder(final) as tmp:
        (tmp / "a").write_text("1")
    assert (final / "a").read_text() == "1" and (final.stat().st_mode & 0o777) != 0o700
    with pytest.raises(RuntimeError):
        with building_folder(final, existing="replace") as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError("killed")
    assert (final / "a").read_text() == "1"
    with building_folder(final) as tmp:  # keep: a concurrent builder finished first
        (tmp / "a").write_text("3")
    assert (final / "a").read_text() == "1"
    (final / "other").write_text("x")
    with building_folder(final, existing="merge") as tmp:
        (tmp / "a").write_text("4")
    assert (final / "a").read_text() == "4" and (final / "other").read_text() == "x"
    with building_folder(final, existing="replace") as tmp:
        (tmp / "b").write_text("5")
    assert sorted(p.name for p in final.iterdir()) == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folder left behind


def test_package_versions():
    v = package_versions("r1k-plugins", "pydantic", "no-such-dist-r1k", python=True)
    assert v["r1k_plugins"] and v["pydantic"] and v["no-such-dist-r1k"] is None and v["python"].count(".") == 2
