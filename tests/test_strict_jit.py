"""Every compiled kernel of the package states fast-math off (``strict_jit``).

A numba function without an explicit ``fastmath`` inherits its first caller's flags for
the whole process, so a seed's draws could depend on what the process compiled first
(``bayes_llm/model/strict_jit.py``). These checks find a kernel that leaves the flag unset,
wherever it is added.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numba
from numba.core.registry import CPUDispatcher

PACKAGE = Path(__file__).resolve().parents[1] / "bayes_llm"


def _modules_using_numba() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "numba" in path.read_text(encoding="utf-8"):
            relative = path.relative_to(PACKAGE.parent).with_suffix("")
            names.append(".".join(relative.parts))
    return names


def _kernels(module) -> dict:
    """The module's numba kernels by name."""
    return {name: value for name, value in vars(module).items()
            if isinstance(value, CPUDispatcher)}


def _kernels_without_strict_flags(module) -> list[str]:
    """Names of the module's numba kernels whose fast-math flag is not explicitly off."""
    return [name for name, kernel in _kernels(module).items()
            if kernel.targetoptions.get("fastmath") is not False]


def test_the_scan_finds_the_compiled_kernels():
    modules = _modules_using_numba()
    assert "bayes_llm.model.eta_kernel" in modules
    assert "bayes_llm.model.laplace_window" in modules
    assert "_marginal_and_gradient" in _kernels(
        importlib.import_module("bayes_llm.model.eta_kernel"))


def test_every_kernel_sets_fastmath_off():
    offenders = {}
    for name in _modules_using_numba():
        module = importlib.import_module(name)
        found = _kernels_without_strict_flags(module)
        if found:
            offenders[name] = found
    assert offenders == {}


def test_a_plain_njit_kernel_is_caught():
    """The check fails on a kernel decorated by plain ``numba.njit`` (the error of 66e734e)."""
    import types

    module = types.ModuleType("fake")
    module.kernel = numba.njit(lambda x: x + 1.0)
    module.strict = numba.njit(fastmath=False)(lambda x: x + 1.0)
    assert _kernels_without_strict_flags(module) == ["kernel"]


def test_only_strict_jit_calls_numba_njit_directly():
    direct = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
              if path.name != "strict_jit.py"
              and any(token in path.read_text(encoding="utf-8")
                      for token in ("numba.njit", "numba.jit", "from numba import"))]
    assert direct == []
