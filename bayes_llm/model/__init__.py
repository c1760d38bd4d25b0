"""The hierarchical Bayesian model: spec -> data arrays -> PyMC model -> fit -> diagnostics.

The names below are loaded on first use (PEP 562), so reading a saved fit
(``from bayes_llm.model import load_fit``) does not import PyMC; building or fitting a
model does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "build_model": "bayes_llm.model.build",
    "linear_components": "bayes_llm.model.components",
    "ModelData": "bayes_llm.model.design",
    "prepare_data": "bayes_llm.model.design",
    "Diagnostics": "bayes_llm.model.diagnostics",
    "diagnose": "bayes_llm.model.diagnostics",
    "Fit": "bayes_llm.model.fit",
    "fit_model": "bayes_llm.model.fit",
    "load_fit": "bayes_llm.model.fit",
    "ModelSpec": "bayes_llm.model.spec",
    "available_specs": "bayes_llm.model.spec",
    "load_spec": "bayes_llm.model.spec",
    "spec_from_dict": "bayes_llm.model.spec",
}

if TYPE_CHECKING:
    from bayes_llm.model.build import build_model
    from bayes_llm.model.components import linear_components
    from bayes_llm.model.design import ModelData, prepare_data
    from bayes_llm.model.diagnostics import Diagnostics, diagnose
    from bayes_llm.model.fit import Fit, fit_model, load_fit
    from bayes_llm.model.spec import ModelSpec, available_specs, load_spec, spec_from_dict


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bayes_llm.model' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Diagnostics",
    "Fit",
    "ModelData",
    "ModelSpec",
    "available_specs",
    "build_model",
    "diagnose",
    "fit_model",
    "linear_components",
    "load_fit",
    "load_spec",
    "prepare_data",
    "spec_from_dict",
]
