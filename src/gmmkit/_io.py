"""Model files: the format, written by :meth:`GaussianMixture.save` and read
by :func:`gmmkit.load` (:mod:`gmmkit.persistence`, which builds the estimator).

The format (version 2)
----------------------
A model file is a NumPy ``.npz`` archive (a zip file of ``.npy`` arrays,
whatever the file's extension) holding only plain numeric or unicode arrays,
so it is read with ``numpy.load(..., allow_pickle=False)`` and loading can
never execute code.  Its members:

``__gmmkit__``
    ``uint8`` array: UTF-8 JSON metadata (below).
``attr.<name>``
    one array per fitted attribute of the estimator (``weights_``,
    ``means_``, ``covariances_``, ``precisions_cholesky_``, ``precisions_``,
    ``lower_bounds_``, ``log_likelihood_history_``, scalars such as
    ``n_iter_`` and ``lower_bound_`` as 0-d arrays, and any attribute a
    covariance model adds), bit for bit as fitted.
``param.<name>``
    array-valued constructor parameters (``means_init`` ...), if any.

The metadata object has ``format`` (``"gmmkit-model"``), ``format_version``
(1 or 2), ``kind`` (``"GaussianMixture"`` or ``"BayesianGaussianMixture"``),
``gmmkit_version``, ``created``
(UTC, ISO 8601), ``covariance_type`` (as fitted, mclust code and alias),
``n_components``, ``n_features``, ``n_parameters`` (free parameters, from
format version 2), ``feature_names`` (list or null), ``params``
(the JSON-able ``get_params()``; parameters that cannot be stored, such as a
``RandomState`` object, are listed in ``dropped_params`` and reset to
``None``), ``attributes`` (name -> ``"array"``, ``"list"``, ``"int"``,
``"float"``, ``"bool"`` or ``"str"``) and ``training`` (``n_samples``,
``n_iter``, ``converged``, ``final_log_likelihood``).

Version 2 (gmmkit 0.1 after the layering step) adds the running statistics of
``partial_fit`` (``attr.online_state_``, a dataclass entry) when a model has
them; a version-1 file is the same without them and loads as before.  Version 2
also holds ``kind`` ``"BayesianGaussianMixture"``: the same members, with the
variational posterior (``weight_concentration_`` -- a Dirichlet's ``alpha_k``,
or the stick-breaking Beta parameters as a two-item sequence --
``mean_precision_``, ``degrees_of_freedom_``) and the resolved prior
(``weight_concentration_prior_``, ``mean_precision_prior_``, ``mean_prior_``,
``degrees_of_freedom_prior_``, ``covariance_prior_``) as attributes, and the
weight prior's type in ``params``.  A gmmkit that predates the Bayesian
model refuses such a file, naming its kind.

A reader refuses a file whose ``format_version`` is newer than it knows
(:class:`gmmkit.ModelFileError`, saying to upgrade gmmkit); every other
problem (not a zip, a truncated or corrupt member, missing metadata, arrays
of the wrong shape, non-finite parameters, a pickled object) raises the same
error naming the file and what is wrong.

Files are written atomically: to a temporary file in the target's folder,
flushed to disk, then moved over the target with :func:`os.replace`; a
failed write leaves any previous file untouched.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from ._errors import ModelFileError
from ._version import __version__

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "read_metadata", "save"]

FORMAT_NAME = "gmmkit-model"
FORMAT_VERSION = 2
_META = "__gmmkit__"
#: Prefix of array members (an array's key already starts with ``attr.`` or
#: ``param.``).
_DATA = ""
_KINDS = ("GaussianMixture", "BayesianGaussianMixture")
#: Attributes every fitted model file must hold.
REQUIRED_ATTRIBUTES = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "precisions_",
    "n_features_in_",
    "converged_",
    "n_iter_",
    "lower_bound_",
)
#: What a BayesianGaussianMixture file holds besides: the posterior and the
#: resolved prior.
BAYESIAN_ATTRIBUTES = (
    "weight_concentration_",
    "mean_precision_",
    "degrees_of_freedom_",
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "covariance_prior_",
    "lower_bounds_",
)


# ------------------------------------------------------- value encoding
class _Unstorable(Exception):
    """A value that the format cannot hold (e.g. a RandomState object)."""


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """A JSON descriptor of ``value``; numbers that must stay exact go to
    ``arrays[key...]`` (floats as float64, arrays as they are)."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        arrays[key] = np.asarray(value, dtype=np.float64)
        return {"t": "float", "a": key}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise _Unstorable(f"an array of dtype {value.dtype}")
        arrays[key] = value
        return {"t": "array", "a": key}
    if isinstance(value, (list, tuple)):
        if value and all(
            isinstance(v, (float, np.floating)) and not isinstance(v, bool)
            for v in value
        ):
            arrays[key] = np.asarray(value, dtype=np.float64)
            return {"t": "floats", "a": key, "tuple": isinstance(value, tuple)}
        return {
            "t": "seq",
            "tuple": isinstance(value, tuple),
            "items": [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)],
        }
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {
            "t": "dict",
            "items": {k: _encode(v, f"{key}.{k}", arrays) for k, v in value.items()},
        }
    cls = type(value)
    if dataclasses.is_dataclass(value) and cls.__module__.startswith("gmmkit."):
        return {
            "t": "dataclass",
            "cls": f"{cls.__module__}.{cls.__qualname__}",
            "fields": {
                f.name: _encode(getattr(value, f.name), f"{key}.{f.name}", arrays)
                for f in dataclasses.fields(value)
            },
        }
    raise _Unstorable(f"a {cls.__name__} object")


