"""Sufficient statistics and the E-step kernel: the only code that reads rows.

For each component ``k`` and a per-component centre ``c_k`` the statistics of
a set of rows are

* ``n[k]  = sum_n w_n r_nk``
* ``s1[k] = sum_n w_n r_nk (x_n - c_k)``
* ``s2[k] = sum_n w_n r_nk (x_n - c_k)(x_n - c_k)^T`` (or only its diagonal)
* ``loglik = sum_n w_n log p(x_n)`` and ``weight = sum_n w_n``.

They add up exactly over chunks of rows, so a fit over one array, over many
chunks, over files or over Dask blocks runs the same code.  Moments are taken
about ``c_k`` (the previous means during EM), so covariances do not lose
digits to cancellation when the data sit far from the origin.

Inside the kernel every chunk is first shifted by one common centre ``g`` (the
weighted mean of the component means) before any matrix product; all
log-densities are shift invariant, so this only removes rounding error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from .covariance import CovarianceModel

# scikit-learn adds this to every n_k so that an empty component divides by a
# tiny number instead of zero; keeping it makes fits agree to rounding.
_NK_EPS = 10 * np.finfo(np.float64).eps

#: A source of chunks: iterating it yields (first_row, X_chunk, w_chunk).
Chunks = Iterable[tuple[int, np.ndarray, np.ndarray]]


@dataclass
class Params:
    """Parameters of a Gaussian mixture in a covariance model's native shapes."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    def centre(self) -> np.ndarray:
        """A common centre of the components (weighted mean of the means)."""
        w = self.weights / self.weights.sum()
        return np.asarray(w @ self.means)


@dataclass
class SuffStats:
    """Additive sufficient statistics of a set of weighted rows."""

    centres: np.ndarray
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    loglik: float = 0.0
    weight: float = 0.0
    rows: int = field(default=0)

    @classmethod
    def zeros(cls, centres: np.ndarray, moments: str) -> SuffStats:
        k, d = centres.shape
        s2_shape = (k, d, d) if moments == "full" else (k, d)
        return cls(
            centres=np.array(centres, dtype=np.float64),
            n=np.zeros(k),
            s1=np.zeros((k, d)),
            s2=np.zeros(s2_shape),
        )

    def __iadd__(self, other: SuffStats) -> SuffStats:
        if not np.array_equal(self.centres, other.centres):
            raise ValueError("cannot add statistics taken about different centres")
        self.n += other.n
        self.s1 += other.s1
        self.s2 += other.s2
        self.loglik += other.loglik
        self.weight += other.weight
        self.rows += other.rows
        return self

    def __add__(self, other: SuffStats) -> SuffStats:
        out = SuffStats(
            self.centres,
            self.n.copy(),
            self.s1.copy(),
            self.s2.copy(),
            self.loglik,
            self.weight,
            self.rows,
        )
        out += other
        return out

    def means_and_scatter(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(nk, means, scatter)`` with scatter about the new means.

        ``nk`` includes scikit-learn's ``10 * eps`` guard.  The scatter is
        ``s2 - s1 d^T - d s1^T + n d d^T`` with ``d = means - centres``, the
        exact re-centring of the shifted moments.
        """
        nk = self.n + _NK_EPS
        delta = self.s1 / nk[:, None]
        means = self.centres + delta
        if self.s2.ndim == 3:
            cross = np.einsum("ki,kj->kij", self.s1, delta)
            scatter = (
                self.s2
                - cross
                - cross.transpose(0, 2, 1)
                + self.n[:, None, None] * np.einsum("ki,kj->kij", delta, delta)
            )
            scatter = 0.5 * (scatter + scatter.transpose(0, 2, 1))
        else:
            scatter = self.s2 - 2.0 * self.s1 * delta + self.n[:, None] * delta**2
            np.maximum(scatter, 0.0, out=scatter)
        return nk, means, scatter


def weighted_log_prob(
    X: np.ndarray, model: CovarianceModel, params: Params, shift: np.ndarray
) -> np.ndarray:
    """``log pi_k + log N(x | mu_k, Sigma_k)`` for one chunk, shape (n, K)."""
    with np.errstate(divide="ignore"):
        log_w = np.log(params.weights)
    out = model.log_gaussian(
        X - shift, params.means - shift, params.precisions_cholesky
    )
    out += log_w
    return out


def _accumulate(
    stats: SuffStats, Xs: np.ndarray, rw: np.ndarray, centres_s: np.ndarray
) -> None:
    """Add the moments of shifted rows ``Xs`` with weighted responsibilities."""
    stats.n += rw.sum(axis=0)
    full = stats.s2.ndim == 3
    diff = np.empty_like(Xs)
    for k in range(rw.shape[1]):
        r = rw[:, k]
        if not r.any():
            continue
        np.subtract(Xs, centres_s[k], out=diff)
        stats.s1[k] += r @ diff
        if full:
            stats.s2[k] += (diff * r[:, None]).T @ diff
        else:
            stats.s2[k] += r @ (diff * diff)


def estep_stats(chunks: Chunks, model: CovarianceModel, params: Params) -> SuffStats:
    """One E-step over all chunks: statistics about the current means."""
    stats = SuffStats.zeros(params.means, model.moments)
    shift = params.centre()
    centres_s = params.means - shift
    for _, X, w in chunks:
        log_prob = weighted_log_prob(X, model, params, shift)
        log_norm = logsumexp(log_prob, axis=1)
        keep = w > 0
        if not keep.all():
            log_prob, log_norm, X, w = log_prob[keep], log_norm[keep], X[keep], w[keep]
        resp = np.exp(log_prob - log_norm[:, None])
        _accumulate(stats, X - shift, resp * w[:, None], centres_s)
        stats.loglik += float(w @ log_norm)
        stats.weight += float(w.sum())
        stats.rows += X.shape[0]
    return stats


def resp_stats(
    chunks: Chunks,
    resp_of: Callable[[int, int], np.ndarray],
    centres: np.ndarray,
    moments: str,
) -> SuffStats:
    """Statistics from given responsibilities ``resp_of(start, stop)``."""
    stats = SuffStats.zeros(centres, moments)
    shift = centres.mean(axis=0)
    centres_s = centres - shift
    for start, X, w in chunks:
        resp = resp_of(start, start + X.shape[0])
        _accumulate(stats, X - shift, resp * w[:, None], centres_s)
        stats.weight += float(w.sum())
        stats.rows += X.shape[0]
    return stats


def first_moment(chunks: Chunks) -> np.ndarray:
    """Weighted mean of all rows (a centre for the first statistics pass)."""
    total = None
    weight = 0.0
    for _, X, w in chunks:
        s = w @ X
        total = s if total is None else total + s
        weight += float(w.sum())
    assert total is not None
    return np.asarray(total / weight)


def score_chunks(
    chunks: Chunks, model: CovarianceModel, params: Params
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(start, log_prob, log_norm)`` per chunk (for predictions)."""
    shift = params.centre()
    for start, X, _ in chunks:
        log_prob = weighted_log_prob(X, model, params, shift)
        yield start, log_prob, logsumexp(log_prob, axis=1)
