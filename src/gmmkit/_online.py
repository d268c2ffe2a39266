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

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import _missing
from ._engine import Step, m_step
from ._stats import Params, SuffStats, check_loglik, estep_stats
from .covariance import CovarianceModel
from .sources import DataSource


@dataclass
class OnlineState:
    """Running statistics of stepwise EM (per unit weight)."""

    centres: np.ndarray
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    #: Number of updates blended in so far (the first batch is update 0).
    n_updates: int
    #: Total weight seen.
    weight_seen: float
    #: Rows seen (the mean row weight scales the count guard, see _stats).
    rows_seen: int = 0

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
            stats.rows,
        )

    @classmethod
    def from_fitted(
        cls,
        model: CovarianceModel,
        params: Params,
        reg_covar: float,
        rows: int,
        batch_rows: int,
    ) -> OnlineState:
        """The running statistics of a model fitted by exact EM on ``rows``
        rows, to be continued by batches of ``batch_rows`` rows.

        At a fixed point of EM the statistics per unit weight are ``pi_k``,
        zero first moments about the means and ``pi_k (Sigma_k - reg I)``
        (the scatter the M-step turned into ``Sigma_k``), so an M-step on
        them returns the fitted parameters.  The fit's rows count as
        ``ceil(rows / batch_rows)`` updates already made: the first batch
        blends in with the step size its place in such a stream would give,
        instead of replacing the model.
        """
        k, d = params.means.shape
        cov = model.dense(params.covariances, k, d) - reg_covar * np.eye(d)
        w = params.weights
        s2 = w[:, None, None] * cov
        if model.moments != "full":
            s2 = np.diagonal(s2, axis1=1, axis2=2).copy()
        return cls(
            np.array(params.means, dtype=np.float64),
            np.array(w, dtype=np.float64),
            np.zeros((k, d)),
            s2,
            updates_made(rows, batch_rows),
            float(rows),
            int(rows),
        )

    def blend(self, stats: SuffStats, eta: float) -> None:
        """``S <- (1 - eta) S + eta * stats / stats.weight``."""
        s = stats.recentred(self.centres)
        w = stats.weight
        self.n = (1.0 - eta) * self.n + eta * (s.n / w)
        self.s1 = (1.0 - eta) * self.s1 + eta * (s.s1 / w)
        self.s2 = (1.0 - eta) * self.s2 + eta * (s.s2 / w)
        self.n_updates += 1
        self.weight_seen += w
        self.rows_seen += stats.rows

    def as_stats(self, weight: float | None = None) -> SuffStats:
        """The running statistics scaled to ``weight`` (default: the weight
        seen), for the M-step."""
        w = self.weight_seen if weight is None else weight
        return SuffStats(
            self.centres,
            self.n * w,
            self.s1 * w,
            self.s2 * w,
            weight=w,
            rows=self.rows_seen,
        )


def updates_made(rows: int, batch_rows: int) -> int:
    """The updates that a fit on ``rows`` rows counts as, for batches of
    ``batch_rows`` rows continuing it: ``ceil(rows / batch_rows) - 1`` (the
    first batch of a stream is update 0)."""
    return max(1, math.ceil(rows / max(batch_rows, 1))) - 1


def step_size(t: int, decay: float, offset: float) -> float:
    """``eta_t = (t + offset) ** (-decay)`` for update ``t >= 1``."""
    return float((t + offset) ** (-decay))


def _batch_stats(
    X: np.ndarray,
    w: np.ndarray,
    model: CovarianceModel,
    params: Params,
    missing: bool,
) -> SuffStats:
    """The E-step statistics of one batch (missing values marginalised
    when ``missing``)."""
    estep = _missing.estep_stats if missing else estep_stats
    return estep([(0, X, w)], model, params)


def first_update(
    X: np.ndarray,
    w: np.ndarray,
    model: CovarianceModel,
    params: Params,
    reg_covar: float,
    missing: bool = False,
) -> tuple[Params, OnlineState, float]:
    """Statistics of the first batch under the starting parameters (eta = 1);
    ``missing``: NaN entries are missing values."""
    stats = _batch_stats(X, w, model, params, missing)
    check_loglik(stats.loglik)
    state = OnlineState.from_stats(stats.recentred(params.means))
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
    missing: bool = False,
) -> tuple[Params, float]:
    """One stepwise-EM update from a batch; returns the new parameters and
    the batch's mean log-likelihood under the parameters before the update."""
    stats = _batch_stats(X, w, model, params, missing)
    check_loglik(stats.loglik)
    state.blend(stats, step_size(state.n_updates + 1, decay, offset))
    new = m_step(model, state.as_stats(), reg_covar, params)
    return new, stats.loglik / stats.weight


def minibatch_steps(
    source: DataSource,
    model: CovarianceModel,
    params: Params,
    reg_covar: float,
    decay: float,
    offset: float,
) -> Iterator[Step]:
    """Stepwise EM over the chunks of a source, one :class:`Step` per epoch.

    Every chunk is one mini-batch (its size is the source's chunk size, the
    estimator's ``batch_size``).  An epoch is one pass; the epoch's total
    log-likelihood (each batch scored under the parameters current when it
    was read) is what the driver's stopping rule sees, with ``tol`` as in
    exact EM.
    """
    state: OnlineState | None = None
    epoch = 0
    while True:
        epoch += 1
        entering = params
        total = weight = 0.0
        for _, X, w in source:
            if not w.any():
                continue
            if state is None:
                params, state, mean_ll = first_update(
                    X, w, model, params, reg_covar, source.marginalize
                )
            else:
                params, mean_ll = update(
                    X,
                    w,
                    model,
                    params,
                    state,
                    reg_covar,
                    decay,
                    offset,
                    source.marginalize,
                )
            batch_weight = float(w.sum())
            total += mean_ll * batch_weight
            weight += batch_weight
        yield Step(total, weight, entering, params, epoch)
