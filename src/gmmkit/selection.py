"""Model selection over covariance models and numbers of components.

:func:`select_model` is R mclust's ``Mclust``/``mclustBIC`` for Python: it
fits every (covariance model, number of components) pair from mclust's
start and stopping rule, and tabulates BIC, AIC and ICL.  It is a client of
the public :class:`~gmmkit.GaussianMixture` API.

Signs: every criterion here is in scikit-learn's orientation, **lower is
better**; mclust reports ``-bic`` (and ``-icl``), where higher is better.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._errors import FitError, GMMError, InvalidParameterError, require
from ._fit import Inits
from ._hc import HC_SUBSET, HCStart
from ._noise import NoiseStart, check_noise
from ._prior import check_prior
from ._stats import Responsibilities, information_criteria, weighted_log_prob
from ._validation import check_choice, check_int, check_real, check_X
from .covariance import (
    MCLUST_MODELS,
    MCLUST_MODELS_1D,
    SINGULAR_RCOND,
    get_model,
    reciprocal_condition,
)
from .mixture import NAN_POLICIES, GaussianMixture
from .sources import ArraySource, observed_means

CRITERIA = ("bic", "aic", "icl")

#: With ``n_jobs=None``, data with fewer values (rows x features) than this
#: are fitted in this process: worker start-up would cost more than it saves.
#: Measured (2026-12-07, 2 cores, the default grid of 14 models x K = 1..9,
#: second call, seconds, sequential against 2 processes): 2000 x 4: 0.87
#: against 0.80; 5000 x 4: 1.27 against 0.99; 10000 x 4: 1.37 against 1.01;
#: a first call (worker start-up) was even at 5000 x 4 (2.44 against 2.39).
PARALLEL_MIN_VALUES = 20_000

#: Columns of :attr:`SelectionResult.table`, in order.
TABLE_COLUMNS = (
    "covariance_type",
    "n_components",
    "log_likelihood",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "converged",
    "n_iter",
    "error",
)


def default_covariance_types(n_samples: int, n_features: int) -> tuple[str, ...]:
    """The models mclust's ``Mclust`` tries by default for data of this shape.

    ``E`` and ``V`` for one feature; only the spherical and diagonal models
    when ``n_samples <= n_features``; otherwise all of them.
    """
    if n_features == 1:
        return MCLUST_MODELS_1D
    if n_samples <= n_features:
        return tuple(
            m for m in MCLUST_MODELS if get_model(m).family in ("spherical", "diagonal")
        )
    return MCLUST_MODELS


@dataclass(frozen=True)
class SelectionProgress:
    """What ``select_model(callback=...)`` receives after each grid cell.

    ``bic`` is None and ``error`` says why when the cell's fit failed.
    """

    covariance_type: str
    n_components: int
    done: int
    total: int
    bic: float | None
    error: str | None


@dataclass
class SelectionResult:
    """What :func:`select_model` found.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (covariance_type, n_components) with the columns
        ``covariance_type, n_components, log_likelihood, n_parameters, bic,
        aic, icl, converged, n_iter, error``.  A fit that failed has NaN
        criteria and its reason in ``error`` (``None`` otherwise).
    best_ : GaussianMixture
        The fitted model with the lowest criterion.
    best_params_ : dict
        ``{"covariance_type": ..., "n_components": ...}`` of ``best_``.
    criterion : str
        The criterion that chose ``best_`` ("bic", "aic" or "icl").
    """

    table: Any
    best_: GaussianMixture
    best_params_: dict[str, Any]
    criterion: str
    models_: dict[tuple[str, int], GaussianMixture] = field(
        default_factory=dict, repr=False
    )

    def plot(self, ax: Any = None, criterion: str | None = None) -> Any:
        """Criterion against n_components, one line per covariance model.

        Drawn as mclust draws its BIC plot, but in gmmkit's sign (lower is
        better); failed fits are gaps.  Needs matplotlib (``gmmkit[plot]``).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        criterion : {"bic", "aic", "icl"}, optional
            Defaults to the criterion used for the selection.

        Returns
        -------
        ax : matplotlib Axes
        """
        crit = self.criterion if criterion is None else criterion
        if crit not in CRITERIA:
            raise InvalidParameterError(
                f"The 'criterion' parameter of plot must be one of "
                f"{', '.join(map(repr, CRITERIA))}. Got {crit!r} instead."
            )
        plt = require("matplotlib.pyplot", "plot", "SelectionResult.plot")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        markers = "os^vD<>ph*Hx+d8"
        table = self.table
        for i, model in enumerate(dict.fromkeys(table["covariance_type"])):
            rows = table[table["covariance_type"] == model].sort_values("n_components")
            ax.plot(
                rows["n_components"].to_numpy(),
                rows[crit].to_numpy(dtype=float),
                marker=markers[i % len(markers)],
                label=model,
            )
        best = self.best_params_
        best_value = table[
            (table["covariance_type"] == best["covariance_type"])
            & (table["n_components"] == best["n_components"])
        ][crit]
        if crit == self.criterion and len(best_value):
            ax.scatter(
                [best["n_components"]],
                [float(best_value.iloc[0])],
                s=160,
                facecolors="none",
                edgecolors="black",
                zorder=5,
                label=f"best: {best['covariance_type']}, {best['n_components']}",
            )
        ax.set_xlabel("number of components")
        ax.set_ylabel(f"{crit.upper()} (lower is better)")
        ax.legend(ncol=2, fontsize="small")
        return ax


def select_model(
    X: Any,
    n_components: Iterable[int] = range(1, 10),
    covariance_types: Sequence[str] | None = None,
    criterion: str = "bic",
    *,
    tol: float = 1e-5,
    max_iter: int = 10_000,
    reg_covar: float = 0.0,
    subset: Any = None,
    random_state: Any = None,
    n_jobs: int | None = None,
    prior: Any = None,
    callback: Callable[[SelectionProgress], None] | None = None,
    time_limit: float | None = None,
    nan_policy: str = "raise",
    noise_init: Any = None,
    hypervolume: Any = None,
) -> SelectionResult:
    """Fit every (covariance model, number of components) and pick the best.

    mclust's ``Mclust`` in Python, with mclust's defaults: every model is
    started from the same hierarchical partition for a given number of
    components (``init_params="hc"``: the tree is built once and cut for each
    ``K``), EM stops when the total log-likelihood ``l`` changes by at most
    ``tol * (1 + |l|)`` (``convergence="mclust"``, mclust's ``tol`` 1e-5),
    and no ``reg_covar`` is added.  On the same data the table reproduces
    ``mclustBIC`` (BIC of opposite sign) and the choice of ``Mclust``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 10)
        Numbers of components to try (mclust's ``G``).
    covariance_types : sequence of str, optional
        Models to try (any ``covariance_type`` accepted by GaussianMixture).
        Default: mclust's, see :func:`default_covariance_types` (every model;
        only spherical and diagonal ones when ``n_samples <= n_features``;
        ``E`` and ``V`` for one feature).
    criterion : {"bic", "aic", "icl"}, default="bic"
        What chooses ``best_``; lower is better.
    tol : float, default=1e-5
        Relative tolerance of mclust's stopping rule.
    max_iter : int, default=10000
        Iteration limit of each fit (mclust has practically none).
    reg_covar : float, default=0.0
        Added to covariance diagonals; 0 as in mclust.
    subset : None, int or array-like of int
        Rows clustered by the hierarchical start.  ``None``: all rows when
        there are at most 2000, else 2000 drawn with ``random_state``
        (mclust's ``mclust.options("subset")``); an int: that many random
        rows; an array: those rows (0-based; e.g. mclust's
        ``initialization$subset - 1``).  With a subset, each fit starts with
        one M-step on the subset and EM's first E-step covers all rows.
    random_state : int, RandomState or None
        Draws the subset (nothing else is random).
    n_jobs : int or None, default=None
        Fits run in parallel worker processes with joblib: ``-1`` uses every
        core, ``1`` runs them one after another in this process.  ``None``
        (default) uses every core when the data hold at least
        :data:`PARALLEL_MIN_VALUES` numbers, and this process otherwise
        (starting workers costs more than small fits).
    prior : None, "default", dict or ConjugatePrior, default=None
        MAP-EM with mclust's conjugate prior for every fit (as
        ``Mclust(..., prior = priorControl())``); see ``GaussianMixture``'s
        ``prior``.  Models mclust has no prior for (EVE, VEE, VVE, EVV) become
        failed rows, as they are NA in mclust's table.  The criteria use the
        log-likelihood, as mclust's.
    callback : callable or None, default=None
        Called after each fitted cell with a :class:`SelectionProgress`
        (``covariance_type``, ``n_components``, ``done``, ``total``, ``bic``,
        ``error``), in the order the cells finish; the command line's
        progress line uses it.  With parallel workers it is called as their
        results arrive.
    time_limit : float or None, default=None
        Seconds one cell's fit may take: a fit still running after that
        (checked after every EM iteration) stops and its cell becomes a
        failed row ("stopped after ... s"), so a search over many models
        ends in bounded time.  None: no limit.
    nan_policy : {"raise", "marginalize"}, default="raise"
        As ``GaussianMixture``'s: ``"raise"`` refuses NaN (a DataError naming
        the row and column); ``"marginalize"`` treats NaN entries as missing
        at random and every fit maximises the observed-data likelihood.  The
        hierarchical start and the data's scale (the singularity test) are
        then computed on the rows with each NaN replaced by its column's
        observed mean; the log-likelihood, BIC, AIC and ICL (its posteriors
        included) are those of the observed values.  A row with no observed
        value is a DataError naming it.
    noise_init : array-like of bool or int, default=None
        Every fit gets a uniform noise component (``GaussianMixture``'s
        ``noise_init``): mclust's ``mclustBIC(X, initialization = list(noise
        = noise_init))``.  The hierarchical start clusters the rows not
        marked as noise (with a subset: the subset's rows not marked as
        noise, and each fit's first M-step on them is followed by an E-step
        over every row, whose noise rows are then given to the noise, as
        mclust does).  ``n_components`` may then include 0: the noise-only
        model, whose row has ``log_likelihood = -n log V``, one parameter and
        ``icl = bic`` (mclust's ``G = 0``; mclust's default grid with noise
        is ``range(0, 10)``).  ``best_`` is chosen among the fits with at
        least one component (a warning says so when the noise-only row has
        the best criterion).  Not with ``nan_policy="marginalize"``.
    hypervolume : float or None, default=None
        The noise component's hypervolume ``V`` (None: mclust's ``hypvol`` of
        X, see ``GaussianMixture``).

    Returns
    -------
    SelectionResult
        ``table`` (pandas DataFrame), ``best_``, ``best_params_``, ``plot()``.

    Notes
    -----
    As in mclust, each fit keeps the parameters whose log-likelihood passed
    the stopping test, so ``log_likelihood`` is both mclust's number and the
    fitted model's (``best_.score(X) * n_samples``).
    ``bic = -2 log_likelihood + n_parameters log(n)``,
    ``aic = -2 log_likelihood + 2 n_parameters`` and
    ``icl = bic - 2 sum_i log max_k P(k | x_i)`` (with the fitted model's
    posteriors).  A fit is a failure (NaN criteria, reason in ``error``) when
    EM raises, or when a fitted covariance is numerically singular
    (reciprocal condition of its Cholesky factor at most ``sqrt(eps)``, the
    test mclust applies before returning NA).
    """
    pd = require("pandas", "data", "select_model's table")
    check_choice("select_model", "nan_policy", nan_policy, NAN_POLICIES)
    marginalize = nan_policy == "marginalize"
    names_of = GaussianMixture(nan_policy=nan_policy)
    X = check_X(names_of, X, reset=True, allow_nan=marginalize)
    feature_names = getattr(names_of, "feature_names_in_", None)
    n, d = X.shape
    check_real("select_model", "tol", tol, 0.0)
    check_int("select_model", "max_iter", max_iter, 0)
    check_real("select_model", "reg_covar", reg_covar, 0.0)
    if n_jobs is not None and (
        not isinstance(n_jobs, (int, np.integer))
        or isinstance(n_jobs, bool)
        or n_jobs == 0
    ):
        raise InvalidParameterError(
            "The 'n_jobs' parameter of select_model must be None, -1 (every "
            "core) or a non-zero int (-2: all cores but one). Got "
            f"{n_jobs!r} instead."
        )
    try:
        rng = check_random_state(random_state)
    except ValueError:
        raise InvalidParameterError(
            "The 'random_state' parameter of select_model must be None, an int or "
            f"a numpy RandomState. Got {random_state!r} instead."
        ) from None
    if time_limit is not None and not (
        isinstance(time_limit, (int, float))
        and not isinstance(time_limit, bool)
        and time_limit > 0
    ):
        raise InvalidParameterError(
            "The 'time_limit' parameter of select_model must be None or a number "
            f"of seconds > 0. Got {time_limit!r} instead."
        )
    if callback is not None and not callable(callback):
        raise InvalidParameterError(
            "The 'callback' parameter of select_model must be None or a callable "
            f"taking a gmmkit.SelectionProgress. Got {callback!r} instead."
        )
    noise = None
    if noise_init is not None:
        if marginalize:
            raise InvalidParameterError(
                "select_model(noise_init=...) does not support "
                "nan_policy='marginalize'. Remove one of them."
            )
        noise = check_noise("select_model", noise_init, hypervolume, X, 1)
    ks = _check_components(n_components, allow_zero=noise is not None)
    check_prior("select_model", prior)
    if criterion not in CRITERIA:
        raise InvalidParameterError(
            "The 'criterion' parameter of select_model must be one of "
            f"{', '.join(map(repr, CRITERIA))}. Got {criterion!r} instead."
        )
    if covariance_types is None:
        models = default_covariance_types(n, d)
    else:
        if isinstance(covariance_types, str):
            covariance_types = [covariance_types]
        models = tuple(covariance_types)
        for m in models:
            get_model(m)  # raises a clear error for unknown names
        if not models:
            raise InvalidParameterError(
                "The 'covariance_types' parameter of select_model must name at "
                "least one model. Got an empty sequence."
            )
    rows = _check_subset(subset, n, rng)
    use_subset = rows.shape[0] < n
    if noise is not None:  # mclust clusters the rows not marked as noise
        rows = rows[~noise.mask[rows]]
    # missing values: the start and the scale from the mean-filled rows
    missing = marginalize and bool(np.isnan(X).any())
    filled = X
    if missing:
        means = observed_means(ArraySource(X, None, max(n, 1)))
        filled = np.where(np.isnan(X), means, X)
    start = HCStart(filled, rng, rows=rows, subset_size=max(n, 1))
    labels = {
        k: (None if k <= 1 or k > start.rows.shape[0] else start.labels(k)) for k in ks
    }
    jobs = [(m, k) for m in models for k in ks if k > 0]

    if n_jobs is None:
        n_jobs = -1 if n * d >= PARALLEL_MIN_VALUES else 1
    scale = float(np.sqrt(np.max(np.var(filled, axis=0)))) if n > 1 else 1.0
    args = (use_subset, tol, max_iter, reg_covar, prior, scale, time_limit)
    # the subset's first M-step reads the filled rows (only when there are NaN)
    extra: dict[str, Any] = {
        "nan_policy": nan_policy,
        "filled": filled if missing else None,
        "noise": noise,
    }
    if n_jobs == 1 or len(jobs) == 1:
        cells: Iterable[tuple[dict[str, Any], GaussianMixture | None]] = (
            _fit_one(X, m, k, labels[k], *args, **extra) for m, k in jobs
        )
    else:
        from joblib import Parallel, delayed

        cells = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fit_one)(X, m, k, labels[k], *args, **extra) for m, k in jobs
        )
    results = []
    for done, (row, gm) in enumerate(cells, start=1):
        results.append((row, gm))
        if gm is not None and feature_names is not None:
            gm.feature_names_in_ = feature_names
        if callback is not None:
            callback(
                SelectionProgress(
                    row["covariance_type"],
                    int(row["n_components"]),
                    done,
                    len(jobs),
                    None if row["error"] else float(row["bic"]),
                    row["error"],
                )
            )
    if noise is not None and 0 in ks:  # the noise-only model, mclust's G = 0
        results += [(_noise_only_row(m, n, noise.log_volume), None) for m in models]
        jobs += [(m, 0) for m in models]
        order = sorted(
            range(len(jobs)), key=lambda i: (models.index(jobs[i][0]), jobs[i][1])
        )
        results = [results[i] for i in order]
        jobs = [jobs[i] for i in order]
    table = pd.DataFrame([row for row, _ in results], columns=list(TABLE_COLUMNS))
    # None (not NaN) where a fit succeeded, whatever the other rows hold.
    table["error"] = pd.Series([row["error"] for row, _ in results], dtype=object)
    fitted = {(m, k): gm for (m, k), (_, gm) in zip(jobs, results) if gm is not None}
    scores = table[criterion].to_numpy(dtype=float)
    fits = (table["n_components"] > 0).to_numpy()
    if not fits.all() and np.isfinite(scores).any():
        lowest = int(np.nanargmin(np.where(np.isfinite(scores), scores, np.nan)))
        if not fits[lowest]:
            warnings.warn(
                f"the noise-only model (n_components=0) has the lowest "
                f"{criterion}; best_ is the best fit with at least one "
                "component (mclust would report the noise-only model).",
                UserWarning,
                stacklevel=2,
            )
        scores = np.where(fits, scores, np.nan)
    if not np.isfinite(scores).any():
        reasons = "; ".join(
            f"{r.covariance_type}/{r.n_components}: {r.error}"
            for r in table.itertuples()
        )
        raise GMMError(
            "select_model could not fit any of the requested models "
            f"({reasons[:2000]}). Try other covariance_types, fewer components, "
            "or a positive reg_covar."
        )
    best = int(np.nanargmin(np.where(np.isfinite(scores), scores, np.nan)))
    key = (
        str(table["covariance_type"].iloc[best]),
        int(table["n_components"].iloc[best]),
    )
    return SelectionResult(
        table=table,
        best_=fitted[key],
        best_params_={"covariance_type": key[0], "n_components": key[1]},
        criterion=criterion,
        models_=fitted,
    )


def _noise_only_row(model: str, n: int, log_volume: float) -> dict[str, Any]:
    """The table row of the noise-only model (mclust's ``G = 0``): every row
    has density ``1 / V``; its one parameter is the hypervolume."""
    loglik = -n * log_volume
    bic, aic, icl = information_criteria(loglik, 1, n)
    return {
        "covariance_type": model,
        "n_components": 0,
        "log_likelihood": loglik,
        "n_parameters": 1,
        "bic": bic,
        "aic": aic,
        "icl": icl,
        "converged": True,
        "n_iter": 0,
        "error": None,
    }


def _check_components(n_components: Any, allow_zero: bool = False) -> list[int]:
    try:
        values = [n_components] if isinstance(n_components, int) else list(n_components)
    except TypeError:
        values = None
    if (
        not values
        or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values
        )
        or min(values) < (0 if allow_zero else 1)
    ):
        least = "0 (with noise_init)" if allow_zero else "1"
        raise InvalidParameterError(
            f"The 'n_components' parameter of select_model must be an int >= {least} "
            "or an iterable of them (e.g. range(1, 10)). Got "
            f"{n_components!r} instead."
        )
    return sorted({int(v) for v in values})


def _check_subset(subset: Any, n: int, rng: np.random.RandomState) -> np.ndarray:
    if subset is None:
        size = min(n, HC_SUBSET)
    elif isinstance(subset, (int, np.integer)) and not isinstance(subset, bool):
        if subset < 1:
            raise InvalidParameterError(
                f"The 'subset' parameter of select_model must be >= 1 rows. Got "
                f"{subset} instead."
            )
        size = min(n, int(subset))
    else:
        rows = np.asarray(subset)
        if rows.ndim != 1 or rows.size == 0 or rows.dtype.kind not in "iu":
            raise InvalidParameterError(
                "The 'subset' parameter of select_model must be None, an int or a "
                "1-D array of row indices. Got "
                f"{type(subset).__name__} of shape {rows.shape} instead."
            )
        bad = np.nonzero((rows < 0) | (rows >= n))[0]
        if bad.size:
            raise InvalidParameterError(
                f"subset[{bad[0]}] = {rows[bad[0]]} is not a row of X (X has {n} "
                "rows; indices are 0-based)."
            )
        if np.unique(rows).size != rows.size:
            raise InvalidParameterError("subset must not repeat a row index.")
        return rows.astype(np.intp)
    if size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _fit_one(
    X: np.ndarray,
    model: str,
    k: int,
    labels: np.ndarray | None,
    use_subset: bool,
    tol: float,
    max_iter: int,
    reg_covar: float,
    prior: Any = None,
    scale: float = 1.0,
    time_limit: float | None = None,
    nan_policy: str = "raise",
    filled: np.ndarray | None = None,
    noise: NoiseStart | None = None,
) -> tuple[dict[str, Any], GaussianMixture | None]:
    """Fit one cell of the grid; never raises (a failure is a row).

    ``filled``: X with each NaN replaced by its column's observed mean
    (``nan_policy="marginalize"`` with missing values), which the subset's
    first M-step reads, as the full-data starts do."""
    n = X.shape[0]
    row: dict[str, Any] = {
        "covariance_type": model,
        "n_components": k,
        "log_likelihood": math.nan,
        "n_parameters": math.nan,
        "bic": math.nan,
        "aic": math.nan,
        "icl": math.nan,
        "converged": False,
        "n_iter": 0,
        "error": None,
    }
    common = dict(
        n_components=k,
        covariance_type=model,
        tol=tol,
        max_iter=max_iter,
        reg_covar=reg_covar,
        convergence="mclust",
        prior=prior,
        callback=None if time_limit is None else _Deadline(time_limit),
        nan_policy=nan_policy,
    )
    if noise is not None:
        common.update(
            noise_init=noise.mask, hypervolume=float(np.exp(noise.log_volume))
        )
    try:
        if k > 1 and labels is None:
            raise GMMError(f"{k} components need at least {k} rows to start from.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            # X was validated once for the grid: each fit starts from the
            # partition as labels (the resp_init it keeps, for a refit, is
            # the same partition)
            if labels is None:  # one component: the single Gaussian's MLE
                gm = GaussianMixture(resp_init=np.ones((n, 1)), **common)
                gm._fit_prepared(X, _partition(np.zeros(n, dtype=np.intp), 1))
            elif not use_subset:
                gm = GaussianMixture(resp_init=_one_hot(labels, k), **common)
                gm._fit_prepared(X, _partition(labels, k))
            elif noise is not None:
                # mclust with noise and a subset: one M-step on the subset's
                # rows not marked as noise, an E-step over every row, the
                # noise rows given to the noise, then EM with noise
                inside = labels >= 0
                first = GaussianMixture(
                    resp_init=_one_hot(labels[inside], k),
                    **{**common, "max_iter": 0, "noise_init": None},
                )
                first._fit_prepared(X[inside], _partition(labels[inside], k))
                resp = first.predict_proba(X)
                gm = GaussianMixture(resp_init=resp, **common)
                gm._fit_prepared(X, (None, None, None, resp))
            else:
                # mclust: one M-step on the subset, then EM on every row.
                inside = labels >= 0
                first = GaussianMixture(
                    resp_init=_one_hot(labels[inside], k), **{**common, "max_iter": 0}
                )
                first._fit_prepared(
                    (X if filled is None else filled)[inside],
                    _partition(labels[inside], k),
                )
                gm = GaussianMixture(
                    weights_init=first.weights_,
                    means_init=first.means_,
                    precisions_init=first.precisions_,
                    **common,
                )
                gm._fit_prepared(X)
        del caught
        if time_limit is not None:
            gm.callback = None  # (set_params costs ~0.1 ms of introspection)
        _check_conditioning(gm, scale)
        log_map = _log_map(gm, X)
    except Exception as exc:  # a failed fit is a row, never an exception
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row, None
    # With convergence="mclust" the fitted parameters are those whose
    # log-likelihood passed the stopping test, as in mclust.
    loglik = float(gm.log_likelihood_history_[-1])
    p = gm.n_parameters()
    bic, aic, icl = information_criteria(loglik, p, n, log_map)
    row.update(
        log_likelihood=loglik,
        n_parameters=p,
        bic=bic,
        aic=aic,
        icl=icl,
        converged=bool(gm.converged_),
        n_iter=int(gm.n_iter_),
    )
    return row, gm


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    """One-hot rows; rows labelled -1 (noise rows, which a noise fit's start
    ignores) go to component 0 so that every row sums to 1."""
    resp = np.zeros((labels.shape[0], k))
    resp[np.arange(labels.shape[0]), np.maximum(labels, 0)] = 1.0
    return resp


def _partition(labels: np.ndarray, k: int) -> Inits:
    """A fit's start from a hard partition (mclust's ``me`` from ``hc``)."""
    return (None, None, None, Responsibilities(k, labels=labels, given=True))


def _log_map(gm: GaussianMixture, X: np.ndarray) -> float:
    """``sum_i log max_k z_ik`` under the fitted parameters (ICL's entropy
    term), from the E-step kernel's log-densities: ``predict_proba``'s
    numbers (to ~1e-14) without validating X again for every cell.  Rows
    with missing values (``nan_policy="marginalize"``) take
    ``predict_proba``, which uses each row's observed coordinates."""
    if gm._has_noise() or (gm._marginalize() and np.isnan(X).any()):
        return float(np.log(gm.predict_proba(X).max(axis=1)).sum())
    params = gm._fitted_params()
    lp = weighted_log_prob(X, gm._model(), params, params.centre())
    top = lp.max(axis=1)
    if not np.all(np.isfinite(top)):
        return float(np.log(gm.predict_proba(X).max(axis=1)).sum())
    return -float(np.log(np.exp(lp - top[:, None]).sum(axis=1)).sum())


