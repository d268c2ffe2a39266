"""Dense Gaussian algebra: marginals and conditionals, batched over components.

The conditioning core shared by missing values (the E-step of
``nan_policy="marginalize"``, :meth:`gmmkit.GaussianMixture.impute`) and by
conditional / marginal mixtures.  Everything works on dense parameters,
means of shape (K, d) and covariances of shape (K, d, d) (a covariance
model's :meth:`~gmmkit.covariance.CovarianceModel.dense` gives them), with
index arrays choosing coordinates.

For a Gaussian ``N(mu, Sigma)`` split into given coordinates ``g`` and the
rest ``r``, with ``L`` the lower Cholesky factor of ``Sigma_gg``,
``z = L^{-1} (x_g - mu_g)`` and ``B = L^{-1} Sigma_gr``:

* ``log N(x_g | mu_g, Sigma_gg) = -(|z|^2 + 2 sum log diag L + |g| log 2 pi) / 2``
* ``E[x_r | x_g] = mu_r + B^T z`` (``= mu_r + Sigma_rg Sigma_gg^{-1} (x_g - mu_g)``)
* ``Cov[x_r | x_g] = Sigma_rr - B^T B`` (the Schur complement)

so each component needs one Cholesky factorisation and triangular solves;
no matrix is inverted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from ._errors import FitError

_LOG_2PI = math.log(2.0 * math.pi)

__all__ = [
    "Conditional",
    "Conditioner",
    "cholesky",
    "complement",
    "condition",
    "condition_residuals",
    "conditioner",
    "log_density",
    "marginal",
    "mixture_condition",
]


def complement(index: np.ndarray, n_features: int) -> np.ndarray:
    """The coordinates of ``range(n_features)`` not in ``index``, in order."""
    keep = np.ones(n_features, dtype=bool)
    keep[np.asarray(index, dtype=np.intp)] = False
    return np.nonzero(keep)[0]


def marginal(
    means: np.ndarray, covariances: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Means (K, m) and covariances (K, m, m) of the coordinates ``index``."""
    index = np.asarray(index, dtype=np.intp)
    return means[:, index], covariances[:, index[:, None], index[None, :]]


