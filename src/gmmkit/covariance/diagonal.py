"""Diagonal models: axis-aligned ellipsoids (VVI, EEI, VEI, EVI).

``VVI`` holds scikit-learn's "diag" arrays (one variance vector per
component); the other models hold dense ``(K, d, d)`` matrices.  With ``b_k``
the diagonal of component k's scatter ``W_k`` and ``n = sum_k n_k``:

* EEI: ``Sigma = diag(sum_k b_k) / n`` (closed form);
* EVI: ``A_k = b_k / |b_k|^(1/d)``, ``lambda = sum_k |b_k|^(1/d) / n``
  (closed form, Celeux and Govaert 1995);
* VEI: iterative, alternating ``lambda_k = sum_j b_kj / a_j / (d n_k)`` and
  ``A = s / |s|^(1/d)`` with ``s = sum_k b_k / lambda_k``; stops when no
  parameter moved by more than ``INNER_TOL`` (relative) or after
  ``INNER_MAX_ITER`` rounds (see :mod:`gmmkit.covariance._inner`).
"""

from __future__ import annotations

import logging

import numpy as np

from . import _closed
from ._base import CovarianceModel, PriorRule
from ._decomposed import DecomposedModel
from ._inner import INNER_MAX_ITER, INNER_TOL, compiled, equal_shape_kernel
from ._linalg import (
    active_components,
    collapsed_variances,
    compose,
    decompose_axes,
    diagonal_maha,
    gaussian_from_maha,
    geometric_mean,
    positive_factors,
)

logger = logging.getLogger("gmmkit")

# Re-exported for callers that imported them from here.
__all__ = ["EEI", "EVI", "VEI", "VVI", "diagonal_maha", "positive_factors"]


class VVI(CovarianceModel):
    """Each component has its own diagonal covariance (scikit-learn "diag")."""

    name = "VVI"
    subset_model = "VVI"
    closed_form = _closed.VVI
    sklearn_name = "diag"
    family = "diagonal"
    moments = "diag"
    valid_precision = "positive"
    squarem = True
    # Sigma_kjj = (L + S_kjj) / (n_k + nu + m + 2)
    prior_rule = PriorRule(
        "scalar", lambda g, d: 1.0, lambda nu, g, d, m: nu + m + 2, "VVI"
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def covariances_from_scatter(self, nk, scatter, reg_covar, previous=None):
        return collapsed_variances(scatter / nk[:, None] + reg_covar, previous)

    def precisions_cholesky(self, covariances, reg_covar):
        return positive_factors(covariances, reg_covar)

    def precisions_cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions_from_cholesky(self, prec_chol):
        return prec_chol**2

    def covariance_factors(self, prec_chol, n_components, n_features):
        return np.stack([np.diag(1.0 / p) for p in prec_chol])

    def covariances_from_cholesky(self, prec_chol, n_components, n_features):
        return 1.0 / prec_chol**2

    def kernel_factors(self, prec_chol, n_components, n_features):
        return np.ascontiguousarray(prec_chol**2, dtype=np.float64)

    def decomposition(self, covariances, n_components, n_features):
        return decompose_axes(np.asarray(covariances, dtype=np.float64))

    def log_gaussian(self, X, means, prec_chol):
        maha = diagonal_maha(X, means, prec_chol**2)
        return gaussian_from_maha(maha, np.log(prec_chol).sum(axis=1), X.shape[1])

    def dense(self, covariances, n_components, n_features):
        return compose(np.ones(n_components), np.asarray(covariances), None)

    def from_dense(self, dense):
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def _bad_precisions(self, arr):
        return [int(k) for k in np.nonzero((arr <= 0).any(axis=1))[0]]


# -- mclust's diagonal models with dense (K, d, d) covariances --------------------


class EEI(DecomposedModel):
    """Equal volume and shape, axis-aligned: one diagonal covariance for all."""

    name = "EEI"
    subset_model = "EEI"
    closed_form = _closed.EEI
    family = "diagonal"
    moments = "diag"
    squarem = True
    # B_jj = (L + sum_k S_kjj) / (n + nu + m + 1); the means stay unshrunk
    prior_rule = PriorRule(
        "scalar",
        lambda g, d: 1.0 / g,
        lambda nu, g, d, m: (nu + m + 1) / g,
        "VVI",
        shrink_means=False,
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_features

    def fit_covariances(self, nk, scatter, previous=None):
        variances = scatter.sum(axis=0) / nk.sum()
        k, d = scatter.shape
        return np.broadcast_to(np.diag(variances), (k, d, d)).copy()

    def keep_components(self, new, old, mask):
        return new


class EVI(DecomposedModel):
    """Equal volume, variable shape, axis-aligned."""

    name = "EVI"
    subset_model = "VVI"
    closed_form = _closed.EVI
    family = "diagonal"
    moments = "diag"
    # lambda = sum_k |L + diag S_k|^(1/d) / (n + nu + m + 1)
    prior_rule = PriorRule(
        "scalar", lambda g, d: 1.0, lambda nu, g, d, m: (nu + m + 1) / g, "VVI"
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1)

    def fit_covariances(self, nk, scatter, previous=None):
        sizes = geometric_mean(scatter)
        volume = sizes.sum() / nk.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            shapes = scatter / sizes[:, None]
        return compose(np.full(nk.shape, volume), shapes, None)


class VEI(DecomposedModel):
    """Variable volume, equal shape, axis-aligned (iterative M-step)."""

    name = "VEI"
    closed_form = _closed.VEI
    subset_model = "VEI"
    family = "diagonal"
    moments = "diag"
    # lambda_k = sum_j (L + S_kjj) / A_j / (n_k d + nu + m + 2), A as without prior
    prior_rule = PriorRule(
        "scalar", lambda g, d: 1.0, lambda nu, g, d, m: (nu + m + 2) / d, "VVI"
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components + n_features - 1

    def fit_covariances(self, nk, scatter, previous=None):
        volumes, shape = equal_shape_volumes(nk, scatter)
        return compose(volumes, np.broadcast_to(shape, scatter.shape), None)


def equal_shape_volumes(
    nk: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Volumes ``lambda_k`` and the common shape ``a`` of VEI / VEV.

    ``values[k]`` are the scatter's diagonal (VEI) or its eigenvalues (VEV,
    decreasing).  Minimises ``sum_k n_k d log lambda_k + sum_j values_kj /
    (lambda_k a_j)`` over ``lambda`` and ``a`` with ``prod(a) == 1`` by
    alternating the two closed-form partial solutions
    (:func:`gmmkit.covariance._inner.equal_shape_kernel`).
    """
    kernel = compiled(equal_shape_kernel)
    with np.errstate(all="ignore"):
        volumes, shape, rounds = kernel(
            np.ascontiguousarray(nk, dtype=np.float64),
            np.ascontiguousarray(values, dtype=np.float64),
            active_components(nk),
            INNER_TOL,
            INNER_MAX_ITER,
        )
    if rounds >= INNER_MAX_ITER:
        logger.debug("equal-shape M-step stopped after %d iterations", rounds)
    return volumes, shape
