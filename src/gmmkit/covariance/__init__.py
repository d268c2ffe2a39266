"""Covariance models, one class each, and the registry that names them.

mclust's three-letter codes are the canonical names; scikit-learn's names are
aliases: full = VVV, tied = EEE, diag = VVI, spherical = VII.
"""

from __future__ import annotations

from .._errors import InvalidParameterError
from ._base import CovarianceModel
from .diagonal import VVI
from .ellipsoidal import EEE, VVV
from .spherical import VII

_MODELS: dict[str, type[CovarianceModel]] = {
    cls.name: cls for cls in (VII, VVI, EEE, VVV)
}
_ALIASES: dict[str, str] = {
    cls.sklearn_name: cls.name for cls in _MODELS.values() if cls.sklearn_name
}

#: Every accepted ``covariance_type`` string.
COVARIANCE_TYPES: tuple[str, ...] = tuple(_ALIASES) + tuple(_MODELS)


def get_model(covariance_type: object) -> CovarianceModel:
    """Return the covariance model named by ``covariance_type``."""
    if isinstance(covariance_type, str):
        key = _ALIASES.get(covariance_type, covariance_type)
        if key in _MODELS:
            return _MODELS[key]()
    raise InvalidParameterError(
        "The 'covariance_type' parameter of GaussianMixture must be one of "
        f"{', '.join(repr(t) for t in COVARIANCE_TYPES)}. "
        f"Got {covariance_type!r} instead."
    )


__all__ = [
    "COVARIANCE_TYPES",
    "EEE",
    "VII",
    "VVI",
    "VVV",
    "CovarianceModel",
    "get_model",
]
