"""Out-of-sample validation of model specs, on the accuracy scale, next to the paper's OLS.

* :mod:`~bayes_llm.validate.splits`: ``time:YYYY-MM``, ``developers:K``, ``kfold:K``;
* :mod:`~bayes_llm.validate.scores`: log score of the accuracy bin, CRPS, (randomised) PIT,
  coverage, MAE, paired differences;
* :mod:`~bayes_llm.validate.reference`: the paper's OLS as a predictive reference;
* :mod:`~bayes_llm.validate.run`: fit, predict and score every spec on every fold; write
  and read the output folder;
* :mod:`~bayes_llm.validate.stacking`: stacking weights (Yao et al. 2018);
* :mod:`~bayes_llm.validate.compare`: side-by-side comparison, refusing mixed scales;
* :mod:`~bayes_llm.validate.readme_table`: the spec x score table of ``models/README.md``.
"""

from bayes_llm.validate.compare import check_one_scale, compare, comparison_text
from bayes_llm.validate.run import ValidationResult, load_validation, validate
from bayes_llm.validate.splits import make_folds, parse_split

__all__ = ["ValidationResult", "check_one_scale", "compare", "comparison_text",
           "load_validation", "make_folds", "parse_split", "validate"]
