"""Versioned prompt templates of the inversion teacher (our own few-shot exemplars).

A template is frozen once released: change the text only under a new version name, because the
version is part of every response-cache key and of ``meta.inversion.prompt_version``.

The teacher is asked to keep the forward problem's setting, state the forward answer as given,
hide one premise the forward question gave, and write the reverse question, its short answer and
a full step-by-step reverse trace (plain text; ``r1k data mix`` adds the trace markup). The reply
is one JSON object; with a reasoning teacher it is read from the final answer only (after
``</think>`` or the s1 ``<|im_start|>answer`` marker), never from a draft in its thinking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SYSTEM_V1 = """You write reverse versions of reasoning problems.

A forward problem gives premises (quantities or facts) and asks for an answer. Its reverse problem
keeps the same setting and wording as far as possible, STATES the forward problem's final answer as
a known fact, and HIDES exactly one premise that the forward problem gave; it asks for that premise.

Rules:
1. Hide a premise the forward problem states explicitly (a number, quantity or fact), so that the
   reverse problem has one checkable short answer: the hidden premise's value.
2. The reverse question must contain the forward answer and must NOT contain the hidden value.
3. Keep every other premise and the setting unchanged; the reverse question is self-contained.
4. "reasoning" is a complete step-by-step solution of the reverse question (several steps, each
   justified), written as a careful solver would, and its last sentence states the hidden value
   as \\boxed{...}.
5. "reverse_answer" is only the hidden value (a number, expression or short phrase), no units.

Reply with exactly one JSON object and nothing else:
{"reverse_question": "...", "reverse_answer": "...", "reasoning": "..."}"""

_EXEMPLARS_V1 = [
    {
        "question": "A baker makes 12 trays of cookies with 18 cookies on each tray. She sells all but 40 "
        "cookies. How many cookies does she sell?",
        "answer": "176",
        "reply": {
            "reverse_question": "A baker makes some trays of cookies with 18 cookies on each tray. She sells "
            "all but 40 cookies, and she sells 176 cookies. How many trays of cookies "
            "did she make?",
            "reverse_answer": "12",
            "reasoning": "Let t be the number of trays. The baker makes 18t cookies.\n"
            "She keeps 40 cookies and sells the rest, so she sells 18t - 40 cookies.\n"
            "We are told she sells 176 cookies, so 18t - 40 = 176.\n"
            "Adding 40 to both sides gives 18t = 216.\n"
            "Dividing by 18 gives t = 12.\n"
            "Check: 12 trays of 18 make 216 cookies; 216 - 40 = 176, as stated.\n"
            "So the baker made \\boxed{12} trays.",
        },
    },
    {
        "question": "Find the remainder when $2^{10}$ is divided by $7$.",
        "answer": "2",
        "reply": {
            "reverse_question": "The remainder when $2^{n}$ is divided by $7$ is $2$, where $n$ is a positive "
            "integer with $8 \\le n \\le 12$. Find $n$.",
            "reverse_answer": "10",
            "reasoning": "Powers of 2 modulo 7 repeat with period 3: $2^1 \\equiv 2$, $2^2 \\equiv 4$, "
            "$2^3 \\equiv 1 \\pmod 7$.\n"
            "So $2^n \\equiv 2 \\pmod 7$ exactly when $n \\equiv 1 \\pmod 3$.\n"
            "Among $8, 9, 10, 11, 12$ the only value with $n \\equiv 1 \\pmod 3$ is $10$.\n"
            "Check: $2^{10} = 1024 = 7 \\cdot 146 + 2$, so the remainder is 2.\n"
            "Therefore $n = \\boxed{10}$.",
        },
    },
    {
        "question": "A rectangle has a perimeter of 30 cm and a width of 5 cm. What is its area in square cm?",
        "answer": "50",
        "reply": {
            "reverse_question": "A rectangle has a width of 5 cm and an area of 50 square cm. What is its "
            "perimeter in cm?",
            "reverse_answer": "30",
            "reasoning": "The area is width times length, so 5 * L = 50 and the length is L = 10 cm.\n"
            "The perimeter is 2 * (length + width) = 2 * (10 + 5).\n"
            "That is 2 * 15 = 30 cm.\n"
            "Check: a 10 cm by 5 cm rectangle has area 50, as stated.\n"
            "So the perimeter is \\boxed{30} cm.",
        },
    },
]

USER_V1 = """Forward problem:
{question}

Forward answer: {answer}

Write its reverse problem as one JSON object."""


@dataclass(frozen=True)
class InvertPrompt:
    version: str
    system: str
    user: str
    exemplars: tuple

    def messages(self, question: str, answer: str) -> list[dict]:
        """The chat sent to the teacher for one forward item (system, few-shot turns, the item)."""
        return self.context() + self.item(question, answer)

    def item(self, question: str, answer: str) -> list[dict]:
        """The item's own turn (what follows the shared context)."""
        return [{"role": "user", "content": self.user.format(question=question.strip(), answer=answer.strip())}]

    def context(self) -> list[dict]:
        """The leading messages shared by every item: the system turn and the few-shot turns (a new list
        of the same, cached, message dicts on every call)."""
        return list(_context(self))

    def _build_context(self) -> list[dict]:
        msgs = [{"role": "system", "content": self.system}]
        for ex in self.exemplars:
            msgs.append({"role": "user", "content": self.user.format(question=ex["question"], answer=ex["answer"])})
            msgs.append({"role": "assistant", "content": json.dumps(ex["reply"], ensure_ascii=False)})
        return msgs


_CONTEXTS: dict[int, tuple[InvertPrompt, tuple]] = {}


def _context(p: InvertPrompt) -> tuple:
    """The prompt's shared messages, built once per prompt object."""
    hit = _CONTEXTS.get(id(p))
    if hit is None or hit[0] is not p:
        hit = _CONTEXTS[id(p)] = (p, tuple(p._build_context()))
    return hit[1]


PROMPTS: dict[str, InvertPrompt] = {
    "invert-v1": InvertPrompt("invert-v1", SYSTEM_V1, USER_V1, tuple(_EXEMPLARS_V1)),
}
DEFAULT_PROMPT = "invert-v1"


def get_prompt(version: str) -> InvertPrompt:
    from r1k_plugins.core.errors import R1KError

    if version not in PROMPTS:
        raise R1KError(f"unknown teacher prompt version {version!r}; known: {', '.join(PROMPTS)}")
    return PROMPTS[version]
