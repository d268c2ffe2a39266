"""Ellipsoidal models: full covariance matrices.

``VVV`` and ``EEE`` hold scikit-learn's "full" and "tied" arrays; the other
models hold dense ``(K, d, d)`` matrices.  M-steps, with ``W_k`` the scatter
of component k, ``W_k = L_k diag(omega_k) L_k^T`` its eigen-decomposition
(decreasing eigenvalues) and ``n = sum_k n_k``:

* EEV: ``Sigma_k = L_k diag(sum_j omega_j) L_k^T / n`` (closed form);
* EVV: ``Sigma_k = lambda W_k / |W_k|^(1/d)``, ``lambda = sum_k |W_k|^(1/d) / n``
  (closed form);
* VEV: ``D_k = L_k`` and the volumes and common shape alternate as for VEI,
  on the eigenvalues (iterative);
* VEE: ``Sigma_k = lambda_k C``, alternating ``lambda_k = tr(W_k C^-1) /
  (d n_k)`` and ``C = S / |S|^(1/d)``, ``S = sum_k W_k / lambda_k`` (iterative);
* EVE, VVE: common orientation ``D`` by sweeps of optimal plane rotations
  (see :class:`_CommonOrientation`), alternating with the closed-form volumes
  and shapes given ``D`` (EVI's formulas on ``diag(D^T W_k D)`` for EVE;
  ``lambda_k A_k = diag(D^T W_k D) / n_k`` for VVE).

The iterative M-steps' loops are compiled (numba); their stopping rules are
described in :mod:`gmmkit.covariance._inner`.
"""

from __future__ import annotations

import logging

import numpy as np

from . import _closed
from ._base import CovarianceModel, PriorRule, StackedFactors
from ._decomposed import DecomposedModel
from ._inner import (
    INNER_MAX_ITER,
    INNER_TOL,
    OBJECTIVE_TOL,
    compiled,
    orientation_kernel,
    vee_kernel,
)
from ._linalg import (
    active_components,
    compose,
    factor_full,
    gaussian_from_maha,
    is_symmetric_pd,
    log_det_upper,
    maha_blocks,
    sorted_eigh,
    upper_cholesky_of_precision,
)
from .diagonal import equal_shape_volumes

logger = logging.getLogger("gmmkit")