def cholesky(covariances: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack (K, m, m) of covariance matrices.

    A matrix that is not numerically positive definite is a FitError naming
    the component (it cannot come from a fitted model, whose covariances are
    positive definite, unless a block of it is singular to rounding).
    """
    try:
        return np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        for k, cov in enumerate(covariances):
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                raise FitError(
                    f"the covariance of component {k} restricted to the observed "
                    "features is not positive definite to rounding, so the "
                    "Gaussian cannot be conditioned on them. Increase reg_covar."
                ) from None
        raise  # pragma: no cover - the batch failed but no single matrix did


def _rows(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` as float64 rows of ``width`` coordinates (1-D: one
    coordinate per row, or one row when ``width`` is not 1)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return values.reshape(-1, 1) if width == 1 else values.reshape(1, -1)
    return values


def _solve_lower(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``chol[k]^{-1} rhs[k]`` for each k (forward substitution)."""
    out = np.empty(rhs.shape, dtype=np.float64)
    for k in range(chol.shape[0]):
        out[k] = solve_triangular(chol[k], rhs[k], lower=True, check_finite=False)
    return out


@dataclass
class Conditional:
    """Per component: the given coordinates' log-density and the conditional
    Gaussian of the rest.

    Attributes
    ----------
    log_density : ndarray of shape (n, K)
        ``log N(x_g | mu_kg, Sigma_kgg)`` for each row and component.
    offsets : ndarray of shape (n, K, r)
        ``E[x_r | x_g, k] - mu_kr`` (the conditional means are
        ``means[:, rest] + offsets``).
    covariances : ndarray of shape (K, r, r)
        ``Cov[x_r | x_g, k]`` (the same for every row).
    """

    log_density: np.ndarray
    offsets: np.ndarray
    covariances: np.ndarray


def condition_residuals(
    covariances: np.ndarray,
    given: np.ndarray,
    rest: np.ndarray,
    residuals: np.ndarray,
) -> Conditional:
    """Condition each component on residuals ``x_g - mu_kg``.

    Parameters
    ----------
    covariances : ndarray of shape (K, d, d)
    given, rest : int arrays of coordinates (disjoint; usually complements)
    residuals : ndarray of shape (K, n, |given|)
        ``x_g - mu_kg`` of every row for every component.
    """
    given = np.asarray(given, dtype=np.intp)
    rest = np.asarray(rest, dtype=np.intp)
    k, n = residuals.shape[:2]
    s_rr = covariances[:, rest[:, None], rest[None, :]]
    if given.size == 0:
        return Conditional(np.zeros((n, k)), np.zeros((n, k, rest.size)), s_rr.copy())
    chol = cholesky(covariances[:, given[:, None], given[None, :]])
    z = _solve_lower(chol, residuals.transpose(0, 2, 1))  # (K, g, n)
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    maha = np.einsum("kgn,kgn->nk", z, z)
    log_dens = -0.5 * (maha + log_det + given.size * _LOG_2PI)
    if rest.size == 0:
        return Conditional(log_dens, np.zeros((n, k, 0)), s_rr.copy())
    b = _solve_lower(chol, covariances[:, given[:, None], rest[None, :]])  # (K,g,r)
    offsets = np.matmul(z.transpose(0, 2, 1), b).transpose(1, 0, 2)  # (n, K, r)
    cond = s_rr - np.matmul(b.transpose(0, 2, 1), b)
    cond = 0.5 * (cond + cond.transpose(0, 2, 1))
    return Conditional(log_dens, offsets, cond)


def condition(
    means: np.ndarray,
    covariances: np.ndarray,
    given: np.ndarray,
    values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each component's Gaussian of the other coordinates given ``x_g = values``.

    Parameters
    ----------
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d)
    given : int array of shape (g,)
    values : ndarray of shape (n, g)

    Returns
    -------
    log_density : ndarray of shape (n, K)
        ``log N(values | mu_kg, Sigma_kgg)``.
    cond_means : ndarray of shape (n, K, r)
        ``E[x_r | x_g = values, k]`` with ``r`` the other coordinates in order.
    cond_covariances : ndarray of shape (K, r, r)
        ``Cov[x_r | x_g, k]``.
    """
    given = np.asarray(given, dtype=np.intp)
    rest = complement(given, means.shape[1])
    values = _rows(values, given.size)
    res = values[None, :, :] - means[:, None, given]
    cond = condition_residuals(covariances, given, rest, res)
    return cond.log_density, means[None, :, rest] + cond.offsets, cond.covariances


def log_density(
    means: np.ndarray,
    covariances: np.ndarray,
    index: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """``log N(values | mu_k[index], Sigma_k[index, index])``, shape (n, K)."""
    index = np.asarray(index, dtype=np.intp)
    values = _rows(values, index.size)
    res = values[None, :, :] - means[:, None, index]
    empty = np.empty(0, dtype=np.intp)
    return condition_residuals(covariances, index, empty, res).log_density


def mixture_condition(
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    given: np.ndarray,
    values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A Gaussian mixture conditioned on ``x_g = values``, row by row.

    Returns
    -------
    log_marginal : ndarray of shape (n,)
        ``log sum_k pi_k N(values | mu_kg, Sigma_kgg)``.
    posterior : ndarray of shape (n, K)
        ``P(k | x_g = values)``: the conditional mixture's weights.
    cond_means : ndarray of shape (n, K, r)
    cond_covariances : ndarray of shape (K, r, r)
    """
    log_dens, cond_means, cond_covs = condition(means, covariances, given, values)
    with np.errstate(divide="ignore"):
        log_prob = log_dens + np.log(weights)
    top = log_prob.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    post = np.exp(log_prob - top)
    total = post.sum(axis=1, keepdims=True)
    post /= total
    return (np.log(total) + top)[:, 0], post, cond_means, cond_covs


@dataclass(frozen=True)
class Conditioner:
    """Every component conditioned on the same coordinates, for many rows.

    :func:`condition_residuals` factorises per call and solves a triangular
    system per component with the rows as right-hand sides; for many rows
    given the same coordinates it is faster to invert each (small) triangular
    factor once, ``W_k = L_k^{-1}``, so that a block of rows costs matrix
    products only: ``z = W_k (x_g - mu_kg)``, ``log N = log_const_k - |z|^2
    / 2`` and ``E[x_r | x_g, k] = mu_kr + B_k^T z`` with ``B_k = W_k
    Sigma_kgr``.  Build it with :func:`conditioner`.

    Attributes
    ----------
    means_given : ndarray of shape (K, g)
    means_rest : ndarray of shape (K, r)
    whiten : ndarray of shape (K, g, g)
        ``W_k^T`` (rows times it give ``z^T``).
    gain : ndarray of shape (K, g, r)
        ``B_k``.
    covariances : ndarray of shape (K, r, r)
        ``Cov[x_r | x_g, k]``.
    log_const : ndarray of shape (K,)
        ``-(log det Sigma_kgg + g log 2 pi) / 2``.
    """

    means_given: np.ndarray
    means_rest: np.ndarray
    whiten: np.ndarray
    gain: np.ndarray
    covariances: np.ndarray
    log_const: np.ndarray

    def apply(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log N(x_g | mu_kg, Sigma_kgg)`` (n, K) and ``E[x_r | x_g, k]``
        (n, K, r) for rows ``values`` (n, g)."""
        res = values[None, :, :] - self.means_given[:, None, :]  # (K, n, g)
        z = np.matmul(res, self.whiten)
        log_dens = self.log_const[:, None] - 0.5 * np.einsum("kng,kng->kn", z, z)
        cond_means = self.means_rest[:, None, :] + np.matmul(z, self.gain)
        return log_dens.T, cond_means.transpose(1, 0, 2)


def conditioner(
    means: np.ndarray, covariances: np.ndarray, given: np.ndarray
) -> Conditioner:
    """A :class:`Conditioner` of the components ``N(means[k],
    covariances[k])`` on coordinates ``given`` (the rest in order)."""
    given = np.asarray(given, dtype=np.intp)
    rest = complement(given, means.shape[1])
    k, g = means.shape[0], given.size
    s_rr = covariances[:, rest[:, None], rest[None, :]]
    if g == 0:
        return Conditioner(
            means[:, given],
            means[:, rest],
            np.zeros((k, 0, 0)),
            np.zeros((k, 0, rest.size)),
            s_rr.copy(),
            np.zeros(k),
        )
    chol = cholesky(covariances[:, given[:, None], given[None, :]])
    inv = _solve_lower(chol, np.broadcast_to(np.eye(g), (k, g, g)))
    gain = np.matmul(inv, covariances[:, given[:, None], rest[None, :]])
    cond = s_rr - np.matmul(gain.transpose(0, 2, 1), gain)
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    return Conditioner(
        means[:, given],
        means[:, rest],
        np.ascontiguousarray(inv.transpose(0, 2, 1)),
        gain,
        0.5 * (cond + cond.transpose(0, 2, 1)),
        -0.5 * (log_det + g * _LOG_2PI),
    )
