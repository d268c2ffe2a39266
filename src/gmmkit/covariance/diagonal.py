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
  ``INNER_MAX_ITER`` rounds (see :mod:`gmmkit.covariance._decomposed`).
"""

from __future__ import annotations

import logging

import numpy as np

from ._base import CovarianceModel, gaussian_from_maha, singular_error
from ._decomposed import (
    INNER_MAX_ITER,
    INNER_TOL,
    DecomposedModel,
    active_components,
    compose,
    decompose_axes,
    geometric_mean,
    normalise_shape,
    relative_change,
)

logger = logging.getLogger("gmmkit")


def diagonal_maha(X: np.ndarray, means: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """sum_j prec_kj (x_nj - mu_kj)^2 for all n, k as matrix products.

    Rows arrive shifted by a common centre (see ``_stats``), which keeps the
    expanded quadratic form free of cancellation for data far from the origin.
    """
    maha = (X * X) @ prec.T
    maha -= 2.0 * (X @ (means * prec).T)
    maha += np.einsum("kd,kd->k", means * means, prec)
    np.maximum(maha, 0.0, out=maha)
    return maha


def positive_factors(variances: np.ndarray, reg_covar: float) -> np.ndarray:
    """1/sqrt(variances); FitError names the components with a variance <= 0."""
    bad_rows = ~(np.isfinite(variances) & (variances > 0))
    if bad_rows.any():
        comps = np.nonzero(bad_rows.reshape(bad_rows.shape[0], -1).any(axis=1))[0]
        raise singular_error([int(k) for k in comps], reg_covar)
    return 1.0 / np.sqrt(variances)


class VVI(CovarianceModel):
    """Each component has its own diagonal covariance (scikit-learn "diag")."""

    name = "VVI"
    sklearn_name = "diag"
    family = "diagonal"
    moments = "diag"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def covariances_from_scatter(self, nk, scatter, reg_covar):
        return scatter / nk[:, None] + reg_covar

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

    def decomposition(self, covariances, n_components, n_features):
        return decompose_axes(np.asarray(covariances, dtype=np.float64))

    def log_gaussian(self, X, means, prec_chol):
        maha = diagonal_maha(X, means, prec_chol**2)
        return gaussian_from_maha(maha, np.log(prec_chol).sum(axis=1), X.shape[1])

    def dense(self, covariances, n_components, n_features):
        return np.stack([np.diag(c) for c in covariances])

    def from_dense(self, dense):
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def _bad_precisions(self, arr):
        return [int(k) for k in np.nonzero((arr <= 0).any(axis=1))[0]]


# -- mclust's diagonal models with dense (K, d, d) covariances --------------------


class EEI(DecomposedModel):
    """Equal volume and shape, axis-aligned: one diagonal covariance for all."""

    name = "EEI"
    family = "diagonal"
    moments = "diag"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_features

    def fit_covariances(self, nk, scatter):
        variances = scatter.sum(axis=0) / nk.sum()
        k, d = scatter.shape
        return np.broadcast_to(np.diag(variances), (k, d, d)).copy()

    def keep_components(self, new, old, mask):
        return new


class EVI(DecomposedModel):
    """Equal volume, variable shape, axis-aligned."""

    name = "EVI"
    family = "diagonal"
    moments = "diag"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1)

    def fit_covariances(self, nk, scatter):
        sizes = geometric_mean(scatter)
        volume = sizes.sum() / nk.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            shapes = scatter / sizes[:, None]
        return compose(np.full(nk.shape, volume), shapes, None)


class VEI(DecomposedModel):
    """Variable volume, equal shape, axis-aligned (iterative M-step)."""

    name = "VEI"
    family = "diagonal"
    moments = "diag"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components + n_features - 1

    def fit_covariances(self, nk, scatter):
        volumes, shape = equal_shape_volumes(nk, scatter)
        return compose(volumes, np.broadcast_to(shape, scatter.shape), None)


def equal_shape_volumes(
    nk: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Volumes ``lambda_k`` and the common shape ``a`` of VEI / VEV.

    ``values[k]`` are the scatter's diagonal (VEI) or its eigenvalues (VEV,
    decreasing).  Minimises ``sum_k n_k d log lambda_k + sum_j values_kj /
    (lambda_k a_j)`` over ``lambda`` and ``a`` with ``prod(a) == 1`` by
    alternating the two closed-form partial solutions.
    """
    d = values.shape[1]
    active = active_components(nk)
    shape = normalise_shape(values[active].sum(axis=0))
    volumes = np.ones_like(nk)
    for it in range(1, INNER_MAX_ITER + 1):  # noqa: B007 (logged below)
        new_volumes = (values / shape).sum(axis=1) / (d * nk)
        new_shape = normalise_shape(
            (values[active] / new_volumes[active, None]).sum(axis=0)
        )
        change = max(
            relative_change(new_volumes[active], volumes[active]),
            relative_change(new_shape, shape),
        )
        volumes, shape = new_volumes, new_shape
        if change <= INNER_TOL or not np.all(np.isfinite(shape)):
            break
    else:
        logger.debug("equal-shape M-step stopped after %d iterations", it)
    volumes = (values / shape).sum(axis=1) / (d * nk)
    return volumes, shape
