"""Model backends of the teacher and the verify solver, named by a SPEC string.

``openai:MODEL@BASE_URL``  any OpenAI-compatible chat-completions server (``vllm serve``, OpenAI, ...);
                           concurrent requests over aiohttp; the key comes from an environment variable.
``vllm:MODEL_OR_PATH``     vLLM's offline engine, batched (needs ``pip install 'r1k-plugins[vllm]'``).
``hf:PATH``                transformers on a local model folder (small models: the tiny test model,
                           SmolLM2-135M-Instruct, ...); batched greedy or sampled generation.

``vllm:`` and ``hf:`` take engine options after ``?``: ``vllm:Qwen/QwQ-32B?tensor_parallel_size=4&
max_model_len=32768`` (any ``vllm.LLM`` argument), ``hf:PATH?device=cuda&dtype=bfloat16``. Values are
read as JSON scalars (``4``, ``0.9``, ``true``) or else kept as text; ``trust_remote_code=true`` is
passed only when the user writes it.

A backend returns :class:`Completion` objects. The HTTP backend raises :class:`Retryable` for
what a retry may cure (429, 5xx, timeouts, dropped connections, malformed bodies, empty choices,
truncation, refusals, null content), :class:`Failure` for what it cannot (a 400), and
:class:`~r1k_plugins.core.errors.R1KError` for what ends the run (unreachable endpoint, refused key,
unknown model or URL). Model output is parsed with ``json.loads`` only, never evaluated.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1k_plugins.core.errors import R1KError

if TYPE_CHECKING:
    import aiohttp

SPEC_HELP = (
    "openai:MODEL@BASE_URL (an OpenAI-compatible server), vllm:MODEL_OR_PATH (vLLM offline engine), "
    "hf:PATH (transformers, local folder)"
)


class Retryable(Exception):
    """A failed attempt that a retry may cure; ``retry_after`` (seconds) if the server said so.

    ``reason`` is a short fixed phrase (failures are counted by it); ``detail`` what the server said.
    """

    def __init__(self, reason: str, retry_after: float | None = None, detail: str | None = None):
        super().__init__(reason)
        self.reason, self.retry_after, self.detail = reason, retry_after, detail


class Failure(Exception):
    """A failed item that a retry will not cure (``reason`` as for :class:`Retryable`)."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass
class Completion:
    text: str
    finish_reason: str | None = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


@dataclass(frozen=True)
class GenParams:
    temperature: float = 0.0
    max_tokens: int = 8192
    top_p: float | None = None
    seed: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Spec:
    kind: str  # openai | vllm | hf
    model: str
    base_url: str | None = None
    options: tuple[tuple[str, object], ...] = ()  # engine options of vllm: / hf: (``?k=v&k=v``)

    @property
    def label(self) -> str:
        opts = "&".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in self.options)
        return (
            f"{self.kind}:{self.model}" + (f"@{self.base_url}" if self.base_url else "") + (f"?{opts}" if opts else "")
        )


HF_OPTIONS = ("device", "dtype", "trust_remote_code")


def _option_value(text: str):
    try:
        v = json.loads(text)
    except ValueError:
        return text
    return v if isinstance(v, (bool, int, float)) else text


def _parse_options(spec: str, query: str, kind: str, option: str) -> tuple[tuple[str, object], ...]:
    out = []
    for part in filter(None, query.split("&")):
        k, eq, v = part.partition("=")
        k = k.strip()
        if not eq or not k.isidentifier():
            example = "tensor_parallel_size=2" if kind == "vllm" else "device=cuda"
            raise R1KError(f"{option} {spec!r}: engine option {part!r} is not KEY=VALUE (e.g. {kind}:...?{example})")
        if kind == "hf" and k not in HF_OPTIONS:
            raise R1KError(f"{option} {spec!r}: unknown hf option {k!r}; known: {', '.join(HF_OPTIONS)}")
        out.append((k, _option_value(v.strip())))
    return tuple(out)


