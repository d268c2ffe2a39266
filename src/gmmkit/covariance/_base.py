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
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from .._errors import InvalidParameterError
from ._linalg import (
    EMPTY_FRACTION,
    decompose,
    factor_full,
    gaussian_from_maha,
    log_det_upper,
    numerically_singular,
    singular_error,
    upper_cholesky_of_precision,
)


@dataclass(frozen=True)
class PriorRule:
    """How a model's MAP M-step under mclust's conjugate prior maps onto its
    ordinary M-step (see :mod:`gmmkit._prior`, which applies it).

    With ``S_k`` the component's scatter plus the prior's shrinkage term,
    ``L`` the prior scale, ``nu`` its degrees of freedom, ``G`` the number of
    components, ``d`` the number of features and ``m = 1`` when the means
    have a prior (shrinkage > 0), else 0, the MAP covariance is the model's
    ordinary M-step of counts ``n_k + extra_count(nu, G, d, m)`` and scatter
    ``S_k + scale_share(G, d) * L``.
    """

    #: "scalar": inverse-gamma prior with a positive number as scale
    #: (spherical, diagonal models); "matrix": inverse Wishart with a (d, d)
    #: scale (ellipsoidal models).
    scale: Literal["scalar", "matrix"]
    scale_share: Callable[[int, int], float]
    extra_count: Callable[[float, int, int, int], float]
    #: mclust fits one component with its single-Gaussian functions, whose
    #: MAP steps are those of this model (V, VII, VVI or VVV).
    one_component: str
    #: Whether the means are shrunk towards the prior mean (EEI: not).
    shrink_means: bool = True


