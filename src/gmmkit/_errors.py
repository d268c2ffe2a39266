"""The gmmkit exception tree.

Every error raised on purpose by gmmkit derives from :class:`GMMError`, and
also from the built-in exception a scikit-learn user would catch for the same
problem (``ValueError`` for bad input, ``ImportError`` for a missing extra), so
code written against ``sklearn.mixture`` keeps working.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DataError",
    "DataTypeError",
    "FitError",
    "GMMError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelFileError",
    "OutputError",
]


class GMMError(Exception):
    """Base class of every error gmmkit raises on purpose."""


class InvalidParameterError(GMMError, ValueError):
    """A constructor or method parameter has an invalid value, type or shape."""


class DataError(GMMError, ValueError):
    """The data (X or sample_weight) cannot be used: wrong shape, NaN, text..."""


class DataTypeError(DataError, TypeError):
    """X holds values of a type that cannot be read as numbers."""


class FitError(GMMError, ValueError):
    """EM cannot go on, e.g. a component's covariance became singular."""


class ModelFileError(GMMError, ValueError):
    """A model file cannot be read: missing, corrupt, invalid or too new."""


class OutputError(GMMError, OSError):
    """An output file cannot be written (missing folder, a folder's name...)."""


class MissingDependencyError(GMMError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


def require(module: str, extra: str, purpose: str) -> Any:
    """Import an optional dependency or say which extra provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs the optional dependency '{module.split('.')[0]}', "
            f"which is not installed. Install it with: pip install 'gmmkit[{extra}]'"
        ) from exc
