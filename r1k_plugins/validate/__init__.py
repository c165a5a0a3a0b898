"""One validation layer for every r1k input (see docs/errors.md).

* :mod:`.readers` - the one reader for JSON / JSONL / YAML / parquet files: missing files, folders,
  unreadable files, non-UTF-8 bytes, lone surrogates, absurd nesting -> one-line ``R1KError`` naming
  the file (and line).
* :mod:`.schemas` - one declared (pydantic) schema per input kind: r1k records, import source rows,
  prebuilt SFT/DPO rows, recipe data keys and numeric trainer keys, lm-eval metadata, run manifests.
* :mod:`.paths` - output paths: an output that is also an input, or not a regular file, is refused.
"""

from .paths import check_not_input, same_path  # noqa: F401
from .readers import (  # noqa: F401
    MAX_DEPTH,
    iter_jsonl,
    load_json_bytes,
    load_json_file,
    load_yaml_file,
    read_bytes,
    read_parquet_rows,
    read_text,
)
