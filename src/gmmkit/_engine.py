"""The EM loop: pure functions from (chunks, model, parameters) to a result.

The same loop serves every data source (anything that yields chunks) and
every covariance model (anything that turns scatter matrices into
covariances).  Convergence follows scikit-learn: iteration ``t`` computes the
mean log-likelihood of the parameters from iteration ``t - 1`` during its
E-step and stops when it changed by less than ``tol``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._errors import FitError
from ._prior import ResolvedPrior
from ._stats import Chunks, Params, SuffStats, estep_stats
from .covariance import CovarianceModel
from .covariance._base import EMPTY_FRACTION

logger = logging.getLogger("gmmkit")

@dataclass
class EMResult:
    """Outcome of one EM run."""

    params: Params
    converged: bool
    n_iter: int
    lower_bound: float
    #: Total log-likelihood of the parameters entering each iteration.
    history: list[float] = field(default_factory=list)
    #: Mean log-likelihood seen by each iteration's convergence check.
    lower_bounds: list[float] = field(default_factory=list)


def m_step(
    model: CovarianceModel,
    stats: SuffStats,
    reg_covar: float,
    previous: Params | None,
    prior: ResolvedPrior | None = None,
) -> Params:
    """Maximisation step from sufficient statistics alone.

    With a ``prior`` (mclust's conjugate prior) it is the MAP step: the means
    are shrunk towards the prior mean and the covariances come from the
    model's ordinary M-step on the prior-modified counts and scatter
    (:meth:`gmmkit._prior.ResolvedPrior.map_statistics`); weights stay
    ``n_k / n``.

    A component that has lost (practically) all its points keeps its previous
    mean and covariance and gets the weight its count gives it (close to 0),
    so it can recover later and never produces a singular covariance.  Without
    previous parameters (the first M-step) an empty component is an error.
    """
    nk, means, scatter = stats.means_and_scatter()
    empty = stats.n < EMPTY_FRACTION * stats.weight
    if empty.any() and previous is None:
        which = ", ".join(str(int(k)) for k in np.nonzero(empty)[0])
        raise FitError(
            f"Component(s) {which} received no responsibility from the "
            "initialisation, so their means and covariances are undefined "
            f"(n_components={stats.n.shape[0]}; this happens when X has fewer "
            "distinct rows than components, e.g. duplicate points). Use fewer "
            "components (reduce n_components), another init_params (e.g. "
            "'random_from_data'), deduplicate X, or check resp_init / "
            "sample_weight."
        )
    counts = nk
    if prior is not None:
        counts, means, scatter = prior.map_statistics(nk, means, scatter)
    covariances = model.covariances_from_scatter(counts, scatter, reg_covar)
    if empty.any():
        assert previous is not None
        means[empty] = previous.means[empty]
        covariances = model.keep_components(covariances, previous.covariances, empty)
        logger.info(
            "components %s are empty; their means and covariances are kept",
            np.nonzero(empty)[0].tolist(),
        )
    # an empty component's weight is its own count (0 if it started at 0, so
    # it stays empty), without the 10 eps guard that keeps divisions finite
    weights = np.where(empty, stats.n, nk)
    weights = weights / weights.sum()
    prec_chol = model.precisions_cholesky(covariances, reg_covar)
    return Params(weights, means, covariances, prec_chol)


def check_loglik(value: float) -> None:
    if not np.isfinite(value):
        raise FitError(
            "The log-likelihood is not finite: some rows have zero density under "
            "every component (or the data hold values too large to square). "
            "Scale the data, increase reg_covar, or use fewer components."
        )


def has_converged(
    convergence: str, tol: float, bound: float, previous: float, weight: float
) -> bool:
    """The stopping rule, from two mean log-likelihoods and the total weight.

    ``"sklearn"``: the mean changed by less than ``tol``; ``"mclust"``: the
    total ``l`` changed by at most ``tol * (1 + |l|)``.
    """
    if convergence == "mclust":
        total = bound * weight
        return abs(total - previous * weight) <= tol * (1 + abs(total))
    return abs(bound - previous) < tol


def run_em(
    chunks: Chunks,
    model: CovarianceModel,
    params: Params,
    *,
    tol: float,
    max_iter: int,
    reg_covar: float,
    lower_bound: float = -np.inf,
    on_iteration: Callable[[int, float, float], None] | None = None,
    estep: Callable[[Chunks, CovarianceModel, Params], SuffStats] = estep_stats,
    convergence: str = "sklearn",
    prior: ResolvedPrior | None = None,
    accelerate: str | None = None,
) -> EMResult:
    """Run EM from ``params`` for at most ``max_iter`` iterations.

    ``convergence="sklearn"`` stops when the mean log-likelihood changed by
    less than ``tol``; ``"mclust"`` stops when the total log-likelihood ``l``
    changed by at most ``tol * (1 + |l|)`` (mclust's rule, its ``tol`` 1e-5)
    and, as mclust, returns the parameters whose log-likelihood passed that
    test (no M-step after it).

    ``estep`` computes the statistics of all chunks; sources that compute
    them elsewhere (Dask blocks on a cluster) pass their own.

    ``accelerate="squarem"`` runs SQUAREM (:mod:`gmmkit._squarem`) instead of
    plain EM; ``max_iter`` then counts passes over the data (E-steps).
    """
    if accelerate == "squarem":
        from ._squarem import run_squarem

        out = run_squarem(
            chunks, model, params, max_iter=max_iter, reg_covar=reg_covar,
            lower_bound=lower_bound, on_iteration=on_iteration, estep=estep,
            m_step=lambda stats, prev: m_step(model, stats, reg_covar, prev, prior),
            check_loglik=check_loglik,
            converged_by=functools.partial(has_converged, convergence, tol),
        )
        return EMResult(*out)
    history: list[float] = []
    lower_bounds: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        previous_bound = lower_bound
        stats = estep(chunks, model, params)
        check_loglik(stats.loglik)
        history.append(stats.loglik)
        lower_bound = stats.loglik / stats.weight
        lower_bounds.append(lower_bound)
        entering, params = params, m_step(model, stats, reg_covar, params, prior)
        change = lower_bound - previous_bound
        if on_iteration is not None:
            on_iteration(n_iter, lower_bound, change)
        weight = stats.weight
        done = has_converged(convergence, tol, lower_bound, previous_bound, weight)
        if done and convergence == "mclust":
            params = entering  # mclust keeps the parameters that passed the test
        if done:
            converged = True
            break
    return EMResult(params, converged, n_iter, lower_bound, history, lower_bounds)
