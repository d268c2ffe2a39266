"""Spherical models: a single variance per component (VII, EII; E, V in 1-D).

``VII`` holds scikit-learn's "spherical" arrays (one variance per component);
the mclust-named models hold dense ``(K, d, d)`` matrices.
"""

from __future__ import annotations

import numpy as np

from .._errors import InvalidParameterError
from . import _closed
from ._base import CovarianceModel, PriorRule
from ._decomposed import DecomposedModel
from ._linalg import (
    collapsed_variances,
    decompose_axes,
    diagonal_maha,
    gaussian_from_maha,
    positive_factors,
)


class VII(CovarianceModel):
    """Each component has its own variance (scikit-learn "spherical")."""

    name = "VII"
    closed_form = _closed.VII
    sklearn_name = "spherical"
    subset_model = "VII"
    family = "spherical"
    moments = "diag"
    valid_precision = "positive"
    squarem = True
    # sigma_k^2 = (L + tr S_k) / (n_k d + nu + d m + 2)
    prior_rule = PriorRule(
        "scalar", lambda g, d: 1.0 / d, lambda nu, g, d, m: (nu + d * m + 2) / d, "VII"
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    def covariances_from_scatter(self, nk, scatter, reg_covar, previous=None):
        variances = scatter.mean(axis=1) / nk + reg_covar
        return collapsed_variances(variances, previous)

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

    def kernel_factors(self, prec_chol, n_components, n_features):
        prec = np.asarray(prec_chol, dtype=np.float64) ** 2
        return np.ascontiguousarray(np.repeat(prec[:, None], n_features, axis=1))

    def decomposition(self, covariances, n_components, n_features):
        variances = np.repeat(np.asarray(covariances, float)[:, None], n_features, 1)
        return decompose_axes(variances)

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


# -- mclust's spherical models with dense (K, d, d) covariances -------------------


class EII(DecomposedModel):
    """Equal volume, spherical: one variance shared by all components.

    ``Sigma_k = lambda I`` with ``lambda = sum_k tr(W_k) / (n d)``.
    """

    name = "EII"
    subset_model = "EII"
    closed_form = _closed.EII
    family = "spherical"
    moments = "diag"
    squarem = True
    # sigma^2 = sum_k tr S_k / (n d + nu + G d + 2); mclust leaves L out
    prior_rule = PriorRule(
        "scalar",
        lambda g, d: 0.0,
        lambda nu, g, d, m: (nu + g * d + 2) / (g * d),
        "VII",
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return 1

    def fit_covariances(self, nk, scatter, previous=None):
        n_components, n_features = scatter.shape
        variance = scatter.sum() / (nk.sum() * n_features)
        return np.broadcast_to(
            variance * np.eye(n_features), (n_components, n_features, n_features)
        ).copy()

    def keep_components(self, new, old, mask):
        return new


def _one_dimensional(model: str, n_features: int) -> None:
    if n_features != 1:
        multi = "EII" if model == "E" else "VII"
        raise InvalidParameterError(
            f"covariance_type={model!r} is mclust's model for one-dimensional data, "
            f"but X has {n_features} features. Use {multi!r} (its multivariate "
            "counterpart) or another mclust name for data with several features."
        )


class E(EII):
    """One-dimensional data, equal variance in every component."""

    name = "E"
    subset_model = "E"
    # sigma^2 = (L + sum_k S_k) / (n + nu + G + 2)
    prior_rule = PriorRule(
        "scalar", lambda g, d: 1.0 / g, lambda nu, g, d, m: (nu + g + 2) / g, "V"
    )

    def check_n_features(self, n_features: int) -> None:
        _one_dimensional(self.name, n_features)


class V(DecomposedModel):
    """One-dimensional data, a variance per component."""

    name = "V"
    subset_model = "V"
    family = "spherical"
    moments = "diag"
    squarem = True
    # sigma_k^2 = (L + S_k) / (n_k + nu + 3)
    prior_rule = PriorRule("scalar", lambda g, d: 1.0, lambda nu, g, d, m: nu + 3, "V")

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components

    def check_n_features(self, n_features: int) -> None:
        _one_dimensional(self.name, n_features)

    def fit_covariances(self, nk, scatter, previous=None):
        return (scatter / nk[:, None])[:, :, None]
