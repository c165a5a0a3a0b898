"""The evaluation layer: what both harnesses ask and how they score, plus the directional probe.

data -> **eval** -> training -> leaderboard.
"""
