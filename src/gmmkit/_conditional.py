"""Marginal and conditional mixtures, and conditional moments batched over rows.

A Gaussian mixture ``p(x) = sum_k pi_k N(x | mu_k, Sigma_k)`` split into
coordinates ``g`` and the rest ``r``:

* its marginal is ``p(x_g) = sum_k pi_k N(x_g | mu_kg, Sigma_kgg)``;
* its conditional is the mixture ``p(x_r | x_g = v) = sum_k w_k(v)
  N(x_r | m_k(v), C_k)`` with weights ``w_k(v) = pi_k N(v | mu_kg,
  Sigma_kgg) / p(v)`` (the posterior of each component given ``v``), means
  ``m_k(v) = mu_kr + Sigma_krg Sigma_kgg^-1 (v - mu_kg)`` and covariances
  ``C_k = Sigma_krr - Sigma_krg Sigma_kgg^-1 Sigma_kgr`` (the same for
  every ``v``).

The algebra is :mod:`gmmkit._gaussian`'s (Cholesky factors, no inverse).
:func:`marginal` and :func:`condition` return the parameters of the new
mixture in the native arrays of its covariance model
(:func:`gmmkit.covariance.subset_type`), which
:meth:`gmmkit.GaussianMixture.marginal` / ``condition`` turn into a fitted
estimator.

:class:`ConditionalRows` is Gaussian mixture regression (Ghahramani & Jordan
1994): the conditional of some target coordinates given input coordinates for
many rows at once, batched over rows and components (blocks of rows, one
Cholesky factorisation per component and block; rows with missing inputs are
grouped by their pattern and conditioned on what they observe).  Its
predictive mean is ``E[x_t | x_g] = sum_k w_k m_k`` and its variance, by the
law of total variance, ``Var[x_t | x_g] = sum_k w_k (diag C_k + (m_k -
E[x_t | x_g])^2)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import softmax

from ._errors import InvalidParameterError
from ._gaussian import (
    Conditioner,
    cholesky,
    complement,
    conditioner,
    mixture_condition,
)
from ._gaussian import marginal as _marginal
from ._missing import patterns
from ._stats import Params
from .covariance import CovarianceModel, get_model, subset_type

__all__ = [
    "ConditionalRows",
    "Part",
    "condition",
    "dense_parameters",
    "feature_index",
    "marginal",
]

#: Floats of work arrays per block of rows in :class:`ConditionalRows`
#: (16 MiB).
_BLOCK_FLOATS = 1 << 21


@dataclass(frozen=True)
class Part:
    """A marginal or conditional mixture of a fitted one.

    Attributes
    ----------
    covariance_type : str
        The new mixture's covariance model.
    params : Params
        Its parameters, covariances in that model's native arrays.
    features : ndarray of int
        The original features it describes, in its order.
    """

    covariance_type: str
    params: Params
    features: np.ndarray


def dense_parameters(
    model: CovarianceModel, params: Params
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights, means, covariances (K, d, d))`` as float64 arrays."""
    k, d = params.means.shape
    covs = np.array(model.dense(params.covariances, k, d), dtype=np.float64)
    return (
        np.asarray(params.weights, dtype=np.float64),
        np.asarray(params.means, dtype=np.float64),
        covs,
    )


def feature_index(
    features: Any, n_features: int, names: Any, owner: str, what: str = "features"
) -> np.ndarray:
    """Positions of ``features``: integer indices or (for a mixture fitted
    on named columns) names; one feature or a list of distinct ones."""
    items = [features] if isinstance(features, (str, numbers.Integral)) else features
    try:
        items = list(items)
    except TypeError:
        raise InvalidParameterError(
            f"{what} of {owner} must be a feature (an int index or a name) or a "
            f"list of them; got {features!r}."
        ) from None
    if not items:
        raise InvalidParameterError(
            f"{what} of {owner} must list at least one feature; got {features!r}."
        )
    known = None if names is None else [str(n) for n in names]
    out = []
    for item in items:
        if isinstance(item, str):
            if known is None:
                raise InvalidParameterError(
                    f"{what} of {owner} names the feature {item!r}, but the model "
                    "was not fitted on named columns (e.g. a DataFrame). Use "
                    f"integer indices 0..{n_features - 1}."
                )
            if item not in known:
                raise InvalidParameterError(
                    f"{what} of {owner}: {item!r} is not a feature of the model; "
                    f"its features are {known}."
                )
            out.append(known.index(item))
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if not 0 <= int(item) < n_features:
                raise InvalidParameterError(
                    f"{what} of {owner}: index {int(item)} is out of range; the "
                    f"model has {n_features} features (indices 0..{n_features - 1})."
                )
            out.append(int(item))
        else:
            raise InvalidParameterError(
                f"{what} of {owner} must hold int indices or feature names; got "
                f"{item!r} ({type(item).__name__})."
            )
    index = np.array(out, dtype=np.intp)
    if np.unique(index).size != index.size:
        seen = [int(i) for i in index]
        twice = next(i for i in seen if seen.count(i) > 1)
        label = known[twice] if known is not None else twice
        raise InvalidParameterError(
            f"{what} of {owner} lists the feature {label!r} more than once; list "
            "each feature once."
        )
    return index


