"""Exploratory: would stacking a kept developer-fold fit's chains predict better? (issue 10).

Stacking for non-mixing Bayesian computations (Yao, Vehtari & Gelman 2022, JMLR 23:79):
when chains stay in different modes, weight each chain by how well it predicts the
*training* data out of sample. Here each chain's pointwise PSIS-LOO elpd on the training
models (the cross-validation log likelihood of :func:`bayes_llm.sensitivity.crossval
.pointwise_loglik`, integrated over the model effect, on the logit-score scale) gives the
stacking weights (:func:`bayes_llm.validate.stacking.stacking_weights`, the same EM as for
specs). The weights are then applied to the chains' held-out predictive probabilities that
``chain_predictions.py`` wrote (each chain's accuracy-bin probability of each held-out
model), so that the stacked score uses nothing of the held-out models to choose the weights.
The held-out score of the stacked predictive is compared, paired, with the chains'
equal-weight mixture (what ``bayes-llm validate`` scores when all chains are pooled).

Run: ``python verification/exploratory/chain_stacking.py SPEC KEPT.nc CHAIN_SCORES.csv
[--fold F]`` (under a minute), where ``CHAIN_SCORES.csv`` is ``chain_predictions.py``'s
output for the same kept posterior. ``models/README.md`` quotes its output.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from chain_predictions import kept_fit_parser, kept_fold_fit, paired
from scipy import special

from bayes_llm.sensitivity.crossval import pointwise_loglik
from bayes_llm.validate.stacking import stacking_weights


def chain_loo(fit) -> tuple[np.ndarray, pd.DataFrame]:
    """Each chain's pointwise PSIS-LOO elpd, ``(models, chains)``, and a per-chain table."""
    ll = pointwise_loglik(fit)
    post = fit.dt["posterior"].to_dataset()
    columns, rows = [], []
    for chain in ll["chain"].values:
        tree = xr.DataTree.from_dict({
            "posterior": post.sel(chain=[chain]),
            "log_likelihood": xr.Dataset({"score": ll.sel(chain=[chain])})})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = az.loo(tree, pointwise=True, var_name="score")
        k = np.asarray(res.pareto_k).ravel()
        columns.append(np.asarray(res.elpd_i).ravel())
        rows.append({"chain": int(chain), "elpd_loo": float(res.elpd), "se": float(res.se),
                     "p_loo": float(res.p), "max_pareto_k": float(k.max()),
                     "n_k_above_good": int(np.sum(k > float(res.good_k)))})
    return np.column_stack(columns), pd.DataFrame(rows)


def main() -> None:
    """Weigh, score and print (see the module docstring)."""
    parser = kept_fit_parser(__doc__)
    parser.add_argument("chain_scores", help="chain_predictions.py's CSV for the same posterior")
    args = parser.parse_args()
    fit, _, train, _ = kept_fold_fit(args.spec, args.kept, args.fold)
    elpd, table = chain_loo(fit)
    weights, _ = stacking_weights(elpd)
    table["stacking_weight"] = weights
    print(f"{len(train)} training models; each chain's PSIS-LOO on them:")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for chain in range(1, elpd.shape[1]):
        print(f"LOO elpd chain {chain} - chain 0: {paired(elpd[:, chain] - elpd[:, 0])}")
    scores = pd.read_csv(args.chain_scores)
    held = scores[[f"chain{c}" for c in table["chain"]]].to_numpy(float)
    equal = special.logsumexp(held, axis=1) - np.log(held.shape[1])
    with np.errstate(divide="ignore"):
        stacked = special.logsumexp(held + np.log(weights)[None, :], axis=1)
    print(f"{len(scores)} held-out models, mean log score: equal-weight mixture of the chains "
          f"{equal.mean():.4f}, stacked {stacked.mean():.4f}, each chain "
          f"{np.round(held.mean(axis=0), 4).tolist()}")
    print(f"stacked - equal weights: {paired(stacked - equal)}")


if __name__ == "__main__":
    main()
