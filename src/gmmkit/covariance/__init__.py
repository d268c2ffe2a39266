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

from .._errors import InvalidParameterError
from ._base import CovarianceModel
from ._decomposed import DecomposedModel, DenseView, dense_view
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


__all__ = [
    "COVARIANCE_TYPES",
    "EEE",
    "EEI",
    "EEV",
    "EII",
    "EVE",
    "EVI",
    "EVV",
    "MCLUST_MODELS",
    "MCLUST_MODELS_1D",
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
    "V",
    "get_model",
]
