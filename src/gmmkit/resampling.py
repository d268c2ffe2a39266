"""Bootstrap inference for Gaussian mixtures: mclust's resampling tools.

:func:`bootstrap_lrt` is mclust's ``mclustBootstrapLRT``: the likelihood-ratio
test of K against K + 1 components for one covariance model, its p-value by
parametric bootstrap (McLachlan 1987).  :func:`bootstrap` is mclust's
``MclustBootstrap``: standard errors and percentile intervals of a fitted
model's weights, means and covariances by the nonparametric, the
weighted-likelihood (Newton & Raftery 1994) or the parametric bootstrap
(O'Hagan, Murphy, Scrucca & Gormley 2019).

Both run their replicates in parallel with joblib (``n_jobs``), and are
deterministic for a given ``random_state`` whatever ``n_jobs``: every
replicate draws from its own generator, seeded from ``random_state`` and its
number, never from a generator the replicates share.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._errors import GMMError, InvalidParameterError, require
from ._validation import check_choice, check_int, check_X
from .covariance import get_model
from .mixture import GaussianMixture
from .selection import _check_conditioning, select_model

#: ``bootstrap``'s resampling methods (mclust's ``type``: bs, wlbs, pb).
METHODS = ("nonparametric", "weighted", "parametric")

#: Draws one replicate may make before it counts as failed: a draw whose fit
#: fails (EM raises, or a covariance is numerically singular) is replaced by
#: a new draw, as mclust's ``MclustBootstrap`` does (its ``max.nonfit``).
MAX_DRAWS = 10

#: The largest number of components the sequential test fits (mclust's
#: ``G = 1:9`` when ``maxG`` is not given): it tests K = 1 .. 8 at most.
SEQUENTIAL_MAX = 9


# ---------------------------------------------------------------- the LRT
def bootstrap_lrt(
    X: Any,
    covariance_type: str = "VVV",
    max_components: int | None = None,
    n_bootstrap: int = 999,
    *,
    level: float = 0.05,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> Any:
    """Bootstrap likelihood-ratio tests for the number of components.

    mclust's ``mclustBootstrapLRT(X, modelName = covariance_type, nboot =
    n_bootstrap, maxG = max_components)``.  For K = 1, 2, ... it tests K
    components (the null) against K + 1 with the statistic ``lrt = 2 (l_{K+1}
    - l_K)``, ``l`` the maximised log-likelihood of
    :func:`~gmmkit.select_model`'s fit (mclust's defaults: hierarchical start,
    mclust's stopping rule, no ``reg_covar``; the tree is built once and cut
    for every K, as in one ``mclustBIC``), so the observed statistics are
    mclust's.  Its null distribution is the parametric bootstrap's, as
    mclust computes it: each replicate draws ``n_samples`` rows from the
    fitted K-component model and fits K and K + 1 components to them by EM
    started from the observed K- and (K + 1)-component fits (mclust's
    stopping rule); ``p_value = (1 + #{replicates >= lrt}) / (n_bootstrap +
    1)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    covariance_type : str, default="VVV"
        The covariance model of every fit (any ``covariance_type`` of
        ``GaussianMixture``; mclust's ``"E"`` or ``"V"`` for one feature).
    max_components : int or None, default=None
        Test K = 1 .. ``max_components`` (mclust's ``maxG``), each against K +
        1.  None: test K = 1, 2, ... and stop after the first test whose
        p-value exceeds ``level`` (mclust's sequential procedure).
    n_bootstrap : int, default=999
        Replicates per test (mclust's ``nboot``).
    level : float, default=0.05
        Significance level that stops the sequential procedure (used only
        when ``max_components`` is None).
    random_state : int, RandomState or None
        Seeds the replicates (and, for data of more than 2000 rows, the
        hierarchical start's subset, as in ``select_model``).  The same value
        gives the same table for any ``n_jobs``.
    n_jobs : int or None, default=None
        Replicates run in parallel worker processes with joblib: ``-1`` uses
        every core; None means 1 unless in a ``joblib.parallel_backend``
        context (scikit-learn's convention).

    Returns
    -------
    pandas.DataFrame
        One row per test with columns ``n_components`` (K, tested against K +
        1), ``lrt`` (the observed statistic) and ``p_value``.  Its ``attrs``
        hold ``"replicates"``, an array (n_bootstrap, number of tests) of the
        bootstrap statistics (mclust's ``boot``), ``"log_likelihood"``, a
        dict K -> ``l_K`` of the observed fits, and ``"covariance_type"``.

    Notes
    -----
    A fit that fails (EM raises, or a covariance is numerically singular:
    mclust's NA) gives NaN: an observed statistic that is NaN gets a NaN
    p-value and no replicates (and ends the sequential procedure); a
    draw whose fit fails is replaced by a new draw (up to :data:`MAX_DRAWS`
    per replicate, as mclust redraws); a replicate whose draws all failed is
    NaN and left out of its p-value, whose denominator is then the number of
    finite replicates plus one.  A replicate's statistic may be negative
    (EM of K + 1 components from the observed fit can end below the K
    fit); it is kept, as mclust keeps it.
    """
    pd = require("pandas", "data", "bootstrap_lrt's table")
    owner = "bootstrap_lrt"
    names_of = GaussianMixture()
    X = check_X(names_of, X, reset=True)
    n, d = X.shape
    if not isinstance(covariance_type, str):
        raise InvalidParameterError(
            f"The 'covariance_type' parameter of {owner} must be a str naming a "
            f"covariance model (e.g. 'VVV'). Got {covariance_type!r} instead."
        )
    get_model(covariance_type).check_n_features(d)
    if max_components is not None:
        check_int(owner, "max_components", max_components, 1)
    check_int(owner, "n_bootstrap", n_bootstrap, 1)
    _check_level(owner, level)
    _check_n_jobs(owner, n_jobs)
    base = _base_seed(owner, random_state)
    # the observed fits' seed (the hierarchical start's subset, long data)
    fit_seed = int(np.random.SeedSequence([base, 0]).generate_state(1)[0])

    top = max_components if max_components is not None else SEQUENTIAL_MAX - 1
    ks = range(1, top + 2)
    try:
        result = select_model(
            X, ks, [covariance_type], random_state=fit_seed, n_jobs=n_jobs
        )
        fits = {k: result.models_.get((covariance_type, k)) for k in ks}
    except GMMError:  # every fit failed
        fits = dict.fromkeys(ks)
    rows: list[dict[str, Any]] = []
    replicates: list[np.ndarray] = []
    k = 1
    while True:
        null, alt = fits[k], fits[k + 1]
        lrt = math.nan
        if null is not None and alt is not None:
            lrt = 2.0 * (_loglik(alt) - _loglik(null))
        stats = np.full(n_bootstrap, np.nan)
        p_value = math.nan
        if null is not None and alt is not None and not math.isnan(lrt):
            seeds = np.random.SeedSequence([base, k]).generate_state(n_bootstrap)
            starts = (_start_from(null), _start_from(alt))
            stats = np.array(
                _parallel(
                    n_jobs,
                    _lrt_replicate,
                    [(null, starts, n, int(s)) for s in seeds],
                ),
                dtype=np.float64,
            )
            finite = stats[np.isfinite(stats)]
            p_value = (1.0 + np.count_nonzero(finite >= lrt)) / (finite.size + 1.0)
        rows.append({"n_components": k, "lrt": lrt, "p_value": p_value})
        replicates.append(stats)
        if k >= top or (max_components is None and not p_value <= level):
            break  # the last test, or not significant (or NaN) in sequence
        k += 1
    table = pd.DataFrame(rows, columns=["n_components", "lrt", "p_value"])
    table.attrs["replicates"] = np.column_stack(replicates)
    table.attrs["log_likelihood"] = {
        k: (math.nan if gm is None else _loglik(gm)) for k, gm in sorted(fits.items())
    }
    table.attrs["covariance_type"] = covariance_type
    return table


def _loglik(gm: GaussianMixture) -> float:
    """The maximised log-likelihood of a ``select_model`` fit (mclust's)."""
    return float(gm.log_likelihood_history_[-1])


def _lrt_replicate(
    null: GaussianMixture,
    starts: tuple[GaussianMixture, GaussianMixture],
    n: int,
    seed: int,
) -> float:
    """One parametric-bootstrap statistic: rows drawn from the null model,
    K and K + 1 components fitted to them by EM started from the observed
    fits (as mclust's ``em`` from their parameters); a draw whose fit fails
    is replaced by a new draw (up to :data:`MAX_DRAWS`), as mclust does."""
    rng = np.random.RandomState(seed)
    for _ in range(MAX_DRAWS):
        Xb, _ = null.sample(n, random_state=rng)
        fits = [_refit(start, Xb, None) for start in starts]
        if fits[0] is not None and fits[1] is not None:
            return 2.0 * (_loglik(fits[1]) - _loglik(fits[0]))
    return math.nan


# ------------------------------------------------ standard errors, intervals
@dataclass
class BootstrapResult:
    """What :func:`bootstrap` found: mclust's ``MclustBootstrap`` object.

    Attributes
    ----------
    method : str
        ``"nonparametric"``, ``"weighted"`` or ``"parametric"``.
    n_bootstrap : int
        Number of replicates.
    n_failed : int
        Draws whose fit failed and were replaced by a new draw (mclust's
        ``nonfit``).  A replicate whose :data:`MAX_DRAWS` draws all failed is
        a row of NaN in ``replicates`` (left out of the summaries).
    estimates : dict of str to ndarray
        The bootstrapped model's ``weights_``, ``means_`` and
        ``covariances_`` (keys ``"weights"``, ``"means"``,
        ``"covariances"``).
    replicates : dict of str to ndarray
        The bootstrap distribution: for each key of ``estimates`` an array
        of shape ``(n_bootstrap, *estimates[key].shape)``, the replicates'
        parameters aligned to the model's components.
    """

    method: str
    n_bootstrap: int
    n_failed: int
    estimates: dict[str, np.ndarray]
    replicates: dict[str, np.ndarray] = field(repr=False)

    @property
    def standard_errors(self) -> dict[str, np.ndarray]:
        """Standard deviation of each parameter over the replicates
        (denominator ``n - 1``, as R's ``sd``; mclust's ``summary(...,
        what = "se")``), shaped as ``estimates``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return {
                name: np.nanstd(values, axis=0, ddof=1)
                for name, values in self.replicates.items()
            }

    def intervals(self, level: float = 0.95) -> dict[str, np.ndarray]:
        """Percentile intervals (mclust's ``summary(..., what = "ci")``).

        Parameters
        ----------
        level : float, default=0.95
            Confidence level (mclust's ``conf.level``).

        Returns
        -------
        dict of str to ndarray
            For each parameter an array of shape ``(2, *estimate.shape)``:
            the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
            replicates (linear interpolation, R's default type 7).
        """
        _check_level("BootstrapResult.intervals", level)
        qs = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return {
                name: np.nanquantile(values, qs, axis=0)
                for name, values in self.replicates.items()
            }

    def summary(self, level: float = 0.95) -> Any:
        """One row per scalar parameter: a pandas DataFrame with columns
        ``parameter`` (``"weights"``, ``"means"``, ``"covariances"``),
        ``index`` (the entry's index in that attribute, e.g. ``(k, j)`` for
        ``means_[k, j]``), ``estimate``, ``std_error``, ``lower``, ``upper``
        (the percentile interval at ``level``)."""
        pd = require("pandas", "data", "BootstrapResult.summary")
        se = self.standard_errors
        ci = self.intervals(level)
        rows = [
            {
                "parameter": name,
                "index": index,
                "estimate": float(estimate[index]),
                "std_error": float(se[name][index]),
                "lower": float(ci[name][0][index]),
                "upper": float(ci[name][1][index]),
            }
            for name, estimate in self.estimates.items()
            for index in np.ndindex(estimate.shape)
        ]
        return pd.DataFrame(
            rows,
            columns=["parameter", "index", "estimate", "std_error", "lower", "upper"],
        )


def bootstrap(
    gm: GaussianMixture,
    X: Any,
    n_bootstrap: int = 999,
    method: str = "nonparametric",
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Bootstrap standard errors and percentile intervals of a fitted mixture.

    mclust's ``MclustBootstrap(fit, nboot = n_bootstrap, type = ...)``.  Each
    replicate refits ``gm``'s estimator (its settings: covariance model,
    ``tol``, ``convergence``, ``reg_covar``, prior) to resampled data,
    starting EM from ``gm``'s fitted parameters: so the replicate's
    components stay those of ``gm`` (no label switching), as mclust starts
    each replicate from the fitted model.

    Parameters
    ----------
    gm : GaussianMixture
        A fitted model, e.g. ``select_model(X).best_`` (without a noise
        component).
    X : array-like of shape (n_samples, n_features)
        The data ``gm`` was fitted to.
    n_bootstrap : int, default=999
        Number of replicates (mclust's ``nboot``).
    method : {"nonparametric", "weighted", "parametric"}, default="nonparametric"
        ``"nonparametric"`` (mclust's ``"bs"``): n rows drawn from X with
        replacement.  ``"weighted"`` (``"wlbs"``, the weighted likelihood
        bootstrap): every row kept, with ``sample_weight`` ``n`` times a
        uniform Dirichlet draw (normalised standard exponentials).
        ``"parametric"`` (``"pb"``): n rows drawn from ``gm``.
    random_state : int, RandomState or None
        Seeds the replicates; the same value gives the same result for any
        ``n_jobs``.
    n_jobs : int or None, default=None
        Replicates run in parallel worker processes with joblib: ``-1`` uses
        every core; None means 1 unless in a ``joblib.parallel_backend``
        context.

    Returns
    -------
    BootstrapResult
        ``standard_errors`` and ``intervals(level)`` (dicts keyed
        ``"weights"``, ``"means"``, ``"covariances"``, shaped as ``gm``'s
        attributes), ``summary(level)`` (a DataFrame), ``replicates`` (the
        bootstrap distribution), ``n_failed``.

    Notes
    -----
    A draw whose fit fails (EM raises, or a covariance is numerically
    singular: mclust's test, as in ``select_model``) is replaced by a new
    draw, up to :data:`MAX_DRAWS` per replicate; ``n_failed`` counts them.
    The covariances are reported in ``covariances_``'s own shape (e.g. one
    ``(n_features, n_features)`` matrix for ``"tied"``); mclust reports
    ``(d, d, G)`` for every model, whose entries are the same numbers.
    """
    owner = "bootstrap"
    if not isinstance(gm, GaussianMixture):
        raise InvalidParameterError(
            f"The 'gm' parameter of {owner} must be a fitted gmmkit."
            f"GaussianMixture. Got {type(gm).__name__} instead."
        )
    check_is_fitted(gm)
    if gm._has_noise():
        raise InvalidParameterError(
            "bootstrap does not support a model with a noise component "
            "(noise_init). Fit without noise_init to bootstrap it."
        )
    X = check_X(gm, X, reset=False, allow_nan=gm._marginalize())
    check_int(owner, "n_bootstrap", n_bootstrap, 1)
    check_choice(owner, "method", method, METHODS)
    _check_n_jobs(owner, n_jobs)
    base = _base_seed(owner, random_state)
    seeds = np.random.SeedSequence([base]).generate_state(n_bootstrap)
    start = _start_from(gm)
    outcomes = _parallel(
        n_jobs, _replicate, [(gm, start, X, method, int(s)) for s in seeds]
    )
    estimates = {
        "weights": np.array(gm.weights_, dtype=np.float64),
        "means": np.array(gm.means_, dtype=np.float64),
        "covariances": np.array(gm.covariances_, dtype=np.float64),
    }
    replicates = {
        name: np.stack(
            [
                np.full(value.shape, np.nan) if fitted is None else fitted[i]
                for fitted, _ in outcomes
            ]
        )
        for i, (name, value) in enumerate(estimates.items())
    }
    return BootstrapResult(
        method=method,
        n_bootstrap=int(n_bootstrap),
        n_failed=int(sum(failed for _, failed in outcomes)),
        estimates=estimates,
        replicates=replicates,
    )


def _replicate(
    gm: GaussianMixture, start: GaussianMixture, X: np.ndarray, method: str, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, int]:
    """One replicate: the refitted parameters (None when every draw failed)
    and the number of failed draws."""
    rng = np.random.RandomState(seed)
    n = X.shape[0]
    for failed in range(MAX_DRAWS):
        weight: np.ndarray | None = None
        if method == "nonparametric":
            Xb = X[rng.randint(n, size=n)]
        elif method == "weighted":  # n times a uniform Dirichlet draw
            exponentials = np.asarray(rng.standard_exponential(n))
            weight = exponentials * (n / exponentials.sum())
            Xb = X
        else:
            Xb, _ = gm.sample(n, random_state=rng)
        est = _refit(start, Xb, weight)
        if est is not None:
            covariances = np.array(est.covariances_, dtype=np.float64)
            return (est.weights_.copy(), est.means_.copy(), covariances), failed
    return None, MAX_DRAWS


def _start_from(gm: GaussianMixture) -> GaussianMixture:
    """An unfitted copy of ``gm`` (its settings) whose fit runs EM from
    ``gm``'s fitted parameters: mclust's ``me`` from the fitted model's
    posteriors of the new rows (an E-step of the fitted parameters, then
    EM), which keeps the components in ``gm``'s order."""
    start = clone(gm).set_params(
        weights_init=gm.weights_,
        means_init=gm.means_,
        precisions_init=gm.precisions_,
        resp_init=None,
        n_init=1,
        warm_start=False,
        callback=None,
        verbose=0,
    )
    return start


def _refit(
    start: GaussianMixture, X: np.ndarray, sample_weight: np.ndarray | None
) -> GaussianMixture | None:
    """``start`` refitted to ``X`` from its parameters; None when the fit
    fails (EM raises, or a covariance is numerically singular: mclust's NA,
    tested as ``select_model`` does in the data's scale)."""
    est = clone(start)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, sample_weight=sample_weight)
        filled = (
            np.where(np.isnan(X), np.nanmean(X, axis=0), X) if est._marginalize() else X
        )
        scale = (
            float(np.sqrt(np.max(np.var(filled, axis=0)))) if X.shape[0] > 1 else 1.0
        )
        _check_conditioning(est, scale)
    except GMMError:
        return None
    return est


# ------------------------------------------------------------------ helpers
def _parallel(n_jobs: int | None, fn: Callable[..., Any], tasks: list[tuple]) -> list:
    """``fn(*task)`` for every task, in order, with joblib's ``n_jobs``."""
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=n_jobs)(delayed(fn)(*task) for task in tasks))


def _check_n_jobs(owner: str, n_jobs: Any) -> None:
    if n_jobs is not None and (
        not isinstance(n_jobs, (int, np.integer))
        or isinstance(n_jobs, bool)
        or n_jobs == 0
    ):
        raise InvalidParameterError(
            f"The 'n_jobs' parameter of {owner} must be None, -1 (every core) or "
            f"a non-zero int (-2: all cores but one). Got {n_jobs!r} instead."
        )


def _check_level(owner: str, level: Any) -> None:
    if (
        isinstance(level, bool)
        or not isinstance(level, (int, float, np.floating))
        or not 0.0 < float(level) < 1.0
    ):
        raise InvalidParameterError(
            f"The 'level' parameter of {owner} must be a probability in (0, 1) "
            f"(e.g. 0.05 or 0.95). Got {level!r} instead."
        )


def _base_seed(owner: str, random_state: Any) -> int:
    """One integer from ``random_state`` from which every replicate's seed
    is derived (with ``numpy.random.SeedSequence``)."""
    try:
        rng = check_random_state(random_state)
    except ValueError:
        raise InvalidParameterError(
            f"The 'random_state' parameter of {owner} must be None, an int or a "
            f"numpy RandomState. Got {random_state!r} instead."
        ) from None
    return int(rng.randint(np.iinfo(np.int32).max))
