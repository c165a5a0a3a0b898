"""The directional probe (the paper's measurement): per-token log-prob of the direction-matching
trace minus the other direction's, on every checkpoint of a run.

:mod:`.cli` (``r1k probe direction``) -> :mod:`.run` (resumable run over models) ->
:mod:`.checkpoints` (finding and loading checkpoints) and :mod:`.measure` (the batched scorer, the
response families: greedy, irrelevant, argmax share). ``r1k probe ches`` -> :mod:`.ches` (CHES per
DPO pair, Razin et al. 2025, from hidden states only).
"""
