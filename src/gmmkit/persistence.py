"""Loading model files: :func:`gmmkit.load`.

The file format and the writer live in :mod:`gmmkit._io` (below the
estimators, so that :meth:`GaussianMixture.save` needs nothing above it); this
module sits above :mod:`gmmkit.mixture` and turns a file back into a fitted
estimator, checking every restored parameter against its covariance model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ._io import (
    BAYESIAN_ATTRIBUTES,
    REQUIRED_ATTRIBUTES,
    decode,
    fail,
    read_members,
    read_metadata_of,
)
from ._variational import VB_COVARIANCE_TYPES, WEIGHT_PRIOR_TYPES
from .bayesian import BayesianGaussianMixture, sklearn_bound_type
from .covariance import get_model
from .covariance._linalg import is_symmetric_pd
from .mixture import GaussianMixture

__all__ = ["load"]


def _check_parameters(path: Path, est: Any) -> None:
    """Shapes and values of the restored parameters, against the model."""
    arrays = (
        "weights_",
        "means_",
        "covariances_",
        "precisions_cholesky_",
        "precisions_",
    )
    for name in arrays:
        if not isinstance(getattr(est, name), np.ndarray):
            raise fail(path, f"{name} is not an array.")
    if not isinstance(est.n_features_in_, int) or not isinstance(est.n_components, int):
        raise fail(path, "n_features_in_ and n_components must be integers.")
    model = est._model()
    weights = est.weights_
    means = est.means_
    if means.ndim != 2 or means.dtype.kind != "f":
        raise fail(path, f"means_ must be a 2-D float array; got shape {means.shape}.")
    k, d = means.shape
    if k != est.n_components:
        raise fail(path, f"means_ has {k} rows but n_components is {est.n_components}.")
    if d != est.n_features_in_:
        raise fail(
            path, f"means_ has {d} columns but n_features_in_ is {est.n_features_in_}."
        )
    expected = {
        "weights_": (k,),
        "covariances_": model.native_shape(k, d),
        "precisions_cholesky_": model.native_shape(k, d),
        "precisions_": model.native_shape(k, d),
    }
    for name, shape in expected.items():
        arr = getattr(est, name)
        if tuple(arr.shape) != tuple(shape):
            raise fail(
                path,
                f"{name} has shape {tuple(arr.shape)}; a {model.name} model with "
                f"{k} components and {d} features needs {tuple(shape)}.",
            )
    for name in arrays:
        arr = getattr(est, name)
        if arr.dtype.kind != "f" or not np.isfinite(arr).all():
            raise fail(path, f"{name} holds non-finite or non-float values.")
    if (weights < 0).any() or not np.isclose(weights.sum(), 1.0, atol=1e-6):
        raise fail(path, "weights_ must be non-negative and sum to 1.")


def _positive(path: Path, name: str, value: Any, shape: tuple[int, ...], low=0.0):
    """``value`` is a finite float array of ``shape`` above ``low``."""
    arr = np.asarray(value)
    if arr.dtype.kind != "f" or tuple(arr.shape) != shape:
        raise fail(
            path,
            f"{name} must be a float array of shape {shape}; got shape "
            f"{tuple(arr.shape)} and dtype {arr.dtype}.",
        )
    if not (np.isfinite(arr).all() and (arr > low).all()):
        raise fail(path, f"{name} must hold finite values above {low:g}.")


def _check_bayesian(path: Path, est: BayesianGaussianMixture) -> None:
    """The variational posterior and the prior of a BayesianGaussianMixture."""
    k, d = est.means_.shape
    name = est._model_name()
    if name not in VB_COVARIANCE_TYPES:
        raise fail(
            path,
            f"covariance type {name!r} has no variational model; "
            f"expected one of {list(VB_COVARIANCE_TYPES)}.",
        )
    weight_type = est.weight_concentration_prior_type
    if weight_type not in WEIGHT_PRIOR_TYPES:
        raise fail(
            path,
            f"weight_concentration_prior_type {weight_type!r} is not one of "
            f"{list(WEIGHT_PRIOR_TYPES)}.",
        )
    conc = est.weight_concentration_
    if weight_type == "dirichlet_process":
        if not isinstance(conc, tuple) or len(conc) != 2:
            raise fail(
                path,
                "weight_concentration_ of a Dirichlet process must be two arrays "
                "(the sticks' Beta parameters).",
            )
        for i, part in enumerate(conc):
            _positive(path, f"weight_concentration_[{i}]", part, (k,))
    else:
        _positive(path, "weight_concentration_", conc, (k,))
    _positive(path, "mean_precision_", est.mean_precision_, (k,))
    dof = est.degrees_of_freedom_
    _positive(
        path,
        "degrees_of_freedom_",
        dof,
        () if name == "tied" else (k,),
        d - 1.0,
    )
    for prior in ("weight_concentration_prior_", "mean_precision_prior_"):
        _positive(path, prior, getattr(est, prior), ())
    _positive(
        path, "degrees_of_freedom_prior_", est.degrees_of_freedom_prior_, (), d - 1.0
    )
    mean = np.asarray(est.mean_prior_)
    if mean.dtype.kind != "f" or mean.shape != (d,) or not np.isfinite(mean).all():
        raise fail(path, f"mean_prior_ must be {d} finite floats.")
    cov_shape = {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[name]
    cov = est.covariance_prior_
    _positive(
        path,
        "covariance_prior_",
        cov,
        cov_shape,
        -np.inf if len(cov_shape) == 2 else 0.0,
    )
    if len(cov_shape) == 2 and not is_symmetric_pd(np.asarray(cov)):
        raise fail(path, "covariance_prior_ must be symmetric positive-definite.")
    est._fitted_weight_type = weight_type
    # scikit-learn's types, which the file's floats do not record
    tied = name == "tied"
    est.lower_bound_ = sklearn_bound_type(est.lower_bound_, tied)
    est.lower_bounds_ = [sklearn_bound_type(b, tied) for b in est.lower_bounds_]
    if tied:
        est.degrees_of_freedom_ = np.float64(est.degrees_of_freedom_)


_ESTIMATORS: dict[str, type] = {
    "GaussianMixture": GaussianMixture,
    "BayesianGaussianMixture": BayesianGaussianMixture,
}


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model written by :meth:`GaussianMixture.save` or
    :meth:`BayesianGaussianMixture.save`.

    Never executes code from the file (no pickle).

    Raises
    ------
    ModelFileError
        The file is missing, empty, truncated, corrupt, of a newer format
        version, not a gmmkit model, or holds invalid parameters.
    """
    path = Path(path)
    members = read_members(path)
    meta = read_metadata_of(path, members)
    kind = meta["kind"]
    est = _ESTIMATORS[kind]()
    known = est.get_params(deep=False)
    unknown = sorted(set(meta["params"]) - set(known))
    if unknown:
        raise fail(
            path,
            f"unknown parameter(s) {unknown} (written by a newer gmmkit?).",
        )
    params = {
        name: decode(desc, members, path, f"parameter {name!r}")
        for name, desc in meta["params"].items()
    }
    try:
        est.set_params(**params)
    except (TypeError, ValueError) as exc:
        raise fail(path, f"its parameters are invalid ({exc}).") from None
    attrs = meta["attributes"]
    required = REQUIRED_ATTRIBUTES + (
        BAYESIAN_ATTRIBUTES if kind == "BayesianGaussianMixture" else ()
    )
    for name in required:
        if name not in attrs:
            raise fail(path, f"the fitted attribute {name!r} is missing.")
    for name, desc in attrs.items():
        if not isinstance(name, str) or not name.endswith("_") or name.startswith("_"):
            raise fail(path, f"{name!r} is not a fitted attribute name.")
        setattr(est, name, decode(desc, members, path, f"attribute {name!r}"))
    cov = meta.get("covariance_type", {})
    fitted = cov.get("fitted") if isinstance(cov, dict) else None
    try:
        if not isinstance(fitted, str):
            raise TypeError(fitted)
        get_model(fitted)
    except Exception:  # noqa: BLE001 - InvalidParameterError
        raise fail(
            path,
            f"covariance type {fitted!r} is not known to this gmmkit.",
        ) from None
    est._fitted_covariance_type = fitted
    feature_names = meta.get("feature_names")
    if feature_names is not None:
        if (
            not isinstance(feature_names, list)
            or len(feature_names) != est.n_features_in_
            or not all(isinstance(n, str) for n in feature_names)
        ):
            raise fail(path, "feature_names must list one name per feature.")
        est.feature_names_in_ = np.asarray(feature_names, dtype=object)
    _check_parameters(path, est)
    if isinstance(est, BayesianGaussianMixture):
        _check_bayesian(path, est)
    est.training_summary_ = dict(meta.get("training") or {})
    est.training_summary_["gmmkit_version"] = meta.get("gmmkit_version")
    return est
