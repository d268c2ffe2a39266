"""The :class:`BayesianGaussianMixture` estimator: variational Bayes on the
EM engine's statistics (see :mod:`gmmkit._variational` for the model)."""

from __future__ import annotations

import logging
import numbers
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _kernels
from ._engine import EMResult, drive
from ._errors import DataError, InvalidParameterError
from ._fit import FitOptions, _progress_hook, best_run
from ._init import initial_resp, sampled_start, stats_from_resp
from ._io import save as _save
from ._online import OnlineState, updates_made
from ._params import check_common, check_steps
from ._stats import Params, Responsibilities, SuffStats, resp_stats
from ._validation import (
    check_array_param,
    check_choice,
    check_int,
    check_sample_weight,
    check_X,
)
from ._variational import (
    VB_COVARIANCE_TYPES,
    WEIGHT_PRIOR_TYPES,
    Posterior,
    VBPrior,
    elbo,
    estep_params,
    expected_weights,
    m_step,
    predictive_log_density,
    stats_from_posterior,
    svi_step,
    vb_steps,
    weight_concentration,
)
from .covariance import CovarianceModel, get_model
from .covariance._linalg import is_symmetric_pd
from .mixture import (
    GaussianMixture,
    _ensure_visible,
    _stream_source,
    check_rows,
    check_warm_start,
    fit_source,
    warn_if_not_converged,
    weighted_mean,
)
from .sources import SAMPLED_INIT_THRESHOLD, ArraySource, DataSource, auto_chunk_size

logger = logging.getLogger("gmmkit")

_OWNER = "BayesianGaussianMixture"

#: Expected weight above which a component counts in ``n_effective_components_``
#: (and is kept by :meth:`BayesianGaussianMixture.prune`).
EFFECTIVE_WEIGHT = 1e-3


