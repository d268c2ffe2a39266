"""mclust's conjugate prior: maximum a posteriori (MAP) EM.

Fraley and Raftery (2007), "Bayesian regularization for normal mixture
estimation and model-based clustering", J. Classification 24:155-181, put a
conjugate prior on the means and covariances of every component:

* ``mu_k | Sigma_k ~ N(mean, Sigma_k / shrinkage)``;
* ``Sigma_k ~ inverse Wishart(dof, scale)`` for the ellipsoidal models, and an
  inverse gamma prior with scalar ``scale`` on the variances of the spherical
  and diagonal models.

EM then maximises the posterior instead of the likelihood.  Only the M-step
changes.  With ``W_k`` the scatter of component ``k`` about its weighted mean
``xbar_k`` and ``n_k`` its weighted count,

* the mean becomes ``(n_k xbar_k + shrinkage * mean) / (n_k + shrinkage)``;
* the scatter gains the shrinkage term
  ``B_k = shrinkage n_k / (n_k + shrinkage) (xbar_k - mean)(xbar_k - mean)^T``
  and (a share of) the prior scale;
* the count the covariance is divided by grows by a model-dependent number of
  "prior observations" that depends on ``dof``.

So every MAP M-step is the model's ordinary M-step
(:meth:`~gmmkit.covariance.CovarianceModel.covariances_from_scatter`) applied
to a modified scatter and modified counts: :meth:`ResolvedPrior.map_statistics`
computes them.  The per-model rules (each model's
:attr:`~gmmkit.covariance.CovarianceModel.prior_rule`) reproduce the M-steps of
mclust 6.0's EM (``me``, ``Mclust``) exactly, including its particularities:
model EII ignores the prior scale, VEV ignores ``dof``, and EEI keeps the
unshrunk means.  (mclust's stand-alone ``mstep`` uses other MAP formulas
than its EM for EII, EEI, EVI and EEV, and with shrinkage 0 also for E, V and
VVV; gmmkit follows the EM, which is what ``me`` and ``Mclust`` fit.)  With
one component every model takes the MAP step of VII, VVI or VVV (mclust's
``mvnXII``, ``mvnXXI``, ``mvnXXX``).  mclust has no
MAP M-step for EVE, VEE, VVE and EVV; gmmkit refuses them too.

The mixing weights stay ``n_k / n`` (no prior on them), and the reported
log-likelihood, BIC and AIC are those of the data (not the log-posterior), as
mclust reports them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import linalg

from ._errors import DataError, InvalidParameterError
from .covariance import MCLUST_MODELS, MCLUST_MODELS_1D, PriorRule, get_model

#: mclust's default shrinkage (``defaultPrior``).
DEFAULT_SHRINKAGE = 0.01

#: Every model with a MAP M-step (as in mclust), in mclust's order.
PRIOR_MODELS: tuple[str, ...] = tuple(
    name
    for name in (*MCLUST_MODELS_1D, *MCLUST_MODELS)
    if get_model(name).prior_rule is not None
)


@dataclass(frozen=True)
class ConjugatePrior:
    """Hyperparameters of mclust's conjugate prior; ``None`` means mclust's default.

    Parameters
    ----------
    shrinkage : float or None, default=None
        ``kappa >= 0``: how many observations' worth of weight the prior mean
        has.  ``0`` leaves the means unregularised.  Default ``0.01``.
    mean : array-like of shape (n_features,) or None, default=None
        Prior mean of the component means.  Default: the (weighted) data mean.
    dof : float or None, default=None
        Degrees of freedom ``nu > 0`` of the inverse Wishart / inverse gamma
        prior on the covariances.  Default ``n_features + 2``.  (mclust's
        ``priorControl(dof=...)`` is silently ignored by its ``defaultPrior``;
        gmmkit uses the value given.)
    scale : float, array-like of shape (n_features, n_features) or None
        Scale of the covariance prior.  A positive number for the spherical
        and diagonal models; a symmetric positive-definite matrix (or a
        positive number ``s``, meaning ``s * I``) for EEE, EEV, VEV and VVV.
        Default as mclust's ``defaultPrior``: with ``G = n_components`` and
        ``d = n_features``, ``fac = (1/G)^(2/d)`` times the data covariance
        matrix ``var(X)`` (ellipsoidal models; its diagonal when
        ``n_samples <= d``) or times ``trace(var(X)) / d`` (spherical and
        diagonal models).
    """

    shrinkage: float | None = None
    mean: Any = None
    dof: float | None = None
    scale: Any = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConjugatePrior):
            return NotImplemented
        return all(
            _same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
        )

    def __hash__(self) -> int:
        return hash((self.shrinkage, self.dof))

    def __repr__(self) -> str:
        parts = [
            f"{f.name}={_short(getattr(self, f.name))}"
            for f in fields(self)
            if getattr(self, f.name) is not None
        ]
        return f"ConjugatePrior({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return False


def _short(value: Any) -> str:
    arr = np.asarray(value)
    return repr(value) if arr.ndim == 0 else f"<array {arr.shape}>"


def check_prior(owner: str, prior: object) -> ConjugatePrior | None:
    """Validate the ``prior`` parameter (what can be checked without data)."""
    if prior is None:
        return None
    if isinstance(prior, str):
        if prior == "default":
            return ConjugatePrior()
        raise InvalidParameterError(
            f"The 'prior' parameter of {owner} must be None, 'default', a dict or a "
            f"gmmkit.ConjugatePrior. Got the string {prior!r}; did you mean "
            "'default' (mclust's priorControl())?"
        )
    if isinstance(prior, Mapping):
        names = {f.name for f in fields(ConjugatePrior)}
        unknown = sorted(str(k) for k in prior if k not in names)
        if unknown:
            raise InvalidParameterError(
                f"The 'prior' dict of {owner} has unknown key(s) {unknown}; the "
                f"hyperparameters are {sorted(names)} (any left out take mclust's "
                "default)."
            )
        prior = ConjugatePrior(**{str(k): v for k, v in prior.items()})
    if not isinstance(prior, ConjugatePrior):
        raise InvalidParameterError(
            f"The 'prior' parameter of {owner} must be None, 'default', a dict or a "
            f"gmmkit.ConjugatePrior. Got {type(prior).__name__} instead."
        )
    if prior.shrinkage is not None:
        _real("shrinkage", prior.shrinkage, "a finite number >= 0", lambda v: v >= 0)
    if prior.dof is not None:
        _real("dof", prior.dof, "a finite number > 0", lambda v: v > 0)
    return prior


def _real(
    name: str, value: object, expected: str, ok: Callable[[float], bool]
) -> float:
    bad = isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    )
    if bad or not math.isfinite(float(value)) or not ok(float(value)):  # type: ignore[arg-type]
        raise InvalidParameterError(f"prior {name} must be {expected}; got {value!r}.")
    return float(value)  # type: ignore[arg-type]


def _rule(model_name: str, n_components: int = 2) -> PriorRule:
    """The model's MAP rule (with one component: that of mclust's
    single-Gaussian step, see :attr:`PriorRule.one_component`)."""
    rule = get_model(model_name).prior_rule
    if rule is None:
        raise InvalidParameterError(
            f"prior is not available for covariance_type {model_name!r}: mclust "
            "has no MAP M-step for EVE, VEE, VVE and EVV. Models with a prior: "
            f"{', '.join(PRIOR_MODELS)} (and scikit-learn's names full, tied, "
            "diag, spherical)."
        )
    if n_components == 1:
        one = get_model(rule.one_component).prior_rule
        assert one is not None
        return one
    return rule


def _mean_coef(kappa: float, nk: np.ndarray) -> np.ndarray:
    """Coefficient of the shrinkage term ``(xbar_k - mean)(xbar_k - mean)^T``."""
    return kappa * nk / (nk + kappa)


@dataclass
class ResolvedPrior:
    """Hyperparameters with every default filled in, for one model and data set."""

    model_name: str
    shrinkage: float
    mean: np.ndarray
    dof: float
    #: A float for the scalar-scale models, a (d, d) matrix otherwise.
    scale: float | np.ndarray

    def map_statistics(
        self, nk: np.ndarray, xbar: np.ndarray, scatter: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """MAP means and the counts and scatter for the model's ordinary M-step.

        Parameters
        ----------
        nk : ndarray of shape (K,)
            Weighted counts.
        xbar : ndarray of shape (K, d)
            Weighted means of the components.
        scatter : ndarray of shape (K, d, d) or (K, d)
            Central scatter about ``xbar`` (full, or only its diagonal).

        Returns
        -------
        counts : ndarray of shape (K,)
        means : ndarray of shape (K, d)
        scatter : ndarray, shape as the input
        """
        n_components, n_features = xbar.shape
        rule = _rule(self.model_name, n_components)
        kappa = self.shrinkage
        if rule.shrink_means:
            means = (nk[:, None] * xbar + kappa * self.mean) / (nk + kappa)[:, None]
        else:
            means = np.array(xbar, dtype=np.float64, copy=True)
        diff = xbar - self.mean
        coef = _mean_coef(kappa, nk)
        out = np.array(scatter, dtype=np.float64, copy=True)
        share = rule.scale_share(n_components, n_features)
        if out.ndim == 3:
            out += coef[:, None, None] * np.einsum("ki,kj->kij", diff, diff)
            if isinstance(self.scale, np.ndarray):
                out += share * self.scale
            else:
                idx = np.arange(n_features)
                out[:, idx, idx] += share * self.scale
        else:
            out += coef[:, None] * diff**2
            scale = self.scale
            out += share * (
                np.diagonal(scale) if isinstance(scale, np.ndarray) else scale
            )
        has_mean = 1 if kappa > 0 else 0
        counts = nk + rule.extra_count(self.dof, n_components, n_features, has_mean)
        return counts, means, out


def resolve_prior(
    spec: ConjugatePrior,
    model_name: str,
    chunks: Iterable[tuple[int, np.ndarray, np.ndarray]],
    n_components: int,
    n_features: int,
) -> ResolvedPrior:
    """Fill in mclust's defaults (``defaultPrior``) and check against the data.

    ``chunks`` is only read when a default needs the data's mean or variance.
    """
    scalar = _rule(model_name).scale == "scalar"
    d = n_features
    need_data = spec.mean is None or spec.scale is None
    mean = cov = None
    count = 0.0
    if need_data:
        count, mean, cov = data_moments(chunks, d)
    shrinkage = DEFAULT_SHRINKAGE if spec.shrinkage is None else float(spec.shrinkage)
    dof = float(d + 2) if spec.dof is None else float(spec.dof)
    if spec.mean is not None:
        mean = _check_mean(spec.mean, d)
    assert mean is not None
    if spec.scale is None:
        assert cov is not None
        fac = (1.0 / n_components) ** (2.0 / d)
        scale: float | np.ndarray
        if scalar:
            scale = fac * float(np.trace(cov)) / d
        elif count > d:
            scale = fac * cov
        else:
            scale = fac * np.diag(np.diag(cov))
    else:
        scale = _check_scale(spec.scale, model_name, d)
    return ResolvedPrior(model_name, shrinkage, mean, dof, scale)


def data_moments(
    chunks: Iterable[tuple[int, np.ndarray, np.ndarray]], n_features: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted count, mean and covariance (``n - 1`` denominator) in one pass.

    Moments are accumulated about the mean of the first chunk, so data far from
    the origin do not lose digits.  A weight counts a row that many times.
    """
    shift: np.ndarray | None = None
    total = 0.0
    s1 = np.zeros(n_features)
    s2 = np.zeros((n_features, n_features))
    for _, X, w in chunks:
        if shift is None:
            shift = (w @ X) / w.sum() if w.sum() > 0 else X.mean(axis=0)
        Xs = X - shift
        total += float(w.sum())
        s1 += w @ Xs
        s2 += (Xs * w[:, None]).T @ Xs
    if shift is None or total <= 1.0:
        raise DataError(
            "prior: the default prior mean and scale need the data's mean and "
            f"variance, which take a total sample weight above 1; got {total:g}. "
            "Give the prior's mean and scale explicitly, or fit on more rows."
        )
    delta = s1 / total
    scatter = s2 - total * np.outer(delta, delta)
    return total, shift + delta, 0.5 * (scatter + scatter.T) / (total - 1.0)


