"""Ellipsoidal models: full covariance matrices."""

from __future__ import annotations

import numpy as np

from ._base import (
    CovarianceModel,
    _is_symmetric_pd,
    _upper_cholesky_of_precision,
    factor_full,
    gaussian_from_maha,
    log_det_upper,
)


def _maha_blocks(X: np.ndarray, means: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Squared norms of (x - mu_k) @ P_k for all k with one matrix product.

    ``factors`` has shape (K, d, d); all K projections of the chunk are computed
    as a single (n, d) @ (d, K*d) product.
    """
    n_components, n_features = means.shape
    stacked = factors.transpose(1, 0, 2).reshape(n_features, n_components * n_features)
    proj = (X @ stacked).reshape(X.shape[0], n_components, n_features)
    proj -= np.einsum("kd,kde->ke", means, factors)
    return np.einsum("nke,nke->nk", proj, proj)


class VVV(CovarianceModel):
    """Each component has its own full covariance matrix (scikit-learn "full")."""

    name = "VVV"
    sklearn_name = "full"
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features * (n_features + 1) // 2

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    def covariances_from_scatter(self, nk, scatter, reg_covar):
        cov = scatter / nk[:, None, None]
        d = cov.shape[-1]
        cov[:, np.arange(d), np.arange(d)] += reg_covar
        return cov

    def precisions_cholesky(self, covariances, reg_covar):
        return factor_full(covariances, reg_covar)

    def precisions_cholesky_from_precisions(self, precisions):
        return np.stack([_upper_cholesky_of_precision(p) for p in precisions])

    def precisions_from_cholesky(self, prec_chol):
        return prec_chol @ prec_chol.transpose(0, 2, 1)

    def covariance_factors(self, prec_chol, n_components, n_features):
        return np.linalg.inv(prec_chol)

    def log_gaussian(self, X, means, prec_chol):
        maha = _maha_blocks(X, means, prec_chol)
        return gaussian_from_maha(maha, log_det_upper(prec_chol), X.shape[1])

    def dense(self, covariances, n_components, n_features):
        return covariances

    def from_dense(self, dense):
        return dense

    def _bad_precisions(self, arr):
        return [k for k in range(arr.shape[0]) if not _is_symmetric_pd(arr[k])]


class EEE(CovarianceModel):
    """All components share one full covariance matrix (scikit-learn "tied")."""

    name = "EEE"
    sklearn_name = "tied"
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_features * (n_features + 1) // 2

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def covariances_from_scatter(self, nk, scatter, reg_covar):
        cov = scatter.sum(axis=0) / nk.sum()
        cov.flat[:: cov.shape[0] + 1] += reg_covar
        return cov

    def keep_components(self, new, old, mask):
        return new

    def precisions_cholesky(self, covariances, reg_covar):
        return factor_full(covariances[None], reg_covar)[0]

    def precisions_cholesky_from_precisions(self, precisions):
        return _upper_cholesky_of_precision(precisions)

    def precisions_from_cholesky(self, prec_chol):
        return prec_chol @ prec_chol.T

    def covariance_factors(self, prec_chol, n_components, n_features):
        inv = np.linalg.inv(prec_chol)
        return np.broadcast_to(inv, (n_components, *inv.shape))

    def log_gaussian(self, X, means, prec_chol):
        # One projection of the chunk serves every component.
        proj = X @ prec_chol
        centres = means @ prec_chol
        maha = np.empty((X.shape[0], means.shape[0]))
        for k in range(means.shape[0]):
            diff = proj - centres[k]
            maha[:, k] = np.einsum("ne,ne->n", diff, diff)
        return gaussian_from_maha(maha, log_det_upper(prec_chol), X.shape[1])

    def dense(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components, *covariances.shape)).copy()

    def from_dense(self, dense):
        return dense[0]

    def _bad_precisions(self, arr):
        return [] if _is_symmetric_pd(arr) else [0]