class BayesianGaussianMixture(DensityMixin, BaseEstimator):
    """Variational Bayesian Gaussian mixture (scikit-learn's model, faster).

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture`:
    the same parameters, attributes and fit from the same ``random_state``
    (the variational E-step runs through gmmkit's compiled kernels, the
    M-step on its additive statistics), plus sample weights, chunked and
    streamed data (memory-mapped, Parquet, CSV, callables of chunks, Dask
    arrays) and float32 passes.

    Parameters
    ----------
    n_components : int, default=1
        Number of components (an upper bound: the prior can leave some
        with practically no weight).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Stop when the bound (``lower_bound_``, a total over rows, as in
        scikit-learn) changed by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of the responsibilities' covariances.
    max_iter : int, default=100
    n_init : int, default=1
        Initialisations; the one with the highest bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hc"}
        How the starting responsibilities are drawn (scikit-learn's, consuming
        ``random_state`` as scikit-learn does; ``"hc"`` is gmmkit's
        hierarchical start).  In-memory arrays up to
        :data:`gmmkit.sources.SAMPLED_INIT_THRESHOLD` rows start exactly as
        scikit-learn does; streamed data and longer arrays start from the
        maximum-likelihood start of a sample (as ``GaussianMixture``), whose
        responsibilities over all rows give the first variational M-step.
    weight_concentration_prior_type : {"dirichlet_process", \
"dirichlet_distribution"}, default="dirichlet_process"
    weight_concentration_prior : float or None, default=None
        ``alpha_0`` (> 0); None: ``1 / n_components``.
    mean_precision_prior : float or None, default=None
        ``beta_0`` (> 0); None: 1.
    mean_prior : array-like of shape (n_features,) or None, default=None
        ``m_0``; None: the (weighted) mean of X.
    degrees_of_freedom_prior : float or None, default=None
        ``nu_0`` (> n_features - 1); None: n_features.
    covariance_prior : float, array-like or None, default=None
        ``Psi_0``: (n_features, n_features) for full and tied, (n_features,)
        for diag, a float for spherical; None: the (weighted, unbiased)
        covariance of X, its diagonal, or the mean of that diagonal.
    random_state : int, RandomState or None, default=None
    warm_start : bool, default=False
        Continue from the fitted posterior on the next ``fit``.
    verbose : int, default=0
    verbose_interval : int, default=10
    resp_init : array-like of shape (n_samples, n_components) or None
        Starting responsibilities (rows sum to 1): the first variational
        M-step is computed from them, for any data source (so a streamed
        fit can start exactly where an in-memory one does).
    chunk_size : int or None, default=None
        Rows per chunk of every pass; None: about 16 MiB of work arrays.
    dtype : {"auto", "float64"}, default="auto"
        As :class:`gmmkit.GaussianMixture`: float32 data is passed over in
        float32 (statistics summed in float64).  The bound is a total over
        the rows, so its float32 rounding grows with n_samples (~1e-7 of
        ``|lower_bound_|``); use ``dtype="float64"`` with a tight ``tol``.
    callback : callable or None, default=None
        Called after every iteration with a :class:`gmmkit.FitProgress`
        (``lower_bound`` is the bound).
    step_decay : float, default=0.6
        ``kappa`` of the step sizes ``rho_t = (t + step_offset) ** -kappa``
        of :meth:`partial_fit` (as ``GaussianMixture``'s online EM); in
        (0.5, 1].
    step_offset : float, default=2.0
        ``tau`` of those step sizes (>= 0): larger values damp the first
        updates.
    n_samples_total : float or None, default=None
        :meth:`partial_fit`: the size ``N`` (total sample weight) of the data
        set the batches are drawn from; each batch's statistics count ``N /
        b`` times (``b`` its weight), as in stochastic variational inference.
        None: the weight seen so far by ``partial_fit`` (a stream whose
        posterior grows with it; set ``N`` when passing over a fixed data set
        more than once).

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        The posterior's expected weights, the means ``m_k`` and the
        covariances ``Sigma_k`` (Wishart scale over degrees of freedom) as in
        scikit-learn.
    weight_concentration_ : ndarray (n_components,) or tuple of two
        Dirichlet parameters, or the stick-breaking Beta parameters.
    mean_precision_ : ndarray of shape (n_components,)
    degrees_of_freedom_ : ndarray of shape (n_components,) (float for tied)
    weight_concentration_prior_, mean_precision_prior_, mean_prior_,
    degrees_of_freedom_prior_, covariance_prior_
        The prior with every default resolved.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        scikit-learn's bound of the last iteration (terms constant during a
        fit left out), of scikit-learn's type: ``numpy.float64``, and for
        ``"tied"`` an array of shape (1,).
    lower_bounds_ : list of float
        The bound of each iteration (same types).  After :meth:`partial_fit`,
        the estimates it made since the last ``fit`` (see there).
    elbo_ : float
        The evidence lower bound with every constant (after
        :meth:`partial_fit`, its estimate from the last batch).
    n_effective_components_ : int
        Components whose expected weight is above :data:`EFFECTIVE_WEIGHT`.
    online_state_ : gmmkit._online.OnlineState
        After :meth:`partial_fit`: the running statistics per unit weight,
        the updates made and the weight seen (saved in model files).
    n_features_in_ : int
    feature_names_in_ : ndarray
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weight_concentration_prior_type: str = "dirichlet_process",
        weight_concentration_prior: float | None = None,
        mean_precision_prior: float | None = None,
        mean_prior: Any = None,
        degrees_of_freedom_prior: float | None = None,
        covariance_prior: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        resp_init: Any = None,
        chunk_size: int | None = None,
        dtype: str = "auto",
        callback: Any = None,
        step_decay: float = 0.6,
        step_offset: float = 2.0,
        n_samples_total: float | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.resp_init = resp_init
        self.chunk_size = chunk_size
        self.dtype = dtype
        self.callback = callback
        self.step_decay = step_decay
        self.step_offset = step_offset
        self.n_samples_total = n_samples_total

    # ------------------------------------------------------------ validation
    def _check_params(self) -> CovarianceModel:
        """Validate the constructor's parameters (scikit-learn's messages)."""
        check_int(_OWNER, "n_components", self.n_components, 1)
        check_choice(
            _OWNER, "covariance_type", self.covariance_type, VB_COVARIANCE_TYPES
        )
        check_common(_OWNER, self)
        check_choice(
            _OWNER,
            "weight_concentration_prior_type",
            self.weight_concentration_prior_type,
            WEIGHT_PRIOR_TYPES,
        )
        check_steps(_OWNER, self)
        for name in (
            "weight_concentration_prior",
            "mean_precision_prior",
            "degrees_of_freedom_prior",
            "n_samples_total",
        ):
            _check_positive_or_none(name, getattr(self, name))
        return get_model(self.covariance_type)

    # --------------------------------------------------------------------- fit
    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> BayesianGaussianMixture:
        """Fit the variational posterior.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a streamed source
            (memory-mapped array, :class:`gmmkit.DataSource`, callable of
            chunks, Dask array).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights for in-memory X: a row of weight ``w`` counts
            as ``w`` rows (integer weights give the fit of the repeated rows,
            the priors' defaults included), 0 leaves it out.

        Returns
        -------
        self
        """
        with _kernels.fit_blas_limits():
            self._fit(X, sample_weight, want_labels=False)
        return self

    # -- scikit-learn's private hooks, which its own test suite calls -------------
    def _check_parameters(self, X: Any) -> None:
        """scikit-learn's private parameter check (its suite calls it before
        :meth:`_initialize_parameters`): the constructor's parameters."""
        self._check_params()

    def _initialize_parameters(self, X: Any, random_state: Any) -> None:
        """scikit-learn's private start: the posterior after the start's
        variational M-step from ``init_params`` with ``random_state``, no
        iteration (what ``fit`` with ``max_iter=0`` keeps)."""
        saved = self.max_iter, self.random_state
        self.max_iter, self.random_state = 0, random_state
        try:
            self._fit(X, None, want_labels=False)
        finally:
            self.max_iter, self.random_state = saved

    def fit_predict(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> np.ndarray:
        """Fit, then the most probable component of each row (as ``predict``)."""
        with _kernels.fit_blas_limits():
            labels = self._fit(X, sample_weight, want_labels=True)
        assert labels is not None
        return labels

    def _fit(self, X: Any, sample_weight: Any, want_labels: bool) -> np.ndarray | None:
        model = self._check_params()
        continuing = bool(self.warm_start) and hasattr(self, "converged_")
        if continuing:
            check_warm_start(self)
        self.__dict__.pop("online_state_", None)
        source = self._source(X, sample_weight, model)
        n_samples, n_features = source.n_samples, source.n_features
        check_rows(self, source, continuing)
        if n_samples < 2:
            raise DataError(
                f"{_OWNER} needs at least 2 rows (the default priors use the "
                f"data's covariance); got {n_samples}."
            )
        resp = self._check_resp_init(n_samples)
        prior = self._resolve_prior(model, source, n_features)
        if self.verbose:
            _ensure_visible()
        rng = check_random_state(self.random_state)
        em_source = source.for_em() if self.dtype == "auto" else source
        k, reg = int(self.n_components), float(self.reg_covar)
        settings = (k, self.init_params, reg, float(self.tol), int(self.max_iter), 1)
        hook = _progress_hook(
            FitOptions(
                *settings,
                verbose=int(self.verbose),
                verbose_interval=int(self.verbose_interval),
                callback=self.callback,
            )
        )

        def run(init: int) -> EMResult:
            if continuing:
                start, bound = self._posterior(), _bound_value(self.lower_bound_)
            else:
                start, bound = self._start(source, model, prior, resp, rng), -np.inf
            return drive(
                vb_steps(em_source, model, start, float(self.reg_covar), prior),
                start,
                tol=float(self.tol),
                max_iter=int(self.max_iter),
                lower_bound=bound,
                callback=hook,
                init=init,
            )

        best = best_run(1 if continuing else int(self.n_init), run, int(self.verbose))
        warn_if_not_converged(best.converged, self.max_iter)
        post = best.params
        assert isinstance(post, Posterior)
        self._store_fitted(model, post)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        tied = model.sklearn_name == "tied"
        self.lower_bound_ = sklearn_bound_type(best.lower_bound, tied)
        self.lower_bounds_ = [sklearn_bound_type(b, tied) for b in best.lower_bounds]
        self.n_samples_fit_ = n_samples
        # the full bound of the fitted q, with q(Z) its own E-step: one pass
        params = self._estep_params()
        final = em_source.estep(model, params)
        self.elbo_ = elbo(model, post, prior, params, final)
        self.n_effective_components_ = int(np.sum(post.weights > EFFECTIVE_WEIGHT))
        if not want_labels:
            return None
        _, labels = source.final_pass(model, params, True)
        return labels

    def partial_fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> BayesianGaussianMixture:
        """Update the posterior from one batch of rows (stochastic
        variational inference, Hoffman et al. 2013, JMLR 14).

        The first call on an unfitted model resolves the prior's defaults
        (``mean_prior``, ``covariance_prior``) from its batch, starts as
        ``fit`` does (``init_params``, ``random_state``) and takes one
        variational step on the batch: the same as ``fit`` with
        ``max_iter=1`` on it.  Each later call takes the batch's variational
        E-step under the current posterior and moves the posterior's natural
        parameters (the prior's plus additive statistics: Dirichlet or
        stick-breaking Beta counts, Normal-Wishart moments) a step ``rho_t =
        (t + step_offset) ** -step_decay`` (``t``: updates so far) towards
        those of the batch's statistics counted ``N / b`` times (``b`` the
        batch's weight, ``N`` = ``n_samples_total`` or the weight seen so
        far): running statistics ``S <- (1 - rho_t) S + rho_t s_b / b``
        (per unit weight, ``online_state_``) and the variational M-step of
        ``N S``.  The prior is the fitted one (``*_prior_``) throughout.

        A model fitted by ``fit`` (or loaded from a file) is continued: its
        statistics are read back from its posterior (the M-step inverted,
        :func:`gmmkit._variational.stats_from_posterior`), and its rows
        count as ``ceil(n_samples_fit_ / b) - 1`` updates already made, as
        in :meth:`GaussianMixture.partial_fit`.

        ``lower_bound_`` and ``elbo_`` become an estimate of the evidence
        lower bound (every constant, as ``elbo_``) of the posterior *before*
        this update on ``N`` rows like the batch's (unbiased for the data's
        terms when the batch is drawn uniformly); ``lower_bounds_`` collects
        them; ``converged_`` is False; ``n_iter_`` counts the updates.  For
        the trade-off see :mod:`gmmkit._online`; the batch is an in-memory
        array.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch,), default=None

        Returns
        -------
        self
        """
        with _kernels.fit_blas_limits():
            self._partial_fit(X, sample_weight)
        return self

    def _partial_fit(self, X: Any, sample_weight: Any) -> None:
        model = self._check_params()
        fitted = hasattr(self, "means_")
        if fitted:
            check_warm_start(self)
            if self._weight_type() != self.weight_concentration_prior_type:
                raise InvalidParameterError(
                    "partial_fit continues the fitted posterior, whose weights "
                    f"have a {self._weight_type()!r} prior; now "
                    "weight_concentration_prior_type="
                    f"{self.weight_concentration_prior_type!r}. Set it back, or "
                    "fit afresh."
                )
        X = check_X(self, X, reset=not fitted)
        n_rows, n_features = X.shape
        sw = check_sample_weight(sample_weight, n_rows)
        weight = float(n_rows if sw is None else sw.sum())
        total = self.n_samples_total
        if total is not None and total < weight:
            raise InvalidParameterError(
                f"n_samples_total={total!r} is the size (total weight) of the data "
                f"set the batches are drawn from, but this batch alone weighs "
                f"{weight:g}. Pass the data set's size, or None for the weight "
                "seen so far."
            )
        k, reg = int(self.n_components), float(self.reg_covar)
        chunk = self.chunk_size or auto_chunk_size(k, n_features, model.moments)
        batch = ArraySource(X, sw, chunk)
        state = getattr(self, "online_state_", None)
        if fitted:
            prior, post = self._vb_prior(), self._posterior()
            if state is None:  # fitted by fit (or loaded): continue it
                rows = int(getattr(self, "n_samples_fit_", None) or n_rows)
                state = OnlineState.from_stats(
                    stats_from_posterior(model, post, prior, reg, rows)
                )
                state.n_updates = updates_made(rows, n_rows)
                self.lower_bounds_ = []
        else:
            positive = n_rows if sw is None else int(np.count_nonzero(sw))
            if positive < max(k, 2):
                raise DataError(
                    "the first batch given to partial_fit starts "
                    f"n_components={k} components and the prior's defaults, and "
                    f"needs at least {max(k, 2)} rows (with positive weight); got "
                    f"{positive}. Pass a larger first batch."
                )
            prior = self._resolve_prior(model, batch, n_features)
            rng = check_random_state(self.random_state)
            post = self._start(batch, model, prior, self._check_resp_init(n_rows), rng)
            self.lower_bounds_ = []
        post, state, bound = svi_step(
            batch.for_em() if self.dtype == "auto" else batch,
            model,
            post,
            prior,
            reg,
            state,
            float(self.step_decay),
            float(self.step_offset),
            total,
        )
        self.online_state_ = state
        self._store_fitted(model, post)
        self.converged_ = False
        self.n_iter_ = state.n_updates + 1
        tied = model.sklearn_name == "tied"
        self.lower_bound_ = sklearn_bound_type(bound, tied)
        self.lower_bounds_ = [*self.lower_bounds_, self.lower_bound_]
        self.elbo_ = float(bound)
        self.n_samples_fit_ = int(state.rows_seen)
        self.n_effective_components_ = int(np.sum(post.weights > EFFECTIVE_WEIGHT))

    def _source(self, X: Any, sample_weight: Any, model: CovarianceModel) -> DataSource:
        """The data source of a fit (as ``GaussianMixture._source``, without
        missing values).  Sets ``n_features_in_`` and ``feature_names_in_``."""
        return fit_source(self, X, sample_weight, model, self.chunk_size)

    def _check_resp_init(self, n_samples: int) -> np.ndarray | None:
        if self.resp_init is None:
            return None
        k = int(self.n_components)
        resp = check_array_param(
            "resp_init", self.resp_init, (n_samples, k), "n_samples x n_components"
        )
        if (resp < 0).any() or not np.allclose(resp.sum(axis=1), 1.0, atol=1e-6):
            row = int(
                np.argmax(
                    (resp < 0).any(axis=1)
                    | ~np.isclose(resp.sum(axis=1), 1.0, atol=1e-6)
                )
            )
            raise InvalidParameterError(
                "resp_init must hold non-negative responsibilities whose rows sum "
                f"to 1; row {row} is {resp[row]!r}. Normalise each row."
            )
        return resp

    def _start(
        self,
        source: DataSource,
        model: CovarianceModel,
        prior: VBPrior,
        resp: np.ndarray | None,
        rng: np.random.RandomState,
    ) -> Posterior:
        """The first variational M-step, from starting responsibilities."""
        k = int(self.n_components)
        reg = float(self.reg_covar)
        stats: SuffStats
        if resp is not None:
            given = Responsibilities(
                k, of=lambda start, stop: resp[start:stop], given=True
            )
            stats = stats_from_resp(source, given, k, model.moments)
        elif isinstance(source, ArraySource) and (
            source.n_samples <= SAMPLED_INIT_THRESHOLD
        ):
            resp_of = initial_resp(self.init_params, source, k, rng)
            stats = stats_from_resp(source, resp_of, k, model.moments)
        else:  # the responsibilities of a maximum-likelihood start from a sample
            params = sampled_start(self.init_params, source, model, k, reg, rng)
            stats = source.estep(model, params)
        return m_step(model, stats, reg, prior)

    def _resolve_prior(
        self, model: CovarianceModel, source: DataSource, d: int
    ) -> VBPrior:
        """The prior with every default filled in; sets the ``*_prior_``
        attributes.  Defaults from X's (weighted) mean and covariance."""
        k = int(self.n_components)
        alpha = (
            1.0 / k
            if self.weight_concentration_prior is None
            else float(self.weight_concentration_prior)
        )
        beta = (
            1.0
            if self.mean_precision_prior is None
            else float(self.mean_precision_prior)
        )
        if self.degrees_of_freedom_prior is None:
            dof = float(d)
        elif self.degrees_of_freedom_prior > d - 1.0:
            dof = float(self.degrees_of_freedom_prior)
        else:
            raise InvalidParameterError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{d - 1}, but got {self.degrees_of_freedom_prior:.3f}. "
                f"degrees_of_freedom_prior must exceed n_features - 1 = {d - 1} "
                "(a Wishart prior needs it); use None for n_features."
            )
        moments = None
        if self.mean_prior is None or self.covariance_prior is None:
            moments = _data_moments(source)
        if self.mean_prior is None:
            assert moments is not None
            mean = moments[0]
        else:
            mean = _prior_array("mean_prior", "means", self.mean_prior, (d,))
        name = str(model.sklearn_name)
        if self.covariance_prior is None:
            assert moments is not None
            cov = moments[1]
            covariance: Any = {
                "full": cov,
                "tied": cov,
                "diag": np.diagonal(cov).copy(),
                "spherical": float(np.diagonal(cov).mean()),
            }[name]
        else:
            covariance = _check_covariance_prior(self.covariance_prior, name, d)
        self.weight_concentration_prior_ = alpha
        self.mean_precision_prior_ = beta
        self.mean_prior_ = mean
        self.degrees_of_freedom_prior_ = dof
        self.covariance_prior_ = covariance
        return VBPrior(
            self.weight_concentration_prior_type,
            alpha,
            beta,
            np.asarray(mean, dtype=np.float64),
            dof,
            np.asarray(covariance, dtype=np.float64),
        )

    # ------------------------------------------------------- fitted values
    def _store_fitted(self, model: CovarianceModel, post: Posterior) -> None:
        self.weights_ = post.weights
        self.means_ = post.means
        self.covariances_ = post.covariances
        self.precisions_cholesky_ = post.precisions_cholesky
        self.precisions_ = model.precisions_from_cholesky(post.precisions_cholesky)
        conc = post.weight_concentration
        self.weight_concentration_ = (conc[0], conc[1]) if conc.ndim == 2 else conc
        self.mean_precision_ = post.mean_precision
        self.degrees_of_freedom_ = (
            np.float64(post.dof) if np.ndim(post.dof) == 0 else post.dof
        )
        self._fitted_covariance_type = self.covariance_type
        self._fitted_weight_type = self.weight_concentration_prior_type

    def _posterior(self) -> Posterior:
        """The fitted attributes as the variational posterior."""
        conc = self.weight_concentration_
        return Posterior(
            np.asarray(self.weights_),
            np.asarray(self.means_),
            np.asarray(self.covariances_),
            np.asarray(self.precisions_cholesky_),
            np.asarray(np.vstack(conc) if isinstance(conc, tuple) else conc),
            np.asarray(self.mean_precision_),
            np.asarray(self.degrees_of_freedom_),
        )

    def _model(self) -> CovarianceModel:
        return get_model(self._model_name())

    def _estep_params(self) -> Params:
        """The E-step's parameters (``E[log pi_k]`` and the variational
        corrections folded into the weights, see
        :func:`gmmkit._variational.estep_params`)."""
        return estep_params(self._model(), self._posterior(), self._weight_type())

    def _scorer(self, params: Params) -> GaussianMixture:
        """A GaussianMixture holding ``params``: its chunked, streamed and Dask
        scoring serves this model (X is validated here first)."""
        gm = GaussianMixture(
            int(self.means_.shape[0]),
            covariance_type=str(self._model().sklearn_name),
            chunk_size=self.chunk_size,
        )
        gm.weights_ = params.weights
        gm.means_ = params.means
        gm.covariances_ = params.covariances
        gm.precisions_cholesky_ = params.precisions_cholesky
        gm.n_features_in_ = self.n_features_in_
        return gm

    def _checked(self, X: Any) -> Any:
        """X validated against the fit (in-memory arrays), or the stream as is."""
        check_is_fitted(self)
        if _stream_source(X) is not None:
            return X
        return check_X(self, X, reset=False)

    def _vb_prior(self) -> VBPrior:
        """The resolved prior, from the fitted ``*_prior_`` attributes."""
        return VBPrior(
            self._weight_type(),
            float(self.weight_concentration_prior_),
            float(self.mean_precision_prior_),
            np.asarray(self.mean_prior_, dtype=np.float64),
            float(self.degrees_of_freedom_prior_),
            np.asarray(self.covariance_prior_, dtype=np.float64),
        )

    def _weight_type(self) -> str:
        return str(
            getattr(self, "_fitted_weight_type", self.weight_concentration_prior_type)
        )

    # ------------------------------------------------------------------ prune
    def prune(self) -> BayesianGaussianMixture:
        """A fitted copy without the components that hold practically no weight.

        Keeps the components counted by ``n_effective_components_`` (expected
        weight above :data:`EFFECTIVE_WEIGHT`, 1e-3).  Each kept component's
        posterior (``means_``, ``covariances_``, ``precisions_cholesky_``,
        ``mean_precision_``, ``degrees_of_freedom_``) is unchanged; the
        weights' posterior is the variational update from the kept
        components' counts alone (``N_k``, recovered from
        ``weight_concentration_``): for ``"dirichlet_distribution"`` the kept
        ``alpha_k`` themselves (the Dirichlet of the renormalised weights),
        so ``weights_`` are the kept weights renormalised; for the Dirichlet
        process the sticks ``(1 + N_k, alpha_0 + sum of the later kept N_j)``,
        whose expected weights are the renormalised ones up to the dropped
        mass.  The prior, ``n_iter_``, ``converged_`` and the bounds of the
        fit are kept; ``elbo_`` is NaN (it needs a pass over the data:
        refit with ``warm_start=True`` to get it); ``n_components`` is the
        number kept.

        With ``delta`` the dropped expected weight: for the Dirichlet
        distribution the responsibilities are the original's kept columns
        renormalised, the predictive density is ``(p(x) - delta
        p_dropped(x)) / (1 - delta)`` (so ``log p_pruned(x) - log p(x) <=
        -log(1 - delta)``), and ``score_samples`` changes by
        ``digamma(A) - digamma(A_kept) + log(1 - r_dropped(x))``; for both
        weight priors the mean scores over data differ by about ``delta``.

        Returns
        -------
        pruned : BayesianGaussianMixture
        """
        check_is_fitted(self)
        model, post, prior = self._model(), self._posterior(), self._vb_prior()
        keep = np.flatnonzero(post.weights > EFFECTIVE_WEIGHT)
        if keep.size == 0:  # cannot happen (weights sum to 1, K < 1000)
            keep = np.array([int(np.argmax(post.weights))])
        k, d = post.means.shape
        conc = post.weight_concentration
        counts = (
            conc[0] - 1.0
            if prior.weight_type == "dirichlet_process"
            else conc - prior.weight_concentration
        )
        new_conc = weight_concentration(prior, np.maximum(counts[keep], 0.0))
        if prior.weight_type == "dirichlet_distribution":
            new_conc = conc[keep]  # exactly, not through the subtraction
        per_component = model.native_shape(k, d) != model.native_shape(k + 1, d)

        def take(arr: np.ndarray) -> np.ndarray:
            return arr[keep].copy() if per_component else arr.copy()

        pruned_post = Posterior(
            expected_weights(prior.weight_type, new_conc),
            post.means[keep].copy(),
            take(post.covariances),
            take(post.precisions_cholesky),
            new_conc,
            post.mean_precision[keep].copy(),
            post.dof[keep].copy() if np.ndim(post.dof) else post.dof.copy(),
        )
        params = self.get_params(deep=False)
        params.update(n_components=int(keep.size), resp_init=None)
        new = type(self)(**params)
        for name, value in vars(self).items():
            if name.endswith("_") and not name.startswith("_"):
                setattr(new, name, value)
        new._store_fitted(model, pruned_post)
        new._fitted_covariance_type = self._model_name()
        new._fitted_weight_type = prior.weight_type
        new.lower_bounds_ = list(self.lower_bounds_)
        new.elbo_ = float("nan")
        new.n_effective_components_ = int(
            np.sum(pruned_post.weights > EFFECTIVE_WEIGHT)
        )
        return new

    def _model_name(self) -> str:
        return str(getattr(self, "_fitted_covariance_type", self.covariance_type))

    # ------------------------------------------------------------------ files
    def save(self, path: Any) -> Any:
        """Write the fitted model to ``path`` (read it back with ``gmmkit.load``).

        The model file format of :meth:`GaussianMixture.save` (see
        :mod:`gmmkit._io`): plain arrays and JSON, never pickle, written
        atomically; the posterior, the resolved prior and the parameters
        round-trip bit for bit.

        Returns
        -------
        path : pathlib.Path
        """
        check_is_fitted(self)
        return _save(self, path, str(self._model().sklearn_name))

    def n_parameters(self) -> int:
        """Free parameters of the plug-in mixture (``weights_``, ``means_``,
        ``covariances_``), counted as :meth:`GaussianMixture.n_parameters`
        does; for comparing variational fits use ``elbo_``."""
        check_is_fitted(self)
        k, d = self.means_.shape
        return int(self._model().n_cov_parameters(k, d) + k * d + k - 1)

    # ---------------------------------------------------------------- predict
    def score_samples(self, X: Any, predictive: bool = False) -> np.ndarray:
        """Log-density of each row.

        ``predictive=False`` (scikit-learn's ``score_samples``): ``log sum_k
        exp(E_q[log pi_k + log N(x | mu_k, Lambda_k)])``, which is not a
        normalised density.  ``predictive=True``: the posterior predictive
        density ``log p(x | data)``, a mixture of Student-t distributions
        (see :func:`gmmkit._variational.predictive_log_density`; for the
        Dirichlet process the weights are the normalised expected weights
        ``weights_``); in-memory X only, computed chunk by chunk.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        X = self._checked(X)
        if not predictive:
            return self._scorer(self._estep_params()).score_samples(X)
        if _stream_source(X) is not None:
            raise InvalidParameterError(
                "score_samples(predictive=True) takes in-memory arrays; got a "
                f"streamed X ({type(X).__name__}). Read it into an array (or in "
                "parts) first."
            )
        model, post = self._model(), self._posterior()
        step = self.chunk_size or 65536
        return np.concatenate(
            [
                predictive_log_density(model, post, X[i : i + step])
                for i in range(0, X.shape[0], step)
            ]
        )

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean (weighted) ``score_samples`` of X."""
        return weighted_mean(self.score_samples(X), sample_weight)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Responsibilities ``q(z = k)`` of each row, shape (n_samples, K)."""
        X = self._checked(X)
        return self._scorer(self._estep_params()).predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """The component of largest responsibility of each row."""
        X = self._checked(X)
        return self._scorer(self._estep_params()).predict(X)

    def sample(
        self, n_samples: int = 1, random_state: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Samples from the mixture of the expected weights, means and
        covariances (``weights_``, ``means_``, ``covariances_``)."""
        check_is_fitted(self)
        plug_in = Params(
            np.asarray(self.weights_),
            self.means_,
            self.covariances_,
            self.precisions_cholesky_,
        )
        gm = self._scorer(plug_in)
        gm.random_state = self.random_state
        return gm.sample(n_samples, random_state)


