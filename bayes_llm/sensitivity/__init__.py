"""Sensitivity analysis: how much do the headline figures depend on the modelling choices.

* :mod:`~bayes_llm.sensitivity.study` - study files (``studies/*.toml``): a base spec and
  named variations along axes, expanded one at a time or as a grid;
* :mod:`~bayes_llm.sensitivity.runner` - fit every variant (cached by spec + data hash,
  in parallel locally or on a Dask cluster) and tabulate the headline figures;
* :mod:`~bayes_llm.sensitivity.psense` - power-scaling prior/likelihood sensitivity of the
  headline figures of one fit, without refitting;
* :mod:`~bayes_llm.sensitivity.crossval` - PSIS-LOO and leave-developers-out K-fold
  cross-validation and a comparison table across variants;
* :mod:`~bayes_llm.sensitivity.plots` - forest and tornado plots.
"""

from bayes_llm.sensitivity.crossval import CrossvalResult, loo_variant, run_crossval
from bayes_llm.sensitivity.psense import PsenseResult, psense_headline
from bayes_llm.sensitivity.runner import StudyResult, format_table, run_study
from bayes_llm.sensitivity.study import (
    Level,
    Study,
    Variant,
    load_study,
    study_from_dict,
)

__all__ = [
    "CrossvalResult",
    "Level",
    "PsenseResult",
    "Study",
    "StudyResult",
    "Variant",
    "format_table",
    "load_study",
    "loo_variant",
    "psense_headline",
    "run_crossval",
    "run_study",
    "study_from_dict",
]
