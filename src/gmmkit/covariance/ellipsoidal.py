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

Iterative M-steps stop when no parameter moved by more than ``INNER_TOL``
(relative; orientations: absolute) or after ``INNER_MAX_ITER`` rounds, keeping
the last iterate (see :mod:`gmmkit.covariance._decomposed`).
"""

from __future__ import annotations

import logging

import numpy as np

from ._base import (
    CovarianceModel,
    StackedFactors,
    _is_symmetric_pd,
    _upper_cholesky_of_precision,
    factor_full,
    gaussian_from_maha,
    log_det_upper,
)
from ._decomposed import (
    INNER_MAX_ITER,
    INNER_TOL,
    DecomposedModel,
    active_components,
    compose,
    normalise_shape,
    relative_change,
    sorted_eigh,
)
from .diagonal import equal_shape_volumes

logger = logging.getLogger("gmmkit")


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


class VVV(StackedFactors):
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


# -- mclust's ellipsoidal models with dense (K, d, d) covariances -------------------


def _orientation_params(n_features: int) -> int:
    return n_features * (n_features - 1) // 2


class EEV(DecomposedModel):
    """Equal volume and shape, variable orientation."""

    name = "EEV"
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_features + n_components * _orientation_params(n_features)

    def fit_covariances(self, nk, scatter):
        values, vectors = sorted_eigh(scatter)
        diag = values[active_components(nk)].sum(axis=0) / nk.sum()
        return compose(np.ones_like(nk), np.broadcast_to(diag, values.shape), vectors)


class VEV(DecomposedModel):
    """Variable volume, equal shape, variable orientation (iterative M-step)."""

    name = "VEV"
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return (
            n_components
            + n_features
            - 1
            + n_components * _orientation_params(n_features)
        )

    def fit_covariances(self, nk, scatter):
        values, vectors = sorted_eigh(scatter)
        volumes, shape = equal_shape_volumes(nk, np.maximum(values, 0.0))
        return compose(volumes, np.broadcast_to(shape, values.shape), vectors)


class EVV(DecomposedModel):
    """Equal volume, variable shape and orientation."""

    name = "EVV"
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        per_component = n_features * (n_features + 1) // 2
        return n_components * per_component - (n_components - 1)

    def fit_covariances(self, nk, scatter):
        d = scatter.shape[-1]
        sign, logdet = np.linalg.slogdet(scatter)
        with np.errstate(invalid="ignore", divide="ignore"):
            sizes = np.where(sign > 0, np.exp(logdet / d), 0.0)
            volume = sizes[active_components(nk)].sum() / nk.sum()
            return volume * scatter / sizes[:, None, None]


class VEE(DecomposedModel):
    """Variable volume, equal shape and orientation (iterative M-step)."""

    name = "VEE"
    family = "ellipsoidal"
    moments = "full"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components + n_features * (n_features + 1) // 2 - 1

    def fit_covariances(self, nk, scatter):
        d = scatter.shape[-1]
        active = active_components(nk)
        common = _unit_det(scatter[active].sum(axis=0))
        volumes = np.ones_like(nk)
        for it in range(1, INNER_MAX_ITER + 1):  # noqa: B007 (logged below)
            new_volumes = _trace_solve(common, scatter) / (d * nk)
            weighted = scatter[active] / new_volumes[active, None, None]
            new_common = _unit_det(weighted.sum(axis=0))
            change = max(
                relative_change(new_volumes[active], volumes[active]),
                float(np.abs(new_common - common).max() / np.abs(new_common).max()),
            )
            volumes, common = new_volumes, new_common
            if change <= INNER_TOL or not np.all(np.isfinite(common)):
                break
        else:
            logger.debug("VEE M-step stopped after %d iterations", it)
        volumes = _trace_solve(common, scatter) / (d * nk)
        return volumes[:, None, None] * common


def _unit_det(matrix: np.ndarray) -> np.ndarray:
    """``matrix / |matrix|^(1/d)`` (NaN when not positive definite)."""
    sign, logdet = np.linalg.slogdet(matrix)
    if sign <= 0:
        return np.full_like(matrix, np.nan)
    out = matrix / np.exp(logdet / matrix.shape[0])
    return 0.5 * (out + out.T)


def _trace_solve(common: np.ndarray, scatter: np.ndarray) -> np.ndarray:
    """``tr(W_k C^-1)`` for every k."""
    try:
        inverse = np.linalg.inv(common)
    except np.linalg.LinAlgError:
        return np.full(scatter.shape[0], np.nan)
    return np.einsum("kij,ji->k", scatter, inverse)


class _CommonOrientation(DecomposedModel):
    """EVE and VVE: a common orientation ``D`` found by plane rotations.

    The M-step minimises ``sum_k [n_k log|Sigma_k| + tr(W_k Sigma_k^-1)]`` with
    ``Sigma_k = D diag(b_k) D^T``.  Given ``D`` the diagonals ``b_k`` have a
    closed form (:meth:`diagonals`).  Given the ``b_k``, the objective's
    dependence on a rotation by angle ``t`` of two columns ``i, j`` of ``D`` is
    ``C cos 2t + S sin 2t + const`` with ``C = sum_k (u_k - v_k)(a_k - c_k) / 2``
    and ``S = sum_k (u_k - v_k) m_k`` (``u, v`` the inverse diagonals at
    ``i, j``; ``a, c, m`` the entries ``ii, jj, ij`` of ``D^T W_k D``), whose
    minimum is at ``2t = atan2(-S, -C)``.  Sweeps over all pairs, each rotation
    followed by the update of the ``b_k``, never increase the objective (a
    coordinate descent; the same problem that Browne and McNicholas 2014 solve
    by majorisation-minimisation, whose steps converge far more slowly here).
    Sweeps stop when neither ``D`` nor the ``b_k`` moved by more than
    ``INNER_TOL`` or after ``INNER_MAX_ITER`` sweeps.
    """

    family = "ellipsoidal"
    moments = "full"

    def diagonals(self, nk: np.ndarray, rotated: np.ndarray) -> np.ndarray:
        """``lambda_k A_k`` (K, d) given ``diag(D^T W_k D)`` (K, d)."""
        raise NotImplementedError

    def fit_covariances(self, nk, scatter):
        active = active_components(nk)
        k, d, _ = scatter.shape
        if not np.all(np.isfinite(scatter[active])):
            return np.full_like(scatter, np.nan)
        _, orientation = sorted_eigh(scatter[active].sum(axis=0))
        orientation = np.array(orientation)
        rotated = np.einsum("ji,kjl,lm->kim", orientation, scatter, orientation)
        diag = self.diagonals(nk, np.diagonal(rotated, axis1=1, axis2=2))
        for it in range(1, INNER_MAX_ITER + 1):  # noqa: B007 (logged below)
            old_orientation, old_diag = orientation.copy(), diag
            for i in range(d - 1):
                for j in range(i + 1, d):
                    with np.errstate(divide="ignore", invalid="ignore"):
                        inverse = np.where(active[:, None], 1.0 / diag, 0.0)
                    if not np.all(np.isfinite(inverse)):
                        return np.full_like(scatter, np.nan)
                    _rotate_pair(orientation, rotated, inverse, i, j)
                    diag = self.diagonals(nk, np.diagonal(rotated, axis1=1, axis2=2))
            change = max(
                float(np.abs(orientation - old_orientation).max()),
                relative_change(diag[active], old_diag[active]),
            )
            if change <= INNER_TOL:
                break
        else:
            logger.debug("%s M-step stopped after %d sweeps", self.name, it)
        return compose(
            np.ones(k), diag, np.broadcast_to(orientation, (k, *orientation.shape))
        )


def _rotate_pair(
    orientation: np.ndarray,
    rotated: np.ndarray,
    inverse: np.ndarray,
    i: int,
    j: int,
) -> None:
    """Rotate columns ``i, j`` of ``D`` optimally; update ``D^T W_k D`` in place."""
    weight = inverse[:, i] - inverse[:, j]
    c_coef = 0.5 * weight @ (rotated[:, i, i] - rotated[:, j, j])
    s_coef = weight @ rotated[:, i, j]
    if c_coef == 0.0 and s_coef == 0.0:
        return
    angle = 0.5 * np.arctan2(-s_coef, -c_coef)
    c, s = np.cos(angle), np.sin(angle)
    for arr, axis in ((rotated, 2), (rotated, 1)):
        a = np.take(arr, i, axis=axis).copy()
        b = np.take(arr, j, axis=axis)
        idx_i = (slice(None),) * axis + (i,)
        idx_j = (slice(None),) * axis + (j,)
        arr[idx_j] = c * b - s * a
        arr[idx_i] = c * a + s * b
    a = orientation[:, i].copy()
    orientation[:, i] = c * a + s * orientation[:, j]
    orientation[:, j] = c * orientation[:, j] - s * a


def _rotated_diagonal(orientation: np.ndarray, scatter: np.ndarray) -> np.ndarray:
    """``diag(D^T W_k D)`` for every k, shape (K, d)."""
    return np.einsum("ij,kil,lj->kj", orientation, scatter, orientation)


class EVE(_CommonOrientation):
    """Equal volume, variable shape, equal orientation (iterative M-step)."""

    name = "EVE"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1) + _orientation_params(n_features)

    def diagonals(self, nk, rotated):
        active = active_components(nk)
        shapes = normalise_shape(rotated)
        sizes = np.exp(np.log(rotated[active]).mean(axis=1))
        return shapes * (sizes.sum() / nk.sum())


class VVE(_CommonOrientation):
    """Variable volume and shape, equal orientation (iterative M-step)."""

    name = "VVE"

    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features + _orientation_params(n_features)

    def diagonals(self, nk, rotated):
        return rotated / nk[:, None]
