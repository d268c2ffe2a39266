"""Checks of an estimator's parameters and ``*_init`` arrays.

Called by :meth:`GaussianMixture.fit` before any data is read, so that a bad
parameter fails at once with scikit-learn's message form ("The
'n_components' parameter of GaussianMixture must be an int >= 1. Got 0
instead.").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from ._errors import InvalidParameterError
from ._init import INIT_METHODS
from ._prior import check_prior
from ._squarem import SUPPORTED
from ._validation import check_array_param, check_choice, check_int, check_real
from .covariance import CovarianceModel, get_model

__all__ = ["check_accelerate", "check_common", "check_inits", "check_params"]


def check_params(est: Any) -> CovarianceModel:
    """Validate an estimator's constructor parameters (scikit-learn's
    messages); returns its covariance model."""
    owner = type(est).__name__
    check_int(owner, "n_components", est.n_components, 1)
    model = get_model(est.covariance_type)
    check_common(owner, est)
    check_choice(owner, "convergence", est.convergence, ("sklearn", "mclust"))
    check_prior(owner, est.prior)
    check_accelerate(owner, est.accelerate, model, est.prior)
    check_int(owner, "batch_size", est.batch_size, 1, allow_none=True)
    check_steps(owner, est)
    return model


def check_steps(owner: str, est: Any) -> None:
    """``step_offset`` (>= 0) and ``step_decay`` (in (0.5, 1]) of the online
    step sizes ``(t + step_offset) ** -step_decay``."""
    check_real(owner, "step_offset", est.step_offset, 0.0)
    if not (
        isinstance(est.step_decay, (int, float, np.floating))
        and not isinstance(est.step_decay, bool)
        and 0.5 < est.step_decay <= 1.0
    ):
        raise InvalidParameterError(
            f"The 'step_decay' parameter of {owner} must be a float in "
            f"(0.5, 1]. Got {est.step_decay!r} instead."
        )


def check_common(owner: str, est: Any) -> None:
    """The parameters every gmmkit mixture estimator has (tol, reg_covar,
    max_iter, n_init, init_params, dtype, warm_start, verbose,
    verbose_interval, chunk_size, callback, random_state)."""
    check_real(owner, "tol", est.tol, 0.0)
    check_real(owner, "reg_covar", est.reg_covar, 0.0)
    check_int(owner, "max_iter", est.max_iter, 0)
    check_int(owner, "n_init", est.n_init, 1)
    check_choice(owner, "init_params", est.init_params, INIT_METHODS)
    check_choice(owner, "dtype", est.dtype, ("auto", "float64"))
    if not isinstance(est.warm_start, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The 'warm_start' parameter of {owner} must be a bool. "
            f"Got {est.warm_start!r} instead."
        )
    check_int(owner, "verbose", est.verbose, 0)
    check_int(owner, "verbose_interval", est.verbose_interval, 1)
    check_int(owner, "chunk_size", est.chunk_size, 1, allow_none=True)
    if est.callback is not None and not callable(est.callback):
        raise InvalidParameterError(
            f"The 'callback' parameter of {owner} must be None or a callable "
            f"taking a gmmkit.FitProgress. Got {est.callback!r} instead."
        )
    try:
        check_random_state(est.random_state)
    except ValueError:
        raise InvalidParameterError(
            f"The 'random_state' parameter of {owner} must be None, an int or a "
            f"numpy RandomState. Got {est.random_state!r} instead."
        ) from None


def check_inits(
    est: Any,
    model: CovarianceModel,
    n_samples: int,
    n_features: int,
    sw: np.ndarray | None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    k = est.n_components
    weights = means = precisions = resp = None
    if est.weights_init is not None:
        weights = _sklearn_shape_message(
            "weights",
            "weights_init",
            est.weights_init,
            (k,),
            "one weight per component",
        )
        if (weights < 0).any() or (weights > 1).any():
            # scikit-learn's sentence verbatim (it prints the minimum as "max
            # value" and the maximum as "min value"), then the located detail
            raise InvalidParameterError(
                "The parameter 'weights' should be in the range [0, 1], but got "
                f"max value {weights.min():.5f}, min value {weights.max():.5f}. "
                f"weights_init must lie in [0, 1]; got min {weights.min():g}, "
                f"max {weights.max():g}."
            )
        if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-8):
            raise InvalidParameterError(
                "The parameter 'weights' should be normalized, but got "
                f"sum(weights) = {weights.sum():.5f}. "
                f"weights_init must sum to 1; got sum {weights.sum():.10g}. "
                "Divide by its sum first."
            )
    if est.means_init is not None:
        means = _sklearn_shape_message(
            "means",
            "means_init",
            est.means_init,
            (k, n_features),
            "n_components x n_features",
        )
    if est.precisions_init is not None:
        precisions = model.check_precisions(est.precisions_init, k, n_features)
    if est.resp_init is not None:
        resp = check_array_param(
            "resp_init", est.resp_init, (n_samples, k), "n_samples x n_components"
        )
        if (resp < 0).any():
            i, j = np.argwhere(resp < 0)[0]
            raise InvalidParameterError(
                f"resp_init must be non-negative; got {resp[i, j]:g} at row {i}, "
                f"column {j}."
            )
        sums = resp.sum(axis=1)
        off = np.nonzero(~np.isclose(sums, 1.0, rtol=0, atol=1e-6))[0]
        if off.size:
            raise InvalidParameterError(
                f"Each row of resp_init must sum to 1 (responsibilities); row "
                f"{off[0]} sums to {sums[off[0]]:.6g} ({off.size} rows off). "
                "Divide each row by its sum first."
            )
        mass = resp.T @ (np.ones(n_samples) if sw is None else sw)
        empty = np.nonzero(mass <= 0)[0]
        if empty.size:
            raise InvalidParameterError(
                f"resp_init gives component(s) {', '.join(map(str, empty))} no "
                "responsibility on any row with positive weight, so they cannot "
                "be estimated."
            )
    return weights, means, precisions, resp


def _sklearn_shape_message(
    sk_name: str, name: str, value: Any, shape: tuple[int, ...], what: str
) -> np.ndarray:
    """:func:`check_array_param` with scikit-learn's sentence for a wrong
    shape put before gmmkit's (a drop-in keeps scikit-learn's messages)."""
    try:
        return check_array_param(name, value, shape, what)
    except InvalidParameterError as exc:
        got = np.shape(value) if _has_shape(value) else None
        if got is None or got == shape:
            raise
        raise InvalidParameterError(
            f"The parameter '{sk_name}' should have the shape of {shape}, but got "
            f"{got}. {exc}"
        ) from None


def _has_shape(value: Any) -> bool:
    try:
        np.shape(value)
    except ValueError:  # ragged nested sequences
        return False
    return True


def check_accelerate(
    owner: str, accelerate: Any, model: CovarianceModel, prior: Any
) -> None:
    """Validate ``accelerate`` against the covariance model and the prior."""
    if accelerate is None:
        return
    if accelerate != "squarem":
        raise InvalidParameterError(
            f"The 'accelerate' parameter of {owner} must be None or 'squarem'. "
            f"Got {accelerate!r} instead."
        )
    if not model.squarem:
        raise InvalidParameterError(
            f"accelerate='squarem' supports covariance_type in "
            f"{sorted(SUPPORTED)} (models whose covariances can be extrapolated); "
            f"got {model.label!r}. Use accelerate=None for this model."
        )
    if prior is not None:
        raise InvalidParameterError(
            "accelerate='squarem' is not available with a prior (its safeguard "
            "checks the likelihood, not the posterior). Use accelerate=None."
        )
