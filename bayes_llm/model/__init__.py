"""The hierarchical Bayesian model: spec -> data arrays -> PyMC model -> fit -> diagnostics."""

from bayes_llm.model.build import build_model
from bayes_llm.model.components import linear_components
from bayes_llm.model.design import ModelData, prepare_data
from bayes_llm.model.diagnostics import Diagnostics, diagnose
from bayes_llm.model.fit import Fit, fit_model, load_fit
from bayes_llm.model.spec import ModelSpec, available_specs, load_spec, spec_from_dict

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
