"""A uniform noise component (Banfield & Raftery 1993; mclust's ``noise``).

The mixture gets one more component with the constant density ``1 / V`` over
the data's region (``V`` its hypervolume):

``p(x) = sum_k pi_k N(x | mu_k, Sigma_k) + pi_0 / V``, ``sum_k pi_k + pi_0 = 1``.

Only the E-step and the weights change.  Each row's responsibilities are
normalised over the ``K`` Gaussian columns and the noise column ``log pi_0 -
log V``; the Gaussian columns give the ordinary :class:`~gmmkit._stats.SuffStats`
(so every covariance model's M-step and the prior serve unchanged) and the
noise column one more additive number, :attr:`NoiseStats.noise`.  The M-step
is :func:`gmmkit._engine.m_step` on the Gaussian statistics, whose weights
(``n_k / sum_j n_j``) are then scaled by ``1 - pi_0`` with ``pi_0 =
noise / weight``: mclust's ``pro = colSums(z) / n`` over the ``K + 1``
columns.  :func:`noise_steps` is that EM as a :class:`~gmmkit._engine.Step`
iterator, run by :func:`gmmkit._engine.drive` with its stopping rule.

The start (:func:`initial_params`) is mclust's: rows marked as noise get
responsibility 1 for the noise component, the others the start of
``init_params`` computed on those rows only (``"hc"``: hierarchical
clustering of the non-noise rows), and the fit begins with one M-step from
these responsibilities.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import _stats
from ._engine import Step, m_step
from ._errors import DataError, FitError, InvalidParameterError
from ._hc import HCStart
from ._init import initial_resp, params_from_resp
from ._prior import ResolvedPrior
from ._stats import (
    Chunks,
    Params,
    Responsibilities,
    SuffStats,
    check_loglik,
    weighted_log_prob,
)
from .covariance import CovarianceModel
from .sources import ArraySource, DataSource, total_and_labels

__all__ = [
    "NoiseParams",
    "NoiseStart",
    "NoiseStats",
    "estep_stats",
    "final_pass",
    "initial_params",
    "log_hypervolume",
    "noise_steps",
    "score_chunks",
    "score_rows",
]


@dataclass
class NoiseParams(Params):
    """Gaussian parameters plus the noise component: its weight ``noise``
    (``weights.sum() + noise == 1``) and ``log_volume`` (``log V``)."""

    noise: float = 0.0
    log_volume: float = 0.0

    def log_noise(self) -> float:
        """``log pi_0 - log V``, the noise column of every row."""
        if self.noise <= 0:
            return -math.inf
        return math.log(self.noise) - self.log_volume

    def gaussian(self) -> Params:
        return Params(
            self.weights, self.means, self.covariances, self.precisions_cholesky
        )


@dataclass
class NoiseStats(SuffStats):
    """:class:`~gmmkit._stats.SuffStats` of the Gaussian columns plus the
    weighted sum of the noise responsibilities."""

    noise: float = 0.0


@dataclass(frozen=True)
class NoiseStart:
    """What a fit with a noise component starts from: the rows initially
    assigned to noise and ``log V``."""

    mask: np.ndarray
    log_volume: float


def log_hypervolume(X: np.ndarray) -> float:
    """``log V`` of the data's region as mclust's ``hypvol`` computes it.

    ``V`` is the smaller of two boxes' volumes: the box spanned by the ranges
    of the columns, and the box spanned by the ranges of the principal
    component scores (the rows projected onto the eigenvectors of their
    covariance matrix).  One feature: the range.  Returned as a logarithm
    (the volume of many features under- or overflows).
    """
    X = np.asarray(X, dtype=np.float64)
    ranges = np.ptp(X, axis=0)
    if not np.all(ranges > 0):
        j = int(np.argmin(ranges))
        raise DataError(
            f"the hypervolume of the data is 0: feature {j} takes one value "
            "only, so a uniform noise component has no region. Remove constant "
            "features, or give hypervolume explicitly."
        )
    box = float(np.log(ranges).sum())
    if X.shape[1] == 1:
        return box
    centred = X - X.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    scores = np.ptp(centred @ vectors, axis=0)
    with np.errstate(divide="ignore"):
        pc = float(np.log(scores).sum())
    return min(box, pc)


def _row_log_prob(
    X: np.ndarray, model: CovarianceModel, params: NoiseParams, shift: np.ndarray
) -> np.ndarray:
    """``(n, K + 1)``: ``log pi_k + log N(x | mu_k, Sigma_k)``, then the
    noise column ``log pi_0 - log V``."""
    out = np.empty((X.shape[0], params.n_components + 1))
    out[:, :-1] = weighted_log_prob(X, model, params.gaussian(), shift)
    out[:, -1] = params.log_noise()
    return out


def estep_stats(
    chunks: Chunks, model: CovarianceModel, params: NoiseParams
) -> NoiseStats:
    """One E-step with the noise component: Gaussian statistics about the
    current means, the noise count, the log-likelihood."""
    k = params.n_components
    stats = NoiseStats.zeros(params.means, model.moments)
    assert isinstance(stats, NoiseStats)
    shift = params.centre()
    centres_s = params.means - shift
    for _, X, w in chunks:
        X = np.asarray(X, dtype=np.float64)
        resp = _row_log_prob(X, model, params, shift)
        log_norm = _stats._resp_inplace(resp)
        keep = w > 0  # zero weight: no statistics, whatever the density
        w = np.where(keep, w, 0.0)
        rw = resp[:, :k] * w[:, None]
        _stats._accumulate(stats, X - shift, rw, centres_s)
        stats.noise += float(w @ resp[:, k])
        stats.loglik += float(w[keep] @ log_norm[keep])
        stats.weight += float(w.sum())
        stats.rows += X.shape[0]
    return stats


def with_noise(params: Params, noise: float, log_volume: float) -> NoiseParams:
    """``params`` (Gaussian weights summing to 1) as a mixture with noise
    weight ``noise``: the Gaussian weights scaled by ``1 - noise``."""
    return NoiseParams(
        params.weights * (1.0 - noise),
        params.means,
        params.covariances,
        params.precisions_cholesky,
        noise=float(noise),
        log_volume=float(log_volume),
    )


def m_step_noise(
    model: CovarianceModel,
    stats: NoiseStats,
    reg_covar: float,
    previous: NoiseParams,
    prior: ResolvedPrior | None,
) -> NoiseParams:
    """The engine's M-step on the Gaussian statistics; weights as mclust's
    ``colSums(z) / n`` over the K + 1 columns."""
    if not stats.n.sum() > 0:
        raise FitError(
            "every row is assigned to the noise component: the Gaussian "
            "components have no data left. Mark fewer rows as noise "
            "(noise_init), use fewer components, or a larger hypervolume."
        )
    new = m_step(model, stats, reg_covar, previous.gaussian(), prior)
    noise = min(max(stats.noise / stats.weight, 0.0), 1.0)
    return with_noise(new, noise, previous.log_volume)


def noise_steps(
    source: DataSource,
    model: CovarianceModel,
    params: NoiseParams,
    reg_covar: float,
    prior: ResolvedPrior | None = None,
) -> Iterator[Step]:
    """EM with the noise component: the noise E-step over the source's
    chunks, then :func:`m_step_noise`, forever."""
    passes = 0
    while True:
        stats = estep_stats(source, model, params)
        passes += 1
        check_loglik(stats.loglik)
        new = m_step_noise(model, stats, reg_covar, params, prior)
        yield Step(stats.loglik, stats.weight, params, new, passes)
        params = new


def score_chunks(
    chunks: Chunks, model: CovarianceModel, params: NoiseParams
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(start, log_prob, log_norm)`` per chunk, ``log_prob`` with the noise
    column last (``predict_proba``'s K + 1 columns)."""
    shift = params.centre()
    for start, X, _ in chunks:
        log_prob = _row_log_prob(np.asarray(X, dtype=np.float64), model, params, shift)
        log_norm = _stats._resp_inplace(log_prob.copy())
        yield start, log_prob, log_norm


