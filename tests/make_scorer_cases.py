"""Write tests/scorer_cases.jsonl: the local answer-equivalence agreement set (hand-written cases in
the style of peer scorers' suites: math_verify, Hendrycks MATH ``is_equiv``, prm800k, qwen2.5-math).

Each line: ``{"id", "category", "response", "gold", "answer_type", "expected"}``; ``response`` is a
whole model response. Every (prediction, gold) pair is written into two response styles, rotating
through boxed / 'Final Answer:' text / s1 trace / think tags. Run from the repo root:
``python tests/make_scorer_cases.py`` (deterministic; the JSONL is committed).
"""

from __future__ import annotations

import json
from pathlib import Path

T, F = True, False

# (prediction, gold, answer_type, expected); "plain" predictions are written without $...$
PAIRS: dict[str, list[tuple]] = {
    "mixed_number": [
        ("7 2/3", "\\frac{23}{3}", "expression", T), ("7 2/3", "23/3", "numeric", T),
        ("-7 2/3", "-\\frac{23}{3}", "expression", T), ("+7 2/3", "23/3", "numeric", T),
        ("7\\frac{2}{3}", "23/3", "expression", T), ("7 \\frac{2}{3}", "\\frac{23}{3}", "numeric", T),
        ("1,234 1/2", "1234.5", "numeric", T), ("12 345 1/2", "12345.5", "numeric", T),
        ("5 0/3", "5", "numeric", T), ("7 2/0", "7", "numeric", F), ("7 2/0", "\\frac{23}{3}", "expression", F),
        ("7 + 2/3", "\\frac{23}{3}", "expression", T), ("7 + 2/3", "7 2/3", "expression", T),
        ("7 2/3", "14/3", "expression", F), ("7 2/3", "72/3", "numeric", F), ("7 2/3", "24", "numeric", F),
        ("2 1/2\\%", "2.5\\%", "expression", T), ("2 1/2%", "0.025", "numeric", T),
        ("3 1/4", "3.25", "numeric", T), ("3 1/4", "3.75", "numeric", F),
        ("-2 1/2", "-2.5", "numeric", T), ("-2 1/2", "-1.5", "numeric", F),
        ("\\frac{23}{3}", "7 2/3", "expression", T), ("-\\frac{5}{2}", "-2 1/2", "numeric", T),
        ("2\\tfrac{1}{4}", "2.25", "numeric", T), ("4 1/2 \\text{ hours}", "4.5", "numeric", T),
    ],
    "latex_thousands": [
        ("12,\\! 345", "12345", "numeric", T), ("12,\\!345", "12345", "expression", T),
        ("\\$2,\\!500", "2500", "numeric", T), ("2,\\!500", "2500.00", "numeric", T),
        ("1,\\!000,\\!000", "1000000", "numeric", T), ("12{,}345", "12345", "expression", T),
        ("12\\,345", "12345", "numeric", T), ("12,\\!345", "12346", "numeric", F),
        ("\\$2,\\!500", "25", "numeric", F), ("12345", "12,\\!345", "numeric", T),
        ("\\$1,\\!234.50", "1234.5", "numeric", T), ("-4,\\!096", "-4096", "expression", T),
        ("12 345", "12345", "numeric", T), ("1{,}000{,}000", "10^6", "expression", T),
    ],
    "plain_text_math": [
        ("sqrt(3)*2", "2\\sqrt{3}", "expression", T), ("2*sqrt(3)", "2\\sqrt3", "expression", T),
        ("3*(2 + 1)", "9", "numeric", T), ("3(2 + 1)", "9", "numeric", T), ("3(2 + 1)", "9", "expression", T),
        ("(2*sqrt(7))/5", "\\frac{2\\sqrt{7}}{5}", "expression", T), ("\\sqrt[3]{3}", "3**(1/3)", "expression", T),
        ("3^(1/3)", "3**(1/3)", "expression", T), ("3**(1/3)", "\\sqrt[3]{3}", "expression", T),
        ("sqrt(2)/2", "\\frac{\\sqrt{2}}{2}", "expression", T), ("sqrt(3)*2", "3\\sqrt{2}", "expression", F),
        ("3(2+1)", "6", "numeric", F), ("2**10", "1024", "numeric", T), ("pi/4", "\\frac{\\pi}{4}", "expression", T),
        ("x**2 + 2*x + 1", "(x+1)^2", "expression", T), ("x**2 + 2*x", "(x+1)^2", "expression", F),
        ("1/(2*sqrt(2))", "\\frac{\\sqrt2}{4}", "expression", T), ("sqrt(16)", "4", "numeric", T),
        ("2*pi", "2\\pi", "expression", T), ("__import__('os').system('true')", "0", "expression", F),
        ("(1/2)**2", "0.25", "numeric", T), ("2**(-1)", "\\frac12", "expression", T),
        ("\\frac{2\\sqrt{7}}{5}", "(2*sqrt(7))/5", "expression", T), ("9", "3*(2 + 1)", "numeric", T),
        ("2\\sqrt{3}", "sqrt(3)*2", "expression", T), ("sqrt(3)/3", "1/sqrt(3)", "expression", T),
        ("4/3*pi", "\\frac{4\\pi}{3}", "expression", T), ("sqrt(2)", "1.5", "expression", F),
    ],
    "percent_words": [
        ("12.5 pct", "12.5\\%", "expression", T), ("12.5 percentage", "0.125", "numeric", T),
        ("12.5\\text{ percent}", "12.5\\%", "expression", T), ("12.5 percent", "0.125", "numeric", T),
        ("12.5 pct", "0.125", "numeric", T), ("12.5 per cent", "12.5", "numeric", T),
        ("12.5 pct", "0.15", "numeric", F), ("40\\text{ percent}", "\\frac{2}{5}", "expression", T),
        ("12.5 percentage points", "12.5", "numeric", T), ("12.5\\text{ pct}", "0.125", "expression", T),
        ("30 percent", "0.3", "expression", T), ("30 percent", "0.03", "numeric", F),
        ("0.125", "12.5 percent", "numeric", T), ("\\frac{1}{8}", "12.5\\text{ percent}", "expression", T),
    ],
    "assignment": [
        ("y=3", "3=y", "expression", T), ("3", "3=y", "numeric", T), ("3", "3=y", "expression", T),
        ("3=y", "y=3", "expression", T), ("4", "3=y", "numeric", F), ("\\frac12=x", "x=\\frac{1}{2}", "expression", T),
        ("y = 3.0", "3=y", "numeric", T), ("y = 1 + 2x", "y=2x+1", "expression", T),
        ("y=2x+1", "2x+1=y", "expression", T), ("y=2x+2", "2x+1=y", "expression", F),
        ("k = 17", "17", "numeric", T), ("17 = k", "17", "expression", T), ("y = 4", "3=y", "expression", F),
        ("x=-\\frac{3}{2}", "-1.5", "expression", T),
    ],
    "matrix": [
        ("\\begin{pmatrix} \\dfrac{1}{3} & 2 \\\\ 0 & 1 \\end{pmatrix}",
         "\\begin{pmatrix} 1/3 & 2 \\\\ 0 & 1 \\end{pmatrix}", "expression", T),
        ("\\begin{bmatrix} 0.5 & 1 \\end{bmatrix}", "\\begin{pmatrix} \\frac12 & 1 \\end{pmatrix}", "expression", T),
        ("\\begin{pmatrix} 1/3 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1/3 & 3 \\end{pmatrix}", "expression", F),
        ("\\begin{pmatrix} -\\tfrac{2}{3} \\\\ 4 \\end{pmatrix}", "\\begin{pmatrix} -2/3 \\\\ 4 \\end{pmatrix}",
         "expression", T),
        ("\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "expression", F),
        ("\\begin{pmatrix} \\frac{\\sqrt{3}}{2} & -\\frac12 \\\\ \\frac12 & \\frac{\\sqrt3}{2} \\end{pmatrix}",
         "\\begin{pmatrix} \\sqrt{3}/2 & -1/2 \\\\ 1/2 & \\sqrt{3}/2 \\end{pmatrix}", "expression", T),
        ("\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}", "\\begin{pmatrix} 2 & 0 \\\\ 0 & 3 \\end{pmatrix}",
         "expression", F),
        ("\\left(\\begin{matrix} 0.25 \\\\ 3 \\end{matrix}\\right)",
         "\\begin{pmatrix} \\dfrac{1}{4} \\\\ 3 \\end{pmatrix}", "expression", T),
    ],
    "factorial": [
        ("\\frac{10!}{3!7!}", "120", "numeric", T), ("\\frac{10!}{3! \\cdot 7!}", "120", "expression", T),
        ("\\dfrac{5!}{2!3!}", "10", "numeric", T), ("\\frac{6!}{2}", "360", "expression", T),
        ("\\frac{10!}{3!7!}", "720", "numeric", F), ("\\frac{8!}{(2!)^4}", "2520", "expression", T),
        ("120", "\\frac{10!}{3!\\,7!}", "numeric", T), ("\\frac{7!}{2!5!}", "\\binom{7}{2}", "expression", T),
        ("\\frac{4!}{2!}", "10", "numeric", F),
    ],
    "classic": [
        ("\\frac{1}{2}", "0.5", "numeric", T), ("\\dfrac12", "\\frac{1}{2}", "expression", T),
        ("10^\\circ", "10", "numeric", T), ("\\$5.00", "5", "numeric", T), ("5\\text{ cm}", "5", "numeric", T),
        ("(1,2)", "(1, 2)", "expression", T), ("\\{1,2\\}", "\\{2,1\\}", "expression", T),
        ("[2,5)", "[2,5)", "expression", T), ("[2,5)", "(2,5]", "expression", F),
        ("x^2+2x+1", "(x+1)^2", "expression", T), ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", "expression", T),
        ("0.333", "\\frac13", "numeric", F), ("2\\pi", "6.28", "expression", F),
        ("\\infty", "\\infty", "expression", T),
        ("-\\infty", "\\infty", "expression", F), ("\\sqrt{8}", "2\\sqrt{2}", "expression", T),
        ("3+4i", "4i+3", "expression", T), ("50\\%", "0.5", "numeric", T), ("1,000", "1000", "numeric", T),
        ("x \\in [1,3]", "[1,3]", "expression", T), ("(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2)\\cup(3,\\infty)",
                                                       "expression", T),
        ("\\frac{3}{4}", "\\frac{4}{3}", "expression", F), ("-5", "5", "numeric", F), ("6", "6.0", "numeric", T),
        ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", "expression", T), ("2^{10}", "1024", "numeric", T),
        ("Ice Cream", "ice-cream", "text", T), ("New York", "new york city", "text", F),
        ("(C)", "C", "choice", T), ("\\text{(B)}", "D", "choice", F),
        ("\\frac{\\pi}{3}", "60^\\circ", "expression", F), ("1.5", "\\frac{3}{2}", "expression", T),
        ("\\text{even}", "\\text{Even}", "text", T), ("0", "0.0", "numeric", T), ("-0.75", "-\\frac34", "numeric", T),
    ],
}
PLAIN = {"plain_text_math"}


def _wrap(style: int, pred: str, plain: bool) -> str:
    m = pred if plain else f"${pred}$"
    if style == 0:
        return f"We simplify step by step and obtain the result.\n\nTherefore the answer is $\\boxed{{{pred}}}$."
    if style == 1:
        return f"Working it through gives the value.\nFinal Answer: The final answer is {m}. I hope it is correct."
    if style == 2:
        return (f"<|im_start|>think\nLet me compute carefully; maybe \\boxed{{0}} at first.\n"
                f"<|im_start|>answer\nAnswer: {m}<|im_end|>")
    return f"<think>\nTry a few values, guess \\boxed{{0}}.\n</think>\n\n**Final Answer**\n\\[ \\boxed{{{pred}}} \\]"


# whole responses for extraction behaviour: (category, response, gold, answer_type, expected)
RESPONSES: list[tuple] = [
    # several boxes that together are the answer
    ("multi_box", "The solutions are $\\boxed{2}$ and $\\boxed{4}$.", "2, 4", "expression", T),
    ("multi_box", "So $x = \\boxed{2}, \\boxed{4}$.", "2,4", "expression", T),
    ("multi_box", "The roots are $\\boxed{-3}$, $\\boxed{5}$.", "5,-3", "expression", T),
    ("multi_box", "Hence $\\boxed{5}$ or $\\boxed{-3}$.", "5,-3", "expression", T),
    ("multi_box", "\\boxed{2}, \\boxed{3}", "2, 4", "expression", F),
    ("multi_box", "The roots are $x = -3, 5$.\n\nFinal answer: $x = -3, 5$", "5,-3", "expression", T),
    ("multi_box", "Answer: $x = 5 \\text{ or } x = -3$", "5,-3", "expression", T),
    ("multi_box", "The answer is $-3$ and $5$.", "5, -3", "expression", T),
    ("multi_box", "Answer: $\\boxed{2, 4, 6}$", "2,4", "expression", F),
    ("multi_box", "The solutions are \\boxed{1}, \\boxed{2}, and \\boxed{3}.", "1, 2, 3", "expression", T),
    ("multi_box", "The solutions are \\boxed{3}, \\boxed{2}, and \\boxed{1}.", "1,2,3", "expression", T),
    ("multi_box", "I first guessed \\boxed{3}. That fails the check in the second step, so I redo everything "
     "from the start with the corrected sign and get a different result.\n\nThe answer is \\boxed{5}.",
     "5", "numeric", T),
    ("multi_box", "Roots: $\\boxed{\\frac{1}{2}}$ and $\\boxed{-2}$", "-2, \\frac12", "expression", T),
    ("multi_box", "$\\boxed{x=1}$, $\\boxed{x=-1}$", "\\pm 1", "expression", T),
    # answers stated in text
    ("text_final", "The final answer is 17.", "17", "numeric", T),
    ("text_final", "The final answer is 17.", "17", "expression", T),
    ("text_final", "Final Answer: The smallest $k$ is 17.", "17", "expression", T),
    ("text_final", "Final Answer: The smallest $k$ is 17.", "17", "numeric", T),
    ("text_final", "Final Answer: The smallest $k$ is $17$. I hope it is correct.", "17", "expression", T),
    ("text_final", "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "0.75", "numeric", T),
    ("text_final", "The final answer is 17.<|im_end|>\n<|im_start|>user\nThanks! what is 18?", "17", "expression", T),
    ("text_final", "The final answer is $17$. This follows from the parity argument above.", "17", "expression", T),
    ("text_final", "The final answer is 17. This follows from the parity argument above.", "17", "expression", T),
    ("text_final", "Final Answer: The largest possible value of $n$ is $42$.", "42", "expression", T),
    ("text_final", "Final answer: $x = 6$", "6", "numeric", T),
    ("text_final", "Thus, the final answer is 17. I hope it is correct.", "17", "expression", T),
    ("text_final", "The final answer is 16.", "17", "numeric", F),
    ("text_final", "Final Answer: The smallest $k$ is 18.", "17", "expression", F),
    ("text_final", "Final Answer: The minimum value of $f$ is $2\\sqrt{2}$.", "2\\sqrt2", "expression", T),
    ("text_final", "Therefore, the answer is $\\frac{\\pi}{4}$.", "\\frac{\\pi}{4}", "expression", T),
    ("text_final", "The final answer is 17<|eot_id|>", "17", "expression", T),
    ("text_final", "The final answer is 17.\n\nUser: and now?", "17", "numeric", T),
    ("text_final", "So the final answer is: 2\\sqrt{3}", "sqrt(12)", "expression", T),
    ("text_final", "Final Answer: The number of ways is 35.", "35", "expression", T),
    ("text_final", "Final Answer: The number of ways is 36.", "35", "expression", F),
    ("text_final", "The answer is $5$ because $5$ is prime.", "5", "expression", T),
    # malformed or stand-in boxes
    ("malformed_box", "So the result is \\boxed {17}.", "17", "numeric", T),
    ("malformed_box", "$\\boxed {\\frac{1}{2}}$", "0.5", "expression", T),
    ("malformed_box", "Hence \x08oxed{17}.", "17", "expression", T),
    ("malformed_box", "\\begin{boxed}17\\end{boxed}", "17", "expression", T),
    ("malformed_box", "\\[\\begin{aligned}\\boxed{17}\\end{aligned}\\]", "17", "expression", T),
    ("malformed_box", "\\fbox{17}", "17", "expression", T),
    ("malformed_box", "\\framebox{17}", "17", "expression", T),
    ("malformed_box", "The answer: \\boxed{17", "17", "expression", T),
    ("malformed_box", "Therefore \\boxed{{17}}", "17", "expression", T),
    ("malformed_box", "Therefore \\\\boxed{17}", "17", "expression", T),
    ("malformed_box", "$\\boxed17$", "17", "numeric", T),
    ("malformed_box", "\\boxed{ 17 }", "17", "expression", T),
    ("malformed_box", "\\boxed {18}", "17", "expression", F),
    ("malformed_box", "\\begin{boxed} \\frac{2}{3} \\end{boxed}", "2/3", "expression", T),
    ("malformed_box", "Thus $\\mathbf{\\boxed{12}}$.", "12", "numeric", T),
    ("malformed_box", "The final answer is $\\boxed{\\text{17}}$", "17", "expression", T),
    # several boxes: a list of answers, but a flood of repeated boxes is scored on its last box (issue 20)
    ("multi_box", "the roots are \\boxed{-1} and \\boxed{3}", "3, -1", "expression", T),
    ("multi_box", "the roots are \\boxed{-1} and \\boxed{3}", "-1, 3", "expression", T),
    ("multi_box", "the roots are \\boxed{-1} and \\boxed{3}", "3", "expression", F),
    ("multi_box", "\\boxed{(1, 2)} and \\boxed{(4, 5)}", "\\{(1,2),(4,5)\\}", "expression", T),
    ("multi_box", "\\boxed{(1, 2)} and \\boxed{(4, 5)}", "(4,5),(1,2)", "expression", T),
    ("multi_box", "\\boxed{(1, 2)} and \\boxed{(4, 5)}", "(1,2),(4,6)", "expression", F),
    ("multi_box", "\\boxed{3}\n" * 30 + "\\boxed{5}", "5", "numeric", T),
    ("multi_box", " ".join(["\\boxed{9}"] * 400) + " \\boxed{42}", "42", "expression", T),
    ("multi_box", "\\boxed{3}, \\boxed{3}, \\boxed{5}", "5", "numeric", T),
    ("multi_box", "\\boxed{10} and then \\boxed{42}", "\\{10,42\\}", "expression", F),
    # percent of a mixed number
    ("percent_mixed", "The answer is 5 1/2%.", "0.055", "numeric", T),
    ("percent_mixed", "The rate is 5 1/2%.", "0.055", "numeric", T),
    ("percent_mixed", "The rate is 5 1/2 percent.", "0.055", "numeric", T),
    ("percent_mixed", "\\boxed{5 1/2\\%}", "0.055", "numeric", T),
    ("percent_mixed", "\\boxed{5\\frac12\\%}", "0.055", "numeric", T),
    ("percent_mixed", "The answer is $5\\frac{1}{2}\\%$", "0.055", "numeric", T),
    ("percent_mixed", "\\boxed{5\\tfrac{1}{2}\\%}", "5.5\\%", "expression", T),
    ("percent_mixed", "\\boxed{5 1/2\\%}", "0.065", "numeric", F),
    ("percent_mixed", "The rate is 5 1/2%.", "0.5", "numeric", F),
    ("percent_mixed", "\\boxed{5 1/2\\%}", "5.5", "numeric", F),
    ("percent_mixed", "\\boxed{4 4/9\\%}", "40/900", "expression", T),
    ("percent_mixed", "\\boxed{4 4/9 percent}", "\\frac{40}{9}", "expression", F),
    ("percent_mixed", "\\boxed{4 4/9\\%}", "4 4/9\\%", "expression", T),
    ("mixed_number", "The answer is 11 6/6.", "12", "expression", F),
    ("mixed_number", "\\boxed{11 7/6}", "73/6", "expression", F),
    ("mixed_number", "There are 4 objects and 4/9 remain.", "4/9", "expression", T),
    # unicode numerals
    ("unicode", "\\boxed{½}", "0.5", "numeric", T),
    ("unicode", "\\boxed{-½}", "-1/2", "numeric", T),
    ("unicode", "\\boxed{2¼}", "9/4", "numeric", T),
    ("unicode", "\\boxed{2¼}", "21/4", "numeric", F),
    ("unicode", "The answer is ½", "\\frac12", "expression", T),
    ("unicode", "\\boxed{5½%}", "0.055", "numeric", T),
    ("unicode", "答案是 \\boxed{４２}", "42", "numeric", T),
    ("unicode", "答案是 ４２", "42", "numeric", T),
    ("unicode", "\\boxed{三}", "3", "numeric", T),
    ("unicode", "答案是三", "3", "numeric", T),
    ("unicode", "\\boxed{十二}", "12", "numeric", T),
    ("unicode", "\\boxed{二〇二四}", "2024", "numeric", T),
    ("unicode", "\\boxed{三}", "4", "numeric", F),
    ("unicode", "\\boxed{−3}", "-3", "numeric", T),
    ("unicode", "\\boxed{2π}", "2\\pi", "expression", T),
    ("unicode", "so the number is 10 which is 1,000.99m²", "1000.99", "numeric", T),
    # a letter stated in prose; sets of letters
    ("choice_prose", "so I'd go with C", "C", "choice", T),
    ("choice_prose", "it can't be A or B, the answer is D", "D", "choice", T),
    ("choice_prose", "it can't be A or B, the answer is D", "A", "choice", F),
    ("choice_prose", "Option C is correct.", "C", "choice", T),
    ("choice_prose", "A is wrong and B is wrong, so C is correct", "C", "choice", T),
    ("choice_prose", "Answer: B\n\nExplanation: A and C are wrong", "B", "choice", T),
    ("choice_prose", "The answer is C and D is wrong.", "C", "choice", T),
    ("choice_prose", "ANSWER: A, B", "A", "choice", F),
    ("choice_prose", "ANSWER: A", "A, B", "choice", F),
    ("choice_prose", "ANSWER: A, B", "A, B", "choice", T),
    ("choice_prose", "ANSWER: B, A", "A,B", "choice", T),
    ("choice_prose", "ANSWER: A,B", "AB", "choice", T),
    ("choice_prose", "ANSWERS: A", "A", "choice", T),
    ("choice_prose", "The answers are A and C.", "A, C", "choice", T),
    ("choice_prose", "The correct answer is: **B) 42**", "B", "choice", T),
    # matrices
    ("matrix", "The answer is \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}",
     "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "expression", T),
    ("matrix", "\\boxed{\\begin{pmatrix} 1/\\sqrt{2} \\\\ 1/\\sqrt{2} \\end{pmatrix}}",
     "\\begin{pmatrix} \\frac{\\sqrt2}{2} \\\\ \\frac{\\sqrt{2}}{2} \\end{pmatrix}", "expression", T),
    ("matrix", "\\boxed{\\begin{pmatrix} 1/\\sqrt{2} \\\\ 1/\\sqrt{3} \\end{pmatrix}}",
     "\\begin{pmatrix} \\frac{\\sqrt2}{2} \\\\ \\frac{\\sqrt{2}}{2} \\end{pmatrix}", "expression", F),
    ("matrix", "Final answer:\n\\begin{pmatrix}\n1 \\\\\n2\n\\end{pmatrix}", "\\begin{bmatrix}1\\\\2\\end{bmatrix}",
     "expression", T),
    ("matrix", "\\begin{pmatrix} 1/\\sqrt{2} & 1/\\sqrt{2} \\\\ -1/\\sqrt{2} & 1/\\sqrt{2} \\end{pmatrix}",
     "\\begin{pmatrix} 1/\\sqrt{2} & 1/\\sqrt{2} \\\\ -1/\\sqrt{2} & 1/\\sqrt{2} \\end{pmatrix}", "expression", T),
    ("matrix", "So we get\n\\begin{pmatrix} 2 \\\\ 3 \\end{pmatrix}", "\\begin{pmatrix} 2 \\\\ 4 \\end{pmatrix}",
     "expression", F),
    # loose box spellings, trailing punctuation in math, a response running into a new turn
    ("malformed_box", "so the answer is boxed {42}", "42", "numeric", T),
    ("malformed_box", "so the answer is boxed{42}", "42", "expression", T),
    ("malformed_box", "so \u25a1{42}", "42", "expression", T),
    ("malformed_box", "so \\beginboxed{42}", "42", "expression", T),
    ("malformed_box", "\\beginboxed{8\\sqrt{6}}", "8\\sqrt{6}", "expression", T),
    ("malformed_box", "so the answer is boxed {41}", "42", "numeric", F),
    ("malformed_box", "The answer is $\\sqrt{3}.$", "\\sqrt{3}", "expression", T),
    ("malformed_box", "We get $\\sqrt{3}.$", "\\sqrt{3}", "expression", T),
    ("malformed_box", "\\boxed{\\sqrt{3}.}", "\\sqrt{3}", "expression", T),
    ("chat_turn", "Thus the probability is 2/3. <|im_start|>user\nWhat is 5/7?<|im_end|>\n<|im_start|>assistant\n"
     "The answer is 5/7.", "2/3", "expression", T),
    ("chat_turn", "So it is $\\frac{2}{3}$. <|im_start|>user\nnext: 5?", "2/3", "numeric", T),
    ("chat_turn", "Thus the probability is 2/3. <|im_start|>user\nWhat is 5/7?", "5/7", "expression", F),
    ("chat_turn", "The answer is 72.\n\nQuestion: Weng earns $12 an hour", "72", "numeric", T),
    # ellipses: an infinite list is not a finite one
    ("ellipsis", "\\boxed{1, 2, 3, \\ldots}", "1, 2, 3", "expression", F),
    ("ellipsis", "\\boxed{1, 2, 3, ...}", "1, 2, 3", "expression", F),
    ("ellipsis", "\\boxed{1, 2, 3, \\dots}", "1, 2, 3, \\ldots", "expression", T),
    ("ellipsis", "\\boxed{1, 2, 3}", "1, 2, 3, \\ldots", "expression", F),
    ("ellipsis", "\\boxed{1, 2, 3, …}", "1, 2, 3, \\dots", "expression", T),
    # peer-style: the answer as the whole response, exact integers, thousands, percent words
    ("whole_response", "odd $n$", "odd $n$", "expression", T),
    ("whole_response", "$g(x)=\\frac{1}{3} ((2x)^a +(2x)^{-a})$ for some $a>0$",
     "$g(x)=\\frac{1}{3} ((2x)^a +(2x)^{-a})$ for some $a>0$", "expression", T),
    ("whole_response", "even $n$", "odd $n$", "expression", F),
    ("whole_response", "First compute the answer.\n1234", "1234", "expression", T),
    ("whole_response", "First compute the answer.\n1234", "x=1234", "expression", T),
    ("whole_response", "1,23", "1,23", "expression", T),
    ("whole_response", "1,23", "12", "expression", F),
    ("whole_response", "AZYUK2A", "2", "numeric", F),
    ("whole_response", "The capital is Paris.", "Paris", "text", T),
    ("whole_response", "99999999999", "100000000000", "expression", F),
    ("whole_response", "$\\boxed{28 percent}", "$28\\%$", "expression", T),
    ("whole_response", "28", "$\\frac{28}{100}$", "expression", F),
    # numbers in prose: signs, unicode, punctuation, glued letters
    ("number_prose", "the result is \u00bd", "0.5", "numeric", T),
    ("number_prose", "answer 2\u00bd", "2.5", "numeric", T),
    ("number_prose", "the answer is -\u00bd extra", "-0.5", "numeric", T),
    ("number_prose", "answer: \u22125", "-5", "numeric", T),
    ("number_prose", "result: \u4e09", "3", "numeric", T),
    ("number_prose", "The answer is 42!", "42", "numeric", T),
    ("number_prose", "The answer is (42).", "42", "numeric", T),
    ("number_prose", "The answer is [42]", "42", "numeric", T),
    ("number_prose", "The answer is 42abc", "42", "numeric", F),
    ("number_prose", "5abc", "5", "numeric", F),
    ("number_prose", "It measures 5cm.", "5", "numeric", T),
    ("number_prose", "The answer is 25", "5", "numeric", F),
    ("number_prose", "the value is 110", "10", "numeric", F),
    ("number_prose", "the value is 1000", "1e3", "numeric", T),
    ("number_prose", "the value is 1000", "1e4", "numeric", F),
    ("number_prose", "28 + 32 = 60\nThis solves the problem.", "60", "numeric", T),
    ("number_prose", "The answer is (1, 2).", "(2,1)", "expression", F),
    ("chat_turn", "so P(A) = 2/3. Therefore, the probability that Alice wins the game is 2/3. <|im_start|>user",
     "2/3", "numeric", T),
    ("chat_turn", "For each divisor $n$ we get $d = \\frac{90}{n}$. Therefore, there are 12 distinct sequences that "
     "meet the conditions. I hope it is correct. <|im_start|>user", "12", "expression", T),
    ("chat_turn", "For each divisor $n$ we get $d = \\frac{90}{n}$. Therefore, there are 13 distinct sequences that "
     "meet the conditions. <|im_start|>user\n12", "12", "expression", F),
    ("text_final", "ANSWER:\nThis is a whole new line", "This is a whole new line", "text", T),
    ("text_final", "ANSWER:\nThis is a whole new line", "This does not match", "text", F),
    ("malformed_box", "We get $x = 5,$ and stop.", "5", "expression", T),
    ("malformed_box", "\\boxed{5,}", "5", "expression", T),
    ("choice_prose", "Both A and C are correct.", "A, C", "choice", T),
    ("choice_prose", "Both A and C are correct.", "A", "choice", F),
    ("choice_prose", "The answer is C or D.", "C", "choice", F),
    ("choice_prose", "A or B? Neither. The answer is C.", "C", "choice", T),
    ("ellipsis", "The answer is 1, 2, 3, ...", "1, 2, 3", "expression", F),
    ("ellipsis", "The answer is 1, 2, 3, ...", "1, 2, 3, \\ldots", "expression", T),
    ("multi_box", "The pairs are $(1,2)$ and $(4,5)$.", "(1,2),(4,5)", "expression", T),
    ("multi_box", "The pairs are $(1,2)$ and $(4,5)$.", "(1,2),(4,6)", "expression", F),
    ("multi_box", "The roots are $-3$ and $5$.", "5", "expression", F),
    ("multi_box", "We have $x=2$ and $y=3$", "3", "expression", T),
    ("multi_box", "\\boxed{(4,5)} and \\boxed{(1,2)}", "(1,2), (4,5)", "expression", T),
    ("multi_box", "\\boxed{(2,1)} and \\boxed{(5,4)}", "(1,2),(4,5)", "expression", F),
    ("number_prose", "It holds 100mL.", "100", "numeric", T),
    ("text_final", "Final Answer: Jane started growing Sphere 3 hours ago. I hope it is correct.", "3",
     "expression", T),
    ("text_final", "Final Answer: Jane started growing Sphere 4 hours ago.", "3", "expression", F),
    ("whole_response", "Thus the share of children is $\\boxed{20 \\%}$.",
     "Solving for $x$ yields $x=1/5$, or $\\boxed{20}$ percent.", "expression", T),
    ("whole_response", "Thus the share of children is $\\boxed{25 \\%}$.",
     "Solving for $x$ yields $x=1/5$, or $\\boxed{20}$ percent.", "expression", F),
    # traces
    ("trace", "<|im_start|>think\nmaybe \\boxed{4} works, but let me check", "4", "numeric", F),
    ("trace", "<think>\nsurely \\boxed{4}", "4", "expression", F),
    ("trace", "<|im_start|>think\n\\boxed{3}\n<|im_start|>answer\nAnswer: \\boxed{4}<|im_end|>", "4", "numeric", T),
    ("trace", "<think>\n\\boxed{3}\n</think>\nSo the answer is \\boxed{4}", "3", "numeric", F),
    # prose in another script: the sentence's last number, not the whole line
    ("foreign_prose", "每个盒子装12个，共5盒，所以一共是12 × 5 = 60个苹果。", "60", "expression", T),
    ("foreign_prose", "每个盒子装12个，共5盒，所以一共是12 × 5 = 60个苹果。", "12", "expression", F),
    ("foreign_prose", "他一共走了**45公里**。", "45", "expression", T),
    ("foreign_prose", "Итак, всего получилось 36 карандашей.", "36", "expression", T),
    ("foreign_prose", "比例是7/9", "\\frac{7}{9}", "expression", T),
    ("foreign_prose", "比例是7/9", "\\frac{9}{7}", "expression", F),
    ("foreign_prose", "Сумма 8 + 9 = 17 рублей", "17", "expression", T),
    # a unit or currency sign glued to the number
    ("unit_sign", "so it is not 20, it comes to 3,450.25€", "3450.25", "expression", T),
    ("unit_sign", "so it is not 20, it comes to 3,450.25€", "20", "expression", F),
    ("unit_sign", "the floor is 12 which makes 144m² in all", "144", "expression", T),
    ("unit_sign", "The total is \\boxed{£45}", "45", "numeric", T),
    ("unit_sign", "the sum is (12 + 30 = 42).", "42", "expression", T),
    # a decimal comma, when the gold has a fractional part
    ("decimal_comma", "The answer is 3,75", "3.75", "expression", T),
    ("decimal_comma", "The answer is 3,75", "3.5", "expression", F),
    ("decimal_comma", "The answer is $2.4$", "2,4", "expression", T),
    ("decimal_comma", "The answer is $3, 5$", "3.5", "expression", F),
    ("decimal_comma", "The roots are \\boxed{3,5}", "3, 5", "expression", T),
    # a stray backslash, a number with words in \text{}
    ("number_text", "The answer is $\\boxed{64\\text{ marbles in total}}$", "64", "expression", T),
    ("number_text", "The answer is $\\boxed{64\\text{ marbles}}$", "46", "expression", F),
    ("number_text", "Final Answer: The final answer is 27\\. I hope it is correct.", "27", "expression", T),
    ("number_text", "The answer is $\\boxed{30\\text{ percent}}$", "0.3", "expression", T),
    # an option letter followed by its option text
    ("option_text", "The answer is $\\boxed{B}$", "B. $y = 3x$", "expression", T),
    ("option_text", "The answer is $\\boxed{B}$", "C. $y = 3x$", "expression", F),
    ("option_text", "The answer is \\boxed{(D) 17}", "D", "expression", T),
    ("option_text", "The answer is \\boxed{(D) 17}", "A", "expression", F),
    # choices stated in prose
    ("choice_prose", "A is ruled out by the units, and I think it's D", "D", "choice", T),
    ("choice_prose", "A is ruled out by the units, and I think it's D", "A", "choice", F),
    ("choice_prose", "My answer is definitely C; B cannot hold.", "C", "choice", T),
    ("choice_prose", "The answer is probably A, though B is close", "B", "choice", F),
    # R1-style answer tags
    ("answer_tags", "<think>\n6*7\n</think>\n<answer>42</answer>", "42", "numeric", T),
    ("answer_tags", "<think>\nhalf\n</think>\n<answer>$\\frac{1}{2}$</answer>", "0.5", "expression", T),
    ("answer_tags", "<answer>7</answer> and then 9 more rambling lines about 8", "7", "expression", T),
    ("answer_tags", "<answer>Lisbon</answer>", "lisbon", "text", T),
    ("answer_tags", "<answer>Porto</answer>", "lisbon", "text", F),
    # text answers with or without articles
    ("text_articles", "The giraffe", "giraffe", "text", T),
    ("text_articles", "An orange cat.", "orange cat", "text", T),
    ("text_articles", "The giraffe", "zebra", "text", F),
    ("text_articles", "A", "A", "text", T),
    # GSM8K's '#### N' line
    ("gsm8k_marker", "Each box has 8 pens, so 3 boxes have 24.\nShe gives away $6.\n#### 18", "18", "numeric", T),
    ("gsm8k_marker", "Each box has 8 pens, so 3 boxes have 24.\nShe gives away $6.\n#### 18", "18", "expression", T),
    ("gsm8k_marker", "Each box has 8 pens, so 3 boxes have 24.\n#### 2,400", "2400", "expression", T),
    ("gsm8k_marker", "Each box has 8 pens, so 3 boxes have 24.\n#### 24", "18", "numeric", F),
    ("gsm8k_marker", "So the total is $\\boxed{42}$.\n\n#### Verification\nAdding back gives 40 + 2.", "42",
     "expression", T),
    ("gsm8k_marker", "#### Step 1\nWe add 4 and 5 to get 9.\n#### Step 2\nThus $\\boxed{9}$", "9", "numeric", T),
    ("gsm8k_marker", "#### Step 1\nWe add 4 and 5 to get 9.\n#### Step 2\nThus $\\boxed{9}$", "1", "expression", F),
    # a short phrase of words around one number, for expression answers
    ("lone_number", "total: 7.50", "7.5", "expression", T),
    ("lone_number", "total: 7.50", "75", "expression", F),
    ("lone_number", "roughly 2.72 then", "2.72", "expression", T),
    ("lone_number", "it comes out as 3¾", "3.75", "expression", T),
    ("lone_number", "value: 七", "7", "expression", T),
    ("lone_number", "value: x + 7", "7", "expression", F),
    ("lone_number", "The answer is -¼ overall", "-0.25", "expression", T),
    ("lone_number", "The answer is n + 4 overall", "4", "expression", F),
    ("lone_number", "9 * 7 = 63\nThat settles it.", "63", "expression", T),
    ("lone_number", "9 * 7 = 63\nThat settles it.", "9", "expression", F),
    # repeating decimals are exact
    ("repeating_decimal", "So the fraction is $\\boxed{0.\\overline{6}}$.", "\\frac{2}{3}", "expression", T),
    ("repeating_decimal", "So the fraction is $\\boxed{0.\\overline{6}}$.", "0.6", "expression", F),
    ("repeating_decimal", "So the fraction is $\\boxed{1.2\\overline{3}}$.", "37/30", "numeric", T),
    ("repeating_decimal", "So the fraction is $\\boxed{0.\\overline{12}}$.", "\\frac{4}{33}", "expression", T),
    ("repeating_decimal", "So the fraction is $\\boxed{0.\\overline{12}}$.", "\\frac{12}{100}", "expression", F),
    # 'Answer:' in other languages; full-width option letters
    ("foreign_marker", "Les deux pistes donnent 8 et 9.\nRéponse : 9", "9", "expression", T),
    ("foreign_marker", "Les deux pistes donnent 8 et 9.\nRéponse : 9", "8", "expression", F),
    ("foreign_marker", "两种方法分别得到 A 和 C。\n答案：C", "C", "choice", T),
    ("foreign_marker", "两种方法分别得到 A 和 C。\n答案：C", "A", "choice", F),
    ("foreign_marker", "Die Optionen A und B scheiden aus.\nAntwort: D", "D", "choice", T),
    ("foreign_marker", "最后的选择是（Ｄ）", "D", "choice", T),
    ("foreign_marker", "答案：Ｃ", "C", "choice", T),
    ("foreign_marker", "Après calcul, la réponse est B et non D", "B", "choice", T),
    ("foreign_marker", "Après calcul, la réponse est B et non D", "D", "choice", F),
    ("foreign_marker", "D。因为 A 和 C 都不对", "D", "choice", T),
    ("foreign_marker", "D因为 A 和 C 都不对", "A", "choice", F),
    ("foreign_marker", "计算可得，答案是 $\\frac{3}{8}$", "0.375", "expression", T),
    ("number_text", "The answer is $\\frac{3}{8}\\text{ cup}$", "0.375", "expression", T),
]


def build() -> list[dict]:
    rows = []
    i = 0
    for cat, pairs in PAIRS.items():
        for pred, gold, atype, expected in pairs:
            for style in (i % 4, (i + 1) % 4):
                rows.append({"category": cat, "response": _wrap(style, pred, cat in PLAIN), "gold": gold,
                             "answer_type": atype, "expected": expected})
            i += 1
    for cat, resp, gold, atype, expected in RESPONSES:
        rows.append({"category": cat, "response": resp, "gold": gold, "answer_type": atype, "expected": expected})
    return [{"id": f"c{n:04d}", **r} for n, r in enumerate(rows)]


if __name__ == "__main__":
    out = Path(__file__).with_name("scorer_cases.jsonl")
    rows = build()
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} cases to {out}")
