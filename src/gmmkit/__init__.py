"""gmmkit: Gaussian mixture models for Python.

Fit mixtures by EM on additive sufficient statistics, cluster with them,
choose their size, and draw what they do.
"""

from __future__ import annotations

from ._errors import (
    DataError,
    DataTypeError,
    FitError,
    GMMError,
    InvalidParameterError,
    MissingDependencyError,
    ModelFileError,
)
from ._io import load
from ._prior import ConjugatePrior
from .covariance import COVARIANCE_TYPES
from .mixture import GaussianMixture

__version__ = "0.1.0"

__all__ = [
    "COVARIANCE_TYPES",
    "ConjugatePrior",
    "DataError",
    "DataTypeError",
    "FitError",
    "GMMError",
    "GaussianMixture",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelFileError",
    "__version__",
    "load",
]
