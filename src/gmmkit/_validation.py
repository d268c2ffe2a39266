"""Checks of user input that turn mistakes into clear, located errors."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from ._errors import DataError, InvalidParameterError


def _locate_non_numeric(X: Any) -> str | None:
    """Describe the first cell of X that is not a number, if one can be found."""
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # pandas DataFrame
        bad = [str(c) for c, t in zip(X.columns, X.dtypes) if not _numeric_dtype(t)]
        if bad:
            return (
                f"column(s) {', '.join(repr(b) for b in bad)} of X are not numeric. "
                "Drop or encode text columns before fitting a Gaussian mixture."
            )
        return None
    try:
        arr = np.asarray(X, dtype=object)
    except Exception:  # pragma: no cover - exotic containers
        return None
    if arr.ndim != 2:
        return None
    for j in range(arr.shape[1]):
        for i in range(arr.shape[0]):
            value = arr[i, j]
            try:
                float(value)
            except (TypeError, ValueError):
                return (
                    f"X holds a non-numeric value {value!r} at row {i}, column {j}. "
                    "Gaussian mixtures need numbers: drop or encode that column."
                )
    return None


def _numeric_dtype(dtype: Any) -> bool:
    try:
        return bool(np.issubdtype(np.dtype(dtype), np.number)) and not np.issubdtype(
            np.dtype(dtype), np.complexfloating
        )
    except TypeError:
        # pandas extension dtypes (nullable Int64, Float64, boolean...)
        kind = getattr(dtype, "kind", "O")
        return kind in "iufb"


def check_finite(X: np.ndarray, name: str = "X") -> None:
    """Raise DataError naming the first NaN/inf cell of a 2-D array."""
    finite = np.isfinite(X)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    i, j = (int(v) for v in bad[0])
    value = X[i, j]
    kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    raise DataError(
        f"{name} contains {kind} at row {i}, column {j} ({len(bad)} non-finite "
        f"value{'s' if len(bad) > 1 else ''} in total; NaN/inf are not allowed). "
        "Remove those rows or impute the missing values (e.g. with "
        "sklearn.impute.SimpleImputer) first."
    )


def check_X(estimator: Any, X: Any, *, reset: bool) -> np.ndarray:
    """Validate X as a finite float32/float64 2-D array (sets n_features_in_)."""
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        problem = _locate_non_numeric(X)
        if problem:
            raise DataError(problem)
    try:
        arr = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_all_finite=False,
            ensure_min_samples=1,
        )
    except ValueError as exc:
        text = str(exc)
        if "convert" in text or "could not" in text:
            problem = _locate_non_numeric(X)
            if problem:
                raise DataError(problem) from None
        if "features, but" in text:
            text += " Pass data with the same columns (in the same order) as in fit."
        raise DataError(text) from None
    except TypeError as exc:
        raise DataError(f"X must be a 2-D array-like of numbers; {exc}") from None
    check_finite(arr)
    return arr


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Validate sample weights: shape (n_samples,), finite, >= 0, not all 0."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, float(sample_weight))
    try:
        sw = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"sample_weight must be numeric; {exc}") from None
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise DataError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; "
            f"got shape {sw.shape}."
        )
    bad = np.nonzero(~np.isfinite(sw))[0]
    if bad.size:
        raise DataError(
            f"sample_weight must be finite; got {sw[bad[0]]} at index {bad[0]} "
            f"({bad.size} non-finite in total)."
        )
    neg = np.nonzero(sw < 0)[0]
    if neg.size:
        raise DataError(
            f"sample_weight must be non-negative; got {sw[neg[0]]} at index {neg[0]} "
            f"({neg.size} negative in total). Use 0 to leave a row out."
        )
    if not sw.any():
        raise DataError(
            f"sample_weight must contain at least one non-zero weight; all "
            f"{n_samples} weights are zero."
        )
    return sw


def _describe(value: Any) -> str:
    return repr(value)


def check_int(
    owner: str, name: str, value: Any, minimum: int, allow_none: bool = False
) -> None:
    if value is None and allow_none:
        return
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < minimum:
        extra = " or None" if allow_none else ""
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int >= {minimum}{extra}. "
            f"Got {_describe(value)} instead."
        )


def check_real(owner: str, name: str, value: Any, minimum: float) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < minimum:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a finite float >= {minimum}. "
            f"Got {_describe(value)} instead."
        )


def check_choice(owner: str, name: str, value: Any, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be one of "
            f"{', '.join(repr(c) for c in choices)}. Got {_describe(value)} instead."
        )


def check_array_param(
    name: str, value: Any, shape: tuple[int, ...], what: str
) -> np.ndarray:
    """Convert a ``*_init`` parameter to float64 and check its shape."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name} must be a numeric array of shape {shape} ({what}); "
            f"it could not be converted ({exc})."
        ) from None
    if arr.shape != shape:
        raise InvalidParameterError(
            f"{name} must have shape {shape} ({what}); got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} contains NaN or infinite values.")
    return arr
