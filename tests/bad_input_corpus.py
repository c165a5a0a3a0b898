"""The bad-input corpus: one table of hostile-but-realistic inputs for every r1k command.

Each :class:`Case` names a command line, the files its folder starts with, the exit code and the
words its one-line error must contain, and the files that must come out byte-identical ("prior
outputs"). ``tests/test_bad_input.py`` runs every case through the real console scripts.

Placeholders in argv and file contents: ``{d}`` the case's own folder, ``{good}`` / ``{goodtest}``
a valid synth train/test file, ``{tiny}`` the tiny model, ``{ro}`` a folder the OS refuses to
write into, ``{unreadable}`` a file the OS refuses to read.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field


@dataclass
class Case:
    id: str
    cmd: str  # console script: r1k | r1k-train | lm_eval | inspect
    argv: list[str]
    rc: int = 2
    needles: tuple[str, ...] = ()  # words the error line must contain
    files: dict = field(default_factory=dict)  # name -> str | bytes | callable(case_dir) -> bytes
    guard: tuple[str, ...] = ()  # prior outputs that must be unchanged (names in {d})
    fsize: int | None = None  # RLIMIT_FSIZE in bytes: writes past it fail (a full disk)
    last_line: bool = False  # only the last stderr line is ours (harness / training noise)
    stdout_msg: bool = False  # the message is on stdout (Inspect's own console)
    timeout: int = 120


# ---------------------------------------------------------------------------------------- helpers
def rec(**over) -> dict:
    r = {
        "id": "p1-f",
        "pair_id": "p1",
        "direction": "forward",
        "question": "Ann has 3 apples and buys 4. How many?",
        "answer": "7",
        "answer_type": "numeric",
        "source": "test",
        "reasoning": "3 + 4 = 7.",
        "response": "Answer: \\boxed{7}",
        "meta": {},
    }
    for k, v in over.items():
        if v is _DROP:
            r.pop(k, None)
        else:
            r[k] = v
    return r


_DROP = object()


def jl(*rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def pair(**over_rev) -> str:
    """A valid forward record plus its reverse record (overrides apply to the reverse one)."""
    rev = rec(
        id="p1-r",
        direction="reverse",
        question="Ann has X apples and buys 4; she has 7. X?",
        answer="3",
        reasoning="7 - 4 = 3.",
        response="Answer: \\boxed{3}",
    )
    rev.update(over_rev)
    return jl(rec(), rev)


BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01"
LATIN1 = (json.dumps(rec()) + "\n").replace("Ann", "Ren\u00e9e").encode("latin-1")
SURROGATE = jl(rec()).replace('"Ann', '"\\ud800Ann')
DEEP_JSON = "[" * 100_000 + "]" * 100_000 + "\n"
DEEP_OBJ = ('{"a":' * 5000) + "1" + ("}" * 5000) + "\n"
NOT_OBJECT = '["a", "list", "not", "an", "object"]\n'
MALFORMED = jl(rec())[:-3] + "\n"
NUL_BYTES = b"\x00" * 64 + b"\n"
DEEP_YAML = "a: " + "[" * 5000 + "]" * 5000 + "\n"


def parquet_bytes(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def results_json(task="r1k_forward", acc=0.5, stderr=0.1, model="pretrained=m", **extra) -> str:
    d = {
        "results": {task: {"alias": task, "acc,none": acc, "acc_stderr,none": stderr}},
        "config": {"model": "hf", "model_args": model},
        "n-samples": {task: {"effective": 10}},
        "date": 1700000000.0,
    }
    d.update(extra)
    return json.dumps(d)


# ------------------------------------------------------------------------------------ the corpus
def build_cases() -> list[Case]:
    C: list[Case] = []
    add = C.append

    # ---- 2. files that are not what they claim, for every command that reads a file ------------
    file_defects = {
        "binary": (BINARY, ("not UTF-8",)),
        "latin1": (LATIN1, ("not UTF-8", ":1")),
        "nul": (NUL_BYTES, ("malformed JSON", ":1")),
        "surrogate": (SURROGATE, ("surrogate", ":1")),
        "deep-list": (DEEP_JSON, ("nested",)),
        "deep-object": (DEEP_OBJ, ("nested",)),
        "not-object": (NOT_OBJECT, ("JSON object", ":1")),
        "malformed": (MALFORMED, ("malformed JSON", ":1")),
        "bad-line-3": (jl(rec(), rec(id="p2-f", pair_id="p2")) + "{oops\n", ("malformed JSON", ":3")),
        "empty": ("", ("no records",)),
        "blank-lines": ("\n\n   \n", ("no records",)),
    }
    readers = {
        "verify": lambda f: ["data", "verify", f],
        "mix": lambda f: ["data", "mix", f, "--mode", "forward", "--out", "{d}/out.jsonl"],
        "pairs": lambda f: ["data", "pairs", f, "--out", "{d}/out.jsonl"],
        "invert": lambda f: ["data", "invert", f, "--out", "{d}/out.jsonl", "--no-progress"],
    }
    for rname, argv in readers.items():
        for dname, (content, needles) in file_defects.items():
            add(
                Case(
                    f"{rname}-{dname}",
                    "r1k",
                    argv("{d}/in.jsonl"),
                    2,
                    ("in.jsonl",) + needles,
                    files={"in.jsonl": content, "out.jsonl": "PRIOR\n"},
                    guard=("out.jsonl",),
                )
            )
        add(Case(f"{rname}-missing", "r1k", argv("{d}/absent.jsonl"), 2, ("absent.jsonl", "not found")))
        add(Case(f"{rname}-folder", "r1k", argv("{d}/sub"), 2, ("sub", "folder"), files={"sub/x.jsonl": jl(rec())}))
        add(Case(f"{rname}-unreadable", "r1k", argv("{unreadable}"), 2, ("cannot read",)))
        add(Case(f"{rname}-device", "r1k", argv("/dev/null"), 2, ("/dev/null", "not a regular file")))

    # ---- 3. wrong types in every field of a record --------------------------------------------
    record_defects = {
        "span-int": (pair(meta={"inversion": {"strategy": "mask", "span": 5}}), ("meta.inversion.span",)),
        "span-str": (pair(meta={"inversion": {"strategy": "mask", "span": "0:3"}}), ("meta.inversion.span",)),
        "span-floats": (pair(meta={"inversion": {"strategy": "mask", "span": [0.5, 2]}}), ("meta.inversion.span",)),
        "inversion-list": (pair(meta={"inversion": [1, 2]}), ("meta.inversion",)),
        "hidden-value-dict": (
            pair(meta={"inversion": {"strategy": "mask", "hidden_value": {"a": 1}}}),
            ("meta.inversion.hidden_value",),
        ),
        "question-number": (jl(rec(question=5)), ("question", "string")),
        "answer-null": (jl(rec(answer=None)), ("answer", "string")),
        "id-list": (jl(rec(id=["a"])), ("'id'",)),
        "direction-number": (jl(rec(direction=1)), ("direction",)),
        "answer-type-bad": (jl(rec(answer_type="number")), ("answer_type",)),
        "meta-list": (jl(rec(meta=[1])), ("meta",)),
        "reasoning-dict": (jl(rec(reasoning={"a": 1})), ("reasoning",)),
        "missing-field": (jl(rec(answer_type=_DROP)), ("answer_type", "missing")),
        "unknown-field": (jl({**rec(), "extra": 1}), ("extra", "meta")),
        "duplicate-id": (jl(rec(), rec()), ("duplicate id",)),
        "empty-question": (jl(rec(question="  ")), ("question", "empty")),
    }
    for dname, (content, needles) in record_defects.items():
        for rname in ("verify", "mix"):
            add(
                Case(
                    f"record-{dname}-{rname}",
                    "r1k",
                    readers[rname]("{d}/in.jsonl"),
                    2,
                    ("in.jsonl",) + needles,
                    files={"in.jsonl": content, "out.jsonl": "PRIOR\n"},
                    guard=("out.jsonl",),
                )
            )

    # ---- import sources: wrong types, ragged columns, files that lie ---------------------------
    imp = lambda src, preset: ["data", "import", src, "--preset", preset, "--out", "{d}/out.jsonl"]  # noqa: E731
    import_defects = {
        "question-number": ("src.jsonl", jl({"question": 5, "solution": "7"}), "s1k", ("question", "row 1")),
        "question-null": ("src.jsonl", jl({"question": None, "solution": "7"}), "s1k", ("question", "row 1")),
        "solution-null": ("src.jsonl", jl({"question": "q?", "solution": None}), "s1k", ("solution",)),
        "answer-list": ("src.jsonl", jl({"problem": "q?", "answer": [1, 2]}), "math500", ("answer",)),
        "answer-null-row2": (
            "src.jsonl",
            jl({"problem": "q?", "answer": "1"}, {"problem": "r?", "answer": None}),
            "math500",
            ("row 2", "answer"),
        ),
        "problem-empty": ("src.jsonl", jl({"problem": " ", "answer": "1"}), "aime", ("problem",)),
        "gpqa-option-dict": (
            "src.jsonl",
            jl(
                {
                    "Question": "q?",
                    "Correct Answer": {"x": 1},
                    "Incorrect Answer 1": "a",
                    "Incorrect Answer 2": "b",
                    "Incorrect Answer 3": "c",
                }
            ),
            "gpqa",
            ("Correct Answer",),
        ),
        "ragged-columns": (
            "src.json",
            json.dumps({"problem": ["a?", "b?", "c?"], "answer": ["1", "2"]}),
            "math500",
            ("ragged", "answer"),
        ),
        "json-string": ("src.json", json.dumps("just a string"), "math500", ("list of objects",)),
        "json-list-of-numbers": ("src.json", json.dumps([1, 2, 3]), "math500", ("list of objects",)),
        "json-deep": ("src.json", DEEP_JSON, "math500", ("nested",)),
        "json-binary": ("src.json", BINARY, "math500", ("not UTF-8",)),
        "json-surrogate": ("src.json", json.dumps([{"problem": "q\ud800", "answer": "1"}]), "math500", ("surrogate",)),
        "parquet-garbage": ("src.parquet", b"PAR1 this is not parquet", "math500", ("parquet",)),
        "parquet-wrong-columns": ("src.parquet", lambda d: parquet_bytes([{"x": 1}]), "math500", ("problem",)),
        "parquet-number-question": (
            "src.parquet",
            lambda d: parquet_bytes([{"problem": 3, "answer": "1"}]),
            "math500",
            ("problem",),
        ),
        "jsonl-binary": ("src.jsonl", BINARY, "s1k", ("not UTF-8",)),
        "unsupported-suffix": ("src.csv", "a,b\n1,2\n", "s1k", ("unsupported file type",)),
        "published-bad-kind": (
            "src.jsonl",
            jl({"question": "q?", "solution": "1", "text": "t", "sample_type": "odd", "relevant-question": "r?"}),
            "r1k-published",
            ("sample_type",),
        ),
    }
    for dname, (name, content, preset, needles) in import_defects.items():
        add(
            Case(
                f"import-{dname}",
                "r1k",
                imp("{d}/" + name, preset),
                2,
                (name,) + needles,
                files={name: content, "out.jsonl": "PRIOR\n"},
                guard=("out.jsonl",),
            )
        )
    add(
        Case(
            "import-folder",
            "r1k",
            imp("{d}/sub.parquet", "s1k"),
            2,
            ("sub.parquet", "folder"),
            files={"sub.parquet/x": "x"},
        )
    )
    add(Case("import-unknown-preset", "r1k", imp("{good}", "nope"), 2, ("preset", "nope")))
    add(
        Case(
            "import-number-answer-ok",
            "r1k",
            imp("{d}/src.jsonl", "math500"),
            0,
            (),
            files={"src.jsonl": jl({"problem": "1+1?", "answer": 2})},
        )
    )

    # ---- 1. an output that is also an input is refused; outputs that cannot be files -----------
    for rname in ("mix", "pairs", "invert"):
        argv = readers[rname]("{d}/data.jsonl")
        argv[argv.index("{d}/out.jsonl")] = "{d}/data.jsonl"
        add(
            Case(
                f"{rname}-out-is-input",
                "r1k",
                argv,
                2,
                ("data.jsonl", "input"),
                files={"data.jsonl": pair()},
                guard=("data.jsonl",),
            )
        )
        argv = readers[rname]("{d}/data.jsonl")
        argv[argv.index("{d}/out.jsonl")] = "{d}/./link.jsonl"
        add(
            Case(
                f"{rname}-out-is-input-symlink",
                "r1k",
                argv,
                2,
                ("input",),
                files={"data.jsonl": pair(), "link.jsonl": ("symlink", "data.jsonl")},
                guard=("data.jsonl",),
            )
        )
        argv = readers[rname]("{d}/data.jsonl")
        argv[argv.index("{d}/out.jsonl")] = "/dev/full"
        add(
            Case(
                f"{rname}-out-device", "r1k", argv, 2, ("/dev/full", "not a regular file"), files={"data.jsonl": pair()}
            )
        )
        argv = readers[rname]("{d}/data.jsonl")
        argv[argv.index("{d}/out.jsonl")] = "{d}/afile/out.jsonl"
        add(
            Case(
                f"{rname}-out-under-file",
                "r1k",
                argv,
                2,
                ("afile", "not a folder"),
                files={"data.jsonl": pair(), "afile": "x"},
            )
        )
        argv = readers[rname]("{d}/data.jsonl")
        argv[argv.index("{d}/out.jsonl")] = "{d}/outdir"
        add(
            Case(
                f"{rname}-out-is-folder",
                "r1k",
                argv,
                2,
                ("outdir", "directory"),
                files={"data.jsonl": pair(), "outdir/keep": "x"},
                guard=("outdir/keep",),
            )
        )
        argv = readers[rname]("{d}/data.jsonl")
        argv[argv.index("{d}/out.jsonl")] = "{ro}/out.jsonl"
        add(Case(f"{rname}-out-read-only", "r1k", argv, 1, ("nothing was replaced",), files={"data.jsonl": pair()}))
    add(
        Case(
            "import-out-is-input",
            "r1k",
            imp("{d}/src.jsonl", "math500")[:-1] + ["{d}/src.jsonl"],
            2,
            ("src.jsonl", "input"),
            files={"src.jsonl": jl({"problem": "1+1?", "answer": "2"})},
            guard=("src.jsonl",),
        )
    )
    add(
        Case(
            "import-out-read-only",
            "r1k",
            imp("{d}/src.jsonl", "math500")[:-1] + ["{ro}/o.jsonl"],
            1,
            ("nothing was replaced",),
            files={"src.jsonl": jl({"problem": "1+1?", "answer": "2"})},
        )
    )
    add(
        Case(
            "synth-out-is-file",
            "r1k",
            ["data", "synth", "--n", "4", "--out", "{d}/afile"],
            2,
            ("afile", "is a file"),
            files={"afile": "PRIOR"},
            guard=("afile",),
        )
    )
    add(Case("synth-out-read-only", "r1k", ["data", "synth", "--n", "4", "--out", "{ro}/synth"], 1, ("synth",)))
    add(
        Case(
            "mix-ratio-nan",
            "r1k",
            ["data", "mix", "{good}", "--mode", "mixed", "--ratio", "nan", "--out", "{d}/out.jsonl"],
            2,
            ("--ratio",),
        )
    )
    add(
        Case(
            "mix-ratio-2",
            "r1k",
            ["data", "mix", "{good}", "--mode", "mixed", "--ratio", "2", "--out", "{d}/out.jsonl"],
            2,
            ("--ratio",),
        )
    )
    add(
        Case(
            "mix-mode-bogus",
            "r1k",
            ["data", "mix", "{good}", "--mode", "sideways", "--out", "{d}/o.jsonl"],
            2,
            ("--mode", "sideways"),
        )
    )

    # ---- 7. mask inversion never writes duplicate ids -------------------------------------------
    add(
        Case(
            "invert-forward-id-ends-r",
            "r1k",
            readers["invert"]("{d}/in.jsonl"),
            2,
            ("in.jsonl", "p1-r", "unique"),
            files={
                "in.jsonl": jl(rec(id="p1-r", question="Bo has 12 pens and buys 5. How many?", answer="17")),
                "out.jsonl": "PRIOR\n",
            },
            guard=("out.jsonl",),
        )
    )
    add(
        Case(
            "invert-shared-pair-id",
            "r1k",
            readers["invert"]("{d}/in.jsonl"),
            2,
            ("in.jsonl", "share pair_id", "p1"),
            files={
                "in.jsonl": jl(rec(), rec(id="p9-f", question="Cy has 8 cups and buys 6. How many?", answer="14")),
                "out.jsonl": "PRIOR\n",
            },
            guard=("out.jsonl",),
        )
    )
    add(
        Case(
            "invert-teacher-no-model",
            "r1k",
            ["data", "invert", "{good}", "--strategy", "teacher", "--out", "{d}/o.jsonl"],
            2,
            ("--teacher-model",),
        )
    )

    # ---- 6. limits ------------------------------------------------------------------------------
    add(Case("synth-n-billion", "r1k", ["data", "synth", "--n", "1000000000", "--out", "{d}/s"], 2, ("--n", "200000")))
    add(Case("synth-n-negative", "r1k", ["data", "synth", "--n", "-5", "--out", "{d}/s"], 2, ("--n",)))
    add(Case("synth-n-text", "r1k", ["data", "synth", "--n", "lots", "--out", "{d}/s"], 2, ("--n",)))
    add(Case("synth-test-frac-1", "r1k", ["data", "synth", "--test-frac", "1", "--out", "{d}/s"], 2, ("--test-frac",)))
    add(Case("demo-n-billion", "r1k", ["demo", "--n", "1000000000", "--out", "{d}/demo"], 2, ("--n", "100000")))
    add(Case("demo-arms-bogus", "r1k", ["demo", "--arms", "sideways", "--out", "{d}/demo"], 2, ("--arms",)))
    add(Case("demo-dpo-without-mixed", "r1k", ["demo", "--arms", "forward", "--out", "{d}/demo"], 2, ("--dpo",)))

    # ---- 4. the OS says no: a full disk (RLIMIT_FSIZE) on every writing command -----------------
    add(
        Case(
            "synth-disk-full",
            "r1k",
            ["data", "synth", "--n", "3000", "--out", "{d}/s"],
            1,
            ("train.jsonl", "nothing was replaced"),
            files={"s/train.jsonl": "PRIOR\n", "s/test.jsonl": "PRIOR\n"},
            guard=("s/train.jsonl", "s/test.jsonl"),
            fsize=64 * 1024,
        )
    )
    for rname in ("mix", "pairs", "invert"):
        add(
            Case(
                f"{rname}-disk-full",
                "r1k",
                readers[rname]("{good}"),
                1,
                ("out.jsonl", "nothing was replaced"),
                files={"out.jsonl": "PRIOR\n"},
                guard=("out.jsonl",),
                fsize=16 * 1024,
            )
        )
    add(
        Case(
            "import-disk-full",
            "r1k",
            imp("{d}/src.jsonl", "math500"),
            1,
            ("out.jsonl", "nothing was replaced"),
            files={
                "src.jsonl": jl(*({"problem": f"{i}+1?", "answer": str(i + 1)} for i in range(50))),
                "out.jsonl": "PRIOR\n",
            },
            guard=("out.jsonl",),
            fsize=1,
        )
    )
    add(
        Case(
            "leaderboard-disk-full",
            "r1k",
            ["leaderboard", "export", "{d}/res", "--out", "{d}/board", "--no-plots"],
            1,
            ("leaderboard",),
            files={"res/results_2024-01-01T00-00-00.json": results_json(), "board/leaderboard.md": "PRIOR\n"},
            guard=("board/leaderboard.md",),
            fsize=1,
        )
    )
    add(
        Case(
            "tiny-model-disk-full",
            "r1k-train",
            ["tiny-model", "--out", "{d}/m", "--overwrite"],
            1,
            ("/m", "nothing was replaced"),
            files={"m/config.json": "PRIOR"},
            guard=("m/config.json",),
            fsize=64 * 1024,
            last_line=True,
        )
    )

    # ---- r1k-train: recipes and --set values ------------------------------------------------------
    sft = ["sft", "--config", "tiny-sft", "--model", "{tiny}", "--data", "{good}", "--output-dir", "{d}/run"]
    dpo = ["dpo", "--config", "tiny-dpo", "--model", "{tiny}", "--data", "{good}", "--output-dir", "{d}/run"]
    set_defects = {
        "ratio-abc": ("data.ratio=abc", ("data", "ratio")),
        "ratio-2": ("data.ratio=2", ("ratio",)),
        "mode-number": ("data.mode=3", ("mode",)),
        "trace-format-bogus": ("data.trace_format=html", ("trace_format",)),
        "direction-tags-yes": ("data.direction_tags=yes", ("direction_tags",)),
        "data-seed-text": ("data.seed=abc", ("seed",)),
        "lr-empty": ("learning_rate=", ("learning_rate",)),
        "lr-abc": ("learning_rate=abc", ("learning_rate",)),
        "lr-nan": ("learning_rate=nan", ("learning_rate",)),
        "lr-inf": ("learning_rate=.inf", ("learning_rate",)),
        "lr-negative": ("learning_rate=-1e-3", ("learning_rate",)),
        "lr-list": ("learning_rate=[1,2]", ("learning_rate",)),
        "max-steps-1e400": ("max_steps=1e400", ("max_steps",)),
        "max-steps-half": ("max_steps=2.5", ("max_steps",)),
        "max-steps-zero": ("max_steps=0", ("max_steps",)),
        "batch-zero": ("per_device_train_batch_size=0", ("per_device_train_batch_size",)),
        "batch-list": ("per_device_train_batch_size=[8]", ("per_device_train_batch_size",)),
        "grad-accum-text": ("gradient_accumulation_steps=two", ("gradient_accumulation_steps",)),
        "epochs-inf": ("num_train_epochs=inf", ("num_train_epochs",)),
        "warmup-ratio-2": ("warmup_ratio=2", ("warmup_ratio",)),
        "bf16-no": ("bf16=no", ("bf16", "boolean", "'no'")),
        "fp16-yes": ("fp16=yes", ("fp16",)),
        "use-peft-1": ("use_peft=1", ("use_peft",)),
        "seed-huge": ("seed=1e400", ("seed",)),
        "no-equals": ("learning_rate", ("key=value",)),
    }
    for dname, (kv, needles) in set_defects.items():
        add(
            Case(
                f"sft-set-{dname}",
                "r1k-train",
                sft + ["--set", kv],
                2,
                needles,
                files={"run/keep.txt": "PRIOR"},
                guard=("run/keep.txt",),
            )
        )
    for dname in ("lr-nan", "bf16-no", "max-steps-1e400", "batch-zero"):
        kv, needles = set_defects[dname]
        add(Case(f"dpo-set-{dname}", "r1k-train", dpo + ["--set", kv], 2, needles))
    add(Case("dpo-set-ratio", "r1k-train", dpo + ["--set", "data.ratio=0.5"], 2, ("ratio",)))
    recipe_defects = {
        "binary": (BINARY, ("recipe.yaml", "not UTF-8")),
        "deep": (DEEP_YAML, ("recipe.yaml", "nested")),
        "list": ("- a\n- b\n", ("recipe.yaml", "mapping")),
        "bad-yaml": ("a: [1, 2\n", ("recipe.yaml", "invalid YAML")),
        "data-list": ("stage: sft\ndata: [1, 2]\n", ("recipe.yaml", "data")),
        "ratio-abc": ("stage: sft\ndata: {ratio: abc}\n", ("recipe.yaml", "ratio")),
        "lr-text": ("stage: sft\nlearning_rate: fast\n", ("recipe.yaml", "learning_rate")),
        "bf16-no": ("stage: sft\nbf16: no\n", ("recipe.yaml", "bf16")),
        "stage-dpo": ("stage: dpo\n", ("recipe.yaml", "dpo")),
        "python-tag": ("stage: !!python/object/apply:os.system ['echo hi']\n", ("recipe.yaml",)),
    }
    for dname, (content, needles) in recipe_defects.items():
        argv = list(sft)
        argv[argv.index("tiny-sft")] = "{d}/recipe.yaml"
        add(Case(f"sft-recipe-{dname}", "r1k-train", argv, 2, needles, files={"recipe.yaml": content}))
    add(
        Case(
            "sft-recipe-folder",
            "r1k-train",
            ["sft", "--config", "{d}/rdir", "--model", "{tiny}", "--data", "{good}", "--output-dir", "{d}/run"],
            2,
            ("rdir", "folder"),
            files={"rdir/x.yaml": "a: 1\n"},
        )
    )
    add(
        Case(
            "sft-recipe-missing",
            "r1k-train",
            ["sft", "--config", "tiny-sfft", "--output-dir", "{d}/run"],
            2,
            ("tiny-sfft", "tiny-sft"),
        )
    )

    # ---- prebuilt SFT / DPO rows with wrong types ---------------------------------------------------
    def sft_rows(*rows):
        return jl(*rows)

    row_defects = {
        "prompt-number": ("sft", sft_rows({"prompt": 5, "completion": "x"}), ("prompt",)),
        "completion-null": ("sft", sft_rows({"prompt": "p", "completion": None}), ("completion",)),
        "text-null": ("sft", sft_rows({"text": None}), ("text",)),
        "text-number-line2": ("sft", sft_rows({"text": "ok"}, {"text": 3}), (":2", "text")),
        "role-number": ("sft", sft_rows({"messages": [{"role": 1, "content": "hi"}]}), ("role",)),
        "content-list": ("sft", sft_rows({"messages": [{"role": "user", "content": ["hi"]}]}), ("content",)),
        "messages-string": ("sft", sft_rows({"messages": "hi"}), ("messages",)),
        "messages-empty": ("sft", sft_rows({"messages": []}), ("messages", "empty")),
        "direction-bogus": ("sft", sft_rows({"prompt": "p", "completion": "c", "direction": "up"}), ("direction",)),
        "missing-completion-row2": (
            "sft",
            sft_rows({"prompt": "p", "completion": "c"}, {"prompt": "p"}),
            (":2", "completion"),
        ),
        "chosen-dict": ("dpo", sft_rows({"prompt": "p", "chosen": {"a": 1}, "rejected": "r"}), ("chosen",)),
        "rejected-null": ("dpo", sft_rows({"prompt": "p", "chosen": "c", "rejected": None}), ("rejected",)),
        "dpo-prompt-number": ("dpo", sft_rows({"prompt": 7, "chosen": "c", "rejected": "r"}), ("prompt",)),
        "unknown-row": ("sft", sft_rows({"foo": 1}), ("unrecognized row",)),
    }
    for dname, (stage, content, needles) in row_defects.items():
        argv = list(sft if stage == "sft" else dpo)
        argv[argv.index("{good}")] = "{d}/rows.jsonl"
        add(
            Case(
                f"{stage}-rows-{dname}", "r1k-train", argv, 2, ("rows.jsonl",) + needles, files={"rows.jsonl": content}
            )
        )
    for dname in ("binary", "surrogate", "deep-list", "not-object"):
        content, needles = file_defects[dname]
        argv = list(sft)
        argv[argv.index("{good}")] = "{d}/rows.jsonl"
        add(Case(f"sft-data-{dname}", "r1k-train", argv, 2, ("rows.jsonl",) + needles, files={"rows.jsonl": content}))
    add(Case("sft-data-is-output", "r1k-train", sft[:-1] + ["{good}"], 2, ("output-dir", "file")))
    add(
        Case(
            "sft-output-is-file",
            "r1k-train",
            sft[:-1] + ["{d}/afile"],
            2,
            ("afile", "file"),
            files={"afile": "PRIOR"},
            guard=("afile",),
        )
    )
    add(
        Case(
            "sft-output-not-empty",
            "r1k-train",
            sft,
            2,
            ("run", "--overwrite"),
            files={"run/model.safetensors": "PRIOR"},
            guard=("run/model.safetensors",),
        )
    )
    add(
        Case(
            "sft-model-missing",
            "r1k-train",
            ["sft", "--config", "tiny-sft", "--model", "{d}/nomodel", "--data", "{good}", "--output-dir", "{d}/run"],
            2,
            ("nomodel", "not found"),
        )
    )
    add(
        Case(
            "sft-model-is-file",
            "r1k-train",
            ["sft", "--config", "tiny-sft", "--model", "{good}", "--data", "{good}", "--output-dir", "{d}/run"],
            2,
            ("--model", "file"),
        )
    )
    add(Case("sft-resume-and-overwrite", "r1k-train", sft + ["--resume", "--overwrite"], 2, ("--resume",)))
    add(
        Case(
            "tiny-model-out-is-file",
            "r1k-train",
            ["tiny-model", "--out", "{d}/afile"],
            2,
            ("afile", "file"),
            files={"afile": "PRIOR"},
            guard=("afile",),
        )
    )
    add(
        Case(
            "tiny-model-data-binary",
            "r1k-train",
            ["tiny-model", "--out", "{d}/m", "--data", "{d}/in.jsonl"],
            2,
            ("in.jsonl", "not UTF-8"),
            files={"in.jsonl": BINARY},
        )
    )
    add(
        Case(
            "tiny-model-vocab-huge",
            "r1k-train",
            ["tiny-model", "--out", "{d}/m", "--vocab-size", "10000000"],
            2,
            ("--vocab-size",),
        )
    )
    add(Case("tiny-model-out-read-only", "r1k-train", ["tiny-model", "--out", "{ro}/m"], 1, ("nothing was replaced",)))

    # ---- leaderboard inputs -------------------------------------------------------------------------
    lb = ["leaderboard", "export", "{d}/res", "--out", "{d}/board", "--no-plots"]
    add(
        Case(
            "leaderboard-stderr-1e200",
            "r1k",
            lb + ["--baseline", "base"],
            0,
            (),
            files={
                "res/results_2024-01-01T00-00-00.json": results_json(stderr=1e200, model="pretrained=a"),
                "res/b/results_2024-01-01T00-00-00.json": results_json(acc=0.25, stderr=1e200, model="pretrained=base"),
            },
        )
    )
    add(
        Case(
            "leaderboard-score-1e308",
            "r1k",
            lb,
            2,
            ("no usable metrics",),
            files={"res/results_2024-01-01T00-00-00.json": results_json(acc=1e308, stderr=1e308)},
        )
    )
    add(
        Case(
            "leaderboard-date-huge",
            "r1k",
            lb,
            0,
            (),
            files={"res/results_2024-01-01T00-00-00.json": results_json(date=1e300)},
        )
    )
    add(
        Case(
            "leaderboard-deep-json", "r1k", lb, 2, ("results_x.json", "nested"), files={"res/results_x.json": DEEP_JSON}
        )
    )
    add(
        Case("leaderboard-binary-json", "r1k", lb, 2, ("results_x.json", "UTF-8"), files={"res/results_x.json": BINARY})
    )
    add(
        Case(
            "leaderboard-truncated-eval", "r1k", lb, 2, ("x.eval", "skipped"), files={"res/x.eval": b"PK\x03\x04trunc"}
        )
    )
    add(
        Case(
            "leaderboard-one-good-one-deep",
            "r1k",
            lb,
            0,
            ("skipped", "nested"),
            files={"res/results_x.json": DEEP_JSON, "res/results_2024-01-01T00-00-00.json": results_json()},
        )
    )
    add(Case("leaderboard-missing-input", "r1k", lb[:2] + ["{d}/absent"] + lb[3:], 2, ("absent",)))
    add(
        Case(
            "leaderboard-task-slash",
            "r1k",
            lb,
            0,
            (),
            files={"res/results_2024-01-01T00-00-00.json": results_json(task="a/b")},
        )
    )
    add(
        Case(
            "leaderboard-manifest-binary",
            "r1k",
            lb,
            0,
            (),
            files={
                "res/results_2024-01-01T00-00-00.json": results_json(model="pretrained={d}/model"),
                "model/r1k_run.json": BINARY,
            },
        )
    )
    add(
        Case(
            "leaderboard-manifest-deep",
            "r1k",
            lb,
            0,
            (),
            files={
                "res/results_2024-01-01T00-00-00.json": results_json(model="pretrained={d}/model"),
                "model/r1k_run.json": DEEP_JSON,
            },
        )
    )
    add(
        Case(
            "leaderboard-out-is-file",
            "r1k",
            lb[:4] + ["{d}/afile"],
            2,
            ("afile", "is a file"),
            files={"res/results_2024-01-01T00-00-00.json": results_json(), "afile": "PRIOR"},
            guard=("afile",),
        )
    )
    add(
        Case(
            "leaderboard-out-read-only",
            "r1k",
            lb[:4] + ["{ro}/board"],
            1,
            ("board",),
            files={"res/results_2024-01-01T00-00-00.json": results_json()},
        )
    )

    # ---- 5. the harness entry points (few: each starts a harness) ---------------------------------
    def insp(data):
        return [
            "eval",
            "r1k_plugins/r1k_reverse",
            "--model",
            "mockllm/model",
            "-T",
            f"data={data}",
            "--display",
            "plain",
        ]

    add(
        Case(
            "inspect-data-binary",
            "inspect",
            insp("{d}/in.jsonl"),
            1,
            ("in.jsonl", "not UTF-8"),
            files={"in.jsonl": BINARY},
            stdout_msg=True,
            timeout=300,
        )
    )
    add(
        Case(
            "inspect-data-missing",
            "inspect",
            insp("{d}/absent.jsonl"),
            1,
            ("absent.jsonl", "not found"),
            stdout_msg=True,
            timeout=300,
        )
    )
    add(
        Case(
            "inspect-data-wrong-type",
            "inspect",
            insp("{d}/in.jsonl"),
            1,
            ("in.jsonl", "meta.inversion.span"),
            files={"in.jsonl": pair(meta={"inversion": {"strategy": "mask", "span": 5}})},
            stdout_msg=True,
            timeout=300,
        )
    )
    lme = lambda meta: ["run", "--model", "dummy", "--tasks", "r1k_reverse", "--metadata", meta, "--limit", "1"]  # noqa: E731
    add(
        Case(
            "lm-eval-data-binary",
            "lm_eval",
            lme('{"r1k_data": "{d}/in.jsonl"}'),
            2,
            ("in.jsonl", "not UTF-8"),
            files={"in.jsonl": BINARY},
            last_line=True,
            timeout=300,
        )
    )
    add(
        Case(
            "lm-eval-metadata-number",
            "lm_eval",
            lme('{"r1k_data": 5}'),
            2,
            ("r1k_data", "int"),
            last_line=True,
            timeout=300,
        )
    )
    return C
