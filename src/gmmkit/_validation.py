"""Checks of user input that turn mistakes into clear, located errors."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.utils.validation import validate_data

from ._errors import DataError, DataTypeError, InvalidParameterError

#: Largest magnitude accepted in X (per dtype): squared distances between such
#: values, summed over features and rows, must not overflow.
_MAX_ABS = {
    np.dtype(np.float64): float(np.sqrt(np.finfo(np.float64).max)) * 1e-4,
    np.dtype(np.float32): float(np.sqrt(np.finfo(np.float32).max)) * 1e-4,
}

_EXPECTED = "a 2-D array-like of numbers with shape (n_samples, n_features)"


def _type_name(X: Any) -> str:
    return type(X).__qualname__


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _locate_non_numeric(X: Any) -> str | None:
    """Describe the first cell of X that is not a number, if one can be found."""
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # pandas DataFrame
        pairs = zip(X.columns, X.dtypes, strict=True)
        bad = [(c, t) for c, t in pairs if not _numeric_dtype(t)]
        if bad:
            listed = ", ".join(f"{c!r} (dtype {t})" for c, t in bad)
            return (
                f"column(s) {listed} of X are not numeric; every column must hold "
                "numbers (int, float or bool). Drop or encode those columns (e.g. "
                "with sklearn.preprocessing.OneHotEncoder) before fitting a "
                "Gaussian mixture."
            )
        return None
    try:
        arr = np.asarray(X, dtype=object)
    except Exception:  # pragma: no cover - exotic containers
        return None
    if arr.ndim != 2:
        return None
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            value = arr[i, j]
            try:
                float(value)
            except OverflowError:
                return (
                    f"X holds a number too large for float64 ({_short(value, 30)}) "
                    f"at row {i}, column {j}; values must be below 1.8e308 in "
                    "magnitude. Rescale that column."
                )
            except (TypeError, ValueError):
                return (
                    f"X holds a non-numeric value {_short(value)} at row {i}, column "
                    f"{j}; every cell must be a number. Drop or encode that column, "
                    "or fix that cell."
                )
    return None


def _numeric_dtype(dtype: Any) -> bool:
    """True for int, unsigned, float and bool dtypes (numpy or pandas)."""
    return getattr(dtype, "kind", "O") in "iufb"


def _shape_of(X: Any) -> tuple[int, ...] | None:
    shape = getattr(X, "shape", None)
    if shape is not None:
        try:
            return tuple(int(n) for n in shape)
        except (TypeError, ValueError):
            return None
    try:
        return tuple(np.shape(X))
    except (TypeError, ValueError):
        return None


def _shape_problem(X: Any) -> str | None:
    """Explain an X that is not 2-D (1-D, scalar, 3-D...), if it is not."""
    shape = _shape_of(X)
    if shape is None or len(shape) == 2:
        return None
    what = "a pandas Series" if hasattr(X, "to_frame") else f"a {len(shape)}-D array"
    if len(shape) == 0:
        return (
            f"X must be {_EXPECTED}; got a scalar of type {_type_name(X)} "
            f"({_short(X)}). Reshape your data: pass a 2-D array, e.g. [[x]] for "
            "one sample with one feature."
        )
    if len(shape) == 1:
        return (
            f"X must be {_EXPECTED}; got {what} of shape {shape}. Reshape your "
            "data: X.reshape(-1, 1) if it holds one feature (df[[column]] for "
            "pandas), X.reshape(1, -1) if it is one sample."
        )
    return (
        f"X must be {_EXPECTED}; got {what} of shape {shape}. Reshape your "
        "data to (n_samples, n_features), e.g. X.reshape(len(X), -1)."
    )


def _ragged_problem(X: Any) -> str | None:
    """Name the first row of a list-of-lists whose length differs from row 0."""
    if not isinstance(X, (list, tuple)) or not X:
        return None
    lengths: list[int | None] = []
    for row in X:
        try:
            lengths.append(len(row))
        except TypeError:
            lengths.append(None)
    for i, n in enumerate(lengths):
        if n != lengths[0]:

            def describe(m: int | None) -> str:
                return "a scalar" if m is None else f"{m} value(s)"

            return (
                f"X is ragged: row 0 has {describe(lengths[0])} but row {i} has "
                f"{describe(n)}; every row must have the same number of features. "
                "Pad or fix that row."
            )
    return None


def _complex_problem(X: Any) -> str | None:
    try:
        arr = np.asarray(X)
    except Exception:  # pragma: no cover - exotic containers
        return None
    if not np.iscomplexobj(arr):
        return None
    where = ""
    if arr.ndim == 2:
        bad = np.argwhere(arr.imag != 0)
        if bad.size:
            i, j = (int(v) for v in bad[0])
            where = f", e.g. {complex(arr[i, j])} at row {i}, column {j}"
    return (
        f"Complex data not supported: X has dtype {arr.dtype}{where}. Gaussian "
        "mixtures need real numbers: pass X.real, np.abs(X), or the real and "
        "imaginary parts as separate columns."
    )


def _pre_check(X: Any) -> None:
    """Reject containers validate_data would misreport (None, text, sparse...)."""
    if X is None:
        raise DataError(f"X must be {_EXPECTED}; got None.")
    if isinstance(X, (str, bytes, dict, set)):
        raise DataTypeError(
            f"X must be {_EXPECTED}; got a {_type_name(X)} ({_short(X)})."
        )
    if sparse.issparse(X):
        raise DataTypeError(
            f"X is a scipy sparse {_type_name(X)} of shape {X.shape}, but gmmkit "
            "needs dense data (sparse input is not supported). Convert it with "
            "X.toarray() if it fits in memory."
        )
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        problem = _locate_non_numeric(X)
        if problem:
            raise DataTypeError(problem)
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        raise DataTypeError(
            f"X has dtype {dtype} (dates/times), which is not numeric. Convert it "
            "to numbers first, e.g. seconds since a reference time."
        )


def _explain_value_error(X: Any, text: str) -> DataError:
    """A located error for a ValueError raised while converting X."""
    message = _value_error_message(X, text)
    if message.startswith(("X holds a non-numeric", "column(s)")):
        return DataTypeError(message)
    return DataError(message)


def _value_error_message(X: Any, text: str) -> str:
    if "features, but" in text:
        return text + " Pass data with the same columns (in the same order) as in fit."
    if "feature names" in text.lower():
        return text.rstrip() + " Pass the same columns (in the same order) as in fit."
    if "feature(s)" in text and "minimum" in text:
        return text + " X has no columns: pass at least one numeric feature."
    if "sample(s)" in text and "minimum" in text:
        return text + " X has no rows: pass at least one sample."
    for explain in (_shape_problem, _complex_problem, _ragged_problem):
        problem = explain(X)
        if problem:
            return problem
    if "convert" in text or "could not" in text or "sequence" in text:
        problem = _locate_non_numeric(X)
        if problem:
            return problem
    first_line = text.strip().splitlines()[0] if text.strip() else text
    return f"X must be {_EXPECTED}; it could not be used ({first_line})."


def check_finite(
    X: np.ndarray, name: str = "X", allow_nan: bool = False, first_row: int = 0
) -> None:
    """Raise DataError naming the first NaN/inf cell, or a value too large to use.

    With ``allow_nan`` NaN entries pass (missing values under
    ``nan_policy="marginalize"``); infinities never do.  ``first_row`` is the
    global number of X's first row (a chunk of a stream), used in messages.
    """
    # max/min propagate NaN and need no temporary copy of X (which may be a
    # large memory-mapped array)
    hi, lo = (float(np.max(X)), float(np.min(X))) if X.size else (0.0, 0.0)
    if allow_nan and (np.isnan(hi) or np.isnan(lo)):
        # NaN is a missing value: the range of the other entries
        hi = float(np.fmax.reduce(X, axis=None, initial=0.0))
        lo = float(np.fmin.reduce(X, axis=None, initial=0.0))
    limit = _MAX_ABS.get(X.dtype, _MAX_ABS[np.dtype(np.float64)])
    if np.isfinite(hi) and np.isfinite(lo) and max(hi, -lo) <= limit:
        return
    finite = np.isfinite(X)
    if allow_nan:
        finite |= np.isnan(X)
    if not finite.all():
        bad = np.argwhere(~finite)
        i, j = (int(v) for v in bad[0])
        value = X[i, j]
        kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
        raise DataError(
            f"{name} contains {kind} at row {first_row + i}, column {j} ({len(bad)} "
            f"non-finite value{'s' if len(bad) > 1 else ''} in total; NaN/inf are not "
            "allowed). Remove those rows or impute the missing values (e.g. with "
            "sklearn.impute.SimpleImputer) first"
            + (
                "."
                if allow_nan
                else "; GaussianMixture(nan_policy='marginalize') fits with "
                "missing values (NaN), marginalising them exactly."
            )
        )
    absx = np.abs(X)
    if allow_nan:
        absx = np.nan_to_num(absx, nan=0.0)
    i, j = (int(v) for v in np.unravel_index(np.argmax(absx), X.shape))
    hint = " or convert X to float64" if X.dtype == np.float32 else ""
    raise DataError(
        f"{name} holds {float(X[i, j]):g} at row {first_row + i}, column {j}, too "
        "large in "
        f"magnitude for a Gaussian mixture: squared distances would overflow "
        f"{X.dtype} (values must satisfy |x| <= {limit:.3g}). Rescale the data, "
        f"e.g. with sklearn.preprocessing.StandardScaler{hint}."
    )


def check_X(
    estimator: Any, X: Any, *, reset: bool, allow_nan: bool = False
) -> np.ndarray:
    """Validate X as a finite float32/float64 2-D array (sets n_features_in_);
    with ``allow_nan`` NaN entries (missing values) pass."""
    _pre_check(X)
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
        raise _explain_value_error(X, str(exc)) from None
    except TypeError as exc:
        problem = (
            _shape_problem(X)
            or _locate_non_numeric(X)
            or f"X must be {_EXPECTED}; got {_type_name(X)}."
        )
        raise DataTypeError(f"{problem} ({exc})") from None
    except OverflowError:
        problem = _locate_non_numeric(X) or (
            f"X holds a number too large for float64; X must be {_EXPECTED}."
        )
        raise DataError(problem) from None
    check_finite(arr, allow_nan=allow_nan)
    return arr


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Validate sample weights: shape (n_samples,), finite, >= 0, not all 0."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (bool, np.bool_)):
        raise DataError(
            f"sample_weight must be an array of shape ({n_samples},) or one number; "
            f"got the bool {sample_weight!r}."
        )
    if isinstance(sample_weight, numbers.Real):
        sample_weight = np.full(n_samples, float(sample_weight))
    try:
        sw = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        where = ""
        try:
            flat = list(np.ravel(np.asarray(sample_weight, dtype=object)))
        except Exception:  # pragma: no cover - exotic containers
            flat = []
        for i, value in enumerate(flat):
            try:
                float(value)
            except (TypeError, ValueError, OverflowError):
                where = f" got {_short(value)} at index {i};"
                break
        raise DataError(
            f"sample_weight must hold non-negative numbers, one per row of X;"
            f"{where} it could not be converted to float ({exc})."
        ) from None
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise DataError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; "
            f"got shape {sw.shape}."
        )
    bad = np.nonzero(~np.isfinite(sw))[0]
    if bad.size:
        raise DataError(
            f"sample_weight must be finite; got {sw[bad[0]]} at index {bad[0]} "
            f"({bad.size} non-finite in total). Remove those rows or give them a "
            "finite weight."
        )
    neg = np.nonzero(sw < 0)[0]
    if neg.size:
        raise DataError(
            f"sample_weight must be non-negative; got {sw[neg[0]]} at index {neg[0]} "
            f"({neg.size} negative in total). Use 0 to leave a row out."
        )
    if not sw.any():
        raise DataError(
            f"sample_weight must contain at least one positive weight; all "
            f"{n_samples} weights are zero. Give the rows to fit a positive weight."
        )
    with np.errstate(over="ignore"):
        total = float(np.sum(sw))
    if not np.isfinite(total):
        raise DataError(
            f"sample_weight sums to {total} (overflow; largest weight "
            f"{sw.max():g}). Rescale the weights, e.g. divide them by their maximum."
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
    """Convert a ``*_init`` parameter to float64 and check shape and values."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidParameterError(
            f"{name} must be a numeric array of shape {shape} ({what}); "
            f"it could not be converted ({exc})."
        ) from None
    if arr.shape != shape:
        raise InvalidParameterError(
            f"{name} must have shape {shape} ({what}); got shape {arr.shape}."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        index = tuple(int(v) for v in np.argwhere(~finite)[0])
        raise InvalidParameterError(
            f"{name} must hold finite numbers; got {arr[index]} at index "
            f"{index if len(index) > 1 else index[0]} "
            f"({int((~finite).sum())} non-finite in total)."
        )
    limit = _MAX_ABS[np.dtype(np.float64)]
    if arr.size and np.abs(arr).max() > limit:
        index = tuple(int(v) for v in np.unravel_index(np.argmax(np.abs(arr)), shape))
        raise InvalidParameterError(
            f"{name} holds {arr[index]:g} at index "
            f"{index if len(index) > 1 else index[0]}, too large in magnitude "
            f"(|value| must be <= {limit:.3g}). Rescale the data and {name} together."
        )
    return arr