def decode(desc: Any, members: dict[str, np.ndarray], path: Path, what: str) -> Any:
    """Inverse of :func:`_encode`; builds only plain values, arrays and gmmkit
    dataclasses (never arbitrary objects)."""
    if not isinstance(desc, dict) or not isinstance(desc.get("t"), str):
        raise fail(path, f"{what} has no valid type descriptor.")
    t = desc["t"]
    if t == "none":
        return None
    if t in ("bool", "int", "str"):
        v = desc.get("v")
        ok = {"bool": (bool,), "int": (int,), "str": (str,)}[t]
        if not isinstance(v, ok) or (t == "int" and isinstance(v, bool)):
            raise fail(path, f"{what} should be a {t}; got {v!r}.")
        return v
    if t in ("float", "array", "floats"):
        key = desc.get("a")
        name = _DATA + str(key)
        if name not in members:
            raise fail(path, f"the array of {what} ({key!r}) is missing.")
        arr = members[name]
        if arr.dtype.kind not in "biuf":
            raise fail(path, f"{what} is not numeric (dtype {arr.dtype}).")
        if t == "array":
            return arr
        if arr.dtype.kind != "f" or arr.ndim != (0 if t == "float" else 1):
            raise fail(
                path,
                f"{what} has shape {arr.shape} and dtype {arr.dtype}; "
                f"expected a {'scalar' if t == 'float' else 'vector'} of floats.",
            )
        if t == "float":
            return float(arr)
        items = [float(v) for v in arr]
        return tuple(items) if desc.get("tuple") else items
    if t == "seq":
        raw = desc.get("items")
        if not isinstance(raw, list):
            raise fail(path, f"{what} has no items list.")
        seq = [decode(d, members, path, f"{what}[{i}]") for i, d in enumerate(raw)]
        return tuple(seq) if desc.get("tuple") else seq
    if t == "dict":
        raw = desc.get("items")
        if not isinstance(raw, dict):
            raise fail(path, f"{what} has no items object.")
        return {k: decode(d, members, path, f"{what}[{k!r}]") for k, d in raw.items()}
    if t == "dataclass":
        return _decode_dataclass(desc, members, path, what)
    raise fail(path, f"{what} has unknown type {t!r}.")