def score_rows(
    chunks: Chunks, model: CovarianceModel, params: NoiseParams, labels: bool = True
) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """``(start, log p(x), most probable component)`` per chunk; the noise
    component is label -1 (scikit-learn's convention for outliers)."""
    k = params.n_components
    for start, log_prob, log_norm in score_chunks(chunks, model, params):
        best = None
        if labels:
            best = log_prob.argmax(axis=1)
            best[best == k] = -1
        yield start, log_norm, best


def final_pass(
    source: DataSource, model: CovarianceModel, params: NoiseParams, want_labels: bool
) -> tuple[float, np.ndarray | None]:
    """Total (weighted) log-likelihood of ``params`` and, if asked, labels."""
    scores = score_rows(source, model, params, want_labels)
    return total_and_labels(source, scores, want_labels)


def _clean_resp(
    method: str,
    source: ArraySource,
    clean: np.ndarray,
    model: CovarianceModel,
    k: int,
    reg_covar: float,
    random_state: np.random.RandomState,
    prior: ResolvedPrior | None,
) -> np.ndarray | Responsibilities:
    """``init_params``'s start computed on the rows not marked as noise:
    labels over all rows (-1 on noise rows) or an (n, K) matrix with zero
    rows for the noise rows."""
    rows = np.nonzero(clean)[0]
    sw = source.sample_weight
    if method == "hc":
        if sw is not None:
            rows = rows[sw[rows] > 0]
        start = HCStart(source.X, random_state, rows)
        labels = start.labels(k)
        if start.rows.shape[0] == rows.shape[0]:
            return Responsibilities(k, labels=labels, given=True)
        # mclust with a subset: one M-step on the subset, then every
        # non-noise row gets its Gaussian responsibilities from it
        inside = labels >= 0
        sub = ArraySource(source.X[inside], None, max(1, int(inside.sum())))
        first = params_from_resp(
            sub,
            model,
            Responsibilities(k, labels=labels[inside], given=True),
            k,
            reg_covar,
            prior=prior,
        )
        X = np.asarray(source.X, dtype=np.float64)
        log_prob = weighted_log_prob(X, model, first, first.centre())
        _stats._resp_inplace(log_prob)
        log_prob[~clean] = 0.0
        return log_prob
    sub = ArraySource(
        source.X[rows], None if sw is None else sw[rows], max(1, rows.shape[0])
    )
    resp = initial_resp(method, sub, k, random_state)
    out = np.zeros((source.n_samples, k))
    out[rows] = resp(0, rows.shape[0])
    return out