def _part(
    covariance_type: str,
    weights: np.ndarray,
    means: np.ndarray,
    covs: np.ndarray,
    features: np.ndarray,
    reg_covar: float,
) -> Part:
    """The new mixture's parameters in its covariance model's native arrays."""
    new_type = subset_type(covariance_type)
    model = get_model(new_type)
    native = model.from_dense(np.ascontiguousarray(covs))
    prec_chol = model.precisions_cholesky(native, reg_covar)
    params = Params(np.array(weights), np.array(means), native, prec_chol)
    return Part(new_type, params, np.asarray(features, dtype=np.intp))


def marginal(
    covariance_type: str,
    model: CovarianceModel,
    params: Params,
    features: Any,
    names: Any,
    reg_covar: float,
) -> Part:
    """The mixture of ``features`` (in the order listed), the others
    integrated out: the same weights, the means' and covariances' entries of
    those features."""
    weights, means, covs = dense_parameters(model, params)
    index = feature_index(features, means.shape[1], names, "marginal")
    sub_means, sub_covs = _marginal(means, covs, index)
    return _part(covariance_type, weights, sub_means, sub_covs, index, reg_covar)


def condition(
    covariance_type: str,
    model: CovarianceModel,
    params: Params,
    features: Any,
    values: Any,
    names: Any,
    reg_covar: float,
) -> Part:
    """The mixture of the other features given ``x_features = values``."""
    weights, means, covs = dense_parameters(model, params)
    d = means.shape[1]
    given = feature_index(features, d, names, "condition")
    rest = complement(given, d)
    if rest.size == 0:
        raise InvalidParameterError(
            f"condition was given all {d} features of the model, which leaves "
            "nothing to condition; list only the features whose values are known."
        )
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"values of condition must be {given.size} number(s), one per "
            f"conditioning feature; they could not be converted ({exc})."
        ) from None
    if v.size != given.size or v.ndim > 2 or (v.ndim == 2 and v.shape[0] != 1):
        raise InvalidParameterError(
            f"values of condition must hold one number per conditioning feature, "
            f"shape ({given.size},); got shape {v.shape}. To condition many rows "
            "at once use GaussianMixtureRegressor or condition each row."
        )
    v = v.reshape(1, given.size)
    if not np.isfinite(v).all():
        j = int(np.argmax(~np.isfinite(v[0])))
        raise InvalidParameterError(
            f"values of condition must be finite; got {v[0, j]} for feature "
            f"{int(given[j])}. Leave a feature out of `features` to integrate it out."
        )
    _, post, cond_means, cond_covs = mixture_condition(weights, means, covs, given, v)
    return _part(covariance_type, post[0], cond_means[0], cond_covs, rest, reg_covar)