class _Deadline:
    """A fit callback (``GaussianMixture(callback=...)``) that stops the fit
    once ``seconds`` have passed since the object was made (one per cell,
    shared by the cell's fits)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.start = time.perf_counter()

    def __call__(self, progress: Any) -> None:
        elapsed = time.perf_counter() - self.start
        if elapsed > self.seconds:
            raise FitError(
                f"stopped after {elapsed:.1f} s at iteration {progress.n_iter} "
                f"(time_limit={self.seconds:g} s)"
            )


def _check_conditioning(gm: GaussianMixture, scale: float = 1.0) -> None:
    """Reject fits whose covariances are numerically singular (mclust: NA).

    The test is ``min(diag L) / (scale + max(diag L)) <= sqrt(eps)`` with
    ``L`` the covariance's Cholesky factor and ``scale`` the largest standard
    deviation of the data's columns: mclust's test (which adds 1, the scale
    of standardised data) in the data's own units, so that the same data in
    other units (iris in metres or in nanometres) gives the same verdict.
    """
    k, d = gm.means_.shape
    dense = gm._model().dense(np.asarray(gm.covariances_), k, d)
    for j, rcond in enumerate(reciprocal_condition(dense, scale)):
        if rcond <= SINGULAR_RCOND:
            raise GMMError(
                f"the covariance of component {j} is numerically singular "
                "(reciprocal condition of its Cholesky factor <= sqrt(eps)); "
                "mclust reports NA for this fit"
            )
