"""bayes_llm: Bayesian hierarchical analysis of what drives LLM performance.

Data flows one way: data -> spec -> model -> fit -> derived quantities -> tables and plots.
"""

from importlib.metadata import PackageNotFoundError, version

from bayes_llm.compiledir import ensure_compile_dir
from bayes_llm.constants import HDI_PROB
from bayes_llm.data import load_model_table, load_paper_dataset, select_sample, summarise

ensure_compile_dir()  # before anything imports PyTensor: an unwritable HOME falls back

try:
    __version__ = version("bayes_llm")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "HDI_PROB",
    "__version__",
    "load_model_table",
    "load_paper_dataset",
    "select_sample",
    "summarise",
]
