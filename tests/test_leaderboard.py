"""r1k leaderboard export, on REAL lm-eval results and Inspect logs made offline by running both
harnesses (tests/leaderboard_fixtures/make_fixtures.py), plus corrupt / partial / foreign files."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent / "leaderboard_fixtures"))
from make_fixtures import make_fixtures  # noqa: E402

from r1k_plugins.cli import main  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:The 'initial' parameter is deprecated:DeprecationWarning")

OUTPUTS = ("leaderboard.csv", "leaderboard.json", "leaderboard.md", "leaderboard.html", "scores.png", "direction.png")
ARMS = {
    "base": "base",
    "fwd-sft": "forward-SFT",
    "rev-sft": "reverse-SFT",
    "mixed-sft": "mixed-SFT",
    "mixed-dpo": "mixed-SFT -> DPO",
}


@pytest.fixture(scope="session")
def fx(tmp_path_factory):
    return make_fixtures(tmp_path_factory.mktemp("lb_fixtures"))


def export(*args):
    res = CliRunner().invoke(main, ["leaderboard", "export", *map(str, args)], catch_exceptions=False)
    return res


def inputs(fx):
    return [fx["lm"], fx["inspect"], fx["junk"], fx["root"] / "does-not-exist"]


@pytest.fixture(scope="session")
def board(fx, tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    res = export(*inputs(fx), "--out", out, "--baseline", "base")
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    return res, out, doc


def row(doc, name):
    return next(r for r in doc["rows"] if r["name"] == name)


@pytest.mark.e2e
def test_outputs_present_and_consistent(board):
    res, out, doc = board
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # and no temp files left behind
    for png in ("scores.png", "direction.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["schema"] == "r1k_leaderboard/1"
    assert [t["name"] for t in doc["tasks"]] == ["r1k_direction", "lbfix_mc"]
    assert [r["name"] for r in doc["rows"]] == ["base", "fwd-sft", "rev-sft", "mixed-sft", "mixed-dpo"]

    # CSV == JSON, cell by cell
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text(encoding="utf-8"))))
    assert [r["name"] for r in rows] == [r["name"] for r in doc["rows"]]
    for crow, jrow in zip(rows, doc["rows"]):
        assert crow["arm"] == jrow["arm"]
        for t, per_h in jrow["results"].items():
            for h, f in per_h.items():
                assert float(crow[f"{t}|{h}|score"]) == f["score"]
                assert float(crow[f"{t}|{h}|stderr"]) == f["stderr"]
                assert int(crow[f"{t}|{h}|n"]) == f["n"] == 20
        for t, per_h in jrow.get("deltas", {}).items():
            for h, d in per_h.items():
                assert float(crow[f"{t}|{h}|delta"]) == d["delta"]
                assert crow[f"{t}|{h}|delta_method"] == d["method"]
    assert rows[3]["lbfix_mc|lm-eval|score"] == ""  # mixed-sft has no lm-eval run

    # Markdown == JSON
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    for r in doc["rows"]:
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {r['name']} | {r['arm']} | "))
        for per_h in r["results"].values():
            for f in per_h.values():
                assert f"{f['score']:.3f} ± {f['stderr']:.3f} (n=20" in line
    assert "![Scores per task](scores.png)" in md and "(direction.png)" in md

    # HTML: self-contained (inline CSS, embedded plots, nothing fetched)
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "<style>" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html and "<link" not in html
    for r in doc["rows"]:
        assert f">{r['name']}<" in html


@pytest.mark.e2e
def test_scores_are_the_harness_figures(board, fx):
    _, _, doc = board
    lm = json.loads(fx["lm_results"]["fwd-sft"].read_text(encoding="utf-8"))["results"]
    f = row(doc, "fwd-sft")["results"]["r1k_direction"]
    assert f["lm-eval"]["score"] == lm["r1k_direction"]["acc,none"]
    assert f["lm-eval"]["stderr"] == lm["r1k_direction"]["acc_stderr,none"]
    assert f["lm-eval"]["metrics"]["margin"]["value"] == lm["r1k_direction"]["margin,none"]
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(fx["inspect_logs"]["mixed-sft"]), header_only=True)
    g = row(doc, "mixed-sft")["results"]["r1k_direction"]["inspect"]
    assert g["score"] == log.results.scores[0].metrics["accuracy"].value
    assert g["stderr"] == log.results.scores[0].metrics["stderr"].value
    assert g["metric"] == "acc"  # Inspect 'accuracy' == lm-eval 'acc'


@pytest.mark.e2e
def test_arms_from_manifests(board):
    _, _, doc = board
    assert {r["name"]: r["arm"] for r in doc["rows"]} == ARMS
    dpo = row(doc, "mixed-dpo")["manifest"]
    assert dpo["stage"] == "dpo" and dpo["parent_arm"] == "mixed-SFT"
    assert row(doc, "base")["manifest"] is None


@pytest.mark.e2e
def test_skipped_files_are_reported(board, fx):
    res, out, doc = board
    reasons = {Path(s["path"]).name: s["reason"] for s in doc["skipped"]}
    broken = fx["inspect_logs"]["broken"].name
    old = fx["lm_results"]["rev-sft-old"].name
    expect = {
        broken: "partial: Inspect log status 'error'",
        "corrupt.eval": "unreadable",
        "random.json": "foreign",
        "results_truncated.json": "unreadable: malformed JSON",
        "notes.txt": "not a result file",
        "copy-of-base.eval": "duplicate: same Inspect eval_id",
        "results_copy.json": "duplicate: identical content",  # the original, with samples beside it, is kept
        old: "superseded",
        "does-not-exist": "does not exist",
    }
    for name, why in expect.items():
        assert reasons[name].startswith(why), (name, reasons[name])
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    for s in doc["skipped"]:
        assert f"| {s['path']} | {s['reason'].replace('|', chr(92) + '|')} |" in md
        assert f"skipped {s['path']}: {s['reason']}" in res.output
    # the kept fwd-sft copy is the original (paired deltas need its samples)
    src = next(s for s in doc["sources"] if s["model"].endswith("fwd-sft") and s["harness"] == "lm-eval")
    assert src["path"].endswith(fx["lm_results"]["fwd-sft"].name) and len(src["samples"]) == 2


@pytest.mark.e2e
def test_same_inputs_byte_identical(board, fx, tmp_path):
    _, out, _ = board
    ins = inputs(fx)[::-1]  # argument order does not matter either
    res = export(*ins, "--out", tmp_path / "again", "--baseline", "base")
    assert res.exit_code == 0, res.output
    for name in ("leaderboard.csv", "leaderboard.json", "leaderboard.md"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


@pytest.mark.e2e
def test_output_folder_inside_input_is_not_read(fx, tmp_path):
    lm = tmp_path / "lm"
    shutil.copytree(fx["lm"], lm)
    for _ in range(2):
        res = export(lm, "--out", lm / "board")
        assert res.exit_code == 0, res.output
        assert "board/" not in res.output
    doc = json.loads((lm / "board" / "leaderboard.json").read_text(encoding="utf-8"))
    assert len(doc["rows"]) == 4


@pytest.mark.e2e
def test_cross_harness_agreement_flag(board, fx):
    res, out, doc = board
    verdict = {(c["row"], c["task"]): c["agree"] for c in doc["cross_harness"]}
    assert verdict == {
        ("base", "r1k_direction"): True,
        ("fwd-sft", "r1k_direction"): True,
        ("rev-sft", "r1k_direction"): False,
    }
    # paired on the common record ids: lm-eval's logged doc id against Inspect's sample id
    c = next(c for c in doc["cross_harness"] if c["row"] == "rev-sft")
    lm = _lm_items(fx["lm_results"]["rev-sft"], "r1k_direction", by="id")
    insp = _inspect_items(fx["inspect_logs"]["rev-sft"])
    common = sorted(set(lm) & set(insp))
    differ = [k for k in common if lm[k] != insp[k]]
    b_, c_ = sum(lm[k] > insp[k] for k in differ), sum(lm[k] < insp[k] for k in differ)
    p = 2 * sum(math.comb(b_ + c_, i) for i in range(min(b_, c_) + 1)) / 2 ** (b_ + c_)
    assert c["method"] == "paired" and c["n_common"] == len(common) == 20
    assert c["identical"] == pytest.approx(1 - len(differ) / 20) and c["first_differing"] == differ[:5]
    assert (c["lmeval_better"], c["inspect_better"]) == (b_, c_) and c["p_value"] == pytest.approx(min(1.0, p))
    assert p < 0.05
    assert any(w.startswith("rev-sft / r1k_direction") for w in doc["warnings"])
    assert "warning: rev-sft / r1k_direction" in res.output
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "**DISAGREE** ⚠" in md
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text(encoding="utf-8"))))
    assert [r["r1k_direction|agreement"] for r in rows] == ["agree", "agree", "DISAGREE", "", ""]


def _lm_items(results_file: Path, task: str, by: str = "doc_id") -> dict:
    ts = results_file.name[len("results_") : -len(".json")]
    lines = (results_file.parent / f"samples_{task}_{ts}.jsonl").read_text(encoding="utf-8").splitlines()
    return {(o["doc"]["id"] if by == "id" else o["doc_id"]): float(o["acc"]) for o in map(json.loads, lines)}


def _inspect_items(path) -> dict:
    from inspect_ai.log import read_eval_log
    from inspect_ai.scorer import value_to_float

    return {s.id: value_to_float()(s.scores["includes"].value) for s in read_eval_log(str(path)).samples}


def _paired(a: dict, b: dict) -> tuple[float, float]:
    d = [a[k] - b[k] for k in sorted(a)]
    m = sum(d) / len(d)
    return m, math.sqrt(sum((x - m) ** 2 for x in d) / (len(d) - 1) / len(d))


@pytest.mark.e2e
def test_paired_and_unpaired_deltas(board, fx):
    _, _, doc = board
    assert doc["baseline"] == {"name": "base", "matched_by": "name"}
    assert "deltas" not in row(doc, "base")
    # lm-eval, per-sample logs on both sides: paired over doc_id
    d = row(doc, "rev-sft")["deltas"]["r1k_direction"]["lm-eval"]
    m, se = _paired(
        _lm_items(fx["lm_results"]["rev-sft"], "r1k_direction"), _lm_items(fx["lm_results"]["base"], "r1k_direction")
    )
    assert d["method"] == "paired" and d["n"] == 20
    assert math.isclose(d["delta"], m, abs_tol=1e-12) and math.isclose(d["stderr"], se)
    # Inspect: paired over sample ids
    from inspect_ai.log import read_eval_log
    from inspect_ai.scorer import value_to_float

    def items(p):
        return {s.id: value_to_float()(s.scores["includes"].value) for s in read_eval_log(str(p)).samples}

    d = row(doc, "fwd-sft")["deltas"]["r1k_direction"]["inspect"]
    m, se = _paired(items(fx["inspect_logs"]["fwd-sft"]), items(fx["inspect_logs"]["base"]))
    assert d["method"] == "paired" and math.isclose(d["delta"], m, abs_tol=1e-12) and math.isclose(d["stderr"], se)
    # mixed-dpo ran without --log_samples: unpaired, from the two stderrs
    d = row(doc, "mixed-dpo")["deltas"]["lbfix_mc"]["lm-eval"]
    a, b = row(doc, "mixed-dpo")["results"]["lbfix_mc"]["lm-eval"], row(doc, "base")["results"]["lbfix_mc"]["lm-eval"]
    assert d["method"] == "unpaired"
    assert math.isclose(d["delta"], a["score"] - b["score"])
    assert math.isclose(d["stderr"], math.sqrt(a["stderr"] ** 2 + b["stderr"] ** 2))
    # no delta across harnesses: mixed-sft (Inspect only) vs base's Inspect figure
    assert set(row(doc, "mixed-sft")["deltas"]["r1k_direction"]) == {"inspect"}


@pytest.mark.e2e
def test_baseline_by_arm_and_errors(fx, tmp_path):
    res = export(fx["lm"], "--out", tmp_path / "a", "--baseline", "reverse-SFT", "--no-plots")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "a" / "leaderboard.json").read_text(encoding="utf-8"))
    assert doc["baseline"] == {"name": "rev-sft", "matched_by": "arm"}
    res = export(fx["lm"], "--out", tmp_path / "b", "--baseline", "nope")
    assert res.exit_code == 2 and "matches no row name or arm" in res.output
    assert not (tmp_path / "b").exists()


@pytest.mark.e2e
def test_all_keeps_older_runs(fx, tmp_path):
    res = export(fx["lm"], "--out", tmp_path, "--all", "--no-plots")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    old = [r for r in doc["rows"] if r["run"]]
    assert len(old) == 1 and old[0]["name"].startswith("rev-sft @ ") and old[0]["arm"] == "reverse-SFT"
    lm_old = json.loads(fx["lm_results"]["rev-sft-old"].read_text(encoding="utf-8"))["results"]
    assert old[0]["results"]["lbfix_mc"]["lm-eval"]["score"] == lm_old["lbfix_mc"]["acc,none"]
    assert not any(s["reason"].startswith("superseded") for s in doc["skipped"])


@pytest.mark.e2e
def test_single_results_file_finds_its_samples(fx, tmp_path):
    res = export(fx["lm_results"]["rev-sft"], fx["inspect_logs"]["fwd-sft"], "--out", tmp_path, "--no-plots")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in doc["rows"]] == ["fwd-sft", "rev-sft"]
    assert all(f["samples"] for f in row(doc, "rev-sft")["results"]["r1k_direction"].values())
    assert doc["skipped"] == []
    assert not (tmp_path / "direction.png").exists()


@pytest.mark.e2e
def test_nothing_usable_is_one_line_error(fx, tmp_path):
    res = export("--out", tmp_path / "x")
    assert res.exit_code == 2 and res.output.strip().startswith("error: no results given")
    junk = tmp_path / "junk"
    junk.mkdir()
    for name in ("random.json", "corrupt.eval", "notes.txt", "results_truncated.json"):
        shutil.copy(fx["junk"] / name, junk / name)
    shutil.copy(fx["inspect_logs"]["broken"], junk)
    res = export(junk, "--out", tmp_path / "y")
    assert res.exit_code == 2
    assert res.output.startswith("error: nothing usable") and res.output.count("\n") == 1
    assert not (tmp_path / "y").exists()


def test_fast_inspect_header_matches_read_eval_log(fx):
    from r1k_plugins.leaderboard import ingest

    logs = sorted(fx["inspect"].iterdir())
    assert len(logs) == 5
    for p in logs:
        got = []
        for fast in (True, False):
            data = json.loads(p.read_text(encoding="utf-8")) if (fast and p.suffix == ".json") else None
            try:
                s = ingest._read_inspect(p, data, fast=fast)
                got.append(
                    (
                        s.model_id,
                        s.run,
                        s.dedupe_key,
                        [(f.task, f.metric, f.score, f.stderr, f.n, f.metrics) for f in s.figures],
                    )
                )
            except ingest.Reject as e:
                got.append(str(e))
        assert got[0] == got[1], p.name
        if "direction" in p.name:  # per-sample scores for paired deltas: direct read == Inspect's reader
            ref = (ingest.INSPECT, p, "includes")
            fast, slow = ingest.load_sample_scores(ref, fast=True), ingest.load_sample_scores(ref, fast=False)
            assert fast == slow and len(fast) == 20


@pytest.mark.e2e
def test_model_folder_elsewhere_is_base_with_warning(fx, tmp_path):
    # a real results file evaluated on another machine: its pretrained= path does not exist here
    data = json.loads(fx["lm_results"]["fwd-sft"].read_text(encoding="utf-8"))
    data["config"]["model_args"] = "pretrained=/cluster/runs/fwd-sft,dtype=float32"
    (tmp_path / "results_2025-01-01T00-00-00.000000.json").write_text(json.dumps(data), encoding="utf-8")
    res = export(tmp_path / "results_2025-01-01T00-00-00.000000.json", "--out", tmp_path / "o", "--no-plots")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "o" / "leaderboard.json").read_text(encoding="utf-8"))
    assert [(r["name"], r["arm"], r["model"]) for r in doc["rows"]] == [("fwd-sft", "base", "/cluster/runs/fwd-sft")]
    assert any("model folder not found here" in w for w in doc["warnings"])


@pytest.mark.e2e
def test_runs_over_different_limits_pair_on_common_ids(fx, tmp_path):
    """A run over the first 12 items (--limit 12, its samples in another order) against a full
    baseline: the delta pairs the 12 common record ids, and the board says how many each side had."""
    lm = tmp_path / "lm"
    shutil.copytree(fx["lm"], lm)
    res_file = lm / fx["lm_results"]["rev-sft"].relative_to(fx["lm"])
    ts = res_file.name[len("results_") : -len(".json")]
    sp = res_file.parent / f"samples_r1k_direction_{ts}.jsonl"
    lines = sp.read_text(encoding="utf-8").splitlines()[:12]
    sp.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")  # order must not matter
    res = export(lm, "--out", tmp_path / "board", "--baseline", "base", "--no-plots")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "board" / "leaderboard.json").read_text(encoding="utf-8"))
    d = row(doc, "rev-sft")["deltas"]["r1k_direction"]["lm-eval"]
    mine = {json.loads(x)["doc"]["id"]: float(json.loads(x)["acc"]) for x in lines}
    base = _lm_items(fx["lm_results"]["base"], "r1k_direction", by="id")
    m, se = _paired(mine, {k: base[k] for k in mine})
    assert (d["method"], d["n"], d["n_row"], d["n_base"]) == ("paired", 12, 12, 20)
    assert math.isclose(d["delta"], m, abs_tol=1e-12) and math.isclose(d["stderr"], se)


def test_cross_harness_refuses_sampled_vs_greedy():
    from r1k_plugins.leaderboard.board import _agreement, sign_test_p
    from r1k_plugins.leaderboard.ingest import Figure, decoding_settings

    def fig(h, decoding):
        return Figure(
            task="r1k_forward", harness=h, metric="acc", score=0.5, stderr=0.1, n=10, metrics={}, decoding=decoding
        )

    greedy, sampled = decoding_settings(False, 0.0), decoding_settings(True, 0.7)
    assert greedy == {"do_sample": False, "temperature": 0.0, "greedy": True}
    assert sampled["greedy"] is False and decoding_settings(None, None)["greedy"] is True
    c = _agreement("m", "r1k_forward", fig("lm-eval", greedy), fig("inspect", sampled))
    assert c["agree"] is None and c["note"].startswith("not comparable: lm-eval decoded greedy, Inspect sampled")
    c = _agreement("m", "r1k_forward", fig("lm-eval", greedy), fig("inspect", greedy))
    assert c["agree"] is True and c["method"] == "unpaired"  # no per-sample logs: the stderr rule
    # exact McNemar: 0 vs 6 discordant pairs -> p = 2/64; 3 vs 3 -> 1
    assert sign_test_p(0, 6) == pytest.approx(2 / 64) and sign_test_p(3, 3) == 1.0 and sign_test_p(0, 0) == 1.0


# ---- one board model: Markdown and HTML show the same sections and cells --------------------------
def _unmd(s: str) -> str:
    s = s.replace("<br>", "\n").replace("**", "")
    s = re.sub(r"(?<!\\)`", "", s).replace("\\`", "`").replace("\\|", "|")
    return s.replace("&lt;", "<").replace("&amp;", "&").strip()


def _md_board(md: str) -> list:
    """[(level, title, [table: [row: [cell text]]], [bullet])] of a leaderboard.md."""
    secs: list = []
    table = None
    for line in md.splitlines():
        m = re.match(r"^(#{2,3}) (.*)$", line)
        if m:
            secs.append((len(m[1]), _unmd(m[2]), [], []))
            table = None
        elif line.startswith("- ") and secs:
            secs[-1][3].append(_unmd(line[2:]))
        elif line.startswith("|") and secs:
            cells = [_unmd(c) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if all(re.fullmatch(r"-+:?", c) for c in cells):
                continue
            if table is None:
                table = []
                secs[-1][2].append(table)
            table.append(cells)
        else:
            table = None
    return secs


class _HtmlBoard(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.secs: list = []
        self.buf: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3", "th", "td", "li"):
            self.buf = []
        elif tag == "br" and self.buf is not None:
            self.buf.append("\n")
        elif tag == "table":
            self.secs[-1][2].append([])
        elif tag == "tr":
            self.secs[-1][2][-1].append([])

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self.secs.append((int(tag[1]), "".join(self.buf).strip(), [], []))
        elif tag == "li":
            self.secs[-1][3].append("".join(self.buf).strip())
        elif tag in ("th", "td"):
            self.secs[-1][2][-1][-1].append("".join(self.buf).strip())
        if tag in ("h2", "h3", "th", "td", "li"):
            self.buf = None

    def handle_data(self, data):
        if self.buf is not None:
            self.buf.append(data)


def _html_board(html: str) -> list:
    p = _HtmlBoard()
    p.feed(html)
    return p.secs


def _model_board(board) -> list:
    from r1k_plugins.leaderboard.model import plain

    return [
        (
            s.level,
            plain(s.title),
            [
                [[c.text for c in t.columns]] + [[plain(c.text).strip() for c in r.cells] for r in t.rows]
                for t in s.tables
            ],
            [plain(b) for b in s.bullets],
        )
        for s in board.sections
    ]


def _same_board(md: str, html: str, board=None) -> list:
    a, b = _md_board(md), _html_board(html)
    assert [s[:2] for s in a] == [s[:2] for s in b]
    for sa, sb in zip(a, b):
        assert sa == sb, sa[1]
    if board is not None:
        assert _model_board(board) == a
    return a


@pytest.mark.e2e
def test_markdown_and_html_show_the_same_board(board):
    _, out, doc = board
    from r1k_plugins.leaderboard.sections import board_model

    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    secs = _same_board(md, html, board_model({k: v for k, v in doc.items() if k != "board"}))
    titles = [s[1] for s in secs]
    assert titles == [
        "Scores",
        "Deltas vs baseline base",
        "Cross-harness agreement",
        "Plots",
        f"Inputs ({len(doc['sources'])} used, {len(doc['skipped'])} skipped)",
        "Skipped",
        "Warnings",
    ]
    # the HTML has the item-by-item comparison too (it once showed only |Δ| / threshold)
    cross = secs[2][2][0]
    assert cross[0] == [
        "Model",
        "Task",
        "Metric",
        "lm-eval",
        "Inspect",
        "decoding",
        "method",
        "common items",
        "identical",
        "p / threshold",
        "first differing",
        "verdict",
    ]
    rev = next(r for r in cross if r[0] == "rev-sft")
    c = next(c for c in doc["cross_harness"] if c["row"] == "rev-sft")
    assert rev[7:10] == ["20 (of 20 / 20)", f"{c['identical']:.1%}", f"p={c['p_value']:.3g}"]
    assert rev[-1] == "DISAGREE ⚠"
    assert 'class="num disagree"' in html
    # the JSON carries the same board
    j = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))["board"]
    assert [s["title"] for s in j["sections"]] == titles
    assert [[c["text"].strip() for c in r["cells"]] for r in j["sections"][2]["tables"][0]["rows"]] == cross[1:]


@pytest.mark.e2e
def test_probe_section_same_in_markdown_and_html():
    """The committed demo board's document (with its probe part) renders to the same sections."""
    from r1k_plugins.leaderboard.render import to_html, to_markdown
    from r1k_plugins.leaderboard.sections import board_model

    doc = json.loads(
        (Path(__file__).resolve().parents[1] / "leaderboards" / "embedded-default" / "leaderboard.json").read_text(
            encoding="utf-8"
        )
    )
    b = board_model(doc)
    secs = _same_board(to_markdown(b), to_html(b, {}), b)
    probe = next(s for s in secs if s[1] == "Directional distinction per token (probe)")
    rows = probe[2][0]
    assert rows[0][:4] == ["Arm", "Checkpoint", "Step", "Δ forward prompts [95% CI]"]
    assert [r[0] for r in rows[1:]] == [t["arm"] for t in doc["probe"]["table"]]
    last = doc["probe"]["table"][-1]["summary"]["all"]["delta"]
    assert rows[-1][5] == f"{last['mean']:+.3f} [{last['ci_low']:+.3f}, {last['ci_high']:+.3f}]"


