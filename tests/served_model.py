"""A small real OpenAI-compatible server on 127.0.0.1 that serves a local model with transformers
``generate`` and can return the text the ways reasoning servers do (for tests/test_served.py).

``python tests/served_model.py MODEL_DIR PORT`` serves ``/v1/chat/completions``, ``/v1/completions``
and ``/v1/models``. The requested model name picks how the generated text comes back:

    tiny            content = the generated text (no reasoning markup)
    tiny-reasoning  reasoning_content = the generated text, content = "Answer: \\boxed{7}" (vLLM's
                    reasoning parser shape), finish_reason "stop"
    tiny-inline     content = "<think>\\n" + generated + "\\n</think>\\nAnswer: \\boxed{7}"
    tiny-s1         content = "<|im_start|>think\\n" + generated + "\\n<|im_start|>answer\\nAnswer: \\boxed{7}"
    tiny-cut        reasoning_content = the generated text, content "", finish_reason "length"
                    (the thinking ran out of tokens)
    tiny-inline-cut content = "<think>\\n" + generated (no closing tag), finish_reason "length"
    tiny-empty      content null, no reasoning (a broken endpoint)

The envelope is fixed; what is inside it is the model's real, sampled or greedy, generation (the
thinking opens with a fixed "Let me think.", so it is never blank).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(model_dir: str, port: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    lock = threading.Lock()

    def generate(prompt: str, max_tokens: int, temperature: float, top_p: float) -> str:
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
        kw = dict(max_new_tokens=max_tokens, pad_token_id=tok.pad_token_id or 0)
        if temperature and temperature > 0:
            kw.update(do_sample=True, temperature=temperature, top_p=top_p)
        else:
            kw.update(do_sample=False)
        with lock, torch.no_grad():
            out = model.generate(**ids, **kw)
        return tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)

    def shape(name: str, gen: str) -> tuple[dict, str]:
        ans = "Answer: \\boxed{7}"
        # the thinking: the model's own output after a fixed opening, so it is never blank (a random
        # tiny model may emit only newlines, and blank reasoning is rightly treated as none)
        think = f"Let me think.{gen}"
        if name == "tiny-reasoning":
            return {"content": ans, "reasoning_content": think}, "stop"
        if name == "tiny-inline":
            return {"content": f"<think>\n{think}\n</think>\n{ans}"}, "stop"
        if name == "tiny-s1":
            return {"content": f"<|im_start|>think\n{think}\n<|im_start|>answer\n{ans}"}, "stop"
        if name == "tiny-cut":
            return {"content": "", "reasoning_content": think}, "length"
        if name == "tiny-inline-cut":
            return {"content": f"<think>\n{think}"}, "length"
        if name == "tiny-empty":
            return {"content": None}, "stop"
        return {"content": gen}, "stop"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _send(self, obj, status=200):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.rstrip("/").endswith("/models"):
                return self._send({"object": "list", "data": [{"id": "tiny", "object": "model"}]})
            if self.path.rstrip("/").endswith("/health"):
                return self._send({"status": "ok"})
            self._send({"error": {"message": "not found"}}, 404)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = str(body.get("model", "tiny"))
            max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
            temperature = float(body.get("temperature") or 0.0)
            top_p = float(body.get("top_p") or 1.0)
            n = int(body.get("n") or 1)
            now = int(time.time())
            if self.path.rstrip("/").endswith("/chat/completions"):
                prompt = tok.apply_chat_template(body["messages"], tokenize=False, add_generation_prompt=True)
                choices = []
                for i in range(n):
                    msg, finish = shape(name, generate(prompt, max_tokens, temperature, top_p))
                    choices.append({"index": i, "finish_reason": finish, "message": {"role": "assistant", **msg}})
                return self._send(
                    {
                        "id": "r1k-test",
                        "object": "chat.completion",
                        "created": now,
                        "model": name,
                        "choices": choices,
                        "usage": {"prompt_tokens": 1, "completion_tokens": max_tokens, "total_tokens": 1},
                    }
                )
            if self.path.rstrip("/").endswith("/completions"):
                prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
                choices = []
                for i, p in enumerate(prompts):
                    msg, finish = shape(name, generate(p, max_tokens, temperature, top_p))
                    text = msg.get("content") or ""
                    if msg.get("reasoning_content"):  # a completions endpoint has no reasoning field: inline
                        text = f"<think>\n{msg['reasoning_content']}" + (f"\n</think>\n{text}" if text else "")
                    choices.append({"index": i, "text": text, "finish_reason": finish, "logprobs": None})
                return self._send(
                    {"id": "r1k-test", "object": "text_completion", "created": now, "model": name, "choices": choices}
                )
            self._send({"error": {"message": "not found"}}, 404)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"serving {model_dir} on http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
