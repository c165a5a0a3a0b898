"""``python -m r1k_plugins.leaderboard export ...`` (same as ``r1k leaderboard export ...``)."""

from r1k_plugins.cli import run_cli
from r1k_plugins.leaderboard.cli import leaderboard

if __name__ == "__main__":
    run_cli(leaderboard.main, prog_name="r1k leaderboard")
