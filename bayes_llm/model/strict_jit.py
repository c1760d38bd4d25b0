"""The package's compiled kernels' decorators (fast-math off) and input conversion.

``kernel_jit`` and ``closure_jit`` are numba's ``njit`` with fast-math off explicitly;
:func:`kernel_arrays` is the one conversion of a kernel's NumPy inputs.

A numba function that leaves ``fastmath`` unset inherits the flags of the first jitted
caller that compiles it, for the rest of the process. PyTensor's numba backend compiles
its graphs with fast-math unless :func:`bayes_llm.model.sampling.reproducible_compilation`
is active, so a kernel first reached from such a graph (a check, a plot's log density)
would then run with fast-math inside the sampler's strict graphs too, and a seed's draws
would depend on what the process ran before (found by CI's fresh run, thirty-second
session; ``tests/test_eta_kernel.py`` checks the numba backend against the Python path).
Every kernel here sets the flag, so it is strict whoever calls it first.
"""

from __future__ import annotations

import numba
import numpy as np

#: The decorator of a module-level kernel (cached on disk, NumPy's error model).
kernel_jit = numba.njit(error_model="numpy", cache=True, fastmath=False)
#: The decorator of a closure registered with PyTensor's numba backend (not cached: it
#: closes over the op's properties).
closure_jit = numba.njit(fastmath=False)


def kernel_arrays(*values) -> list[np.ndarray]:
    """Broadcast ``values`` to one shape as float64 C-ordered copies, a kernel's inputs."""
    arrays = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in values))
    return [np.array(a, np.float64, order="C") for a in arrays]


__all__ = ["closure_jit", "kernel_arrays", "kernel_jit"]
