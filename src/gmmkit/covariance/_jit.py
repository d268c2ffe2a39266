"""numba compilation of the covariance models' loops, on first use.

A loop is written once, as plain Python on scalars and small arrays, in the
module that uses it; :func:`compiled` returns it compiled by numba
(``cache=True``: later processes load it from disk), or the Python function
itself where numba is missing or ``GMMKIT_DISABLE_NUMBA=1``.  Functions that
a loop calls are named in its module's ``_JIT_HELPERS``: they are compiled
first and rebound in that module, so that the compiled loop calls compiled
helpers.  Importing this module imports no numba, so ``import gmmkit``
stays fast.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

_HAVE_NUMBA = (
    os.environ.get("GMMKIT_DISABLE_NUMBA", "") in ("", "0")
    and importlib.util.find_spec("numba") is not None
)
_COMPILED: dict[tuple[str, str], Callable[..., Any]] = {}


def available() -> bool:
    """True when the loops are compiled (numba importable and not disabled)."""
    return _HAVE_NUMBA


def compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by numba (on first use; cached on disk), or ``fn``
    itself where numba is unavailable or disabled."""
    if not _HAVE_NUMBA:
        return fn
    key = (fn.__module__, fn.__name__)
    if key not in _COMPILED:
        import numba  # optional heavy dependency: imported on first use only

        # error_model="numpy": a division by zero gives inf/nan as numpy's
        # (and the plain-Python path's) arithmetic does, not ZeroDivisionError;
        # the loops divide by the zero count of an empty component and then
        # leave it out
        jit = numba.njit(cache=True, nogil=True, error_model="numpy")
        namespace = fn.__globals__
        for helper in namespace.get("_JIT_HELPERS", ()):
            helper_key = (fn.__module__, helper)
            if helper_key not in _COMPILED:
                _COMPILED[helper_key] = jit(namespace[helper])
                namespace[helper] = _COMPILED[helper_key]
        _COMPILED[key] = jit(fn)
    return _COMPILED[key]


__all__ = ["available", "compiled"]
