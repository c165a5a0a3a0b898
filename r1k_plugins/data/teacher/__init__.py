"""The inversion teacher and the verify solver: model backends (``openai:``, ``vllm:``, ``hf:``),
a run engine (bounded concurrency, retries honouring Retry-After, a response cache) and the
versioned teacher prompt templates. See docs/data.md."""
