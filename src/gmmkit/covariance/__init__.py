"""Covariance models, one class each, and the registry that names them.

mclust's codes are the canonical names: ``Sigma_k = lambda_k D_k A_k D_k^T``
(volume, shape, orientation; E = equal, V = variable, I = identity), 14
models for multivariate data plus ``E`` and ``V`` for one feature.
scikit-learn's names are aliases with scikit-learn's array shapes: full = VVV,
tied = EEE, diag = VVI, spherical = VII.  Under an mclust name every model's
covariances and precisions have shape (n_components, n_features, n_features).

========  ======================================  ==============================
family    models                                  M-step
========  ======================================  ==============================
spherical EII, VII (E, V in 1-D)                  closed form
diagonal  EEI, VEI, EVI, VVI                      closed form; VEI iterative
ellipsoid EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV  closed form; VEE, EVE, VVE,
                                                  VEV iterative
========  ======================================  ==============================
"""

from __future__ import annotations

import numpy as np

from .._errors import InvalidParameterError
from ._base import CovarianceModel, PriorRule
from ._decomposed import DecomposedModel, DenseView, dense_view
from ._linalg import (
    EMPTY_FRACTION,
    SINGULAR_RCOND,
    reciprocal_condition,
    regularisation_share,
)
from .diagonal import EEI, EVI, VEI, VVI
from .ellipsoidal import EEE, EEV, EVE, EVV, VEE, VEV, VVE, VVV
from .spherical import EII, VII, E, V

#: scikit-learn's names, with scikit-learn's array shapes.
_SKLEARN: dict[str, type[CovarianceModel]] = {
    cls.sklearn_name: cls for cls in (VII, VVI, EEE, VVV) if cls.sklearn_name
}
#: mclust's names, in mclust's order; arrays of shape (K, d, d).
_MODELS: dict[str, type[CovarianceModel]] = {
    cls.name: cls
    for cls in (
        EII,
        dense_view(VII),
        EEI,
        VEI,
        EVI,
        dense_view(VVI),
        dense_view(EEE),
        VEE,
        EVE,
        VVE,
        EEV,
        VEV,
        EVV,
        VVV,
        E,
        V,
    )
}

#: mclust's names of the models for multivariate data, in mclust's order.
MCLUST_MODELS: tuple[str, ...] = tuple(m for m in _MODELS if len(m) == 3)
#: mclust's names of the models for one-dimensional data.
MCLUST_MODELS_1D: tuple[str, ...] = ("E", "V")

#: Every accepted ``covariance_type`` string.
COVARIANCE_TYPES: tuple[str, ...] = tuple(_SKLEARN) + tuple(_MODELS)


def get_model(covariance_type: object) -> CovarianceModel:
    """Return the covariance model named by ``covariance_type``."""
    if isinstance(covariance_type, str):
        if covariance_type in _SKLEARN:
            return _SKLEARN[covariance_type]()
        if covariance_type in _MODELS:
            return _MODELS[covariance_type]()
    raise InvalidParameterError(
        "The 'covariance_type' parameter of GaussianMixture must be one of "
        f"{', '.join(repr(t) for t in COVARIANCE_TYPES)}. "
        f"Got {covariance_type!r} instead."
    )


def subset_type(covariance_type: object) -> str:
    """The ``covariance_type`` of a mixture's marginals and conditionals.

    The marginal of a mixture over some of its features (the sub-blocks of
    its covariances) and its conditional given the others (the Schur
    complements) keep the model where its constraints survive: spherical and
    diagonal models stay so (EII, VII, EEI, VEI, VVI; EVI becomes VVI, whose
    volumes may then differ), every ellipsoidal model becomes the
    unconstrained VVV.  The name is scikit-learn's ("spherical", "diag",
    "full") for a model named in scikit-learn's words, else mclust's.
    """
    name = get_model(covariance_type).subset_model
    if covariance_type in _SKLEARN:
        sklearn_names = {cls.name: sk for sk, cls in _SKLEARN.items()}
        return sklearn_names.get(name, name)
    return name


def to_dense(
    covariances: object,
    covariance_type: object,
    n_components: int,
    n_features: int,
) -> np.ndarray:
    """Covariances of any model as full matrices, a new array (K, d, d).

    ``covariances`` is ``covariances_`` (or ``precisions_``) of a fitted
    mixture: in the native shape of ``covariance_type`` (any name
    :func:`get_model` knows; mclust's names of scikit-learn's four models
    also accept scikit-learn's shapes), or already (K, d, d).  For another
    ``covariance_type`` (e.g. None, or an estimator from elsewhere) the
    shape decides where it is unambiguous: (d, d) tied, (K, d) diagonal,
    (K,) spherical.
    """
    k, d = int(n_components), int(n_features)
    cov = np.array(covariances, dtype=np.float64)
    if cov.shape == (k, d, d):
        return cov
    name = covariance_type if isinstance(covariance_type, str) else ""
    model = _SKLEARN.get(name) or _MODELS.get(name)
    if model is None:
        by_shape = [
            cls for cls in (EEE, VVI, VII) if cov.shape == cls().native_shape(k, d)
        ]
        model = by_shape[0] if len(by_shape) == 1 else None
    if model is not None:
        inner = model.inner if issubclass(model, DenseView) else model()
        if cov.shape == inner.native_shape(k, d):
            return np.array(inner.dense(cov, k, d), dtype=np.float64)
    raise InvalidParameterError(
        f"Cannot read covariances_ of shape {cov.shape} for covariance_type="
        f"{covariance_type!r} with {k} components and {d} features; expected "
        f"({k}, {d}, {d}) for 'full', ({d}, {d}) for 'tied', ({k}, {d}) for "
        f"'diag' or ({k},) for 'spherical'."
    )


__all__ = [
    "COVARIANCE_TYPES",
    "EMPTY_FRACTION",
    "EEE",
    "EEI",
    "EEV",
    "EII",
    "EVE",
    "EVI",
    "EVV",
    "MCLUST_MODELS",
    "MCLUST_MODELS_1D",
    "SINGULAR_RCOND",
    "VEE",
    "VEI",
    "VEV",
    "VII",
    "VVE",
    "VVI",
    "VVV",
    "CovarianceModel",
    "DecomposedModel",
    "DenseView",
    "E",
    "PriorRule",
    "V",
    "get_model",
    "reciprocal_condition",
    "regularisation_share",
    "subset_type",
    "to_dense",
]
