"""Fitting, as the estimators run it: starts, restarts, the EM variant, the
final pass, and online updates.

:class:`gmmkit.GaussianMixture` validates its parameters and the data, picks
a :class:`~gmmkit.sources.DataSource` and hands both to :func:`fit_em` (or to
:func:`online_update` for ``partial_fit``); everything a fit does between
validation and the fitted attributes happens here, on the engine
(:mod:`gmmkit._engine`), the starts (:mod:`gmmkit._init`) and the EM variants
(:mod:`gmmkit._squarem`, :mod:`gmmkit._online`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._engine import EMResult, FitProgress, dense_em, drive, em_steps
from ._init import initial_resp, params_from_resp, sampled_start
from ._noise import NoiseParams, NoiseStart, noise_steps
from ._noise import final_pass as noise_final_pass
from ._noise import initial_params as noise_initial_params
from ._online import OnlineState, first_update, minibatch_steps, update
from ._prior import ResolvedPrior
from ._squarem import squarem_steps
from ._stats import Params, Responsibilities
from .covariance import CovarianceModel
from .sources import SAMPLED_INIT_THRESHOLD, ArraySource, DataSource

logger = logging.getLogger("gmmkit")

#: Relative difference of two initialisations' final bounds below which
#: ``n_init`` keeps the earlier one.  Bounds this close are the same optimum
#: reached twice (often with the components in another order), and which of
#: them is higher is decided by the order of the sums (tile and block sizes,
#: threads, machine); keeping the first makes the choice independent of that,
#: and equal to scikit-learn's (which keeps the first unless a later bound is
#: strictly higher) wherever its comparison is not itself decided by rounding.
BOUND_TIE = 1e-10

#: (weights, means, precisions, resp) given by the user, each None if not;
#: resp also as :class:`~gmmkit._stats.Responsibilities` (select_model's
#: hierarchical partitions, as labels).
Inits = tuple[
    np.ndarray | None,
    np.ndarray | None,
    np.ndarray | None,
    np.ndarray | Responsibilities | None,
]


@dataclass(frozen=True)
class FitOptions:
    """The estimator's parameters that the fit needs (validated)."""

    n_components: int
    init_params: str
    reg_covar: float
    tol: float
    max_iter: int
    n_init: int
    convergence: str = "sklearn"
    accelerate: str | None = None
    batch_size: int | None = None
    step_decay: float = 0.6
    step_offset: float = 2.0
    verbose: int = 0
    verbose_interval: int = 10
    callback: Callable[[FitProgress], None] | None = None
    #: "auto": EM reads float32 rows as float32 (see ``DataSource.for_em``).
    dtype: str = "auto"
    #: A uniform noise component's start (``noise_init``), see gmmkit._noise.
    noise: NoiseStart | None = None


@dataclass
class FitOutcome:
    """The best EM run, the log-likelihood of its parameters, and labels."""

    result: EMResult
    final_loglik: float
    labels: np.ndarray | None


def initial_params(
    source: DataSource,
    model: CovarianceModel,
    inits: Inits,
    opts: FitOptions,
    random_state: np.random.RandomState,
    prior: ResolvedPrior | None = None,
) -> Params:
    """The starting parameters: from the user's ``*_init``, or ``init_params``
    (exact, scikit-learn's, on in-memory arrays up to
    :data:`~gmmkit.sources.SAMPLED_INIT_THRESHOLD` rows; from a sample
    otherwise)."""
    weights, means, precisions, resp = inits
    k = opts.n_components
    if opts.noise is not None:
        return noise_initial_params(
            source,
            model,
            opts.noise,
            opts.init_params,
            resp,
            k,
            opts.reg_covar,
            random_state,
            prior,
        )
    if resp is not None:
        start = params_from_resp(
            source,
            model,
            resp if isinstance(resp, Responsibilities) else _given_resp(resp, k),
            k,
            opts.reg_covar,
            prior=prior,
        )
    elif weights is not None and means is not None and precisions is not None:
        start = Params(weights, means, np.empty(0), np.empty(0))
    elif (
        not isinstance(source, ArraySource) or source.n_samples > SAMPLED_INIT_THRESHOLD
    ):
        # streamed or very long data: start from a sample (see sampled_start)
        start = sampled_start(
            opts.init_params, source, model, k, opts.reg_covar, random_state
        )
    else:
        resp_of = initial_resp(opts.init_params, source, k, random_state)
        start = params_from_resp(source, model, resp_of, k, opts.reg_covar, prior=prior)
    if weights is not None:
        start.weights = weights
    if means is not None:
        start.means = means
    if precisions is not None:
        d = source.n_features
        start.precisions_cholesky = model.precisions_cholesky_from_precisions(
            precisions
        )
        start.covariances = model.covariances_from_cholesky(
            start.precisions_cholesky, k, d
        )
    return start


def _given_resp(resp: np.ndarray, k: int) -> Responsibilities:
    return Responsibilities(k, of=lambda start, stop: resp[start:stop], given=True)