def parse_spec(spec: str, option: str = "--teacher") -> Spec:
    """``openai:MODEL@BASE_URL`` / ``vllm:MODEL_OR_PATH`` / ``hf:PATH`` -> :class:`Spec` (R1KError if unknown)."""
    kind, sep, rest = (spec or "").partition(":")
    if not sep or kind not in ("openai", "vllm", "hf") or not rest.strip():
        raise R1KError(f"{option} {spec!r}: unknown backend spec; use {SPEC_HELP}")
    rest = rest.strip()
    if kind == "openai":
        for scheme in ("@http://", "@https://"):
            i = rest.find(scheme)
            if i > 0:
                return Spec("openai", rest[:i], rest[i + 1 :].rstrip("/"))
        raise R1KError(
            f"{option} {spec!r}: an openai spec needs the server, e.g. "
            f"openai:Qwen/Qwen2.5-72B-Instruct@http://localhost:8000/v1"
        )
    model, _, query = rest.partition("?")
    if not model.strip():
        raise R1KError(f"{option} {spec!r}: no model before '?'; use {SPEC_HELP}")
    return Spec(kind, model.strip(), options=_parse_options(spec, query, kind, option))


def make_backend(
    spec: Spec,
    gen: GenParams,
    *,
    api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 600.0,
    max_connections: int = 32,
    option: str = "--teacher",
):
    if spec.kind == "openai":
        return OpenAIBackend(
            spec, gen, api_key_env=api_key_env, timeout=timeout, max_connections=max_connections, option=option
        )
    if spec.kind == "hf":
        return HFBackend(spec, gen, batch_size=max_connections, option=option)
    return VLLMBackend(spec, gen, option=option)


# ------------------------------------------------------------------ OpenAI-compatible HTTP
_RETRY_STATUS = {408, 409, 425, 429}
MAX_RETRY_AFTER = 300.0
CONNECT_TIMEOUT = 30.0  # seconds to open a connection (at most half of --timeout)


def retry_after_seconds(headers) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date), else None."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, min(float(ms) / 1000.0, MAX_RETRY_AFTER))
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, min(float(ra), MAX_RETRY_AFTER))
    except ValueError:
        pass
    try:
        return max(0.0, min(parsedate_to_datetime(ra).timestamp() - time.time(), MAX_RETRY_AFTER))
    except (TypeError, ValueError, OverflowError):
        return None


class OpenAIBackend:
    """POST ``BASE_URL/chat/completions`` with aiohttp (one pooled session, ``max_connections`` sockets)."""

    batched = False

    def __init__(
        self,
        spec: Spec,
        gen: GenParams,
        *,
        api_key_env: str,
        timeout: float,
        max_connections: int,
        option: str = "--teacher",
    ):
        self.spec, self.gen, self.api_key_env, self.timeout = spec, gen, api_key_env, timeout
        self.max_connections, self.option = max_connections, option
        self.url = f"{spec.base_url}/chat/completions"
        self._session: aiohttp.ClientSession | None = None  # made by open()
        self._reached = False
        self._params = gen.to_dict()

    async def open(self):
        import aiohttp

        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._session = aiohttp.ClientSession(
            # a server that takes no connection within CONNECT_TIMEOUT (a firewalled host) is unreachable,
            # whatever --timeout allows a long generation
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(CONNECT_TIMEOUT, self.timeout / 2)),
            connector=aiohttp.TCPConnector(
                limit=self.max_connections, limit_per_host=self.max_connections, ssl=self.url.startswith("https:")
            ),
        )  # verified TLS on https

    async def close(self):
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _payload(self, messages: list[dict]) -> bytes:
        return json.dumps({"model": self.spec.model, "messages": messages, **self._params}).encode()

    async def complete(self, messages: list[dict]) -> Completion:
        import asyncio

        import aiohttp

        assert self._session is not None, "open() the backend first"
        try:
            async with self._session.post(self.url, data=self._payload(messages)) as r:
                status = r.status
                body = await r.read()
                headers = r.headers
        except aiohttp.ConnectionTimeoutError:
            if not self._reached:
                raise R1KError(
                    f"teacher endpoint {self.spec.base_url} unreachable (no connection within "
                    f"{min(CONNECT_TIMEOUT, self.timeout / 2):g} s); check the host and port in "
                    f"{self.option} / --teacher-url"
                ) from None
            raise Retryable("connect timeout") from None
        except asyncio.TimeoutError:
            raise Retryable("timeout") from None
        except aiohttp.ClientConnectorError as e:
            if not self._reached:
                raise R1KError(
                    f"teacher endpoint {self.spec.base_url} unreachable ({type(e).__name__}); "
                    f"start the server or fix {self.option} / --teacher-url"
                ) from None
            raise Retryable("connection refused") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError, ConnectionError):
            raise Retryable("dropped connection") from None
        except aiohttp.ClientError as e:
            raise Retryable(f"client error ({type(e).__name__})") from None
        self._reached = True
        if status in (401, 403):
            raise R1KError(
                f"teacher endpoint {self.spec.base_url} refused the key (HTTP {status}); "
                f"set {self.api_key_env} in the environment (or --api-key-env NAME)"
            )
        if status == 404:
            raise R1KError(
                f"{self.url} answered HTTP 404; check the model name {self.spec.model!r} "
                f"and the base URL in {self.option}"
            )
        if status in _RETRY_STATUS or status >= 500:
            raise Retryable(f"HTTP {status}", retry_after_seconds(headers), self._detail(body))
        if status >= 400:
            raise Failure(f"HTTP {status}", self._detail(body))
        return parse_chat_completion(body, self._detail)

    def _detail(self, body: bytes | str) -> str | None:
        """What the server said, one short line, with the API key (if it echoes it) masked."""
        d = error_detail(body)
        key = os.environ.get(self.api_key_env)
        return d.replace(key, "***") if d and key else d