def initial_params(
    source: DataSource,
    model: CovarianceModel,
    noise: NoiseStart,
    method: str,
    resp: np.ndarray | Responsibilities | None,
    k: int,
    reg_covar: float,
    random_state: np.random.RandomState,
    prior: ResolvedPrior | None = None,
) -> NoiseParams:
    """The start of a fit with noise (mclust's ``me`` with ``Vinv``): one
    M-step from responsibilities that give the rows in ``noise.mask`` to the
    noise component and the others their start (``resp`` when given, else
    ``method`` on those rows)."""
    if not isinstance(source, ArraySource):
        raise AssertionError("a noise component needs an in-memory array")
    clean = ~noise.mask
    start: Responsibilities
    if resp is None:
        got = _clean_resp(
            method, source, clean, model, k, reg_covar, random_state, prior
        )
        resp = got
    if isinstance(resp, Responsibilities):
        if resp.labels is not None:
            labels = np.where(clean, resp.labels, -1)
            start = Responsibilities(k, labels=labels, given=True)
        else:
            given = resp

            def of(lo: int, hi: int) -> np.ndarray:
                return given(lo, hi) * clean[lo:hi, None]

            start = Responsibilities(k, of=of, given=True)
    else:
        matrix = np.asarray(resp, dtype=np.float64) * clean[:, None]
        start = Responsibilities(k, of=lambda lo, hi: matrix[lo:hi], given=True)
    gaussian = params_from_resp(source, model, start, k, reg_covar, prior=prior)
    w = source.sample_weight
    total = float(noise.mask.sum()) if w is None else float(w[noise.mask].sum())
    weight = float(source.n_samples) if w is None else float(w.sum())
    pi0 = total / weight
    # params_from_resp's weights are n_k / (total weight): already scaled
    return NoiseParams(
        gaussian.weights,
        gaussian.means,
        gaussian.covariances,
        gaussian.precisions_cholesky,
        noise=pi0,
        log_volume=noise.log_volume,
    )


def check_noise(
    owner: str,
    noise_init: object,
    hypervolume: object,
    X: np.ndarray,
    n_components: int,
) -> NoiseStart:
    """Validate ``noise_init`` (a boolean mask over the rows of X, or row
    indices) and ``hypervolume`` (None: :func:`log_hypervolume` of X)."""
    n = X.shape[0]
    mask_in = np.asarray(noise_init)
    if mask_in.dtype == bool:
        if mask_in.shape != (n,):
            raise InvalidParameterError(
                f"The 'noise_init' parameter of {owner} must be a boolean array "
                f"of one entry per row of X ({n} rows) or an array of row "
                f"indices. Got a boolean array of shape {mask_in.shape} instead."
            )
        mask = mask_in.copy()
    elif mask_in.ndim == 1 and mask_in.dtype.kind in "iu":
        bad = np.nonzero((mask_in < 0) | (mask_in >= n))[0]
        if bad.size:
            raise InvalidParameterError(
                f"noise_init[{bad[0]}] = {mask_in[bad[0]]} is not a row of X (X "
                f"has {n} rows; indices are 0-based)."
            )
        mask = np.zeros(n, dtype=bool)
        mask[mask_in] = True
    else:
        raise InvalidParameterError(
            f"The 'noise_init' parameter of {owner} must be None, a boolean "
            "array over the rows of X (True: the row starts as noise) or an "
            f"array of row indices. Got {type(noise_init).__name__} of dtype "
            f"{mask_in.dtype} and shape {mask_in.shape} instead."
        )
    clean = int(n - mask.sum())
    if clean < n_components:
        raise InvalidParameterError(
            f"noise_init marks {int(mask.sum())} of the {n} rows as noise, which "
            f"leaves {clean} rows to start n_components={n_components} Gaussian "
            "components from. Mark fewer rows as noise or use fewer components."
        )
    if hypervolume is None:
        log_volume = log_hypervolume(X)
    else:
        if (
            isinstance(hypervolume, bool)
            or not isinstance(hypervolume, (int, float, np.integer, np.floating))
            or not (0 < float(hypervolume) < math.inf)
        ):
            raise InvalidParameterError(
                f"The 'hypervolume' parameter of {owner} must be None (mclust's "
                "hypvol of X) or a finite number > 0 (the volume of the noise "
                f"component's region). Got {hypervolume!r} instead."
            )
        log_volume = math.log(float(hypervolume))
    return NoiseStart(mask, log_volume)