def _decode_dataclass(
    desc: dict[str, Any], members: dict[str, np.ndarray], path: Path, what: str
) -> Any:
    import importlib

    qualified = desc.get("cls")
    fields = desc.get("fields")
    if not isinstance(qualified, str) or not isinstance(fields, dict):
        raise fail(path, f"{what} is a malformed dataclass entry.")
    module_name, _, cls_name = qualified.rpartition(".")
    cls = None
    if module_name.startswith("gmmkit.") and cls_name.isidentifier():
        try:
            cls = getattr(importlib.import_module(module_name), cls_name, None)
        except ImportError:
            cls = None
    if cls is None or not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
        raise fail(path, f"{what}: {qualified!r} is not a gmmkit dataclass.")
    known = {f.name for f in dataclasses.fields(cls)}
    if set(fields) - known:
        raise fail(path, f"{what}: unknown fields {sorted(set(fields) - known)}.")
    values = {k: decode(d, members, path, f"{what}.{k}") for k, d in fields.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise fail(path, f"{what} is invalid ({exc}).") from None


# ----------------------------------------------------------------- writing
def _attribute_entries(estimator: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Descriptors of the fitted attributes (public names ending in ``_``)."""
    out: dict[str, Any] = {}
    for name, value in vars(estimator).items():
        if name.startswith("_") or not name.endswith("_"):
            continue
        if name in ("feature_names_in_", "training_summary_"):
            continue  # stored in the JSON metadata
        try:
            out[name] = _encode(value, f"attr.{name}", arrays)
        except _Unstorable as exc:
            raise ModelFileError(
                f"Cannot save fitted attribute {name!r}: it holds {exc}."
            ) from None
    return out


def _param_entries(
    params: dict[str, Any], arrays: dict[str, np.ndarray]
) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for name, value in params.items():
        try:
            out[name] = _encode(value, f"param.{name}", arrays)
        except _Unstorable:
            out[name] = {"t": "none"}
            dropped.append(name)
    return out, dropped


def _metadata(
    estimator: Any,
    attrs: dict[str, Any],
    params: dict[str, Any],
    dropped: list[str],
    sklearn_name: str | None,
) -> dict[str, Any]:
    model = estimator._model()
    names = getattr(estimator, "feature_names_in_", None)
    history = np.asarray(getattr(estimator, "log_likelihood_history_", []))
    n_samples = getattr(estimator, "n_samples_fit_", None)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": type(estimator).__name__,
        "gmmkit_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "covariance_type": {
            "fitted": getattr(
                estimator, "_fitted_covariance_type", estimator.covariance_type
            ),
            "mclust": model.name,
            "sklearn": sklearn_name,
        },
        "n_components": int(np.asarray(estimator.means_).shape[0]),
        "n_features": int(np.asarray(estimator.means_).shape[1]),
        "n_parameters": int(estimator.n_parameters()),
        "feature_names": None if names is None else [str(n) for n in names],
        "params": params,
        "dropped_params": dropped,
        "attributes": attrs,
        "training": {
            "n_samples": None if n_samples is None else int(n_samples),
            "n_iter": int(estimator.n_iter_),
            "converged": bool(estimator.converged_),
            "final_log_likelihood": (
                float(history[-1])
                if history.size and np.isfinite(history[-1])
                else None
            ),
        },
    }


def save(
    estimator: Any, path: str | os.PathLike[str], sklearn_name: str | None = None
) -> Path:
    """Write a fitted estimator to ``path`` (format described in the module).

    ``sklearn_name`` is scikit-learn's name of the fitted covariance model
    (None for models scikit-learn does not have), stored in the metadata.

    Returns
    -------
    path : Path
        The file written.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if type(estimator).__name__ not in _KINDS:
        raise ModelFileError(
            f"Only {', '.join(_KINDS)} models can be saved; got "
            f"{type(estimator).__name__}."
        )
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    attrs = _attribute_entries(estimator, arrays)
    params, dropped = _param_entries(estimator.get_params(deep=False), arrays)
    meta = _metadata(estimator, attrs, params, dropped, sklearn_name)
    members: dict[str, np.ndarray] = {
        _META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    }
    members.update({_DATA + k: v for k, v in arrays.items()})

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **members)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())

    atomic_write(path, write, ModelFileError)
    return path


# ----------------------------------------------------------------- reading
def fail(path: Path, what: str) -> ModelFileError:
    return ModelFileError(f"{path} is not a valid gmmkit model file: {what}")


def read_members(path: Path) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a gmmkit model file.") from None
    except FileNotFoundError:
        raise ModelFileError(f"Model file {path} does not exist.") from None
    if not data:
        raise fail(path, "the file is empty (0 bytes).")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise fail(
            path,
            "it is not an .npz/zip archive (truncated, corrupt, or another kind "
            "of file). Save models with model.save(path).",
        )
    members: dict[str, np.ndarray] = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            for name in archive.files:
                members[name] = archive[name]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise fail(
                path,
                "it holds pickled Python objects, which gmmkit never loads "
                "(loading them could execute code).",
            ) from None
        raise fail(path, f"a member cannot be read ({exc}).") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise fail(path, f"the archive is damaged ({exc}).") from None
    except Exception as exc:  # noqa: BLE001 - zlib.error and friends
        raise fail(
            path, f"the archive is damaged ({type(exc).__name__}: {exc})."
        ) from None
    return members


def read_metadata_of(path: Path, members: dict[str, np.ndarray]) -> dict[str, Any]:
    raw = members.get(_META)
    if raw is None:
        raise fail(
            path,
            f"no {_META!r} metadata member (an .npz file not written by gmmkit).",
        )
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise fail(path, "the metadata member is not UTF-8 bytes.")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(path, f"the metadata is not valid JSON ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise fail(path, f"its metadata does not say format {FORMAT_NAME!r}.")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail(path, f"format_version {version!r} is not a positive integer.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses model file format version {version}, written by gmmkit "
            f"{meta.get('gmmkit_version', '?')}; this gmmkit ({__version__}) reads "
            f"versions up to {FORMAT_VERSION}. Upgrade gmmkit to load it."
        )
    if meta.get("kind") not in _KINDS:
        raise fail(
            path, f"model kind {meta.get('kind')!r} is not one of {list(_KINDS)}."
        )
    for key in ("params", "attributes"):
        if not isinstance(meta.get(key), dict):
            raise fail(path, f"the metadata has no {key!r} object.")
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON metadata of a model file (validated as :func:`load` does)."""
    path = Path(path)
    return read_metadata_of(path, read_members(path))