class VVV(StackedFactors):
    """Each component has its own full covariance matrix (scikit-learn "full")."""

    name = "VVV"
    closed_form = _closed.VVV
    sklearn_name = "full"
    family = "ellipsoidal"
    moments = "full"
    squarem = True
    # Sigma_k = (L + S_k) / (n_k + nu + d + 2)
    prior_rule = PriorRule(
        "matrix", lambda g, d: 1.0, lambda nu, g, d, m: nu + d + 2, "VVV"
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features * (n_features + 1) // 2

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    def covariances_from_scatter(self, nk, scatter, reg_covar, previous=None):
        cov = scatter / nk[:, None, None]
        d = cov.shape[-1]
        cov[:, np.arange(d), np.arange(d)] += reg_covar
        return cov

    def log_gaussian(self, X, means, prec_chol):
        maha = maha_blocks(X, means, prec_chol)
        return gaussian_from_maha(maha, log_det_upper(prec_chol), X.shape[1])

    def dense(self, covariances, n_components, n_features):
        return covariances

    def from_dense(self, dense):
        return dense

    def _bad_precisions(self, arr):
        return [k for k in range(arr.shape[0]) if not is_symmetric_pd(arr[k])]


class EEE(CovarianceModel):
    """All components share one full covariance matrix (scikit-learn "tied")."""

    name = "EEE"
    closed_form = _closed.EEE
    sklearn_name = "tied"
    family = "ellipsoidal"
    moments = "full"
    squarem = True
    # Sigma = (L + sum_k S_k) / (n + nu + d + G m + 1)
    prior_rule = PriorRule(
        "matrix",
        lambda g, d: 1.0 / g,
        lambda nu, g, d, m: (nu + d + g * m + 1) / g,
        "VVV",
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_features * (n_features + 1) // 2

    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def covariances_from_scatter(self, nk, scatter, reg_covar, previous=None):
        cov = scatter.sum(axis=0) / nk.sum()
        cov.flat[:: cov.shape[0] + 1] += reg_covar
        return cov

    def keep_components(self, new, old, mask):
        return new

    def precisions_cholesky(self, covariances, reg_covar):
        return factor_full(covariances[None], reg_covar)[0]

    def precisions_cholesky_from_precisions(self, precisions):
        return upper_cholesky_of_precision(precisions)

    def precisions_from_cholesky(self, prec_chol):
        return prec_chol @ prec_chol.T

    def covariance_factors(self, prec_chol, n_components, n_features):
        inv = np.linalg.inv(prec_chol)
        return np.broadcast_to(inv, (n_components, *inv.shape))

    def kernel_factors(self, prec_chol, n_components, n_features):
        shared = np.asarray(prec_chol, dtype=np.float64)
        return np.ascontiguousarray(
            np.broadcast_to(shared, (n_components, *shared.shape))
        )

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
        return [] if is_symmetric_pd(arr) else [0]


# -- mclust's ellipsoidal models with dense (K, d, d) covariances -------------------


def _orientation_params(n_features: int) -> int:
    return n_features * (n_features - 1) // 2


class EEV(DecomposedModel):
    """Equal volume and shape, variable orientation."""

    name = "EEV"
    closed_form = _closed.EEV
    family = "ellipsoidal"
    moments = "full"
    # Sigma_k = D_k (sum_j Omega_j) D_k^T / (n + nu + d + m + 1) with
    # L + S_k = D_k Omega_k D_k^T
    prior_rule = PriorRule(
        "matrix", lambda g, d: 1.0, lambda nu, g, d, m: (nu + d + m + 1) / g, "VVV"
    )

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_features + n_components * _orientation_params(n_features)

    def fit_covariances(self, nk, scatter, previous=None):
        values, vectors = sorted_eigh(scatter)
        diag = values[active_components(nk)].sum(axis=0) / nk.sum()
        return compose(np.ones_like(nk), np.broadcast_to(diag, values.shape), vectors)


class VEV(DecomposedModel):
    """Variable volume, equal shape, variable orientation (iterative M-step)."""

    name = "VEV"
    closed_form = _closed.VEV
    family = "ellipsoidal"
    moments = "full"
    # VEV's iteration on L + S_k with the plain counts (mclust ignores nu)
    prior_rule = PriorRule("matrix", lambda g, d: 1.0, lambda nu, g, d, m: 0.0, "VVV")

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return (
            n_components
            + n_features
            - 1
            + n_components * _orientation_params(n_features)
        )

    def fit_covariances(self, nk, scatter, previous=None):
        values, vectors = sorted_eigh(scatter)
        volumes, shape = equal_shape_volumes(nk, np.maximum(values, 0.0))
        return compose(volumes, np.broadcast_to(shape, values.shape), vectors)


class EVV(DecomposedModel):
    """Equal volume, variable shape and orientation."""

    name = "EVV"
    closed_form = _closed.EVV
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        per_component = n_features * (n_features + 1) // 2
        return n_components * per_component - (n_components - 1)

    def fit_covariances(self, nk, scatter, previous=None):
        d = scatter.shape[-1]
        sign, logdet = np.linalg.slogdet(scatter)
        with np.errstate(invalid="ignore", divide="ignore"):
            sizes = np.where(sign > 0, np.exp(logdet / d), 0.0)
            volume = sizes[active_components(nk)].sum() / nk.sum()
            return volume * scatter / sizes[:, None, None]


class VEE(DecomposedModel):
    """Variable volume, equal shape and orientation (iterative M-step)."""

    name = "VEE"
    closed_form = _closed.VEE
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components + n_features * (n_features + 1) // 2 - 1

    def fit_covariances(self, nk, scatter, previous=None):
        volumes, common, rounds = compiled(vee_kernel)(
            np.ascontiguousarray(nk, dtype=np.float64),
            np.ascontiguousarray(scatter, dtype=np.float64),
            active_components(nk),
            INNER_TOL,
            INNER_MAX_ITER,
        )
        if rounds >= INNER_MAX_ITER:
            logger.debug("VEE M-step stopped after %d iterations", rounds)
        return volumes[:, None, None] * common


class _CommonOrientation(DecomposedModel):
    """EVE and VVE: a common orientation ``D`` found by plane rotations.

    The M-step minimises ``sum_k [n_k log|Sigma_k| + tr(W_k Sigma_k^-1)]`` with
    ``Sigma_k = D diag(b_k) D^T`` by coordinate descent over plane rotations
    of ``D``, each followed by the closed-form ``b_k`` given ``D``.  Given
    the previous EM iteration's covariances it starts from their orientation
    (a warm start), so the objective never ends above its value at the
    previous covariances and EM's log-likelihood cannot fall (the problem
    has several local optima: restarted from the eigenvectors of
    ``sum_k W_k`` each time, VVE's log-likelihood was seen to drop by 0.2
    relative); otherwise from those eigenvectors.  Taking the better of both
    starts was tried: the choice flips with rounding between two nearly equal
    optima, so chunked and whole-data fits then differ by ~1e-9.  The loop,
    its derivation and its stopping rule:
    :func:`gmmkit.covariance._inner.orientation_kernel`.
    """

    family = "ellipsoidal"
    moments = "full"

    #: True for EVE (equal volumes), False for VVE.
    equal_volume: bool
    #: (covariances, orientation) of the last M-step (see fit_covariances).
    _memo: tuple[np.ndarray, np.ndarray] | None = None

    def fit_covariances(self, nk, scatter, previous=None):
        active = active_components(nk)
        k, d, _ = scatter.shape
        if not np.all(np.isfinite(scatter[active])):
            return np.full_like(scatter, np.nan)
        start = None if previous is None else self._warm_start(previous, active)
        if start is None:
            _, start = sorted_eigh(scatter[active].sum(axis=0))
        orientation = np.ascontiguousarray(start, dtype=np.float64)
        diag, ok, sweeps, _ = compiled(orientation_kernel)(
            np.ascontiguousarray(nk, dtype=np.float64),
            np.ascontiguousarray(scatter, dtype=np.float64),
            orientation,
            active,
            self.equal_volume,
            INNER_TOL,
            OBJECTIVE_TOL,
            INNER_MAX_ITER,
        )
        if not ok:
            return np.full_like(scatter, np.nan)
        if sweeps >= INNER_MAX_ITER:
            logger.debug("%s M-step stopped after %d sweeps", self.name, sweeps)
        out = compose(
            np.ones(k), diag, np.broadcast_to(orientation, (k, *orientation.shape))
        )
        self._memo = (out.copy(), orientation)
        return out

    def _warm_start(
        self, previous: np.ndarray, active: np.ndarray
    ) -> np.ndarray | None:
        """The orientation this model returned last, when ``previous`` is
        exactly what it returned (EM's next M-step): recovering it from the
        covariances costs an eigendecomposition, half of a small fit's
        M-step; else that of ``previous`` (:func:`_shared_orientation`)."""
        memo = self._memo
        if (
            memo is not None
            and memo[0].shape == np.shape(previous)
            and np.array_equal(memo[0], previous)
        ):
            return memo[1].copy()
        return _shared_orientation(previous, active)

    def dense_orientation(self, previous):
        return self._warm_start(previous, np.ones(previous.shape[0], dtype=bool))

    def remember_dense(self, covariances, orientation):
        self._memo = (np.array(covariances), np.array(orientation))


def _shared_orientation(previous: np.ndarray, active: np.ndarray) -> np.ndarray | None:
    """The common orientation ``D`` (d, d) of covariances ``previous`` (K, d, d)
    that share one (EVE's, VVE's), or None when they do not (to 1e-8).

    The eigenvectors of a weighted sum of the unit-determinant matrices with
    distinct weights: shared eigenvectors, and (unlike those of their plain
    average) not left arbitrary when two components' shapes mirror each other.
    """
    prev = np.asarray(previous, dtype=np.float64)[active]
    if prev.ndim != 3 or prev.shape[0] == 0 or not np.all(np.isfinite(prev)):
        return None
    d = prev.shape[-1]
    sign, logdet = np.linalg.slogdet(prev)
    if np.any(sign <= 0):
        return None
    normed = prev / np.exp(logdet / d)[:, None, None]
    weights = 1.0 + np.arange(len(normed)) / (np.pi * len(normed))
    _, vectors = sorted_eigh(np.einsum("k,kij->ij", weights, normed))
    rotated = vectors.T @ normed @ vectors  # batched: no einsum set-up cost
    scale = np.abs(rotated).max()
    rotated[:, np.arange(d), np.arange(d)] = 0.0
    if np.abs(rotated).max() > 1e-8 * scale:
        return None
    return vectors


class EVE(_CommonOrientation):
    """Equal volume, variable shape, equal orientation (iterative M-step)."""

    name = "EVE"
    closed_form = _closed.EVE
    equal_volume = True

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1) + _orientation_params(n_features)


class VVE(_CommonOrientation):
    """Variable volume and shape, equal orientation (iterative M-step)."""

    name = "VVE"
    closed_form = _closed.VVE
    equal_volume = False

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features + _orientation_params(n_features)
