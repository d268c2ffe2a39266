"""Spherical models: a single variance per component."""

from __future__ import annotations

import numpy as np

from ._base import CovarianceModel, gaussian_from_maha
from .diagonal import diagonal_maha, positive_factors


class VII(CovarianceModel):
    """Each component has its own variance (scikit-learn "spherical")."""

    name = "VII"
    sklearn_name = "spherical"
    family = "spherical"
    moments = "diag"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    def covariances_from_scatter(self, nk, scatter, reg_covar):
        return scatter.mean(axis=1) / nk + reg_covar

    def precisions_cholesky(self, covariances, reg_covar):
        return positive_factors(covariances, reg_covar)

    def precisions_cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions_from_cholesky(self, prec_chol):
        return prec_chol**2

    def covariance_factors(self, prec_chol, n_components, n_features):
        return np.eye(n_features)[None] / prec_chol[:, None, None]

    def covariances_from_cholesky(self, prec_chol, n_components, n_features):
        return 1.0 / prec_chol**2

    def log_gaussian(self, X, means, prec_chol):
        d = X.shape[1]
        prec = np.repeat((prec_chol**2)[:, None], d, axis=1)
        maha = diagonal_maha(X, means, prec)
        return gaussian_from_maha(maha, d * np.log(prec_chol), d)

    def dense(self, covariances, n_components, n_features):
        return np.eye(n_features)[None] * covariances[:, None, None]

    def from_dense(self, dense):
        return np.diagonal(dense, axis1=1, axis2=2).mean(axis=1)

    def _bad_precisions(self, arr):
        return [int(k) for k in np.nonzero(arr <= 0)[0]]