class CovarianceModel(ABC):
    """Base class of the covariance models (one subclass per model).

    Everything model-specific that the rest of gmmkit needs is asked of the
    model: its M-step, factorisations and densities, dense covariances
    (:meth:`dense`), the precision factors of the compiled E-step kernels
    (:attr:`kernel_kind`, :meth:`kernel_factors`), whether SQUAREM may
    extrapolate its parameters (:attr:`squarem`) and its MAP rule under
    mclust's prior (:attr:`prior_rule`).  A new model is one class here and
    one registry entry in :mod:`gmmkit.covariance`.
    """

    #: mclust's three-letter code (volume, shape, orientation).
    name: ClassVar[str]
    #: What each precision in ``precisions_init`` must be, in scikit-learn's
    #: words ("positive" for the per-axis arrays of "diag" and "spherical").
    valid_precision: ClassVar[str] = "symmetric, positive-definite"
    #: scikit-learn's name for the model, if it has one.
    sklearn_name: ClassVar[str | None] = None
    #: "spherical", "diagonal" or "ellipsoidal".
    family: ClassVar[str]
    #: Which second moments the M-step needs: the full ``d x d`` scatter or
    #: only its diagonal.
    moments: ClassVar[Literal["full", "diag"]]
    #: Whether SQUAREM's extrapolation ``t0 - 2a r + a^2 v`` of the native
    #: covariance arrays stays inside the model: true for models whose set of
    #: covariances is closed under affine combinations that remain positive
    #: definite (no shape or orientation constraint).
    squarem: ClassVar[bool] = False
    #: The MAP M-step under mclust's conjugate prior; None where mclust has
    #: none (EVE, VEE, VVE, EVV).
    prior_rule: ClassVar[PriorRule | None] = None
    #: mclust's name of the model that describes the marginals and the
    #: conditionals of a mixture of this model over some of its features
    #: (:func:`gmmkit.covariance.subset_type`): the model itself where its
    #: constraints survive taking a sub-block of every covariance and the
    #: Schur complement (spherical and axis-aligned models with equal or
    #: variable volume, diagonal), the family's unconstrained model otherwise
    #: (EVI -> VVI, every ellipsoidal model -> VVV).
    subset_model: ClassVar[str] = "VVV"
    #: The compiled loop of the closed-form M-step on dense arrays (a code of
    #: :mod:`gmmkit.covariance._closed`), which small in-memory fits run
    #: their whole EM loop with; None for the iterative M-steps.
    closed_form: ClassVar[int | None] = None

    def dense_orientation(self, previous: np.ndarray) -> np.ndarray | None:
        """The common orientation (d, d) that the next M-step after dense
        covariances ``previous`` starts from (EVE, VVE), None otherwise or
        when it starts afresh; see :meth:`remember_dense`."""
        return None

    def remember_dense(self, covariances: np.ndarray, orientation: np.ndarray) -> None:
        """Record that the compiled loop's last M-step gave ``covariances``
        with common ``orientation`` (EVE, VVE warm-start their next M-step
        from it, as after their own M-step); nothing for other models."""
        return None

    @property
    def kernel_kind(self) -> Literal["full", "diag"]:
        """Which compiled E-step kernel serves the model: "full" (upper
        triangular precision factors) or "diag" (diagonal precisions)."""
        return self.moments

    def kernel_factors(
        self, prec_chol: np.ndarray, n_components: int, n_features: int
    ) -> np.ndarray:
        """The precision factors in the compiled kernels' layout (C-contiguous
        float64): (K, d, d) upper factors for ``kernel_kind == "full"``,
        (K, d) precisions (squared factors) for "diag"."""
        factors = self.dense(prec_chol, n_components, n_features)
        if self.kernel_kind == "diag":
            factors = np.diagonal(factors, axis1=1, axis2=2) ** 2
        return np.ascontiguousarray(factors, dtype=np.float64)

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
        self,
        nk: np.ndarray,
        scatter: np.ndarray,
        reg_covar: float,
        previous: np.ndarray | None = None,
    ) -> np.ndarray:
        """M-step: covariances from weighted counts and central scatter.

        ``scatter[k]`` is ``sum_n r_nk w_n (x_n - mu_k)(x_n - mu_k)^T`` (full
        moments, shape ``(K, d, d)``) or its diagonal (``(K, d)``).
        ``previous`` (optional) are the covariances of the previous EM
        iteration, native shape: the iterative M-steps start from them (a
        warm start; closed-form ones ignore them).  With it the M-step's
        objective is never worse than at ``previous``, so EM's log-likelihood
        never decreases even where the M-step has several local optima.
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
        """Covariances as full matrices, shape (K, d, d).

        Also converts precisions and precision Cholesky factors (they have
        the covariances' native shape and the same sparsity).
        """

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
        :func:`gmmkit.covariance._linalg.decompose`.
        """
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
            # scikit-learn's sentence first (a drop-in keeps its messages)
            raise InvalidParameterError(
                f"The parameter '{self.label} precision' should have the shape of "
                f"{expected}, but got {arr.shape}. "
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
                f"'{self.label} precision' should be {self.valid_precision}: "
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


__all__ = [
    "EMPTY_FRACTION",
    "CovarianceModel",
    "PriorRule",
    "StackedFactors",
    "factor_full",
    "gaussian_from_maha",
    "log_det_upper",
    "numerically_singular",
    "singular_error",
]


class StackedFactors(CovarianceModel):
    """A model whose parameters are a stack of K full (d, d) covariances.

    The factorisations shared by VVV and the decomposed mclust models.
    """

    def precisions_cholesky(self, covariances, reg_covar):
        return factor_full(covariances, reg_covar)

    def precisions_cholesky_from_precisions(self, precisions):
        return np.stack([upper_cholesky_of_precision(p) for p in precisions])

    def precisions_from_cholesky(self, prec_chol):
        return prec_chol @ prec_chol.transpose(0, 2, 1)

    def covariance_factors(self, prec_chol, n_components, n_features):
        return np.linalg.inv(prec_chol)

    def kernel_factors(self, prec_chol, n_components, n_features):
        if self.kernel_kind == "diag":
            return np.ascontiguousarray(
                np.diagonal(prec_chol, axis1=1, axis2=2) ** 2, dtype=np.float64
            )
        return np.ascontiguousarray(prec_chol, dtype=np.float64)