@pytest.mark.e2e
def test_sampled_runs_section_same_in_markdown_and_html():
    """A document with sampled runs (k answers per item, doc["sampled"]) gets their section in
    every format: one more function in sections.py, no renderer code."""
    from r1k_plugins.leaderboard.render import to_html, to_markdown
    from r1k_plugins.leaderboard.sections import board_model

    doc = json.loads(
        (Path(__file__).resolve().parents[1] / "leaderboards" / "embedded-default" / "leaderboard.json").read_text(
            encoding="utf-8"
        )
    )
    doc["sampled"] = {
        "rows": [
            {
                "model": "tiny",
                "task": "r1k_reverse",
                "harness": "lm-eval",
                "k": 4,
                "pass_k": 4,
                "temperature": 1.0,
                "top_p": 0.95,
                "n_items": 3,
                "avg@k": {"value": 0.25, "stderr": 0.1},
                "pass@k": {"value": 0.5, "stderr": None},
                "maj@k": {"value": 1 / 3, "stderr": 0.2},
            }
        ],
        "cross_harness": [
            {
                "model": "tiny",
                "task": "r1k_reverse",
                "mean_diff": 0.0,
                "n_common": 3,
                "p_value": 1.0,
                "agree": True,
                "note": None,
            }
        ],
    }
    b = board_model(doc)
    md = to_markdown(b)
    secs = _same_board(md, to_html(b, {}), b)
    titles = [s[1] for s in secs]
    assert titles.index("Sampled runs (k answers per item)") == titles.index("Cross-harness agreement") + 1
    assert (
        "| tiny | r1k_reverse | lm-eval | 4 | 1 | 0.95 | 3 | 0.2500 ± 0.1000 | pass@4 0.5000 | 0.3333 ± 0.2000 |" in md
    )
    assert "- tiny / r1k_reverse: mean difference +0.0000 over 3 items, p=1: agree" in md


def test_probe_figure_and_csv_from_the_document():
    """dynamics.png and dynamics.csv come from the document's probe part alone: the committed demo
    board's dynamics.csv is made again byte for byte, and the figure is drawn."""
    from r1k_plugins.leaderboard.dynamics import to_csv
    from r1k_plugins.leaderboard.plots import render_plots

    board = Path(__file__).resolve().parents[1] / "leaderboards" / "embedded-default"
    doc = json.loads((board / "leaderboard.json").read_text(encoding="utf-8"))
    assert to_csv(doc["probe"]) == (board / "dynamics.csv").read_text(encoding="utf-8")
    pngs = render_plots(doc)
    assert sorted(pngs) == ["direction.png", "dynamics.png", "scores.png"]
    assert pngs["dynamics.png"][:8] == b"\x89PNG\r\n\x1a\n" and len(pngs["dynamics.png"]) > 20_000
