"""Per-benchmark compute share and company share of the joint benchmark model.

The same estimand as the headline's single-benchmark company share, definition (a) of
:mod:`bayes_llm.derived.company` (Nakagawa & Schielzeth 2013; Nakagawa, Johnson &
Schielzeth 2017): a superpopulation share of variance on each benchmark's latent logit
scale, per posterior draw. For benchmark b of :mod:`bayes_llm.model.leaderboard6`:

    total_b = V_fixed,b + V_dev,b + V_period,b + V_ability,b + V_model,b + V_dist,b

* ``V_fixed,b = Var_i(beta_b x_i)``: the fixed part of the linear predictor, the compute
  term (periods are exchangeable, so they are a random block), population variance
  (ddof 0) over all models in the fit (also those without a score on b);
* ``V_dev,b = sigma_developer_b**2``: the between-developer variance (the b-th diagonal
  entry of the LKJ covariance);
* ``V_period,b = sigma_period**2 + sigma_period_benchmark**2`` (shared period effects
  plus the benchmark's period deviations; zero with one period);
* ``V_ability,b = ability_loading_b**2``: the model-level common ability (theta has
  superpopulation variance 1) times its loading;
* ``V_model,b``: the benchmark-specific model residual, ``sigma_model_b**2`` for a count
  benchmark, zero for IFEval (whose Beta noise is its residual, below);
* ``V_dist,b``: the distribution-specific variance of a model's observed logit score
  given its latent score. Count benchmarks: the delta-method binomial term of
  :func:`bayes_llm.derived.company.residual_variances`, ``mean_i p_i (1 - p_i) / (n
  [(1 - g) s_i (1 - s_i)]**2)`` with ``s_i = logistic(eta_ib)`` at the posterior mean of
  ``eta`` (of ``mu``, eta's mean, when the residuals are integrated out: ``marginal``).
  IFEval: the exact variance of ``logit(y)`` for ``y ~ Beta(m phi, (1 - m)
  phi)``, ``trigamma(m phi) + trigamma((1 - m) phi)``, averaged over the models, with
  ``m_i = logistic(mu_ib)`` at the posterior mean of ``mu`` (a plug-in, as for counts),
  per draw of ``phi``.

``company_share_b = V_dev,b / total_b`` and ``compute_share_b = V_fixed,b / total_b``
(the compute share in the same partition). Both are shares of a benchmark's latent
variance, so they compare across benchmarks only as shares, not as logits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit, polygamma

from bayes_llm.derived.summary import SAMPLE_DIMS, summarise_draws

#: Variance blocks of :func:`benchmark_variance_components`, in order.
BLOCKS: tuple[str, ...] = ("fixed", "developer", "period", "ability", "model", "dist")


def latent_mean(posterior: xr.Dataset, data) -> np.ndarray:
    """Posterior mean of the linear predictor ``mu``, shape ``(model, benchmark)``.

    ``data`` is the :class:`~bayes_llm.model.leaderboard6.Leaderboard6Data` of the fit.
    """
    def mean(name):
        return posterior[name].mean(SAMPLE_DIMS).values

    # lambda_b theta_i is a product of two parameters: average the product
    ability = (posterior["ability_loading"] * posterior["ability"]).mean(SAMPLE_DIMS)
    mu = (mean("alpha")[None, :] + mean("beta")[None, :] * data.x[:, None]
          + ability.transpose("model", "benchmark").values
          + mean("developer_effect")[data.developer_idx])
    if "period_effect" in posterior:
        mu = mu + mean("period_effect")[data.period_idx][:, None]
        mu = mu + mean("period_benchmark_effect").T[data.period_idx]
    return mu


def _draws(values: np.ndarray, like: xr.DataArray) -> xr.DataArray:
    return xr.DataArray(values, dims=SAMPLE_DIMS,
                        coords={d: like[d] for d in SAMPLE_DIMS})


def benchmark_variance_components(posterior: xr.Dataset, data) -> xr.Dataset:
    """Variance blocks and shares per draw and benchmark (definitions in the module doc).

    Parameters
    ----------
    posterior : Dataset
        The posterior of a ``leaderboard6`` fit.
    data : Leaderboard6Data
        The data it was fitted to.

    Returns
    -------
    Dataset
        Dims ``(chain, draw, benchmark)``: ``variance_<block>`` for each of
        :data:`BLOCKS`, ``total``, ``company_share`` and ``compute_share``.
    """
    benches = list(data.benchmarks)
    beta = posterior["beta"].transpose(*SAMPLE_DIMS, "benchmark")
    zero = xr.zeros_like(beta)
    v = {"fixed": beta**2 * float(np.var(data.x)),
         "developer": posterior["sigma_developer"] ** 2,
         "ability": posterior["ability_loading"] ** 2}
    if "sigma_period" in posterior:
        v["period"] = posterior["sigma_period"] ** 2 + posterior["sigma_period_benchmark"] ** 2
    else:
        v["period"] = zero
    model = zero.copy()
    dist = zero.copy()
    counted = list(data.coords.get("count_benchmark", []))
    if "sigma_model" in posterior and counted:
        sm = posterior["sigma_model"].rename(count_benchmark="benchmark")
        model = model + (sm**2).reindex(benchmark=benches, fill_value=0.0)
        if "eta" in posterior:
            eta = posterior["eta"].mean(SAMPLE_DIMS).values
        else:  # residuals integrated out (``marginal``): eta's mean is mu
            eta = latent_mean(posterior, data)[data.count_model, data.count_benchmark]
        for b in counted:
            bi = benches.index(b)
            pick = data.count_benchmark == bi
            g, n = data.chance[bi], data.n_items[bi]
            s = expit(eta[pick])
            p = g + (1 - g) * s
            dist.loc[{"benchmark": b}] = float(np.mean(p * (1 - p)
                                                       / (n * ((1 - g) * s * (1 - s)) ** 2)))
    if "ifeval_precision" in posterior and data.y.size:
        bi = int(data.bounded_benchmark[0])
        m = expit(latent_mean(posterior, data)[data.bounded_model, bi])
        phi = posterior["ifeval_precision"].transpose(*SAMPLE_DIMS).values[..., None]
        var = (polygamma(1, m * phi) + polygamma(1, (1 - m) * phi)).mean(axis=-1)
        dist.loc[{"benchmark": benches[bi]}] = _draws(var, beta)
    v["model"], v["dist"] = model, dist
    out = {f"variance_{k}": (v[k] + zero).transpose(*SAMPLE_DIMS, "benchmark").reset_coords(drop=True)
           for k in BLOCKS}
    total = sum(out.values())
    out["total"] = total
    out["company_share"] = out["variance_developer"] / total
    out["compute_share"] = out["variance_fixed"] / total
    return xr.Dataset(out)


def benchmark_share_table(posterior: xr.Dataset, data, *,
                          hdi_prob: float | None = None) -> pd.DataFrame:
    """One row per benchmark: company share and compute share, median and interval."""
    comps = benchmark_variance_components(posterior, data)
    rows = []
    for b in data.benchmarks:
        row = {"benchmark": b}
        for name in ("company_share", "compute_share"):
            s = summarise_draws(comps[name].sel(benchmark=b), hdi_prob=hdi_prob)
            row.update({f"{name}_{k}": val for k, val in s.items()})
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["BLOCKS", "benchmark_share_table", "benchmark_variance_components", "latent_mean"]
