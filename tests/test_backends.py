"""Cross-backend agreement: nutpie and PyMC's own NUTS sample the same posterior.

For every posterior element, |mean_a - mean_b| < 4 sqrt(mcse_a^2 + mcse_b^2): the two
means differ by no more than Monte Carlo error. numpyro is compared too when it and jax
are installed (otherwise the test is skipped, saying why).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from bayes_llm.errors import BackendUnavailableError
from bayes_llm.model import fit_model, load_spec
from bayes_llm.model.sampling import check_backend
from bayes_llm.verify.simulate import reduced_design

#: Allowed difference of means, in Monte Carlo standard errors of the difference.
TOLERANCE_SE = 4.0


def agreement(post_a, post_b) -> pd.DataFrame:
    """Per variable: the largest |difference of means| / its Monte Carlo SE, and where."""
    names = [v for v in post_a.data_vars if v in post_b.data_vars]
    mean_a, mean_b = post_a[names].mean(("chain", "draw")), post_b[names].mean(("chain", "draw"))
    mcse_a, mcse_b = az.mcse(post_a[names]), az.mcse(post_b[names])
    rows = []
    for v in names:
        diff = np.abs(np.asarray(mean_a[v] - mean_b[v])).ravel()
        se = np.sqrt(np.asarray(mcse_a[v]) ** 2 + np.asarray(mcse_b[v]) ** 2).ravel()
        ok = se > 0  # constant elements (none expected) are compared exactly
        z = np.where(ok, diff / np.where(ok, se, 1.0), np.where(diff == 0, 0.0, np.inf))
        i = int(np.argmax(z))
        rows.append({"variable": v, "size": diff.size, "max_z": float(z[i]),
                     "abs_diff": float(diff[i]), "mcse_diff": float(se[i])})
    return pd.DataFrame(rows).set_index("variable")


def _fit(spec_name, df, backend, draws, seed=1):
    return fit_model(load_spec(spec_name), df, backend=backend, draws=draws, tune=draws,
                     chains=2, seed=seed, progressbar=False)


@pytest.fixture(scope="module")
def small_case(paper_df):
    design = reduced_design(paper_df, 100, seed=2)
    return {b: _fit("binomial_developers", design, b, 500) for b in ("nutpie", "pymc")}, design


@pytest.mark.mcmc
def test_nutpie_and_pymc_agree_within_monte_carlo_error(small_case):
    fits, _ = small_case
    table = agreement(fits["nutpie"].posterior, fits["pymc"].posterior)
    assert {"alpha", "beta", "sigma_developer", "sigma_model", "period_effect",
            "developer_effect", "eta"} <= set(table.index)
    assert (table["max_z"] < TOLERANCE_SE).all(), f"backends disagree:\n{table}"
    for fit in fits.values():
        assert fit.diagnostics.sampler["divergences"] == 0


@pytest.mark.slow  # 24 s; the optional JAX backend: kept out of the default suite (15 min)
@pytest.mark.mcmc
def test_numpyro_agrees_or_is_skipped_with_a_reason(small_case):
    try:
        check_backend("numpyro")
    except BackendUnavailableError as exc:
        pytest.skip(f"numpyro backend not installed: {exc}")
    fits, design = small_case
    other = _fit("binomial_developers", design, "numpyro", 500)
    table = agreement(fits["nutpie"].posterior, other.posterior)
    assert (table["max_z"] < TOLERANCE_SE).all(), f"backends disagree:\n{table}"


def test_agreement_flags_a_shifted_posterior():
    import xarray as xr

    rng = np.random.default_rng(0)
    a = xr.Dataset({"theta": (("chain", "draw"), rng.normal(size=(2, 500)))})
    b = xr.Dataset({"theta": (("chain", "draw"), rng.normal(size=(2, 500)))})
    assert agreement(a, b).loc["theta", "max_z"] < TOLERANCE_SE
    assert agreement(a, b + 0.5).loc["theta", "max_z"] > TOLERANCE_SE


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize("other", ["pymc", "numpyro"])
@pytest.mark.parametrize("spec_name", ["binomial_developers", "paper_mirror"])
def test_backends_agree_on_the_809_models(paper_df, spec_name, other):
    try:
        check_backend(other)
    except BackendUnavailableError as exc:
        pytest.skip(f"{other} backend not installed: {exc}")
    nut = _fit(spec_name, paper_df, "nutpie", 1000)
    alt = _fit(spec_name, paper_df, other, 1000)
    table = agreement(nut.posterior, alt.posterior)
    print(f"\n{spec_name}: nutpie vs {other} on {len(paper_df)} models\n{table}")
    assert (table["max_z"] < TOLERANCE_SE).all(), f"backends disagree:\n{table}"
