"""Predictions for new models from a saved fit (issue 10).

* :func:`predict` (also ``bayes_llm.predict``): predictive draws of the latent score and of
  accuracy for every row of a table, new developers, lineages and later periods included;
  returns a :class:`Prediction` (summary, per-draw CDF for scoring rules).
* :func:`compute_needed`: the compute a developer needs to reach an accuracy in a period.
* :mod:`~bayes_llm.prediction.output`: the files of ``bayes-llm predict``.

The rules for units and periods the fit has not seen are in the module docstrings of
:mod:`~bayes_llm.prediction.units`, :mod:`~bayes_llm.prediction.periods` and
:mod:`~bayes_llm.prediction.compute`, and in ``models/README.md``.
"""

from __future__ import annotations

from bayes_llm.prediction.needed import ComputeNeeded, compute_needed
from bayes_llm.prediction.periods import PeriodBeforeFitError, PeriodExtrapolationError
from bayes_llm.prediction.predict_rows import predict
from bayes_llm.prediction.result import DEFAULT_THRESHOLDS, Prediction
from bayes_llm.prediction.units import UnknownGroupError

__all__ = ["DEFAULT_THRESHOLDS", "ComputeNeeded", "PeriodBeforeFitError",
           "PeriodExtrapolationError", "Prediction", "UnknownGroupError", "compute_needed",
           "predict"]
