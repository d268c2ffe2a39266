"""Online (stepwise) and mini-batch EM on running sufficient statistics.

Stepwise EM (Cappé & Moulines 2009; Liang & Klein 2009) keeps a running
average ``S`` of the normalised sufficient statistics instead of their exact
sum over all rows.  After the E-step on batch ``t`` (statistics ``s_t`` per
unit weight, under the current parameters) it blends

    ``S <- (1 - eta_t) S + eta_t s_t``,   ``eta_t = (t + t0) ** (-kappa)``,

and runs the ordinary M-step on ``S``.  With ``kappa`` in (0.5, 1] the step
sizes satisfy ``sum eta_t = inf`` and ``sum eta_t^2 < inf``, so the
parameters converge to a stationary point of the likelihood of the stream;
smaller ``kappa`` forgets the early (poorly fitted) batches faster, larger
``t0`` damps the first steps.  Each row is read once per update, so a stream
can be learnt in one pass; the price is noise of order ``eta_t`` in the
parameters, which exact EM (all rows every iteration) does not have.

Statistics are kept about fixed per-component centres (the means at the
start), re-centred exactly from the E-step's centres, so no precision is
lost to cancellation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ._engine import EMResult, check_loglik, m_step
from ._stats import Params, SuffStats, estep_stats
from .covariance import CovarianceModel


def recentre(stats: SuffStats, centres: np.ndarray) -> SuffStats:
    """The same statistics taken about other per-component ``centres``.

    ``sum r (x - c') = s1 + n d`` and ``sum r (x - c')(x - c')^T = s2 + s1 d^T
    + d s1^T + n d d^T`` with ``d = c - c'`` (exact).
    """
    d = stats.centres - centres
    s1 = stats.s1 + stats.n[:, None] * d
    if stats.s2.ndim == 3:
        cross = np.einsum("ki,kj->kij", stats.s1, d)
        s2 = (
            stats.s2
            + cross
            + cross.transpose(0, 2, 1)
            + stats.n[:, None, None] * np.einsum("ki,kj->kij", d, d)
        )
    else:
        s2 = stats.s2 + 2.0 * stats.s1 * d + stats.n[:, None] * d * d
    return SuffStats(
        np.array(centres, dtype=np.float64),
        stats.n.copy(),
        s1,
        s2,
        stats.loglik,
        stats.weight,
        stats.rows,
    )


@dataclass
class OnlineState:
    """Running statistics of stepwise EM (per unit weight)."""

    centres: np.ndarray
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    #: Number of updates blended in so far (the first batch is update 0).
    n_updates: int
    #: Total weight (rows) seen.
    weight_seen: float

    @classmethod
    def from_stats(cls, stats: SuffStats) -> OnlineState:
        w = stats.weight
        return cls(
            stats.centres.copy(),
            stats.n / w,
            stats.s1 / w,
            stats.s2 / w,
            0,
            w,
        )

    def blend(self, stats: SuffStats, eta: float) -> None:
        """``S <- (1 - eta) S + eta * stats / stats.weight``."""
        s = recentre(stats, self.centres)
        w = stats.weight
        self.n = (1.0 - eta) * self.n + eta * (s.n / w)
        self.s1 = (1.0 - eta) * self.s1 + eta * (s.s1 / w)
        self.s2 = (1.0 - eta) * self.s2 + eta * (s.s2 / w)
        self.n_updates += 1
        self.weight_seen += w

    def as_stats(self) -> SuffStats:
        """The running statistics scaled to the weight seen (for the M-step)."""
        w = self.weight_seen
        return SuffStats(self.centres, self.n * w, self.s1 * w, self.s2 * w, weight=w)


def step_size(t: int, decay: float, offset: float) -> float:
    """``eta_t = (t + offset) ** (-decay)`` for update ``t >= 1``."""
    return float((t + offset) ** (-decay))


def first_update(
    X: np.ndarray,
    w: np.ndarray,
    model: CovarianceModel,
    params: Params,
    reg_covar: float,
) -> tuple[Params, OnlineState, float]:
    """Statistics of the first batch under the starting parameters (eta = 1)."""
    stats = estep_stats([(0, X, w)], model, params)
    check_loglik(stats.loglik)
    state = OnlineState.from_stats(recentre(stats, params.means))
    new = m_step(model, state.as_stats(), reg_covar, params)
    return new, state, stats.loglik / stats.weight


def update(
    X: np.ndarray,
    w: np.ndarray,
    model: CovarianceModel,
    params: Params,
    state: OnlineState,
    reg_covar: float,
    decay: float,
    offset: float,
) -> tuple[Params, float]:
    """One stepwise-EM update from a batch; returns the new parameters and
    the batch's mean log-likelihood under the parameters before the update."""
    stats = estep_stats([(0, X, w)], model, params)
    check_loglik(stats.loglik)
    state.blend(stats, step_size(state.n_updates + 1, decay, offset))
    new = m_step(model, state.as_stats(), reg_covar, params)
    return new, stats.loglik / stats.weight


def minibatch_em(
    chunks: Iterable[tuple[int, np.ndarray, np.ndarray]],
    model: CovarianceModel,
    params: Params,
    *,
    tol: float,
    max_iter: int,
    reg_covar: float,
    decay: float,
    offset: float,
) -> EMResult:
    """Stepwise EM over the chunks of a source, ``max_iter`` epochs at most.

    Every chunk is one mini-batch (its size is the source's chunk size, the
    estimator's ``batch_size``).  An epoch is one pass; the epoch's mean
    log-likelihood (each batch scored under the parameters current when it
    was read) is the convergence criterion, with ``tol`` as in exact EM.
    """
    state: OnlineState | None = None
    history: list[float] = []
    bounds: list[float] = []
    bound = -np.inf
    converged = False
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        total = weight = 0.0
        for _, X, w in chunks:
            if not w.any():
                continue
            if state is None:
                params, state, mean_ll = first_update(X, w, model, params, reg_covar)
            else:
                params, mean_ll = update(
                    X, w, model, params, state, reg_covar, decay, offset
                )
            batch_weight = float(w.sum())
            total += mean_ll * batch_weight
            weight += batch_weight
        history.append(total)
        previous, bound = bound, total / weight
        bounds.append(bound)
        if abs(bound - previous) < tol:
            converged = True
            break
    return EMResult(params, converged, n_iter, bound, history, bounds)
