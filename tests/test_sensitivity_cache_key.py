"""A change to the model-building code invalidates cached fits."""

from __future__ import annotations

from bayes_llm.model import load_spec
from bayes_llm.sensitivity import cache


def test_cache_key_depends_on_model_code(monkeypatch):
    spec = load_spec("logit_normal_groups")
    before = cache.cache_key(spec, "d" * 64, backend="nutpie")
    assert before == cache.cache_key(spec, "d" * 64, backend="nutpie")
    assert len(cache.model_code_hash()) == 64
    monkeypatch.setattr(cache, "model_code_hash", lambda: "0" * 64)
    assert cache.cache_key(spec, "d" * 64, backend="nutpie") != before