def error_detail(body: bytes | str, limit: int = 200) -> str | None:
    """The message of an error body (``{"error": {"message": ...}}``, ``{"detail": ...}``, HTML or text)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        msg = err.get("message") or err.get("detail") or err.get("msg") if isinstance(err, dict) else err
        if msg is None and isinstance(data.get("detail"), (str, list)):
            msg = data["detail"]
        if msg is not None:
            text = msg if isinstance(msg, str) else json.dumps(msg)
    text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return (text[: limit - 3] + "...") if len(text) > limit else (text or None)


def parse_chat_completion(body: bytes, detail=error_detail) -> Completion:
    """One chat-completions response body -> Completion; anything unusable is Retryable(reason).

    ``content`` may be a string or a list of parts (some servers send ``[{"type": "text", "text": ...}]``);
    text parts are joined, other parts (a provider's ``thinking`` parts, images) are left out.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Retryable("malformed body (not JSON)", detail=detail(body)) from None
    if not isinstance(data, dict):
        raise Retryable("malformed body (not an object)")
    choices = data.get("choices")
    if (not isinstance(choices, list) or not choices) and data.get("error"):
        raise Retryable("error object in the body", detail=detail(body))  # some gateways send errors with 200
    if not isinstance(choices, list) or not choices:
        raise Retryable("empty choices")
    ch = choices[0]
    msg = ch.get("message") if isinstance(ch, dict) else None
    if not isinstance(msg, dict):
        raise Retryable("no message in choice")
    finish = ch.get("finish_reason")
    if msg.get("refusal") or finish == "content_filter":
        raise Retryable("refused")
    content = msg.get("content")
    if content is None:
        raise Retryable("null content")
    if isinstance(content, list):
        texts = [
            p if isinstance(p, str) else p.get("text")
            for p in content
            if isinstance(p, str) or (isinstance(p, dict) and p.get("type") == "text")
        ]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise Retryable("content has no text part")
        content = "".join(str(t) for t in texts)  # all str, checked above
    if not isinstance(content, str):
        raise Retryable("content is not a string")
    if finish == "length":
        raise Retryable("truncated (finish_reason=length)")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    pt, ct = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return Completion(
        content,
        finish if isinstance(finish, str) else None,
        pt if isinstance(pt, int) else 0,
        ct if isinstance(ct, int) else 0,
    )


# ------------------------------------------------------------------ local: transformers
class HFBackend:
    """transformers ``generate`` on a local model folder, ``batch_size`` prompts at a time (left padding).

    The chat template of the tokenizer renders the messages (plain ``role: text`` lines without one).
    ``trust_remote_code`` is never set: only architectures transformers knows load.
    """

    batched = True

    def __init__(self, spec: Spec, gen: GenParams, *, batch_size: int = 8, option: str = "--teacher"):
        self.spec, self.gen, self.batch_size = spec, gen, max(1, batch_size)
        path = Path(spec.model).expanduser()
        if not (path / "config.json").is_file():
            raise R1KError(
                f"{option} hf:{spec.model}: not a local model folder (no config.json); "
                f"give the folder of a transformers model"
            )
        self.path, self.option = path, option
        opts = dict(spec.options)
        self.device: Any = opts.get("device")  # 'cpu', 'cuda', 'cuda:1' or a cuda index: as torch takes it
        dtype = opts.get("dtype", "auto")
        if dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise R1KError(f"{option} {spec.label}: dtype {dtype!r} unknown; use auto, float32, bfloat16 or float16")
        self.dtype = str(dtype)
        self.trust_remote_code = opts.get("trust_remote_code") is True
        # loaded on first use by _load(): a transformers model and tokenizer
        self._model: Any = None
        self._tok: Any = None

    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            try:
                torch.empty(0, device=device)
            except (RuntimeError, AssertionError) as e:
                raise R1KError(
                    f"{self.option} {self.spec.label}: device {device!r} is not usable here "
                    f"({str(e).splitlines()[0][:120]}); use device=cpu"
                ) from None
            self._tok = AutoTokenizer.from_pretrained(self.path, trust_remote_code=self.trust_remote_code)
            self._tok.padding_side = "left"
            if self._tok.pad_token is None:
                self._tok.pad_token = self._tok.eos_token
            dtype = self.dtype if self.dtype == "auto" else getattr(torch, self.dtype)
            self._model = AutoModelForCausalLM.from_pretrained(
                self.path, dtype=dtype, trust_remote_code=self.trust_remote_code
            )
            self._model.to(device).eval()

    def _render(self, messages: list[dict]) -> str:
        if getattr(self._tok, "chat_template", None):
            return self._tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "

    def complete_batch(self, batch: list[list[dict]]) -> list[Completion]:
        import torch

        self._load()
        out: list[Completion] = []
        for i in range(0, len(batch), self.batch_size):
            texts = [self._render(m) for m in batch[i : i + self.batch_size]]
            enc = self._tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self._model.device)
            kw = dict(max_new_tokens=self.gen.max_tokens, pad_token_id=self._tok.pad_token_id)
            if self.gen.temperature > 0:
                if self.gen.seed is not None:
                    torch.manual_seed(self.gen.seed)
                kw.update(do_sample=True, temperature=self.gen.temperature, top_p=self.gen.top_p or 1.0)
            else:
                kw.update(do_sample=False)
            with torch.no_grad():
                gen = self._model.generate(**enc, **kw)
            new = gen[:, enc["input_ids"].shape[1] :]
            eos = self._model.generation_config.eos_token_id
            eos = set(eos if isinstance(eos, list) else [eos]) - {None}
            for row, mask in zip(new.tolist(), enc["attention_mask"].tolist()):
                n = next((k for k, t in enumerate(row) if t in eos), None)
                ids = row if n is None else row[:n]
                ids = [t for t in ids if t != self._tok.pad_token_id] if n is None else ids
                out.append(
                    Completion(
                        self._tok.decode(ids, skip_special_tokens=False),
                        "length" if n is None and len(row) >= self.gen.max_tokens else "stop",
                        int(sum(mask)),
                        len(ids),
                    )
                )
        return out


