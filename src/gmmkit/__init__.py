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
from .selection import SelectionResult, select_model
from .sources import CSVSource, IterableSource, MemmapSource, ParquetSource, open_source

__version__ = "0.1.0"

__all__ = [
    "COVARIANCE_TYPES",
    "CSVSource",
    "ConjugatePrior",
    "DataError",
    "DataTypeError",
    "FitError",
    "GMMError",
    "GaussianMixture",
    "InvalidParameterError",
    "IterableSource",
    "MemmapSource",
    "MissingDependencyError",
    "ModelFileError",
    "ParquetSource",
    "SelectionResult",
    "__version__",
    "load",
    "open_source",
    "select_model",
]