def run_em(
    source: DataSource,
    model: CovarianceModel,
    params: Params,
    opts: FitOptions,
    *,
    prior: ResolvedPrior | None = None,
    lower_bound: float = -np.inf,
    init: int = 0,
) -> EMResult:
    """One EM run from ``params`` with the variant the options ask for."""
    if isinstance(params, NoiseParams):  # a noise component: its own E-step
        steps = noise_steps(source, model, params, opts.reg_covar, prior)
        convergence = opts.convergence
    elif opts.batch_size is not None:
        steps = minibatch_steps(
            source,
            model,
            params,
            opts.reg_covar,
            float(opts.step_decay),
            float(opts.step_offset),
        )
        convergence = "sklearn"  # on the epoch's mean log-likelihood
    elif opts.accelerate == "squarem":
        steps = squarem_steps(
            source, model, params, opts.reg_covar, opts.max_iter, prior
        )
        convergence = opts.convergence
    else:
        hook = _progress_hook(opts)
        if prior is None and hook is None:
            # a small in-memory fit: the whole loop compiled, where it applies
            result = dense_em(
                source,
                model,
                params,
                opts.reg_covar,
                tol=opts.tol,
                max_iter=opts.max_iter,
                lower_bound=lower_bound,
                convergence=opts.convergence,
                init=init,
            )
            if result is not None:
                return result
        steps = em_steps(source, model, params, opts.reg_covar, prior)
        convergence = opts.convergence
    return drive(
        steps,
        params,
        tol=opts.tol,
        max_iter=opts.max_iter,
        lower_bound=lower_bound,
        convergence=convergence,
        callback=_progress_hook(opts),
        init=init,
    )


def _progress_hook(opts: FitOptions) -> Callable[[FitProgress], None] | None:
    """The user's callback, plus log lines when ``verbose >= 2``."""
    user = opts.callback
    if opts.verbose < 2:
        return user

    def hook(progress: FitProgress) -> None:
        if progress.n_iter % opts.verbose_interval == 0:
            logger.info(
                "  iteration %d: lower bound %.8f, change %.3e",
                progress.n_iter,
                progress.lower_bound,
                progress.change,
            )
        if user is not None:
            user(progress)

    return hook


def better_bound(bound: float, best: float) -> bool:
    """True when ``bound`` beats ``best`` by more than rounding (BOUND_TIE)."""
    if not np.isfinite(best):
        return bool(bound > best)
    return bool(bound > best + BOUND_TIE * max(1.0, abs(best)))


def best_run(n_runs: int, run: Callable[[int], EMResult], verbose: int) -> EMResult:
    """``run(init)`` for each initialisation; the one with the best final
    bound (the first of those within :data:`BOUND_TIE` of it)."""
    best: EMResult | None = None
    for init in range(n_runs):
        if verbose:
            logger.info("initialisation %d", init)
        result = run(init)
        if verbose:
            logger.info(
                "initialisation %d %s after %d iterations, lower bound %.6f",
                init,
                "converged" if result.converged else "did not converge",
                result.n_iter,
                result.lower_bound,
            )
        if best is None or better_bound(result.lower_bound, best.lower_bound):
            best = result
    assert best is not None
    return best


def fit_em(
    source: DataSource,
    model: CovarianceModel,
    inits: Inits,
    opts: FitOptions,
    random_state: np.random.RandomState,
    *,
    prior: ResolvedPrior | None = None,
    warm: tuple[Params, float] | None = None,
    want_labels: bool = False,
    start_source: DataSource | None = None,
) -> FitOutcome:
    """``n_init`` EM runs (one from ``warm = (params, bound)`` if given), the
    best kept, then a final pass: the log-likelihood of the fitted parameters
    (and the labels of ``fit_predict``, read as ``predict`` reads rows).

    The starts are computed from ``start_source`` when given (the rows with
    missing values filled in, under ``nan_policy="marginalize"``), else from
    ``source``."""
    em_source = source.for_em() if opts.dtype == "auto" else source

    def run(init: int) -> EMResult:
        if warm is not None:
            params, start_bound = warm
        else:
            params = initial_params(
                start_source or source, model, inits, opts, random_state, prior
            )
            start_bound = -np.inf
        return run_em(
            em_source,
            model,
            params,
            opts,
            prior=prior,
            lower_bound=start_bound,
            init=init,
        )

    best = best_run(1 if warm is not None else opts.n_init, run, opts.verbose)
    if not want_labels and opts.convergence == "mclust" and best.converged:
        # mclust's rule keeps the parameters whose E-step passed the test:
        # their log-likelihood is the history's last entry, over em_source
        return FitOutcome(best, best.history[-1], None)
    final_source = source if want_labels else em_source
    if isinstance(best.params, NoiseParams):
        final_ll, labels = noise_final_pass(
            final_source, model, best.params, want_labels
        )
        return FitOutcome(best, final_ll, labels)
    final_ll, labels = final_source.final_pass(model, best.params, want_labels)
    return FitOutcome(best, final_ll, labels)


def online_update(
    X: np.ndarray,
    w: np.ndarray,
    model: CovarianceModel,
    params: Params,
    state: OnlineState | None,
    opts: FitOptions,
    missing: bool = False,
) -> tuple[Params, OnlineState, float]:
    """One ``partial_fit`` batch: the first update from ``params`` when there
    is no running state yet, a blended stepwise-EM update otherwise
    (``missing``: NaN entries of X are missing values)."""
    if state is None:
        return first_update(X, w, model, params, opts.reg_covar, missing)
    new, mean_ll = update(
        X,
        w,
        model,
        params,
        state,
        opts.reg_covar,
        float(opts.step_decay),
        float(opts.step_offset),
        missing,
    )
    return new, state, mean_ll
