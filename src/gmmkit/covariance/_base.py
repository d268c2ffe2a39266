"""The interface every covariance model implements.

A covariance model turns the central scatter matrices of the sufficient
statistics into covariances (its M-step), and knows how to evaluate the
Gaussian log-density of rows under its own parameterisation. It never sees the
full data set: the engine hands it statistics, or one chunk of rows at a time.

Parameters travel in scikit-learn's *native* shapes, which depend on the model
(``(K, d, d)`` for full, ``(d, d)`` for tied, ``(K, d)`` for diagonal, ``(K,)``
for spherical).  The precision Cholesky factor ``P`` is upper triangular with
``P @ P.T == inv(Sigma)``, scikit-learn's convention.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

import numpy as np
from scipy import linalg

from .._errors import FitError, InvalidParameterError

_LOG_2PI = float(np.log(2.0 * np.pi))

#: A component whose weighted count is below this fraction of the total
#: weight is empty: its responsibilities have all underflowed (or it started
#: with zero weight).  The engine keeps its previous mean and covariance and
#: gives it the weight of its count (~0); the decomposed models leave it out
#: of the parameters they share.  Any larger count, however small, is an
#: ordinary component and is re-estimated, as scikit-learn does (a threshold
#: of 1e-10 froze components that scikit-learn re-estimates and recover).
EMPTY_FRACTION = 1e-300


def singular_error(
    components: list[int], reg_covar: float, dtype_note: str = ""
) -> FitError:
    """The error raised when a covariance cannot be factorised."""
    which = ", ".join(str(k) for k in components)
    plural = "s" if len(components) > 1 else ""
    return FitError(
        f"EM cannot continue: the covariance of component{plural} {which} is not "
        "positive definite (its points have collapsed onto a point or a lower-"
        "dimensional subspace, e.g. duplicate rows, a constant column or collinear "
        f"columns). Remedies: increase reg_covar (now {reg_covar:g}), reduce "
        "n_components, use a constrained covariance_type such as 'diag', "
        "'spherical' or 'tied', or standardise/deduplicate the features." + dtype_note
    )


def _flip(a: np.ndarray) -> np.ndarray:
    return a[..., ::-1, ::-1]


def _upper_cholesky_of_precision(precision: np.ndarray) -> np.ndarray:
    """Upper triangular U with U @ U.T == precision (via J chol(J A J) J)."""
    return _flip(linalg.cholesky(_flip(precision), lower=True, check_finite=False))


def _is_symmetric_pd(a: np.ndarray) -> bool:
    if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(a).max())):
        return False
    try:
        linalg.cholesky(a, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return False
    return True


class CovarianceModel(ABC):
    """Base class of the covariance models (one subclass per model)."""

    #: mclust's three-letter code (volume, shape, orientation).
    name: ClassVar[str]
    #: scikit-learn's name for the model, if it has one.
    sklearn_name: ClassVar[str | None] = None
    #: "spherical", "diagonal" or "ellipsoidal".
    family: ClassVar[str]
    #: Which second moments the M-step needs: the full ``d x d`` scatter or
    #: only its diagonal.
    moments: ClassVar[Literal["full", "diag"]]

    # -- sizes -----------------------------------------------------------------
    @abstractmethod
    def n_cov_parameters(self, n_components: int, n_features: int) -> int:
        """Number of free parameters of the covariances."""

    @abstractmethod
    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of ``covariances_`` / ``precisions_`` for this model."""

    # -- M-step ----------------------------------------------------------------
    @abstractmethod
    def covariances_from_scatter(
        self, nk: np.ndarray, scatter: np.ndarray, reg_covar: float
    ) -> np.ndarray:
        """M-step: covariances from weighted counts and central scatter.

        ``scatter[k]`` is ``sum_n r_nk w_n (x_n - mu_k)(x_n - mu_k)^T`` (full
        moments, shape ``(K, d, d)``) or its diagonal (``(K, d)``).
        """

    def keep_components(
        self, new: np.ndarray, old: np.ndarray, mask: np.ndarray
    ) -> np.ndarray:
        """Covariances with those of the ``mask``-ed (empty) components kept.

        Models whose covariance parameters are shared by all components
        override this: empty components simply contribute nothing to them.
        """
        out = new.copy()
        out[mask] = old[mask]
        return out

    # -- factorisations ----------------------------------------------------------
    @abstractmethod
    def precisions_cholesky(
        self, covariances: np.ndarray, reg_covar: float
    ) -> np.ndarray:
        """Upper Cholesky factors of the precisions; FitError if singular."""

    @abstractmethod
    def precisions_cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Upper Cholesky factors computed from precision matrices."""

    @abstractmethod
    def precisions_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        """Precision matrices (native shape) from their Cholesky factors."""

    @abstractmethod
    def covariance_factors(
        self, prec_chol: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        """``A`` of shape (K, d, d) with ``Sigma_k = A_k.T @ A_k`` (for sampling)."""

    def covariances_from_cholesky(
        self, prec_chol: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        """Covariances (native shape) from precision Cholesky factors."""
        factors = self.covariance_factors(prec_chol, n_components, n_features)
        return self.from_dense(np.matmul(factors.transpose(0, 2, 1), factors))

    # -- densities -----------------------------------------------------------------
    @abstractmethod
    def log_gaussian(
        self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray
    ) -> np.ndarray:
        """``log N(x_n | mu_k, Sigma_k)`` of shape (n_rows, K)."""

    # -- conversions -------------------------------------------------------------
    @abstractmethod
    def dense(
        self, covariances: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        """Covariances as full matrices, shape (K, d, d)."""

    @abstractmethod
    def from_dense(self, dense: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`dense` for matrices that satisfy the model."""

    # -- decomposition -------------------------------------------------------------
    def decomposition(
        self, covariances: np.ndarray, n_components: int, n_features: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Volumes (K,), shapes (K, d) and orientations (K, d, d) of covariances.

        ``Sigma_k = volumes[k] * D_k @ diag(shapes[k]) @ D_k.T`` with
        ``D_k = orientations[k]`` orthogonal and ``prod(shapes[k]) == 1``; see
        :func:`gmmkit.covariance._decomposed.decompose`.
        """
        from ._decomposed import decompose

        dense = np.asarray(self.dense(covariances, n_components, n_features))
        return decompose(dense, self.name[2] if len(self.name) == 3 else "I")

    def check_n_features(self, n_features: int) -> None:  # noqa: B027
        """Raise InvalidParameterError if the model cannot describe such data."""

    # -- validation of user-supplied precisions ---------------------------------------
    def check_precisions(
        self, precisions: object, n_components: int, n_features: int
    ) -> np.ndarray:
        """Validate ``precisions_init`` (shape, symmetry, positive definiteness)."""
        expected = self.native_shape(n_components, n_features)
        try:
            arr = np.array(precisions, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"precisions_init must be a numeric array of shape {expected} for "
                f"covariance_type={self.label!r}; it could not be converted ({exc})."
            ) from None
        if arr.shape != expected:
            raise InvalidParameterError(
                f"precisions_init must have shape {expected} for covariance_type="
                f"{self.label!r} (n_components={n_components}, "
                f"n_features={n_features}); got shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            where = tuple(int(v) for v in np.argwhere(~np.isfinite(arr))[0])
            raise InvalidParameterError(
                "precisions_init must hold finite numbers; got "
                f"{arr[where]} at index {where}."
            )
        bad = self._bad_precisions(arr)
        if bad:
            raise InvalidParameterError(
                f"precisions_init must hold symmetric positive-definite precisions "
                f"(positive values for diagonal/spherical models); entry/component "
                f"{', '.join(map(str, bad))} is not."
            )
        return arr

    @abstractmethod
    def _bad_precisions(self, arr: np.ndarray) -> list[int]:
        """Indices of components whose precision is not valid."""

    @property
    def label(self) -> str:
        """The name users see: scikit-learn's where it exists, else mclust's."""
        return self.sklearn_name or self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def log_det_upper(prec_chol: np.ndarray) -> np.ndarray:
    """Sum of log-diagonals of (stacked) triangular matrices."""
    return np.log(np.diagonal(prec_chol, axis1=-2, axis2=-1)).sum(axis=-1)


def gaussian_from_maha(
    maha: np.ndarray, log_det: np.ndarray, n_features: int
) -> np.ndarray:
    """Log-density from squared Mahalanobis distances and log|P|."""
    return -0.5 * (n_features * _LOG_2PI + maha) + log_det


def numerically_singular(chol: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Which covariances (..., d, d) are singular to working precision, from
    their lower Cholesky factors: those where some feature's variance given
    the features before it (the pivot ``L_jj^2``) is within ``d`` units of
    rounding of its own variance ``Sigma_jj``.

    Past that point whether the factorisation succeeds at all, and the
    log-determinant, are decided by rounding (an exactly collinear column
    gives a pivot of either sign at ~1e-16 relative), so the same data
    could fit or fail with the order of a sum.
    """
    d = cov.shape[-1]
    pivots = np.diagonal(chol, axis1=-2, axis2=-1) ** 2
    own = np.diagonal(cov, axis1=-2, axis2=-1)
    return np.any(pivots <= d * np.finfo(cov.dtype).eps * own, axis=-1)


def factor_full(covariances: np.ndarray, reg_covar: float) -> np.ndarray:
    """Upper precision factors of a stack (K, d, d); FitError names the bad
    ones (not positive definite, or singular to working precision: see
    :func:`numerically_singular`)."""
    # Fast path: numpy's stacked Cholesky and triangular inverse (one call for
    # all components, ~1000x faster than a scipy call per small matrix);
    # the loop below runs only to name the components that fail.
    with np.errstate(all="ignore"):
        try:
            chol = np.linalg.cholesky(covariances)
            fast = np.linalg.inv(chol)
        except np.linalg.LinAlgError:
            fast = None
    if (
        fast is not None
        and np.all(np.isfinite(fast))
        and not numerically_singular(chol, covariances).any()
    ):
        return np.ascontiguousarray(fast.transpose(0, 2, 1))
    out = np.empty_like(covariances)
    bad = []
    for k in range(covariances.shape[0]):
        if not np.all(np.isfinite(covariances[k])):
            bad.append(k)
            continue
        try:
            chol_k = linalg.cholesky(covariances[k], lower=True, check_finite=False)
        except (linalg.LinAlgError, ValueError):
            bad.append(k)
            continue
        if numerically_singular(chol_k, covariances[k]):
            bad.append(k)
            continue
        eye = np.eye(chol_k.shape[0], dtype=chol_k.dtype)
        out[k] = linalg.solve_triangular(chol_k, eye, lower=True, check_finite=False).T
    if bad:
        raise singular_error(bad, reg_covar)
    return out


__all__ = [
    "EMPTY_FRACTION",
    "CovarianceModel",
    "factor_full",
    "gaussian_from_maha",
    "log_det_upper",
    "singular_error",
]


class StackedFactors(CovarianceModel):
    """A model whose parameters are a stack of K full (d, d) covariances.

    The factorisations shared by VVV and the decomposed mclust models.
    """

    def precisions_cholesky(self, covariances, reg_covar):
        return factor_full(covariances, reg_covar)

    def precisions_cholesky_from_precisions(self, precisions):
        return np.stack([_upper_cholesky_of_precision(p) for p in precisions])

    def precisions_from_cholesky(self, prec_chol):
        return prec_chol @ prec_chol.transpose(0, 2, 1)

    def covariance_factors(self, prec_chol, n_components, n_features):
        return np.linalg.inv(prec_chol)
