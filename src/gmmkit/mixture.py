"""The :class:`GaussianMixture` estimator: validation, a data source, the engine."""

from __future__ import annotations

import copy
import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _conditional, _kernels, _missing, _noise
from ._dask import DaskSource, lazy_scores
from ._errors import DataError, InvalidParameterError
from ._fit import FitOptions, Inits, fit_em, initial_params, online_update
from ._io import save as _save
from ._online import OnlineState
from ._params import check_inits, check_params
from ._prior import ConjugatePrior, ResolvedPrior, check_prior, resolve_prior
from ._stats import Params, information_criteria, score_chunks, score_rows
from ._summary import components_html
from ._validation import (
    check_array_param,
    check_choice,
    check_int,
    check_sample_weight,
    check_X,
)
from .covariance import CovarianceModel, get_model
from .sources import ArraySource, DataSource, as_stream, auto_chunk_size, mean_filled

#: Values of ``nan_policy``.
NAN_POLICIES = ("raise", "marginalize")

logger = logging.getLogger("gmmkit")


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by expectation-maximisation.

    ``p(x) = sum_k pi_k N(x | mu_k, Sigma_k)``.  A drop-in replacement for
    :class:`sklearn.mixture.GaussianMixture`: same parameters, attributes and
    results from the same start, plus sample weights, responsibilities as a
    start, chunked (bounded-memory) EM and the log-likelihood history.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : str, default="full"
        ``"full"`` (each component its own matrix, mclust ``VVV``), ``"tied"``
        (one shared matrix, ``EEE``), ``"diag"`` (own diagonal, ``VVI``) or
        ``"spherical"`` (own single variance, ``VII``); or any of mclust's
        models ``Sigma_k = lambda_k D_k A_k D_k^T`` (volume, shape,
        orientation; E = equal, V = variable, I = identity): ``"EII"``,
        ``"VII"``, ``"EEI"``, ``"VEI"``, ``"EVI"``, ``"VVI"``, ``"EEE"``,
        ``"VEE"``, ``"EVE"``, ``"VVE"``, ``"EEV"``, ``"VEV"``, ``"EVV"``,
        ``"VVV"``, and ``"E"`` / ``"V"`` for one-dimensional X.  Under an
        mclust name ``reg_covar`` is added as ``reg_covar * n_k`` to each
        scatter matrix, which keeps the model's constraints exact.
    tol : float, default=1e-3
        EM stops when the mean per-sample log-likelihood changed by less than
        ``tol`` between iterations.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance.
    max_iter : int, default=100
        Maximum number of EM iterations.  ``0`` keeps the starting parameters
        (with ``resp_init``: exactly one M-step from it).
    n_init : int, default=1
        Number of initialisations; the one with the best final bound is kept
        (the first of those within rounding of the best: see
        :data:`BOUND_TIE`).
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hc"}
        How starting responsibilities are chosen (ignored when ``resp_init`` is
        given or all three of weights/means/precisions ``_init`` are given).
        ``"hc"`` is R mclust's default start: model-based hierarchical
        clustering (VVV criterion, on mclust's SVD-transformed data; quantile
        classes for one feature), cut at ``n_components``; above 2000 rows
        it clusters a random subset of 2000 and EM extends it to every row.
        It gives the same partitions as mclust's ``hc``/``hclass``.
    weights_init : array-like of shape (n_components,), default=None
    means_init : array-like of shape (n_components, n_features), default=None
    precisions_init : array-like, default=None
        Shape as ``precisions_`` for the covariance type; under an mclust
        name (n_components, n_features, n_features) matrices that satisfy the
        model's constraints (e.g. equal determinants for ``"EVV"``).
    resp_init : array-like of shape (n_samples, n_components), default=None
        Starting responsibilities (rows sum to 1); the fit begins with an
        M-step from them, as mclust's ``me`` does.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Continue from the fitted parameters on the next call to ``fit``.
    batch_size : int or None, default=None
        ``None``: exact EM, every iteration reads all rows.  An int: ``fit``
        runs mini-batch (stepwise) EM, updating the parameters after every
        ``batch_size`` rows; ``max_iter`` then counts passes (epochs) over the
        data and ``tol`` applies to the epoch's mean log-likelihood.  On huge
        data it reaches a good fit in one or a few passes instead of tens,
        but the result carries noise of the order of the last step size and
        is not the exact maximum-likelihood fit that exact EM converges to.
    step_decay : float, default=0.6
        ``kappa`` of the step sizes ``eta_t = (t + step_offset) ** -kappa`` of
        stepwise EM (``partial_fit`` and ``batch_size``); in (0.5, 1].
    step_offset : float, default=2.0
        ``t0`` of the step sizes (>= 0): larger values damp the first updates.
    verbose : int, default=0
        1 logs each initialisation, 2 also every ``verbose_interval``
        iterations (to the ``"gmmkit"`` logger, shown on stderr).
    verbose_interval : int, default=10
    chunk_size : int or None, default=None
        Rows per chunk in every pass over the data; memory of a fit is
        O(chunk_size * n_components * n_features).  ``None`` picks a size with
        about 16 MiB of work arrays.
    convergence : {"sklearn", "mclust"}, default="sklearn"
        Stopping rule.  ``"sklearn"``: the mean per-sample log-likelihood
        changed by less than ``tol``.  ``"mclust"``: the total log-likelihood
        ``l`` changed by at most ``tol * (1 + |l|)``, R mclust's rule (use it
        with ``tol=1e-5``, mclust's default, to reproduce mclust's fits); the
        fitted parameters are then, as in mclust, those whose log-likelihood
        passed the test (no M-step after it), so
        ``log_likelihood_history_[-1] == log_likelihood_history_[-2]``.
    prior : None, "default", dict or :class:`gmmkit.ConjugatePrior`, default=None
        ``None``: maximum likelihood.  Otherwise MAP-EM with R mclust's
        conjugate prior (Fraley & Raftery 2007): ``"default"`` is mclust's
        ``priorControl()`` (shrinkage 0.01 towards the data mean, ``dof =
        n_features + 2``, scale from the data variance as mclust's
        ``defaultPrior``); a dict or ``ConjugatePrior(shrinkage=, mean=, dof=,
        scale=)`` sets hyperparameters (the ones left out take those
        defaults).  Available for E, V, EII, VII, EEI, VEI, EVI, VVI, EEE, EEV,
        VEV and VVV (full, tied, diag, spherical), the models mclust fits with
        a prior.  ``reg_covar`` is still added; use ``reg_covar=0`` to get
        mclust's numbers.  The log-likelihood, ``bic`` and ``aic`` stay those
        of the data, as mclust reports them.  Not with ``batch_size`` or
        ``partial_fit``.  See :mod:`gmmkit._prior`.
    dtype : {"auto", "float64"}, default="auto"
        Precision of the EM passes.  ``"auto"``: float32 arrays are read as
        they are and their densities, responsibilities and per-chunk moment
        sums computed in float32 (the statistics are summed across chunks,
        and the M-step done, in float64), which halves the memory traffic and
        doubles the SIMD width; the final log-likelihood is within ~1e-6
        relative of the float64 fit.  The per-iteration log-likelihood then
        carries rounding noise of ~1e-7 per row, so a ``tol`` much below
        1e-6 may never be met: use ``dtype="float64"`` for such tolerances.
        The final log-likelihood pass of ``fit`` is float32 too (its total
        agrees with a float64 pass to ~1e-7 relative); ``fit_predict``,
        ``predict``, ``score_samples`` and the other scoring methods are
        computed in float64.  ``"float64"``:
        every chunk is widened to float64 first.  Other input dtypes are
        always computed in float64.
    accelerate : {None, "squarem"}, default=None
        ``"squarem"``: SQUAREM extrapolation of EM (Varadhan & Roland 2008)
        with a monotonicity safeguard (the log-likelihood of the accepted
        points never decreases).  It reaches the same optimum in fewer
        passes where plain EM converges slowly (overlapping components,
        tight ``tol``); ``max_iter`` then counts passes over the data and
        ``lower_bounds_`` holds the accepted points.  For the models whose
        covariances may be extrapolated (full, tied, diag, spherical, EEI,
        EII) and without a ``prior``.
    callback : callable or None, default=None
        Called after every EM iteration with a :class:`gmmkit.FitProgress`
        (``init``, ``n_iter``, ``lower_bound``, ``change``): the public hook
        for progress bars and monitoring (the command line uses it).
        Exceptions it raises stop the fit.
    nan_policy : {"raise", "marginalize"}, default="raise"
        What NaN in X means.  ``"raise"``: an error naming the row and
        column.  ``"marginalize"``: a missing value (missing at random); EM
        then maximises the likelihood of the observed values exactly
        (Ghahramani & Jordan 1994): each row's responsibilities come from
        the density of its observed coordinates, and its missing ones enter
        the statistics through their conditional means and covariances given
        the observed ones (see :mod:`gmmkit._missing`), for every covariance
        model, with sample weights, priors, chunked, streamed and Dask data.
        The starts (``init_params``, ``resp_init``) and the default prior's
        data mean and scale are computed from the rows with each NaN
        replaced by its column's observed mean.  ``score_samples``,
        ``score``, ``bic``, ``aic``, ``icl``, ``predict`` and
        ``predict_proba`` use each row's observed coordinates, and
        ``log_likelihood_history_`` is the observed-data log-likelihood.  A
        row with no observed value is an error naming it.  Infinite values
        are errors under both policies.  See also :meth:`impute`.
    noise_init : array-like of bool or int, default=None
        Adds a uniform **noise component** (Banfield & Raftery 1993; mclust's
        ``initialization = list(noise = ...)``): ``p(x) = sum_k pi_k N(x |
        mu_k, Sigma_k) + pi_0 / V`` with ``V`` the hypervolume of the data's
        region, so that outliers go to the noise instead of distorting the
        Gaussian components.  A boolean mask over the rows of X (or row
        indices): the rows initially assigned to noise.  The Gaussian
        components start from ``init_params`` (or ``resp_init``) computed
        on the other rows (``"hc"``: hierarchical clustering of them, as
        mclust), and the fit begins with one M-step from these
        responsibilities.  Then ``noise_proportion_`` is ``pi_0``,
        ``weights_`` keeps K entries (``weights_.sum() + noise_proportion_
        == 1``), ``predict`` gives -1 for rows most probably noise,
        ``predict_proba`` has K + 1 columns (noise last), and
        ``n_parameters()`` counts 2 more (the noise proportion and the
        hypervolume, as mclust).  With ``convergence="mclust"``, ``tol=1e-5``,
        ``reg_covar=0`` and ``init_params="hc"`` it reproduces mclust's
        ``me``/``Mclust`` with noise.  In-memory X only; not with
        ``nan_policy="marginalize"``, ``batch_size``, ``accelerate``,
        ``partial_fit`` or ``weights_init``/``means_init``/``precisions_init``.
        See :mod:`gmmkit._noise`.
    hypervolume : float or None, default=None
        ``V`` of the noise component.  ``None``: mclust's ``hypvol(X)``, the
        smaller of the volumes of the box spanned by the columns' ranges and
        of the box spanned by the ranges of the principal-component scores
        (the range for one feature).  Ignored without ``noise_init``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        (n_components, n_features, n_features) for "full" and every mclust
        name (e.g. "VVI", "EEE"), (n_features, n_features) for "tied",
        (n_components, n_features) for "diag", (n_components,) for
        "spherical".
    precisions_ : ndarray, shape as ``covariances_``
    precisions_cholesky_ : ndarray, shape as ``covariances_``
        Upper-triangular ``P`` with ``P @ P.T`` the precision matrix.
    volumes_ : ndarray of shape (n_components,)
        Volume ``lambda_k = det(Sigma_k) ** (1 / n_features)`` of each
        component (mclust's ``scale``).
    shapes_ : ndarray of shape (n_components, n_features)
        Diagonal of the shape matrix ``A_k`` (product 1): in feature order
        for axis-aligned models (orientation ``I``), else decreasing along the
        orientation's columns.
    orientations_ : ndarray of shape (n_components, n_features, n_features)
        Orthogonal ``D_k`` (eigenvectors in columns, largest entry of each
        positive), with ``Sigma_k = volumes_[k] * D_k @ diag(shapes_[k]) @
        D_k.T``; the identity for axis-aligned models (there a read-only view
        of one ``(n_features, n_features)`` identity, not K copies), one
        common matrix for models with equal orientation (``EEE``, ``VEE``,
        ``EVE``, ``VVE``).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood seen by the last convergence check (scikit-learn's
        meaning: that of the parameters before the last M-step; ``-inf`` when
        ``max_iter=0``).
    lower_bounds_ : list of float
        ``lower_bound_`` of every iteration of the best initialisation.
    log_likelihood_history_ : ndarray of shape (n_iter_ + 1,)
        Total (weighted) log-likelihood of the starting parameters and after
        every iteration; the last entry is that of the fitted model.
    prior_ : ConjugatePrior or None
        The prior's hyperparameters with every default filled in (``None``
        without a prior).
    noise_proportion_ : float
        With ``noise_init``: the weight ``pi_0`` of the noise component.
    hypervolume_ : float
        With ``noise_init``: the hypervolume ``V`` (the noise density is
        ``1 / V``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names (e.g. a DataFrame).

    Notes
    -----
    A component whose responsibilities have all underflowed to zero (weighted
    count below ``1e-300`` of the total) during EM keeps its previous mean
    and covariance and the weight of its count (0 for a component started at
    weight 0, so it stays empty); it is not removed, so ``n_components`` and
    label numbers stay stable.  Any larger count, however small, is
    re-estimated, as in scikit-learn.  A
    covariance that stops being positive definite raises
    :class:`gmmkit.FitError` naming the component and the remedies.
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
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        resp_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        batch_size: int | None = None,
        step_decay: float = 0.6,
        step_offset: float = 2.0,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        convergence: str = "sklearn",
        prior: Any = None,
        dtype: str = "auto",
        accelerate: str | None = None,
        callback: Any = None,
        nan_policy: str = "raise",
        noise_init: Any = None,
        hypervolume: Any = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.resp_init = resp_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.batch_size = batch_size
        self.step_decay = step_decay
        self.step_offset = step_offset
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.convergence = convergence
        self.prior = prior
        self.dtype = dtype
        self.accelerate = accelerate
        self.callback = callback
        self.nan_policy = nan_policy
        self.noise_init = noise_init
        self.hypervolume = hypervolume

    def _check_params(self) -> CovarianceModel:
        """Validate the constructor's parameters; the covariance model."""
        model = check_params(self)
        check_choice(type(self).__name__, "nan_policy", self.nan_policy, NAN_POLICIES)
        return model

    def _marginalize(self) -> bool:
        """True when NaN entries are missing values (``nan_policy``)."""
        return getattr(self, "nan_policy", "raise") == "marginalize"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._marginalize()
        return tags

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixture:
        """Estimate the mixture's parameters with EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight counts a row that many
            times, a zero weight leaves it out.

        Returns
        -------
        self : GaussianMixture
        """
        self._fit(X, sample_weight, want_labels=False)
        return self

    def fit_predict(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> np.ndarray:
        """Fit, then return the component of each row (same as ``fit(X).predict(X)``).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        labels = self._fit(X, sample_weight, want_labels=True)
        assert labels is not None
        return labels

    def _fit(self, X: Any, sample_weight: Any, want_labels: bool) -> np.ndarray | None:
        model = self._check_params()
        if bool(self.warm_start) and hasattr(self, "converged_"):
            self._check_warm_start_compatible()
        if getattr(self, "noise_init", None) is not None and _stream_source(X):
            raise InvalidParameterError(
                "noise_init (a noise component) needs X as an in-memory array; "
                f"got a streamed X ({type(X).__name__}). Load the rows into an "
                "array, or fit without noise_init."
            )
        return self._fit_source(
            self._source(X, sample_weight, model), model, want_labels
        )

    def _fit_source(
        self,
        source: DataSource,
        model: CovarianceModel,
        want_labels: bool = False,
        inits: Inits | None = None,
    ) -> np.ndarray | None:
        """Fit on a source that :meth:`_source` made (or an equivalent
        one whose rows are already validated, as ``select_model`` makes once
        for its whole grid), from ``inits`` when given (else from the
        ``*_init`` parameters, validated)."""
        with _kernels.fit_blas_limits(source.n_samples, source.n_features):
            return self._fit_steps(source, model, want_labels, inits)

    def _fit_steps(
        self,
        source: DataSource,
        model: CovarianceModel,
        want_labels: bool,
        inits: Inits | None,
    ) -> np.ndarray | None:
        continuing = bool(self.warm_start) and hasattr(self, "converged_")
        n_samples, n_features = source.n_samples, source.n_features
        sw = source.sample_weight
        model.check_n_features(n_features)
        check_rows(self, source, continuing)
        if inits is None:
            inits = check_inits(self, model, n_samples, n_features, sw)
        self.__dict__.pop("online_state_", None)
        # missing values: starts and the prior's data moments from the rows
        # with each NaN replaced by its column's observed mean
        start_source = mean_filled(source) if source.marginalize else source
        prior = self._resolve_prior(model, start_source, n_features)
        if self.verbose:
            _ensure_visible()
        opts = self._options()
        if getattr(self, "noise_init", None) is not None:
            opts = replace(opts, noise=self._noise_start(source, continuing))
        warm = None
        if continuing:
            bound = float(self.lower_bound_)  # type: ignore[has-type]
            warm = (self._fitted_params(), bound)
        outcome = fit_em(
            source,
            model,
            inits,
            opts,
            check_random_state(self.random_state),
            prior=prior,
            warm=warm,
            want_labels=want_labels,
            start_source=start_source,
        )
        best = outcome.result
        warn_if_not_converged(best.converged, self.max_iter)
        self._store_fitted(model, best.params)
        _warn_if_reg_covar_dominates(self, model)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = list(best.lower_bounds)
        self.log_likelihood_history_ = np.array([*best.history, outcome.final_loglik])
        self.n_samples_fit_ = n_samples
        return outcome.labels

    def _noise_start(self, source: DataSource, continuing: bool) -> _noise.NoiseStart:
        """The validated ``noise_init`` and ``hypervolume`` of a fit."""
        owner = type(self).__name__
        conflicts = {
            "nan_policy='marginalize'": self._marginalize(),
            f"batch_size={self.batch_size!r}": self.batch_size is not None,
            f"accelerate={self.accelerate!r}": self.accelerate is not None,
            "weights_init/means_init/precisions_init": any(
                v is not None
                for v in (self.weights_init, self.means_init, self.precisions_init)
            ),
        }
        for what, bad in conflicts.items():
            if bad:
                raise InvalidParameterError(
                    f"{owner}(noise_init=...) does not support {what}: the noise "
                    "component has its own E-step and starts from "
                    "responsibilities. Remove one of them."
                )
        if continuing and not hasattr(self, "noise_proportion_"):
            raise InvalidParameterError(
                "warm_start=True continues the fitted model, which has no noise "
                "component, but noise_init is set. Set warm_start=False to start "
                "afresh."
            )
        assert isinstance(source, ArraySource)
        return _noise.check_noise(
            owner,
            self.noise_init,
            self.hypervolume,
            source.X,
            int(self.n_components),
        )

    def _has_noise(self) -> bool:
        """True for a model fitted with a noise component."""
        return hasattr(self, "noise_proportion_")

    def _refuse_noise(self, what: str) -> None:
        if self._has_noise():
            raise InvalidParameterError(
                f"{what} is not available for a model with a noise component "
                "(noise_init): the uniform noise has no Gaussian form. Fit "
                "without noise_init for it."
            )

    def _options(self) -> FitOptions:
        return FitOptions(
            n_components=int(self.n_components),
            init_params=self.init_params,
            reg_covar=float(self.reg_covar),
            tol=float(self.tol),
            max_iter=int(self.max_iter),
            n_init=int(self.n_init),
            convergence=self.convergence,
            accelerate=self.accelerate,
            batch_size=self.batch_size,
            step_decay=float(self.step_decay),
            step_offset=float(self.step_offset),
            verbose=int(self.verbose),
            verbose_interval=int(self.verbose_interval),
            callback=self.callback,
            dtype=self.dtype,
        )

    def _fit_prepared(self, X: np.ndarray, inits: Inits | None = None) -> None:
        """``fit(X)`` for a float array that ``check_X`` has already accepted
        (with this ``nan_policy``), from ``inits`` when given: what
        ``select_model`` runs for each cell of its grid, so that the data are
        validated once per grid, not once per fit."""
        model = self._check_params()
        self._fit_source(
            self._source(X, None, model, validated=True), model, False, inits
        )

    def _source(
        self,
        X: Any,
        sample_weight: Any,
        model: CovarianceModel,
        validated: bool = False,
    ) -> DataSource:
        """The data source of a fit: a streamed X as it is (file, memmap,
        chunks, Dask), anything else validated whole as an in-memory array
        (unless ``validated``: an array ``check_X`` returned, unweighted).
        Sets ``n_features_in_`` and ``feature_names_in_``."""
        chunk = self.batch_size or self.chunk_size
        return fit_source(
            self, X, sample_weight, model, chunk, self._marginalize(), validated
        )

    def partial_fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> GaussianMixture:
        """Update the model from one batch of rows (online, stepwise EM).

        The first call on an unfitted model initialises it from its batch
        (``init_params`` or the ``*_init`` parameters) and takes one EM step
        on it; each later call blends the batch's statistics into running
        averages with the step size ``eta_t = (t + step_offset) **
        -step_decay`` (``t`` = updates so far) and runs the M-step on them
        (Cappé & Moulines 2009; Liang & Klein 2009).  Each batch is seen
        once.  A model fitted by ``fit`` (or loaded from a file) is
        continued: its running statistics are those of its fitted parameters
        (a fixed point of EM), and the rows it was fitted on count as
        ``ceil(n_samples_fit_ / n_batch)`` updates already made, so a small
        batch moves it by a small step.  The running statistics are the
        fitted attribute ``online_state_`` and are saved in model files.
        See :mod:`gmmkit._online` for the trade-off against exact EM.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch,), default=None

        Returns
        -------
        self : GaussianMixture
        """
        if getattr(self, "noise_init", None) is not None or self._has_noise():
            raise InvalidParameterError(
                "partial_fit does not support a noise component (noise_init): use fit."
            )
        with _kernels.fit_blas_limits():
            return self._partial_fit(X, sample_weight)

    def _partial_fit(self, X: Any, sample_weight: Any) -> GaussianMixture:
        if self.prior is not None:
            raise InvalidParameterError(
                "partial_fit does not support a prior (MAP-EM is exact batch EM): "
                f"got prior={self.prior!r}. Use fit with the prior, or partial_fit "
                "with prior=None."
            )
        model = self._check_params()
        state = getattr(self, "online_state_", None)
        fitted = hasattr(self, "means_")
        marginalize = self._marginalize()
        X = check_X(self, X, reset=not fitted, allow_nan=marginalize)
        n_samples, n_features = X.shape
        sw = check_sample_weight(sample_weight, n_samples)
        w = np.ones(n_samples) if sw is None else sw
        opts = self._options()
        if fitted:
            self._check_warm_start_compatible()
            params = self._fitted_params()
            if state is None:  # fitted by fit (or loaded): continue it
                rows = int(getattr(self, "n_samples_fit_", None) or n_samples)
                state = OnlineState.from_fitted(
                    model, params, opts.reg_covar, rows, n_samples
                )
        else:
            n_rows = n_samples if sw is None else int(np.count_nonzero(sw))
            if n_rows < self.n_components:
                raise DataError(
                    f"the first batch given to partial_fit initialises "
                    f"n_components={self.n_components} components and needs at "
                    f"least as many rows (with positive weight); got {n_rows}. "
                    "Pass a larger first batch."
                )
            inits = check_inits(self, model, n_samples, n_features, sw)
            chunk = self.chunk_size or auto_chunk_size(
                self.n_components, n_features, model.moments
            )
            batch: DataSource = ArraySource(X, sw, chunk)
            if marginalize:
                batch = mean_filled(batch.marginalizing())
            params = initial_params(
                batch,
                model,
                inits,
                opts,
                check_random_state(self.random_state),
            )
            self.lower_bounds_ = []
        params, state, mean_ll = online_update(
            X, w, model, params, state, opts, missing=marginalize
        )
        self.online_state_ = state
        self._store_fitted(model, params)
        self.converged_ = False
        self.n_iter_ = state.n_updates + 1
        self.lower_bound_ = mean_ll
        self.lower_bounds_ = [*getattr(self, "lower_bounds_", []), mean_ll]
        self.log_likelihood_history_ = np.array([mean_ll * float(w.sum())])
        self.n_samples_fit_ = int(state.rows_seen)
        return self

    def _resolve_prior(
        self, model: CovarianceModel, source: DataSource, n_features: int
    ) -> ResolvedPrior | None:
        """The prior's hyperparameters for this fit (``prior_``), or None."""
        spec = check_prior(type(self).__name__, self.prior)
        if spec is None:
            self.prior_ = None
            return None
        if self.batch_size is not None:
            raise InvalidParameterError(
                "prior (MAP-EM) is not available with batch_size (stepwise EM); "
                f"got batch_size={self.batch_size}. Set batch_size=None to fit "
                "with the prior, or prior=None."
            )
        resolved = resolve_prior(
            spec, model.name, source, self.n_components, n_features
        )
        self.prior_ = ConjugatePrior(
            resolved.shrinkage, resolved.mean, resolved.dof, resolved.scale
        )
        return resolved

    def _check_warm_start_compatible(self) -> None:
        check_warm_start(self)

    # ------------------------------------------------------- fitted values
    def _store_fitted(self, model: CovarianceModel, params: Params) -> None:
        """Set the fitted attributes from the engine's parameters."""
        if isinstance(params, _noise.NoiseParams):
            self.noise_proportion_ = float(params.noise)
            self.hypervolume_ = float(math.exp(params.log_volume))
            self._log_hypervolume = float(params.log_volume)
        else:
            for name in ("noise_proportion_", "hypervolume_", "_log_hypervolume"):
                self.__dict__.pop(name, None)
        self.weights_ = params.weights
        self.means_ = params.means
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = model.precisions_from_cholesky(params.precisions_cholesky)
        self.__dict__.pop("_decomposed", None)
        self._fitted_covariance_type = self.covariance_type

    def _decomposition(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(volumes_, shapes_, orientations_)`` of ``covariances_``,
        computed on first use (an eigendecomposition: a third of the
        bookkeeping of each small fit in ``select_model``'s grid)."""
        cov = self.covariances_
        cached = self.__dict__.get("_decomposed")
        if cached is None or cached[0] is not cov:
            k, d = self.means_.shape
            cached = (cov, *self._model().decomposition(cov, k, d))
            self.__dict__["_decomposed"] = cached
        return cached[1], cached[2], cached[3]

    @property
    def volumes_(self) -> np.ndarray:
        return self._decomposition()[0]

    @property
    def shapes_(self) -> np.ndarray:
        return self._decomposition()[1]

    @property
    def orientations_(self) -> np.ndarray:
        return self._decomposition()[2]

    def _fitted_params(self) -> Params:
        """The fitted attributes as the engine's parameters."""
        if self._has_noise():
            return _noise.NoiseParams(
                np.asarray(self.weights_),
                np.asarray(self.means_),
                np.asarray(self.covariances_),
                np.asarray(self.precisions_cholesky_),
                noise=float(self.noise_proportion_),
                log_volume=float(
                    getattr(self, "_log_hypervolume", math.log(self.hypervolume_))
                ),
            )
        return Params(
            np.asarray(self.weights_),
            np.asarray(self.means_),
            np.asarray(self.covariances_),
            np.asarray(self.precisions_cholesky_),
        )

    def _model(self) -> CovarianceModel:
        return get_model(getattr(self, "_fitted_covariance_type", self.covariance_type))

    def _scores(
        self, X: Any, what: str = "chunks"
    ) -> tuple[int, Iterator[tuple[int, np.ndarray, np.ndarray]]]:
        """``(n_samples, scores of the chunks of X)``.

        ``what`` is "chunks" (:func:`score_chunks`: log-densities per
        component), "rows" (:func:`score_rows`: per-row log-density and
        label) or "density" (score_rows without labels); under
        ``nan_policy="marginalize"`` their :mod:`gmmkit._missing` versions,
        which use each row's observed coordinates.
        """
        check_is_fitted(self)
        marginalize = self._marginalize()
        module: Any = _missing if marginalize else None
        if self._has_noise():
            module = _noise
        scorer: Any
        if what == "chunks":
            scorer = score_chunks if module is None else module.score_chunks
        else:
            rows = score_rows if module is None else module.score_rows
            scorer = partial(rows, labels=what == "rows")
        stream = as_stream(X)
        model = self._model()
        if stream is not None:  # memory-mapped file, callable of chunks, ...
            if marginalize:
                stream = stream.marginalizing()
            d = self.means_.shape[1]
            if stream.n_features != d:
                raise DataError(
                    f"X has {stream.n_features} features, but the model was fitted "
                    f"with {d} features. Pass data with the same columns."
                )
            k = self.n_components
            chunk = self.chunk_size or auto_chunk_size(k, d, model.moments)
            return stream.n_samples, scorer(
                stream.with_chunk_size(chunk), model, self._fitted_params()
            )
        X = check_X(self, X, reset=False, allow_nan=marginalize)
        chunk = self.chunk_size or auto_chunk_size(
            self.n_components, X.shape[1], model.moments
        )
        source = ArraySource(X, None, chunk)
        return X.shape[0], scorer(source, model, self._fitted_params())

    # ---------------------------------------------------------------- predict
    def _lazy_scores(self, X: Any, what: str) -> Any:
        check_is_fitted(self)
        self._refuse_noise("scoring a Dask array")
        return lazy_scores(
            X,
            self._model(),
            self._fitted_params(),
            self.means_.shape[1],
            what,
            self._marginalize(),
        )

    def score_samples(self, X: Any) -> np.ndarray:
        """Log of the mixture density at each row, ``log p(x)``.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        if _is_dask(X):  # a lazy dask array, computed blockwise
            return self._lazy_scores(X, "score_samples")
        n, chunks = self._scores(X, "density")
        out = np.empty(n)
        for start, log_norm, _ in chunks:
            out[start : start + log_norm.shape[0]] = log_norm
        return out

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean (weighted) log-likelihood of X under the model."""
        return weighted_mean(self.score_samples(X), sample_weight)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each component given each row, P(k | x).

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            With a noise component (``noise_init``): (n_samples,
            n_components + 1), the noise component last.
        """
        if _is_dask(X):  # a lazy dask array, computed blockwise
            return self._lazy_scores(X, "predict_proba")
        n, chunks = self._scores(X)
        out = np.empty((n, self.means_.shape[0] + int(self._has_noise())))
        for start, log_prob, log_norm in chunks:
            out[start : start + log_norm.shape[0]] = np.exp(
                log_prob - log_norm[:, None]
            )
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 for rows most probably noise (a model fitted with
            ``noise_init``).
        """
        if _is_dask(X):  # a lazy dask array, computed blockwise
            return self._lazy_scores(X, "predict")
        n, chunks = self._scores(X, "rows")
        out = np.empty(n, dtype=np.intp)
        for start, _, labels in chunks:
            out[start : start + labels.shape[0]] = labels
        return out

    def impute(
        self, X: Any, method: str = "mean", random_state: Any = None
    ) -> np.ndarray:
        """X with every NaN replaced under the fitted mixture.

        Works whatever ``nan_policy`` the model was fitted with.  Each row's
        missing coordinates ``m`` are filled given its observed ones ``o``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks a missing value; a row with no observed value is a
            DataError naming it.
        method : {"mean", "sample"}, default="mean"
            ``"mean"``: the conditional mean ``E[x_m | x_o] = sum_k P(k | x_o)
            (mu_km + Sigma_kmo Sigma_koo^{-1} (x_o - mu_ko))`` (the
            posterior-weighted mixture of the components' conditional
            means).  ``"sample"``: one draw from ``p(x_m | x_o)`` (a
            component drawn from ``P(k | x_o)``, then its conditional
            Gaussian).
        random_state : int, RandomState or None
            For ``"sample"``; defaults to the estimator's ``random_state``.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            float64; observed values unchanged.
        """
        check_is_fitted(self)
        self._refuse_noise("impute")
        check_choice("impute", "method", method, ("mean", "sample"))
        X = check_X(self, X, reset=False, allow_nan=True)
        rng = None
        if method == "sample":
            rng = check_random_state(
                self.random_state if random_state is None else random_state
            )
        model, params = self._model(), self._fitted_params()
        chunk = self.chunk_size or auto_chunk_size(
            self.n_components, X.shape[1], model.moments
        )
        out = np.empty(X.shape, dtype=np.float64)
        for start in range(0, X.shape[0], chunk):
            stop = min(start + chunk, X.shape[0])
            out[start:stop] = _missing.impute_rows(
                X[start:stop], model, params, method, rng, start
            )
        return out

    def sample(
        self, n_samples: int = 1, random_state: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState or None
            Defaults to the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
            Component of each sample (samples are grouped by component).
        """
        check_is_fitted(self)
        self._refuse_noise("sample")
        try:
            check_int("sample", "n_samples", n_samples, 1)
        except InvalidParameterError as exc:  # scikit-learn's words first
            raise InvalidParameterError(
                f"Invalid value for 'n_samples': {exc} The sampling requires at "
                "least one sample."
            ) from None
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        k, d = self.means_.shape
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        factors = self._model().covariance_factors(self.precisions_cholesky_, k, d)
        parts = [
            self.means_[j] + rng.standard_normal((int(c), d)) @ factors[j]
            for j, c in enumerate(counts)
        ]
        labels = np.repeat(np.arange(k), counts)
        return np.vstack(parts), labels

    # ------------------------------------------------ marginals, conditionals
    def marginal(self, features: Any) -> GaussianMixture:
        """The fitted mixture of some features, the others integrated out.

        ``p(x_features) = sum_k pi_k N(x_features | mu_k,features,
        Sigma_k,features)``: same weights, the listed entries of the means and
        covariances.  Its ``score_samples`` is the log marginal density.

        Parameters
        ----------
        features : int, str or list of them
            Feature indices, or names when the model was fitted on named
            columns (a DataFrame); the new mixture's features, in this order.

        Returns
        -------
        gm : GaussianMixture
            Fitted; its ``covariance_type`` keeps the model where the
            constraints survive (spherical and diagonal models stay so; EVI
            becomes VVI, every ellipsoidal model "full" / VVV: see
            :func:`gmmkit.covariance.subset_type`).  It samples, scores,
            plots and saves like any fitted mixture.
        """
        check_is_fitted(self)
        return self._derived(
            _conditional.marginal(*self._derive_from(), features, *self._names())
        )

    def condition(self, features: Any, values: Any) -> GaussianMixture:
        """The fitted mixture of the other features given ``x_features = values``.

        ``p(x_r | x_g = v) = sum_k w_k N(x_r | m_k, C_k)`` with ``w_k`` the
        posterior ``P(k | x_g = v)``, ``m_k = mu_kr + Sigma_krg Sigma_kgg^-1
        (v - mu_kg)`` and ``C_k = Sigma_krr - Sigma_krg Sigma_kgg^-1
        Sigma_kgr`` (by Cholesky factors; see :mod:`gmmkit._conditional`).

        Parameters
        ----------
        features : int, str or list of them
            The features whose values are known (indices, or names when the
            model was fitted on named columns).
        values : array-like of shape (len(features),)
            Their values, finite.

        Returns
        -------
        gm : GaussianMixture
            Fitted, over the remaining features in their original order;
            covariance model as for :meth:`marginal`.
        """
        check_is_fitted(self)
        part = _conditional.condition(
            *self._derive_from(), features, values, *self._names()
        )
        return self._derived(part)

    def _derive_from(self) -> tuple[str, CovarianceModel, Params]:
        self._refuse_noise("marginal/condition")
        fitted = getattr(self, "_fitted_covariance_type", self.covariance_type)
        return fitted, self._model(), self._fitted_params()

    def _names(self) -> tuple[Any, float]:
        return getattr(self, "feature_names_in_", None), float(self.reg_covar)

    def _derived(self, part: _conditional.Part) -> GaussianMixture:
        """A fitted mixture holding ``part`` (a marginal or conditional of
        this one) with this one's parameters, except those shaped by the
        features (the ``*_init`` arrays, a prior given as numbers)."""
        params = {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name in GaussianMixture._get_param_names()
        }
        params.update(
            covariance_type=part.covariance_type,
            weights_init=None,
            means_init=None,
            precisions_init=None,
            resp_init=None,
            warm_start=False,
            noise_init=None,
        )
        if not (params["prior"] is None or isinstance(params["prior"], str)):
            params["prior"] = None
        new = GaussianMixture(**params)
        new._store_fitted(get_model(part.covariance_type), part.params)
        new.n_features_in_ = int(part.params.means.shape[1])
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            new.feature_names_in_ = np.asarray(names, dtype=object)[part.features]
        new.converged_ = bool(getattr(self, "converged_", True))
        new.n_iter_ = 0
        new.lower_bound_ = -math.inf
        new.lower_bounds_ = []
        return new

    # ------------------------------------------------------- files, notebooks
    def save(self, path: Any) -> Any:
        """Write the fitted model to ``path`` (read it back with ``gmmkit.load``).

        A versioned ``.npz`` file of plain arrays plus JSON metadata (model
        type, covariance type, parameters, feature names, gmmkit version,
        training summary), never pickle; written atomically.  The format is
        described in :mod:`gmmkit._io`.

        Returns
        -------
        path : pathlib.Path
        """
        check_is_fitted(self)
        self._refuse_noise("save (the model file has no noise component yet)")
        return _save(self, path, get_model(self._model().name).sklearn_name)

    def _html_repr(self) -> str:
        """scikit-learn's diagram, plus a table of components once fitted."""
        html = str(super()._html_repr())
        if not hasattr(self, "means_"):
            return html
        head, body_end, tail = html.rpartition("</body>")
        if not body_end:
            return html + components_html(self)
        return head + components_html(self) + body_end + tail

    # --------------------------------------------------------------- criteria
    # -- scikit-learn's private hooks, which its own test suite calls -------------
    def _n_parameters(self) -> int:
        """scikit-learn's name of :meth:`n_parameters`."""
        return self.n_parameters()

    def _set_parameters(self, params: tuple) -> None:
        """Set ``(weights, means, covariances, precisions_cholesky)`` (in
        this ``covariance_type``'s shapes) as the fitted parameters, as
        scikit-learn's private method of that name does."""
        weights, means, covariances, prec_chol = (np.asarray(p) for p in params)
        self._store_fitted(
            self._check_params(), Params(weights, means, covariances, prec_chol)
        )

    def _initialize(self, X: Any, resp: Any) -> None:
        """scikit-learn's private start: the fitted parameters become one
        M-step from responsibilities ``resp`` (n_samples, n_components), the
        ``*_init`` parameters taking precedence, with no EM iteration (what
        ``fit`` starts from with ``resp_init=resp``).  As scikit-learn's, the
        number of components is ``resp``'s number of columns."""
        model = self._check_params()
        source = self._source(X, None, model)
        n, d = source.n_samples, source.n_features
        k = int(np.shape(resp)[1]) if np.ndim(resp) == 2 else self.n_components
        resp = check_array_param("resp", resp, (n, k), "n_samples x n_components")
        probe = copy.copy(self)
        probe.n_components = k
        weights, means, precisions, _ = check_inits(probe, model, n, d, None)
        params = initial_params(
            source,
            model,
            (weights, means, precisions, resp),
            probe._options(),
            check_random_state(self.random_state),
        )
        self._store_fitted(model, params)

    def n_parameters(self) -> int:
        """Number of free parameters: weights (K - 1), means, covariances;
        with a noise component 2 more (its weight and the hypervolume, as
        mclust counts them)."""
        check_is_fitted(self)
        k, d = self.means_.shape
        noise = 2 if self._has_noise() else 0
        return int(self._model().n_cov_parameters(k, d) + k * d + k - 1 + noise)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on X; lower is better.

        ``-2 log L + n_parameters * log(n_samples)`` (scikit-learn's sign;
        mclust reports the negative of this).
        """
        return self._criteria(X, with_icl=False)[0]

    def aic(self, X: Any) -> float:
        """Akaike information criterion on X; lower is better.

        ``-2 log L + 2 * n_parameters``.
        """
        return self._criteria(X, with_icl=False)[1]

    def icl(self, X: Any) -> float:
        """Integrated completed likelihood on X (mclust's ICL); lower is better.

        ``bic(X) - 2 * sum_i log max_k P(k | x_i)``: BIC plus twice the
        entropy of the hard (MAP) classification, so ``icl >= bic``.  This is
        the negative of mclust's ``icl`` (``BIC + 2 sum_i log z_i,map`` with
        mclust's BIC sign), just as :meth:`bic` is the negative of mclust's
        BIC.  Computed chunk by chunk (no (n_samples, n_components) array).
        """
        return self._criteria(X, with_icl=True)[2]

    def _criteria(self, X: Any, with_icl: bool) -> tuple[float, float, float]:
        """``(bic, aic, icl)`` on X from one pass over its rows (``icl`` is
        NaN unless asked for)."""
        loglik = log_map = 0.0
        if _is_dask(X):  # blockwise on the cluster
            n = int(X.shape[0])
            loglik = float(self.score_samples(X).sum())
            if with_icl:
                log_map = float(np.log(self.predict_proba(X).max(axis=1)).sum())
        elif with_icl:
            n, chunks = self._scores(X)
            for _, log_prob, log_norm in chunks:
                loglik += float(log_norm.sum())
                log_map += float((log_prob.max(axis=1) - log_norm).sum())
        else:
            n, rows = self._scores(X, "density")
            for _, log_norm, _ in rows:
                loglik += float(log_norm.sum())
        bic, aic, icl = information_criteria(loglik, self.n_parameters(), n, log_map)
        return bic, aic, icl if with_icl else math.nan


def _warn_if_reg_covar_dominates(gm: GaussianMixture, model: CovarianceModel) -> None:
    """Warn when ``reg_covar`` is not small against the data's own variances.

    The data's variance of feature ``j``, as the fitted mixture has it, is
    ``sum_k pi_k (Sigma_k,jj - reg_covar + mu_kj^2) - (sum_k pi_k mu_kj)^2``.
    Where ``reg_covar`` is a tenth of a positive one or more, the fitted
    covariances describe ``reg_covar`` rather than the data (data in tiny
    units, e.g. metres for nanometre-scale features).  Features without any
    spread (constant columns, identical rows) have nothing to compare with:
    there ``reg_covar`` is what keeps the fit defined.
    """
    reg = float(gm.reg_covar)
    if reg <= 0:
        return
    k, d = gm.means_.shape
    diag = np.diagonal(model.dense(np.asarray(gm.covariances_), k, d), 0, 1, 2)
    w = np.asarray(gm.weights_)
    mean = w @ gm.means_
    var = w @ (diag - reg + gm.means_**2) - mean**2
    # spread below rounding of the second moments counts as none
    tiny = 1e-12 * (w @ gm.means_**2 + reg)
    dominated = np.nonzero((var > tiny) & (reg >= 0.1 * var))[0]
    if dominated.size:
        j = int(dominated[np.argmin(var[dominated])])
        warnings.warn(
            f"reg_covar={reg:g} is not small against the variance of feature {j} "
            f"({var[j]:.3g}): the fitted covariances reflect reg_covar more than "
            "the data. Rescale the data (e.g. standardise it) or lower reg_covar "
            "(gmmkit's fits do not otherwise depend on the data's units; "
            "reg_covar=0 adds nothing).",
            UserWarning,
            stacklevel=4,
        )


def check_rows(est: Any, source: DataSource, continuing: bool) -> None:
    """DataError unless ``source`` has at least ``n_components`` rows of
    positive weight (and, continuing a fit, the fitted number of features)."""
    n_samples, sw = source.n_samples, source.sample_weight
    n_rows = n_samples if sw is None else int(np.count_nonzero(sw))
    if n_rows < est.n_components:
        raise DataError(
            f"Expected n_samples >= n_components but got n_components = "
            f"{est.n_components}, n_samples = {n_rows}. "
            f"n_components={est.n_components} needs at least as many samples "
            f"(rows with positive weight); got {n_rows}. Use fewer components "
            "or more data."
        )
    if continuing and est.means_.shape[1] != source.n_features:
        raise DataError(
            f"warm_start continues a model with {est.means_.shape[1]} features, "
            f"but X has {source.n_features}. Set warm_start=False to start afresh."
        )


def warn_if_not_converged(converged: bool, max_iter: int) -> None:
    """scikit-learn's ConvergenceWarning (not for ``max_iter=0``)."""
    if not converged and max_iter > 0:
        warnings.warn(
            "Best performing initialization did not converge. Try different "
            "init parameters, or increase max_iter, tol, or check for "
            "degenerate data.",
            ConvergenceWarning,
            stacklevel=4,
        )


def check_warm_start(est: Any) -> None:
    """InvalidParameterError if ``n_components`` or ``covariance_type``
    changed since the fit that ``warm_start`` would continue."""
    fitted_type = getattr(est, "_fitted_covariance_type", est.covariance_type)
    if est.means_.shape[0] != est.n_components or fitted_type != est.covariance_type:
        raise InvalidParameterError(
            "warm_start=True continues the fitted model, but n_components or "
            "covariance_type changed since it was fitted (fitted with "
            f"n_components={est.means_.shape[0]}, covariance_type="
            f"{fitted_type!r}; now n_components={est.n_components!r}, "
            f"covariance_type={est.covariance_type!r}). Set warm_start=False "
            "to start afresh."
        )


def weighted_mean(log_density: np.ndarray, sample_weight: Any) -> float:
    """The mean of per-row scores, weighted by ``sample_weight`` if given."""
    sw = check_sample_weight(sample_weight, log_density.shape[0])
    if sw is None:
        return float(log_density.mean())
    keep = sw > 0
    return float(sw[keep] @ log_density[keep] / sw.sum())


def fit_source(
    est: Any,
    X: Any,
    sample_weight: Any,
    model: CovarianceModel,
    chunk: int | None,
    marginalize: bool = False,
    validated: bool = False,
) -> DataSource:
    """The data source of a fit: a streamed X as it is (file, memmap,
    chunks, Dask), anything else validated whole as an in-memory array
    (unless ``validated``: an unweighted array that ``check_X`` returned);
    ``chunk`` rows per chunk (None: :func:`auto_chunk_size`).  Sets
    ``est.n_features_in_`` and ``feature_names_in_``."""
    stream = None if validated else _stream_source(X)
    if validated:
        est.n_features_in_ = X.shape[1]
        est.__dict__.pop("feature_names_in_", None)
        source: DataSource = ArraySource(X, None, 1)
    elif stream is None:
        X = check_X(est, X, reset=True, allow_nan=marginalize)
        sw = check_sample_weight(sample_weight, X.shape[0])
        source = ArraySource(X, sw, 1)
    else:
        if marginalize:
            stream = stream.marginalizing()
        if sample_weight is not None:
            raise InvalidParameterError(
                "sample_weight is only supported for in-memory arrays; got "
                f"sample_weight with a streamed X ({type(X).__name__}). Pass "
                "the weights as data or fit an in-memory array."
            )
        source = stream
        est.n_features_in_ = source.n_features
        est.__dict__.pop("feature_names_in_", None)
        names = source.feature_names
        if names is not None and all(isinstance(n, str) for n in names):
            est.feature_names_in_ = np.asarray(names, dtype=object)
    chunk = chunk or auto_chunk_size(est.n_components, source.n_features, model.moments)
    if marginalize and not source.marginalize:
        source = source.marginalizing()
    return source.with_chunk_size(chunk)


def _stream_source(X: Any) -> DataSource | None:
    """The source for a streamed X (file, memmap, chunks, Dask), else None."""
    if _is_dask(X):
        return DaskSource(X)
    return as_stream(X)


def _is_dask(X: Any) -> bool:
    """True for dask arrays and dask DataFrames (without importing dask)."""
    return type(X).__module__.split(".")[0] in ("dask", "dask_expr")


def _ensure_visible() -> None:
    """Show gmmkit's INFO messages on stderr when verbose output is asked for."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("gmmkit: %(message)s"))
        logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
