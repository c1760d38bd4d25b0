"""Same data, spec, seed and backend give bit-identical draws, cold or warm compile cache.

Each fit runs in its own process (PyTensor fixes its compile folder at import): two with
fresh, empty compile folders, then one reusing the first folder (warm: the compiled numba
code is loaded from the cache instead of compiled). Before issue 13 the warm run sampled
different chains (numba fast-math let LLVM round differently when the code was assembled
from cached pieces); :func:`bayes_llm.model.sampling.reproducible_compilation` fixes it.
With fast-math back on, this small model's warm run differs from its cold run (checked by
hand when the fix was made), so the test can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bayes_llm.verify.simulate import reduced_design

REPO = Path(__file__).resolve().parent.parent
SCRIPT = """
import hashlib, sys
import numpy as np, pandas as pd
from bayes_llm.model import fit_model, spec_from_dict
df = pd.read_pickle(sys.argv[1])
spec = spec_from_dict({"name": "small", "likelihood": "logit_normal", "developer": "none"})
fit = fit_model(spec, df, draws=40, tune=40, chains=1, seed=11, progressbar=False, cores=1)
digest = hashlib.sha256()
for group in ("posterior", "sample_stats"):
    ds = fit.dt[group].to_dataset()
    for name in sorted(ds.data_vars):
        values = np.asarray(ds[name].values)
        if values.dtype.kind in "fiub":
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(values).tobytes())
print("DRAWS", digest.hexdigest())
"""


def _start(data: Path, compile_dir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["PYTENSOR_FLAGS"] = f"base_compiledir={compile_dir}"
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(data)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _draws(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    lines = [ln for ln in out.splitlines() if ln.startswith("DRAWS ")]
    assert len(lines) == 1, out
    return lines[0].split()[1]


@pytest.mark.slow  # three cold/warm compiles: ~35 s of CPU on an idle 2-core machine
@pytest.mark.mcmc
def test_cold_and_warm_compile_cache_give_identical_draws(paper_df, tmp_path):
    data = tmp_path / "design.pkl"
    reduced_design(paper_df, 30, seed=3).to_pickle(data)
    first, second = tmp_path / "cold1", tmp_path / "cold2"
    cold = [_start(data, first), _start(data, second)]  # two fresh compile folders
    cold_draws = [_draws(p) for p in cold]
    cached = [p for p in first.rglob("*") if p.is_file() and "numba" in p.parts]
    assert cached, "the first run left no numba cache: the warm run would not be warm"
    warm_draws = _draws(_start(data, first))
    assert cold_draws[0] == cold_draws[1], "two cold compiles gave different draws"
    assert warm_draws == cold_draws[0], "a warm compile cache gave different draws"
