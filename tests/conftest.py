"""Shared fixtures: the paper data from a local mirror, and an offline, isolated cache.

Every test runs with ``BAYES_LLM_OFFLINE=1`` and ``BAYES_LLM_CACHE_DIR`` pointing at a fresh
temporary folder, so no test touches the network or the user's real cache. The mirror
folder is ``$BAYES_LLM_DATA_MIRROR`` if set, else ``<repo root>/../shared/data``; the
autouse fixture exports it as ``BAYES_LLM_DATA_MIRROR`` for tests that rely on the default.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The numpyro backend tests load JAX, which is multi-threaded: a fork() of this process
# after that can deadlock (JAX warns "os.fork() was called ..."). Processes started with the
# default context (PyMC's parallel chains, any pool without its own context) therefore come
# from a fresh forkserver, never from a fork of this process.
multiprocessing.set_start_method("forkserver", force=True)
# A persistent PyTensor compile cache: cuts each model's cold compile roughly in half.
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO_ROOT / '.cache' / 'pytensor'}")

#: Small MCMC settings for the shared session fits (enough for diagnostics to be meaningful).
SMALL_SAMPLER = {"draws": 300, "tune": 300, "chains": 2}


def _mirror_path() -> Path:
    env = os.environ.get("BAYES_LLM_DATA_MIRROR")
    return Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"


MIRROR_DIR = _mirror_path()


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The local mirror folder holding the public data files at their mirror paths."""
    return MIRROR_DIR


@pytest.fixture(scope="session")
def paper_df(mirror_dir: Path) -> pd.DataFrame:
    """The paper's 809-model table, loaded once from the mirror. Do not mutate it: copy first."""
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.data.sources import get_source

    path = mirror_dir / get_source("secret_sauce").mirror_path
    if not path.is_file():
        pytest.fail(f"paper dataset not found at {path}; set BAYES_LLM_DATA_MIRROR to a folder "
                    "holding secret-sauce/dataset_for_github.xlsx", pytrace=False)
    # An explicit path: verified against the manifest, never the cache or the network.
    return load_paper_dataset(path=path)


@pytest.fixture(autouse=True)
def _offline_isolated_cache(tmp_path_factory: pytest.TempPathFactory,
                            monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the cache at a fresh temp folder and forbid downloads, for every test."""
    cache = tmp_path_factory.mktemp("bayes_llm_cache")
    monkeypatch.setenv("BAYES_LLM_CACHE_DIR", str(cache))
    monkeypatch.setenv("BAYES_LLM_OFFLINE", "1")
    monkeypatch.setenv("BAYES_LLM_DATA_MIRROR", str(MIRROR_DIR))
    # Tests see only the mirror they set: no config file, no ../shared/data discovery.
    monkeypatch.setenv("BAYES_LLM_NO_DISCOVERY", "1")
    return cache


def _small_fit(paper_df: pd.DataFrame, spec_name: str):
    from bayes_llm.model import fit_model, load_spec

    return fit_model(load_spec(spec_name), paper_df, progressbar=False, **SMALL_SAMPLER)


@pytest.fixture(scope="session")
def binomial_fit(paper_df: pd.DataFrame):
    """The default binomial model (all developers pooled) on the 809 models, small draws."""
    return _small_fit(paper_df, "binomial_developers")


@pytest.fixture(scope="session")
def paper_mirror_fit(paper_df: pd.DataFrame):
    """The paper-mirroring spec (logit-normal, fixed cohort and group effects), small draws."""
    return _small_fit(paper_df, "paper_mirror")


@pytest.fixture(scope="session")
def groups_fit(paper_df: pd.DataFrame):
    """Logit-normal with the paper's 13 groups partially pooled, small draws."""
    return _small_fit(paper_df, "logit_normal_groups")
