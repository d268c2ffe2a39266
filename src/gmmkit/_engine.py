"""The EM engine: the M-step from statistics and the one EM driver.

EM variants are iterators of :class:`Step` (plain EM here, SQUAREM in
:mod:`gmmkit._squarem`, mini-batch EM in :mod:`gmmkit._online`); :func:`drive`
runs any of them with one stopping rule, one history and one progress hook.
The same code serves every data source (:class:`gmmkit.sources.DataSource`)
and every covariance model (anything that turns scatter matrices into
covariances).  Convergence follows scikit-learn by default: iteration ``t``
computes the mean log-likelihood of the parameters from iteration ``t - 1``
during its E-step and stops when it changed by less than ``tol``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from . import _kernels
from ._errors import FitError
from ._prior import ResolvedPrior
from ._stats import _NK_EPS, Params, SuffStats, check_loglik
from .covariance import EMPTY_FRACTION, CovarianceModel
from .sources import DataSource

__all__ = [
    "EMResult",
    "FitProgress",
    "Step",
    "check_loglik",
    "dense_em",
    "drive",
    "em_steps",
]

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
    strict: bool = False,
) -> Params:
    """Maximisation step from sufficient statistics alone.

    With a ``prior`` (mclust's conjugate prior) it is the MAP step: the means
    are shrunk towards the prior mean and the covariances come from the
    model's ordinary M-step on the prior-modified counts and scatter
    (:meth:`gmmkit._prior.ResolvedPrior.map_statistics`); weights stay
    ``n_k / n``.

    A component that has lost (practically) all its points keeps its previous
    mean and covariance and gets the weight its count gives it (close to 0),
    so it can recover later and never produces a singular covariance.  In the
    first M-step (no previous parameters) an empty component has no
    covariance of its own: with ``reg_covar > 0`` it gets the model's M-step
    of an empty scatter (``reg_covar`` on the diagonal, at the data's centre,
    with weight ~0, as scikit-learn does), and with ``reg_covar = 0`` (or
    ``strict``: responsibilities the user gave) it is an error.
    """
    nk, means, scatter = stats.means_and_scatter()
    empty = stats.n < EMPTY_FRACTION * stats.weight
    if empty.any() and previous is None and (strict or not reg_covar > 0):
        which = ", ".join(str(int(k)) for k in np.nonzero(empty)[0])
        raise FitError(
            # scikit-learn's sentence for this condition first (a drop-in keeps
            # its messages), then where and why
            "Fitting the mixture model failed because some components have "
            "ill-defined empirical covariance (for instance caused by singleton "
            "or collapsed samples). Try to decrease the number of components, "
            "increase reg_covar, or scale the input data. "
            f"Component(s) {which} received no responsibility from the "
            "initialisation, so their means and covariances are undefined "
            + ("(resp_init gives them no mass) " if strict else "with reg_covar=0 ")
            + f"(n_components={stats.n.shape[0]}; this happens when X has fewer "
            "distinct rows than components, e.g. duplicate points). Use fewer "
            "components (reduce n_components), a positive reg_covar, another "
            "init_params (e.g. 'random_from_data'), deduplicate X, or check "
            "resp_init / sample_weight."
        )
    counts = nk
    if prior is not None:
        counts, means, scatter = prior.map_statistics(nk, means, scatter)
    # the previous covariances warm-start the iterative M-steps (EVE, VVE):
    # from there the log-likelihood cannot fall to a worse local optimum
    covariances = model.covariances_from_scatter(
        counts,
        scatter,
        reg_covar,
        previous=None if previous is None else previous.covariances,
    )
    if empty.any() and previous is None:
        logger.info(
            "components %s start empty; they start at the data's centre with "
            "reg_covar as their variances",
            np.nonzero(empty)[0].tolist(),
        )
    elif empty.any():
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


@dataclass(frozen=True)
class FitProgress:
    """What ``GaussianMixture(callback=...)`` receives after each EM iteration.

    Attributes
    ----------
    init : int
        Index of the initialisation (0 to ``n_init - 1``).
    n_iter : int
        Iterations so far in this initialisation (E-step passes for SQUAREM,
        epochs for mini-batch EM).
    lower_bound : float
        Mean log-likelihood per (weighted) row of the parameters entering the
        iteration, the number ``lower_bound_`` reports.
    change : float
        ``lower_bound`` minus that of the previous iteration.
    """

    init: int
    n_iter: int
    lower_bound: float
    change: float


@dataclass
class Step:
    """One iteration of an EM variant, as the driver sees it."""

    #: Total log-likelihood and weight of the rows under ``entering``.
    loglik: float
    weight: float
    #: Parameters whose log-likelihood this is, and those after the M-step.
    entering: Params
    params: Params
    #: E-step passes used so far (the iteration count reported).
    passes: int


def em_steps(
    source: DataSource,
    model: CovarianceModel,
    params: Params,
    reg_covar: float,
    prior: ResolvedPrior | None = None,
) -> Iterator[Step]:
    """Plain EM: one E-step over the source, then the M-step, forever."""
    passes = 0
    while True:
        stats = source.estep(model, params)
        passes += 1
        check_loglik(stats.loglik)
        new = m_step(model, stats, reg_covar, params, prior)
        yield Step(stats.loglik, stats.weight, params, new, passes)
        params = new


def drive(
    steps: Iterator[Step],
    params: Params,
    *,
    tol: float,
    max_iter: int,
    lower_bound: float = -np.inf,
    convergence: str = "sklearn",
    callback: Callable[[FitProgress], None] | None = None,
    init: int = 0,
) -> EMResult:
    """The one EM driver: run ``steps`` (plain EM, SQUAREM or mini-batch EM)
    until the stopping rule holds or ``max_iter`` passes are used.

    It records the history, applies the stopping rule and reports progress.
    ``convergence="sklearn"`` stops when the mean log-likelihood changed by
    less than ``tol``; ``"mclust"`` stops when the total log-likelihood ``l``
    changed by at most ``tol * (1 + |l|)`` (mclust's rule, its ``tol``
    1e-5) and, as mclust, returns the parameters whose log-likelihood passed
    that test (no M-step after it).
    """
    history: list[float] = []
    lower_bounds: list[float] = []
    converged = False
    n_iter = 0
    if max_iter <= 0:
        return EMResult(params, False, 0, lower_bound, history, lower_bounds)
    try:
        for step in steps:
            previous_bound = lower_bound
            lower_bound = step.loglik / step.weight
            history.append(step.loglik)
            lower_bounds.append(lower_bound)
            n_iter = step.passes
            params = step.params
            change = lower_bound - previous_bound
            if callback is not None:
                callback(FitProgress(init, n_iter, lower_bound, change))
            weight = step.weight
            if has_converged(convergence, tol, lower_bound, previous_bound, weight):
                converged = True
                if convergence == "mclust":
                    params = step.entering  # mclust keeps what passed the test
                break
            if n_iter >= max_iter:
                break
    finally:
        close = getattr(steps, "close", None)
        if close is not None:
            close()
    return EMResult(params, converged, n_iter, lower_bound, history, lower_bounds)


#: Iterations per call of the compiled loop (its history buffer's length).
DENSE_BATCH = 512


def dense_em(
    source: DataSource,
    model: CovarianceModel,
    params: Params,
    reg_covar: float,
    *,
    tol: float,
    max_iter: int,
    lower_bound: float = -np.inf,
    convergence: str = "sklearn",
    init: int = 0,
) -> EMResult | None:
    """Plain EM of a small in-memory fit, the whole loop compiled
    (:func:`gmmkit._kernels.em_dense`): the same iterations, stopping rule
    and result as :func:`drive` over :func:`em_steps`, without Python between
    them (a small fit's iteration costs a few microseconds instead of ~30).
    None where it does not apply: a source that is not one small float64
    array in memory (:meth:`DataSource.small_array`), a model without a
    compiled M-step (:attr:`CovarianceModel.closed_form`), or no compiled
    kernel for it.  Where an iteration needs the covariance model's own code
    (an empty or collapsed component, a failed factorisation) the loop hands
    back before it and :func:`drive` goes on from there, so that every such
    case runs one implementation."""
    code = model.closed_form
    data = source.small_array()
    k, d = params.means.shape
    kind = _kernels.applicable(model.kernel_kind, d)
    if code is None or data is None or kind != model.moments or max_iter <= 0:
        return None
    X, w = data
    weights = np.array(params.weights, dtype=np.float64)
    means = np.array(params.means, dtype=np.float64)
    cov = np.array(model.dense(params.covariances, k, d), dtype=np.float64)
    start = model.dense_orientation(cov)
    orientation = np.full((d, d), np.nan) if start is None else np.array(start)
    history: list[float] = []
    bounds: list[float] = []
    state = np.zeros(3, dtype=np.int64)
    converged = False
    bound = lower_bound
    while len(history) < max_iter:
        size = min(DENSE_BATCH, max_iter - len(history))
        hist = np.empty((2, size))
        _kernels.em_dense(
            kind, code, X, w, weights, means, cov, orientation, float(reg_covar),
            _NK_EPS,
            EMPTY_FRACTION, float(tol), convergence == "mclust", size, bound,
            hist, state,
        )  # fmt: skip
        handed_back, n_iter, converged = bool(state[0]), int(state[1]), bool(state[2])
        history.extend(hist[0, :n_iter].tolist())
        bounds.extend(hist[1, :n_iter].tolist())
        if n_iter:
            bound = bounds[-1]
        if handed_back or converged or n_iter < size:
            break
    if history:
        if not np.isnan(orientation[0, 0]):
            model.remember_dense(cov, orientation)
        native = model.from_dense(cov)
        params = Params(
            weights, means, native, model.precisions_cholesky(native, reg_covar)
        )
    if not handed_back:
        return EMResult(params, converged, len(history), bound, history, bounds)
    # handed back: the covariance model's code runs the next iteration
    rest = drive(
        em_steps(source, model, params, reg_covar),
        params,
        tol=tol,
        max_iter=max_iter - len(history),
        lower_bound=bound,
        convergence=convergence,
        init=init,
    )
    return EMResult(
        rest.params,
        rest.converged,
        len(history) + rest.n_iter,
        rest.lower_bound,
        history + rest.history,
        bounds + rest.lower_bounds,
    )
