"""bayes_llm: Bayesian hierarchical analysis of what drives LLM performance.

Data flows one way: data -> spec -> model -> fit -> derived quantities -> tables and plots.

The names below are imported on first use (``bayes_llm.load_paper_dataset`` imports pandas
then, not ``import bayes_llm``), so the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bayes_llm.compiledir import ensure_compile_dir

ensure_compile_dir()  # before anything imports PyTensor: an unwritable HOME falls back

#: Public name -> module that defines it (imported on first attribute access).
_LAZY: dict[str, str] = {
    "HDI_PROB": "bayes_llm.constants",
    "CI_KIND": "bayes_llm.constants",
    "load_model_table": "bayes_llm.data",
    "load_paper_dataset": "bayes_llm.data",
    "select_sample": "bayes_llm.data",
    "summarise": "bayes_llm.data",
    "data_location": "bayes_llm.location",
    "interval_setting": "bayes_llm.derived.summary",
    "predict": "bayes_llm.prediction",
    "Prediction": "bayes_llm.prediction",
    "compute_needed": "bayes_llm.prediction",
    "compare": "bayes_llm.validate",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from bayes_llm.constants import CI_KIND, HDI_PROB
    from bayes_llm.data import load_model_table, load_paper_dataset, select_sample, summarise
    from bayes_llm.derived.summary import interval_setting
    from bayes_llm.location import data_location
    from bayes_llm.prediction import Prediction, compute_needed, predict
    from bayes_llm.validate import compare


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bayes_llm")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = _version()
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'bayes_llm' has no attribute '{name}'")
    if name not in ("HDI_PROB", "CI_KIND"):  # constants stay live: read them each time
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, "__version__"])


__all__ = [
    "CI_KIND",
    "HDI_PROB",
    "Prediction",
    "__version__",
    "compare",
    "compute_needed",
    "data_location",
    "interval_setting",
    "load_model_table",
    "load_paper_dataset",
    "predict",
    "select_sample",
    "summarise",
]