def _check_mean(value: object, d: int) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"prior mean must be a numeric array of shape ({d},) (one value per "
            f"feature); got {value!r}."
        ) from None
    if arr.ndim == 0 and d == 1:
        arr = arr.reshape(1)
    if arr.shape != (d,):
        raise InvalidParameterError(
            f"prior mean must have shape ({d},) (one value per feature of X); got "
            f"shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        j = int(np.argmax(~np.isfinite(arr)))
        raise InvalidParameterError(
            f"prior mean must be finite; got {arr[j]} for feature {j}."
        )
    return arr


def _check_scale(value: object, model_name: str, d: int) -> float | np.ndarray:
    scalar = _rule(model_name).scale == "scalar"
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"prior scale must be a positive number or a ({d}, {d}) matrix; got "
            f"{value!r}."
        ) from None
    if arr.ndim == 0 or arr.size == 1 and d == 1:
        s = float(arr.reshape(-1)[0])
        if not (math.isfinite(s) and s > 0):
            raise InvalidParameterError(
                f"prior scale must be a finite number > 0; got {s!r}."
            )
        if scalar:
            return s
        return s * np.eye(d)
    if scalar:
        raise InvalidParameterError(
            f"prior scale must be a single positive number for covariance_type "
            f"{model_name!r} (its variances get an inverse-gamma prior); got an "
            f"array of shape {arr.shape}. A (d, d) scale matrix is for EEE, EEV, "
            "VEV and VVV (full, tied)."
        )
    if arr.shape != (d, d):
        raise InvalidParameterError(
            f"prior scale must be a positive number or a ({d}, {d}) matrix for "
            f"covariance_type {model_name!r} (n_features={d}); got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError("prior scale must hold finite numbers.")
    if not np.allclose(arr, arr.T, rtol=1e-10, atol=0):
        raise InvalidParameterError(
            "prior scale must be a symmetric matrix; it is not (compare scale "
            "with scale.T)."
        )
    try:
        linalg.cholesky(arr, lower=True)
    except linalg.LinAlgError:
        raise InvalidParameterError(
            "prior scale must be positive definite; its smallest eigenvalue is "
            f"{np.linalg.eigvalsh(arr)[0]:.3g}."
        ) from None
    return 0.5 * (arr + arr.T)


__all__ = [
    "DEFAULT_SHRINKAGE",
    "PRIOR_MODELS",
    "ConjugatePrior",
    "ResolvedPrior",
    "check_prior",
    "data_moments",
    "resolve_prior",
]
