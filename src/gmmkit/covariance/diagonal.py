"""Diagonal models: axis-aligned ellipsoids."""

from __future__ import annotations

import numpy as np

from ._base import CovarianceModel, gaussian_from_maha, singular_error


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

    def log_gaussian(self, X, means, prec_chol):
        maha = diagonal_maha(X, means, prec_chol**2)
        return gaussian_from_maha(maha, np.log(prec_chol).sum(axis=1), X.shape[1])

    def dense(self, covariances, n_components, n_features):
        return np.stack([np.diag(c) for c in covariances])

    def from_dense(self, dense):
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def _bad_precisions(self, arr):
        return [int(k) for k in np.nonzero((arr <= 0).any(axis=1))[0]]