# ------------------------------------------------------------------ local: vLLM offline engine
class VLLMBackend:
    """vLLM's offline ``LLM.chat`` over all prompts at once (continuous batching inside vLLM)."""

    batched = True

    def __init__(self, spec: Spec, gen: GenParams, *, option: str = "--teacher"):
        try:
            import vllm  # noqa: F401
        except ImportError:
            raise R1KError(
                f"{option} vllm:{spec.model} needs vLLM: pip install 'r1k-plugins[vllm]' on a GPU "
                f"machine (or serve the model and use openai:MODEL@URL)"
            ) from None
        self.spec, self.gen, self.option = spec, gen, option
        self._llm: Any = None  # a vllm.LLM, started on first use
        self.batch_size = 1 << 30

    def complete_batch(self, batch: list[list[dict]]) -> list[Completion]:
        from vllm import LLM, SamplingParams

        if self._llm is None:
            try:
                self._llm = LLM(model=self.spec.model, **dict(self.spec.options))
            except Exception as e:  # unknown model, bad engine option, out of GPU memory: one line, not a trace
                first = (str(e).strip().splitlines() or [""])[0][:200]
                raise R1KError(
                    f"{self.option} {self.spec.label}: vLLM could not start the engine "
                    f"({type(e).__name__}: {first}); check the model name or path and the engine "
                    f"options after '?'"
                ) from None
        sp = SamplingParams(
            temperature=self.gen.temperature,
            max_tokens=self.gen.max_tokens,
            top_p=self.gen.top_p or 1.0,
            seed=self.gen.seed,
        )
        outs = self._llm.chat(batch, sp, use_tqdm=False)
        res = []
        for o in outs:
            c = o.outputs[0]
            res.append(Completion(c.text, c.finish_reason, len(o.prompt_token_ids or []), len(c.token_ids or [])))
        return res
