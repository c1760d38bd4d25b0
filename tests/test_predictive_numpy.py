"""The report's NumPy predictive checks draw from the PyMC path's distributions, without PyMC."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats

from bayes_llm.errors import BayesLLMError
from bayes_llm.model import load_spec
from bayes_llm.model.predictive import (
    posterior_predictive,
    predictive_draws,
    predictive_summary,
    prior_predictive,
)
from bayes_llm.model.predictive_numpy import (
    posterior_numpy_supported,
    posterior_predictive_checked,
    posterior_predictive_numpy,
    prior_predictive_numpy,
    thinned_draw_index,
)


def _statistics(tree):
    acc, _, x = predictive_draws(tree)
    xc = x - x.mean()
    return {"mean": acc.mean(axis=1),
            "sd": acc.std(axis=1),
            "slope": (acc - acc.mean(axis=1, keepdims=True)) @ xc / float(xc @ xc)}


def test_prior_predictive_numpy_matches_pymc_in_distribution(paper_df):
    """Per-replicate statistics of 400 NumPy and 400 PyMC prior replicates: two-sample KS
    test (a scale or sign error in either moves these far beyond p = 0.001)."""
    spec = load_spec("binomial_developers")
    ours = prior_predictive_numpy(spec, paper_df, 400, 3)
    theirs = prior_predictive(spec, paper_df, 400, 3)
    assert set(ours["prior_predictive"].data_vars) == set(theirs["prior_predictive"].data_vars)
    assert ours["prior_predictive"]["accuracy"].sizes == theirs["prior_predictive"]["accuracy"].sizes
    np.testing.assert_array_equal(ours["observed_data"]["accuracy"],
                                  theirs["observed_data"]["accuracy"])
    np.testing.assert_array_equal(ours["constant_data"]["log10_flop"],
                                  theirs["constant_data"]["log10_flop"])
    a, b = _statistics(ours), _statistics(theirs)
    for name in a:
        p = stats.ks_2samp(a[name], b[name]).pvalue
        assert p > 0.001, (name, p)
    # the same seed gives the same replicates
    again = prior_predictive_numpy(spec, paper_df, 400, 3)
    np.testing.assert_array_equal(again["prior_predictive"]["correct"],
                                  ours["prior_predictive"]["correct"])


def test_posterior_predictive_numpy_matches_pymc(binomial_fit, paper_df):
    """New-model replicates on the same thinned draws: per-model quantiles and the summary's
    statistics agree within Monte Carlo error (dropping the developer effect moves the
    per-model quantiles by 0.05 to 0.09, see test_prediction)."""
    assert posterior_numpy_supported(binomial_fit)
    ours = posterior_predictive_numpy(binomial_fit, paper_df, 4, draws=600)
    theirs = posterior_predictive(binomial_fit, paper_df, 4, draws=600)
    assert ours["posterior_predictive"]["accuracy"].sizes == \
        theirs["posterior_predictive"]["accuracy"].sizes
    assert ours.attrs["new_models"] and theirs.attrs["new_models"]
    a = predictive_draws(ours)[0]
    b = predictive_draws(theirs)[0]
    for q in (0.05, 0.5, 0.95):
        qa, qb = np.quantile(a, q, axis=0), np.quantile(b, q, axis=0)
        assert abs(np.mean(qa - qb)) < 0.01, (q, np.mean(qa - qb))
        assert np.median(np.abs(qa - qb)) < 0.025, (q, np.median(np.abs(qa - qb)))
    sa = predictive_summary(ours).set_index("statistic")
    sb = predictive_summary(theirs).set_index("statistic")
    for name in ("mean", "sd", "p95", "slope"):
        width = sb.loc[name, "hdi_upper"] - sb.loc[name, "hdi_lower"]
        assert abs(sa.loc[name, "median"] - sb.loc[name, "median"]) < 0.25 * width, name


def test_thinning_is_the_pymc_paths():
    idx, kept = thinned_draw_index(4, 1000, 500)
    assert kept == 125 and len(idx) == 500
    np.testing.assert_array_equal(idx[:3], [0, 8, 16])
    assert idx[125] == 1000  # second chain's first draw
    idx, kept = thinned_draw_index(2, 10, None)
    np.testing.assert_array_equal(idx, np.arange(20))


def test_numpy_posterior_refuses_what_it_does_not_cover(paper_mirror_fit, binomial_fit,
                                                        paper_df):
    assert not posterior_numpy_supported(paper_mirror_fit)  # logit-normal: PyMC path
    with pytest.raises(BayesLLMError, match="covers the binomial"):
        posterior_predictive_numpy(paper_mirror_fit, paper_df, 1, draws=20)
    tree = posterior_predictive_checked(paper_mirror_fit, paper_df, 1, draws=20)
    assert "simulator" not in tree.attrs  # the fallback went through PyMC
    changed = paper_df.copy()
    changed.loc[changed.index[0], "mmlu_pro_acc"] += 0.01
    with pytest.raises(BayesLLMError, match="data hash"):
        posterior_predictive_checked(binomial_fit, changed, 1, draws=20)


def test_report_checks_do_not_import_pymc(binomial_fit, tmp_path):
    """Both predictive checks of the report run from a saved fit without importing PyMC."""
    folder = binomial_fit.save(tmp_path / "fit")
    code = textwrap.dedent(f"""
        import json, sys
        from bayes_llm.model import load_fit
        from bayes_llm.report.build import models_frame
        from bayes_llm.model.predictive_numpy import (posterior_predictive_checked,
                                                      prior_predictive_numpy)
        fit = load_fit({str(folder)!r})
        frame = models_frame(fit)
        prior = prior_predictive_numpy(fit.spec, frame, 20, 1)
        post = posterior_predictive_checked(fit, frame, 1, draws=40, check_data=False)
        print(json.dumps({{"pymc": "pymc" in sys.modules,
                           "simulator": post.attrs.get("simulator", "")}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"pymc": False, "simulator": "numpy (bayes_llm.prediction.predict)"}


def test_verify_package_is_lazy_and_keeps_its_names():
    """``bayes_llm.verify`` loads its simulate names on first use (no PyMC for the NumPy
    simulator), and ``simulate`` stays the function after the submodule is imported."""
    code = textwrap.dedent("""
        import sys
        import bayes_llm.verify.generate
        lazy = "pymc" not in sys.modules
        import bayes_llm.verify.simulate
        from bayes_llm.verify import Simulation, simulate
        print(lazy, callable(simulate) and not isinstance(simulate, type(sys)),
              Simulation.__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True", "Simulation"]
