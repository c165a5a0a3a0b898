"""The kernel every stage builds on; it imports nothing from the stages above it.

* vocabulary (:mod:`.vocab`): directions, modes, answer types, trace formats and markers;
* the record (:mod:`.record`) and the other typed inputs (:mod:`.schemas`, :mod:`.readers`);
* rendering a record into chat messages and completion text (:mod:`.render`): the one source for
  SFT rows, DPO pairs, both harnesses' prompts and the probe;
* scoring a response (:mod:`.traces` -> :mod:`.extraction` -> :mod:`.equivalence`, run in the
  worker :mod:`.pool`, LaTeX normalisation in :mod:`.latex`; :mod:`.scoring` is the public entry);
* errors (:mod:`.errors`) and file I/O (:mod:`.io`: atomic writes, JSONL, output-path checks).
"""