def sklearn_bound_type(value: Any, tied: bool) -> Any:
    """A bound as scikit-learn's ``lower_bound_`` holds it: ``numpy.float64``,
    or for ``"tied"`` an array of shape (1,) (its tied bound is one)."""
    value = np.float64(np.ravel(value)[0])
    return np.array([value]) if tied else value


def _bound_value(value: Any) -> float:
    return float(np.ravel(value)[0])


def _data_moments(source: DataSource) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and unbiased covariance of the rows, one pass.

    The weights count rows: the covariance is ``scatter / (sum w - 1)``,
    scikit-learn's ``np.cov`` of the repeated rows for integer weights.
    """
    ones = Responsibilities(1, of=lambda start, stop: np.ones((stop - start, 1)))
    _, X0, w0 = next(iter(source))
    centre = (w0 @ X0) / w0.sum() if w0.sum() > 0 else X0.mean(axis=0)

    def about_centre(X: np.ndarray, w: np.ndarray) -> SuffStats:
        return resp_stats([(0, X, w)], ones, centre[None, :], "full")

    stats = source.map_reduce_stats(about_centre)
    n = float(stats.n[0])
    if not n > 1.0:
        raise DataError(
            f"The rows' weights sum to {n:g}; the default covariance_prior (the "
            "data's unbiased covariance) needs a total weight above 1. Pass "
            "covariance_prior and mean_prior, or use weights that count rows."
        )
    delta = stats.s1[0] / n
    scatter = stats.s2[0] - n * np.outer(delta, delta)
    return centre + delta, 0.5 * (scatter + scatter.T) / (n - 1.0)


def _check_positive_or_none(name: str, value: Any) -> None:
    if value is None:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or not value > 0:
        raise InvalidParameterError(
            f"The {name!r} parameter of {_OWNER} must be None or a float in the "
            f"range (0.0, inf). Got {value!r} instead."
        )


def _prior_array(name: str, sk_name: str, value: Any, shape: tuple[int, ...]):
    """A prior array of the right shape (scikit-learn's sentence first)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name} must be a numeric array of shape {shape}; it could not be "
            f"converted ({exc})."
        ) from None
    if arr.shape != shape:
        raise InvalidParameterError(
            f"The parameter '{sk_name}' should have the shape of {shape}, but got "
            f"{arr.shape}. {name} must have shape {shape}."
        )
    return check_array_param(name, arr, shape, "the prior")


def _check_covariance_prior(value: Any, name: str, d: int) -> Any:
    """``covariance_prior`` for covariance type ``name`` (scikit-learn's checks)."""
    if name == "spherical":
        _check_positive_or_none("covariance_prior", value)
        return float(value)
    shape = (d, d) if name in ("full", "tied") else (d,)
    arr = _prior_array("covariance_prior", f"{name} covariance_prior", value, shape)
    if arr.ndim == 2 and not is_symmetric_pd(arr):
        raise InvalidParameterError(
            f"'{name} precision' should be symmetric, positive-definite. "
            "covariance_prior must be a symmetric positive-definite matrix."
        )
    if arr.ndim == 1 and (arr <= 0).any():
        raise InvalidParameterError(
            f"'{name} precision' should be positive. covariance_prior must be "
            f"positive; got {arr[arr <= 0][0]:g} at index "
            f"{int(np.argmax(arr <= 0))}."
        )
    return arr