class ConditionalRows:
    """``p(x_targets | x_inputs)`` of a mixture for many rows of inputs.

    Parameters
    ----------
    model, params : the mixture
    inputs, targets : int arrays of disjoint coordinates; the other
        coordinates (if any) are integrated out.

    Rows of inputs may hold NaN (a missing input): such a row is conditioned
    on its observed inputs only (a row with none observed gets the targets'
    marginal).
    """

    def __init__(
        self,
        model: CovarianceModel,
        params: Params,
        inputs: np.ndarray,
        targets: np.ndarray,
    ) -> None:
        weights, means, covs = dense_parameters(model, params)
        index = np.concatenate([inputs, targets]).astype(np.intp)
        self.weights = weights
        self.means, self.covs = _marginal(means, covs, index)
        self.n_inputs = int(np.size(inputs))
        self.n_targets = int(np.size(targets))
        self._targets = np.arange(self.n_inputs, self.n_inputs + self.n_targets)
        self._conditioners: dict[bytes, Conditioner] = {}
        k = weights.shape[0]
        per_row = k * (2 * self.n_inputs + 3 * self.n_targets + 2)
        self.block_rows = max(1, _BLOCK_FLOATS // per_row)

    def _conditioner(self, missing: np.ndarray) -> Conditioner:
        """The components conditioned on the inputs not in ``missing``, the
        inputs in ``missing`` integrated out (computed once per pattern)."""
        key = missing.tobytes()
        found = self._conditioners.get(key)
        if found is None:
            observed = complement(missing, self.n_inputs)
            index = np.concatenate([observed, self._targets])
            means, covs = _marginal(self.means, self.covs, index)
            found = conditioner(means, covs, np.arange(observed.size))
            self._conditioners[key] = found
        return found

    def blocks(
        self, X: np.ndarray
    ) -> Iterator[tuple[Any, np.ndarray, np.ndarray, np.ndarray]]:
        """``(rows, posterior (m, K), means (m, K, t), covariances (K, t, t))``
        of the conditional mixture for blocks of rows of ``X`` (n, inputs);
        ``rows`` (a slice or an index array) locates the block in X."""
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights)
        for start in range(0, X.shape[0], self.block_rows):
            stop = min(start + self.block_rows, X.shape[0])
            block = np.asarray(X[start:stop], dtype=np.float64)
            mask = np.isnan(block)
            if not mask.any():
                groups: Any = [(np.empty(0, np.intp), slice(None))]
            else:
                groups = patterns(mask)
            for missing, rows in groups:
                cond = self._conditioner(missing)
                observed = block[rows][:, complement(missing, self.n_inputs)]
                log_dens, cmeans = cond.apply(observed)
                post = softmax(log_dens + log_w, axis=1)
                where = slice(start, stop) if isinstance(rows, slice) else start + rows
                yield where, post, cmeans, cond.covariances

    def moments(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``E[x_t | x_g]`` and ``Var[x_t | x_g]`` per row, each (n, t)."""
        mean = np.empty((X.shape[0], self.n_targets))
        var = np.empty((X.shape[0], self.n_targets))
        for rows, post, cmeans, ccovs in self.blocks(X):
            m = np.einsum("nk,nkt->nt", post, cmeans)
            spread = (cmeans - m[:, None, :]) ** 2
            within = post @ np.diagonal(ccovs, axis1=1, axis2=2)
            mean[rows] = m
            var[rows] = within + np.einsum("nk,nkt->nt", post, spread)
        return mean, var

    def sample(
        self, X: np.ndarray, n_samples: int, rng: np.random.RandomState
    ) -> np.ndarray:
        """``n_samples`` draws of ``x_t`` from ``p(x_t | x_g)`` per row, shape
        (n, t, n_samples): a component drawn from the posterior, then its
        conditional Gaussian.  The random numbers are drawn for all rows
        first, so the draws do not depend on the blocks."""
        n, t = X.shape[0], self.n_targets
        uniform = rng.uniform(size=(n, n_samples))
        noise = rng.standard_normal((n, n_samples, t))
        out = np.empty((n, n_samples, t))
        for rows, post, cmeans, ccovs in self.blocks(X):
            cum = np.cumsum(post, axis=1)
            u = uniform[rows] * cum[:, -1:]
            comp = (cum[:, None, :] < u[:, :, None]).sum(axis=2)
            comp = np.minimum(comp, post.shape[1] - 1)
            factors = cholesky(ccovs)
            draws = np.empty((comp.shape[0], n_samples, t))
            z = noise[rows]
            for k in range(post.shape[1]):
                hit = comp == k
                if hit.any():
                    where = np.nonzero(hit)[0]
                    draws[hit] = cmeans[where, k] + z[hit] @ factors[k].T
            out[rows] = draws
        return out.transpose(0, 2, 1)
