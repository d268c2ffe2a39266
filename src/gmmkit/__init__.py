"""gmmkit: Gaussian mixture models for Python.

Fit mixtures by EM on additive sufficient statistics, cluster with them,
choose their size, and draw what they do.

The public names are loaded on first use (PEP 562), so ``import gmmkit`` and
the command line's ``--help``/``info`` do not import scikit-learn, numba or
pandas until a model is fitted or loaded.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from ._errors import (
    DataError,
    DataTypeError,
    FitError,
    GMMError,
    InvalidParameterError,
    MissingDependencyError,
    ModelFileError,
    OutputError,
)
from ._version import __version__

if _typing.TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._engine import FitProgress
    from ._imputer import GaussianMixtureImputer
    from ._prior import ConjugatePrior
    from .bayesian import BayesianGaussianMixture
    from .covariance import COVARIANCE_TYPES
    from .discriminant import MixtureDiscriminantAnalysis
    from .mixture import GaussianMixture
    from .persistence import load
    from .regression import GaussianMixtureRegressor
    from .resampling import BootstrapResult, bootstrap, bootstrap_lrt
    from .selection import SelectionProgress, SelectionResult, select_model
    from .sources import (
        CSVSource,
        DataSource,
        IterableSource,
        MemmapSource,
        ParquetSource,
        open_source,
    )

#: public name -> the module that defines it
_LAZY = {
    "BayesianGaussianMixture": "bayesian",
    "BootstrapResult": "resampling",
    "COVARIANCE_TYPES": "covariance",
    "CSVSource": "sources",
    "ConjugatePrior": "_prior",
    "DataSource": "sources",
    "FitProgress": "_engine",
    "GaussianMixture": "mixture",
    "GaussianMixtureImputer": "_imputer",
    "GaussianMixtureRegressor": "regression",
    "IterableSource": "sources",
    "MemmapSource": "sources",
    "ParquetSource": "sources",
    "SelectionProgress": "selection",
    "SelectionResult": "selection",
    "MixtureDiscriminantAnalysis": "discriminant",
    "bootstrap": "resampling",
    "bootstrap_lrt": "resampling",
    "load": "persistence",
    "open_source": "sources",
    "select_model": "selection",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gmmkit' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BayesianGaussianMixture",
    "BootstrapResult",
    "COVARIANCE_TYPES",
    "CSVSource",
    "ConjugatePrior",
    "DataError",
    "DataSource",
    "DataTypeError",
    "FitError",
    "FitProgress",
    "GMMError",
    "GaussianMixture",
    "GaussianMixtureImputer",
    "GaussianMixtureRegressor",
    "InvalidParameterError",
    "IterableSource",
    "MemmapSource",
    "MissingDependencyError",
    "MixtureDiscriminantAnalysis",
    "ModelFileError",
    "OutputError",
    "ParquetSource",
    "SelectionProgress",
    "SelectionResult",
    "__version__",
    "bootstrap",
    "bootstrap_lrt",
    "load",
    "open_source",
    "select_model",
]
