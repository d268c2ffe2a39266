"""The machinery shared by mclust's parameterisations.

Every covariance is written ``Sigma_k = lambda_k D_k A_k D_k^T`` (Celeux and
Govaert 1995): ``lambda_k = |Sigma_k|^(1/d)`` the volume (mclust's *scale*),
``A_k`` a diagonal matrix with determinant 1 (the *shape*) and ``D_k`` an
orthogonal matrix (the *orientation*).  A model's three-letter name says, for
volume, shape and orientation in that order, whether it is Equal across
components, Variable, or the Identity.

This module holds

* :class:`DecomposedModel`, the base class of the models that store their
  covariances as dense ``(n_components, n_features, n_features)`` matrices (the
  shape ``covariances_`` has under an mclust name);
* :class:`DenseView`, which presents one of the four scikit-learn models
  (whose native shapes are scikit-learn's) with those dense shapes, so that
  e.g. ``"VVI"`` gives the same fit as ``"diag"`` with ``(K, d, d)`` arrays;
* the factorisations and decomposition helpers live in
  :mod:`gmmkit.covariance._linalg`, the iterative M-steps' loops in
  :mod:`gmmkit.covariance._inner`.

Regularisation: ``reg_covar`` is added as ``reg_covar * n_k`` to the diagonal
of every scatter matrix before the model's M-step, which adds ``reg_covar`` to
the diagonal of each covariance of the unconstrained models (scikit-learn's
behaviour) and keeps every constrained model's constraints exact.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._errors import InvalidParameterError
from ._base import CovarianceModel, StackedFactors
from ._linalg import (
    decompose,
    diagonal_maha,
    gaussian_from_maha,
    is_symmetric_pd,
    log_det_upper,
    maha_blocks,
)


def _constraint_problem(name: str, dense: np.ndarray, rtol: float) -> str | None:
    """Why covariances ``dense`` (K, d, d) violate model ``name``, or None."""
    k, d, _ = dense.shape
    letters = name if len(name) == 3 else name + "II"  # E, V: 1-D
    volume, shape, orientation = letters[0], letters[1], letters[2]
    diag = np.diagonal(dense, axis1=1, axis2=2)
    scale = np.sqrt(np.abs(diag[:, :, None] * diag[:, None, :]))
    if orientation == "I":
        off = np.abs(dense - np.stack([np.diag(v) for v in diag]))
        if (off > rtol * scale).any():
            comp = int(np.nonzero((off > rtol * scale).any(axis=(1, 2)))[0][0])
            return f"component {comp} is not diagonal"
    volumes = np.exp(np.linalg.slogdet(dense)[1] / d)
    if volume == "E" and not np.allclose(volumes, volumes[0], rtol=rtol, atol=0):
        return f"the volumes |Sigma_k|^(1/d) differ ({_short(volumes)})"
    normed = dense / volumes[:, None, None]
    if shape == "I" and not np.allclose(diag, diag[:, :1], rtol=rtol, atol=0):
        return "a component's variances differ between features (not spherical)"
    if shape == "E" and orientation == "E":
        if not np.allclose(normed, normed[0], rtol=rtol, atol=rtol * normed.max()):
            return "the matrices Sigma_k / |Sigma_k|^(1/d) differ"
    elif shape == "E":
        shapes = (
            np.linalg.eigvalsh(normed)
            if orientation == "V"
            else np.diagonal(normed, axis1=1, axis2=2)
        )
        if not np.allclose(shapes, shapes[0], rtol=rtol, atol=0):
            return "the shapes (normalised eigenvalues) differ between components"
    if orientation == "E" and shape != "E":
        size = np.linalg.norm(normed, axis=(1, 2))
        for j in range(k):
            for i in range(j):
                comm = normed[i] @ normed[j] - normed[j] @ normed[i]
                if np.linalg.norm(comm) > rtol * size[i] * size[j]:
                    return (
                        f"components {i} and {j} do not share their eigenvectors "
                        "(a common orientation)"
                    )
    return None


def _short(values: np.ndarray) -> str:
    return ", ".join(f"{v:.6g}" for v in values[:6]) + (
        ", ..." if values.size > 6 else ""
    )


class DecomposedModel(StackedFactors):
    """Base class of the models with dense ``(K, d, d)`` covariances.

    Subclasses implement :meth:`fit_covariances` (the M-step from regularised
    scatter) and set ``name``, ``family`` and ``moments``.  Precision
    Cholesky factors are dense upper-triangular ``(K, d, d)`` matrices.
    """

    sklearn_name: ClassVar[str | None] = None
    #: Relative tolerance of the constraint checks on ``precisions_init``.
    constraint_rtol: ClassVar[float] = 1e-6

    # -- sizes -----------------------------------------------------------------
    def native_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    # -- M-step ------------------------------------------------------------------
    def covariances_from_scatter(
        self,
        nk: np.ndarray,
        scatter: np.ndarray,
        reg_covar: float,
        previous: np.ndarray | None = None,
    ) -> np.ndarray:
        scatter = np.array(scatter, dtype=np.float64)
        if reg_covar:
            if scatter.ndim == 2:
                scatter += reg_covar * nk[:, None]
            else:
                d = scatter.shape[-1]
                scatter[:, np.arange(d), np.arange(d)] += reg_covar * nk[:, None]
        # Degenerate scatter (a collapsed component) gives non-finite
        # covariances here; factorising them raises FitError naming it.
        with np.errstate(all="ignore"):
            return self.fit_covariances(nk, scatter, previous)

    def fit_covariances(
        self,
        nk: np.ndarray,
        scatter: np.ndarray,
        previous: np.ndarray | None = None,
    ) -> np.ndarray:
        """Maximum-likelihood covariances (K, d, d) from counts and scatter.

        ``scatter`` is ``(K, d, d)`` for ``moments == "full"`` and the diagonal
        ``(K, d)`` for ``moments == "diag"``; ``previous``: the previous
        covariances (K, d, d) or None, a warm start for iterative M-steps.
        """
        raise NotImplementedError

    # -- densities (factorisations: StackedFactors) ---------------------------------
    def log_gaussian(self, X, means, prec_chol):
        if self.family == "ellipsoidal":
            maha = maha_blocks(X, means, prec_chol)
        else:
            diag = np.diagonal(prec_chol, axis1=1, axis2=2)
            maha = diagonal_maha(X, means, diag**2)
        return gaussian_from_maha(maha, log_det_upper(prec_chol), X.shape[1])

    # -- conversions -------------------------------------------------------------
    def dense(self, covariances, n_components, n_features):
        return covariances

    def from_dense(self, dense):
        return dense

    # -- validation ----------------------------------------------------------------
    def check_precisions(self, precisions, n_components, n_features):
        arr = super().check_precisions(precisions, n_components, n_features)
        self.check_constraints(np.linalg.inv(arr), "precisions_init")
        return arr

    def check_constraints(self, dense: np.ndarray, what: str) -> None:
        """InvalidParameterError unless covariances ``dense`` satisfy the model."""
        problem = _constraint_problem(self.name, dense, self.constraint_rtol)
        if problem is not None:
            raise InvalidParameterError(
                f"{what} does not satisfy covariance_type={self.name!r} "
                f"({_describe(self.name)}): {problem} (relative tolerance "
                f"{self.constraint_rtol:g}). Pass precisions of that form, or choose "
                "a less constrained covariance_type such as 'VVV'."
            )

    def _bad_precisions(self, arr):
        return [k for k in range(arr.shape[0]) if not is_symmetric_pd(arr[k])]


def _describe(name: str) -> str:
    if len(name) == 1:
        return (
            "one-dimensional, "
            + ("equal" if name == "E" else "variable")
            + (" variances")
        )
    words = {"E": "equal", "V": "variable", "I": "identity"}
    parts = ("volume", "shape", "orientation")
    return ", ".join(f"{words[c]} {p}" for c, p in zip(name, parts, strict=True))


class DenseView(CovarianceModel):
    """One of the scikit-learn-shaped models with dense ``(K, d, d)`` arrays.

    The numbers are those of the wrapped model (``inner``): covariances and
    precision Cholesky factors are converted with the wrapped model's
    :meth:`~CovarianceModel.dense` / :meth:`~CovarianceModel.from_dense` at the
    boundaries, which are exact for matrices of the model's form.
    """

    inner: ClassVar[CovarianceModel]
    sklearn_name: ClassVar[str | None] = None

    def _n(self, arr: np.ndarray) -> np.ndarray:
        return self.inner.from_dense(arr)

    def n_cov_parameters(self, n_components, n_features):
        return self.inner.n_cov_parameters(n_components, n_features)

    def native_shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def covariances_from_scatter(self, nk, scatter, reg_covar, previous=None):
        native = self.inner.covariances_from_scatter(nk, scatter, reg_covar)
        return self._dense(native, nk.shape[0], scatter.shape[1])

    def _dense(self, native: np.ndarray, k: int, d: int) -> np.ndarray:
        return np.array(self.inner.dense(native, k, d), dtype=np.float64)

    def keep_components(self, new, old, mask):
        k, d, _ = new.shape
        kept = self.inner.keep_components(self._n(new), self._n(old), mask)
        return self._dense(kept, k, d)

    def precisions_cholesky(self, covariances, reg_covar):
        k, d, _ = covariances.shape
        native = self.inner.precisions_cholesky(self._n(covariances), reg_covar)
        return self._dense(native, k, d)

    def precisions_cholesky_from_precisions(self, precisions):
        k, d, _ = precisions.shape
        native = self.inner.precisions_cholesky_from_precisions(self._n(precisions))
        return self._dense(native, k, d)

    def precisions_from_cholesky(self, prec_chol):
        k, d, _ = prec_chol.shape
        return self._dense(
            self.inner.precisions_from_cholesky(self._n(prec_chol)), k, d
        )

    def covariance_factors(self, prec_chol, n_components, n_features):
        return self.inner.covariance_factors(
            self._n(prec_chol), n_components, n_features
        )

    def log_gaussian(self, X, means, prec_chol):
        return self.inner.log_gaussian(X, means, self._n(prec_chol))

    def kernel_factors(self, prec_chol, n_components, n_features):
        return self.inner.kernel_factors(self._n(prec_chol), n_components, n_features)

    def dense(self, covariances, n_components, n_features):
        # Arrays in the wrapped model's (scikit-learn's) shape are accepted
        # too: the native shapes differ in their number of dimensions.
        arr = np.asarray(covariances)
        if arr.ndim != 3:
            return self.inner.dense(arr, n_components, n_features)
        return covariances

    def from_dense(self, dense):
        return dense

    def check_precisions(self, precisions, n_components, n_features):
        arr = CovarianceModel.check_precisions(
            self, precisions, n_components, n_features
        )
        problem = _constraint_problem(
            self.name, np.linalg.inv(arr), DecomposedModel.constraint_rtol
        )
        if problem is not None:
            raise InvalidParameterError(
                f"precisions_init does not satisfy covariance_type={self.name!r} "
                f"({_describe(self.name)}): {problem} (relative tolerance "
                f"{DecomposedModel.constraint_rtol:g}). Pass precisions of that form, "
                "or choose a less constrained covariance_type such as 'VVV'."
            )
        return arr

    def _bad_precisions(self, arr):
        return [k for k in range(arr.shape[0]) if not is_symmetric_pd(arr[k])]


def dense_view(model: type[CovarianceModel]) -> type[DenseView]:
    """A :class:`DenseView` class presenting ``model`` with ``(K, d, d)`` arrays."""
    return type(
        model.name,
        (DenseView,),
        {
            "inner": model(),
            "name": model.name,
            "family": model.family,
            "moments": model.moments,
            "squarem": model.squarem,
            "prior_rule": model.prior_rule,
            "subset_model": model.subset_model,
            "closed_form": model.closed_form,
            "__doc__": f"{model.__doc__}\n\nArrays have shape (K, d, d).",
            "__module__": __name__,
            "__qualname__": f"dense_view({model.name})",
        },
    )


__all__ = [
    "DecomposedModel",
    "DenseView",
    "decompose",
    "dense_view",
]
