"""r1k: forward vs reverse reasoning in LLM fine-tuning (arXiv 2509.13079).

Kept import-light on purpose: a .pth hook imports this package in every Python process.
"""

__version__ = "0.1.0"
