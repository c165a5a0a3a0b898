"""The kernel every stage builds on; it imports nothing from the stages above it.

* vocabulary (:mod:`.vocab`): directions, modes, answer types, trace formats and markers;
* the record (:mod:`.record`) and the other typed inputs (:mod:`.schemas`, :mod:`.readers`);
* the typed documents: a run folder and its ``r1k_run.json`` (:mod:`.runs`), the probe output
  (:mod:`.probe_doc`), and which kind a JSON file is (:mod:`.documents`);
* rendering a record into chat messages and completion text (:mod:`.render`): the one source for
  SFT rows, DPO pairs, both harnesses' prompts and the probe;
* scoring a response (:mod:`.traces` -> :mod:`.extraction` -> :mod:`.equivalence`, run in the
  worker :mod:`.pool`, LaTeX normalisation in :mod:`.latex`; :mod:`.scoring` is the public entry);
* errors (:mod:`.errors`) and file I/O (:mod:`.io`: atomic writes, JSONL, output-path checks,
  building a folder beside its place, reading an append-only file a kill cut, package versions).
"""
