"""The :class:`GaussianMixture` estimator: validation, a data source, the engine."""

from __future__ import annotations

import copy
import logging
import math
import warnings
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _kernels
from ._engine import EMResult, check_loglik, run_em
from ._errors import DataError, InvalidParameterError
from ._init import INIT_METHODS, initial_resp, params_from_resp, sampled_start
from ._prior import ConjugatePrior, ResolvedPrior, check_prior, resolve_prior
from ._stats import Params, estep_stats, score_chunks, score_rows
from ._validation import (
    check_array_param,
    check_choice,
    check_int,
    check_real,
    check_sample_weight,
    check_X,
)
from .covariance import CovarianceModel, get_model
from .sources import (
    SAMPLED_INIT_THRESHOLD,
    ArraySource,
    Float32Rows,
    as_stream,
    auto_chunk_size,
)

logger = logging.getLogger("gmmkit")

#: Relative difference of two initialisations' final bounds below which
#: ``n_init`` keeps the earlier one.  Bounds this close are the same optimum
#: reached twice (often with the components in another order), and which of
#: them is higher is decided by the order of the sums (tile and block sizes,
#: threads, machine); keeping the first makes the choice independent of that,
#: and equal to scikit-learn's (which keeps the first unless a later bound is
#: strictly higher) wherever its comparison is not itself decided by rounding.
BOUND_TIE = 1e-10


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

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> CovarianceModel:
        owner = type(self).__name__
        check_int(owner, "n_components", self.n_components, 1)
        model = get_model(self.covariance_type)
        check_real(owner, "tol", self.tol, 0.0)
        check_real(owner, "reg_covar", self.reg_covar, 0.0)
        check_int(owner, "max_iter", self.max_iter, 0)
        check_int(owner, "n_init", self.n_init, 1)
        check_choice(owner, "init_params", self.init_params, INIT_METHODS)
        check_choice(owner, "convergence", self.convergence, ("sklearn", "mclust"))
        check_prior(owner, self.prior)
        check_choice(owner, "dtype", self.dtype, ("auto", "float64"))
        _check_accelerate(owner, self.accelerate, model, self.prior)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'warm_start' parameter of {owner} must be a bool. "
                f"Got {self.warm_start!r} instead."
            )
        check_int(owner, "batch_size", self.batch_size, 1, allow_none=True)
        check_real(owner, "step_offset", self.step_offset, 0.0)
        if not (
            isinstance(self.step_decay, (int, float, np.floating))
            and not isinstance(self.step_decay, bool)
            and 0.5 < self.step_decay <= 1.0
        ):
            raise InvalidParameterError(
                f"The 'step_decay' parameter of {owner} must be a float in "
                f"(0.5, 1]. Got {self.step_decay!r} instead."
            )
        check_int(owner, "verbose", self.verbose, 0)
        check_int(owner, "verbose_interval", self.verbose_interval, 1)
        check_int(owner, "chunk_size", self.chunk_size, 1, allow_none=True)
        try:
            check_random_state(self.random_state)
        except ValueError:
            raise InvalidParameterError(
                f"The 'random_state' parameter of {owner} must be None, an int or a "
                f"numpy RandomState. Got {self.random_state!r} instead."
            ) from None
        return model

    def _check_inits(
        self,
        model: CovarianceModel,
        n_samples: int,
        n_features: int,
        sw: np.ndarray | None,
    ) -> tuple[
        np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None
    ]:
        k = self.n_components
        weights = means = precisions = resp = None
        if self.weights_init is not None:
            weights = check_array_param(
                "weights_init", self.weights_init, (k,), "one weight per component"
            )
            if (weights < 0).any() or (weights > 1).any():
                raise InvalidParameterError(
                    f"weights_init must lie in [0, 1]; got min {weights.min():g}, "
                    f"max {weights.max():g}."
                )
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-8):
                raise InvalidParameterError(
                    f"weights_init must sum to 1; got sum {weights.sum():.10g}. "
                    "Divide by its sum first."
                )
        if self.means_init is not None:
            means = check_array_param(
                "means_init",
                self.means_init,
                (k, n_features),
                "n_components x n_features",
            )
        if self.precisions_init is not None:
            precisions = model.check_precisions(self.precisions_init, k, n_features)
        if self.resp_init is not None:
            resp = check_array_param(
                "resp_init", self.resp_init, (n_samples, k), "n_samples x n_components"
            )
            if (resp < 0).any():
                i, j = np.argwhere(resp < 0)[0]
                raise InvalidParameterError(
                    f"resp_init must be non-negative; got {resp[i, j]:g} at row {i}, "
                    f"column {j}."
                )
            sums = resp.sum(axis=1)
            off = np.nonzero(~np.isclose(sums, 1.0, rtol=0, atol=1e-6))[0]
            if off.size:
                raise InvalidParameterError(
                    f"Each row of resp_init must sum to 1 (responsibilities); row "
                    f"{off[0]} sums to {sums[off[0]]:.6g} ({off.size} rows off). "
                    "Divide each row by its sum first."
                )
            mass = resp.T @ (np.ones(n_samples) if sw is None else sw)
            empty = np.nonzero(mass <= 0)[0]
            if empty.size:
                raise InvalidParameterError(
                    f"resp_init gives component(s) {', '.join(map(str, empty))} no "
                    "responsibility on any row with positive weight, so they cannot "
                    "be estimated."
                )
        return weights, means, precisions, resp

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
        with _kernels.fit_blas_limits():
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
        with _kernels.fit_blas_limits():
            labels = self._fit(X, sample_weight, want_labels=True)
        assert labels is not None
        return labels

    def _fit(self, X: Any, sample_weight: Any, want_labels: bool) -> np.ndarray | None:
        model = self._check_params()
        continuing = bool(self.warm_start) and hasattr(self, "converged_")
        if continuing:
            self._check_warm_start_compatible()
        stream = self._stream_source(X, sample_weight)
        if stream is None:
            X = check_X(self, X, reset=True)
            n_samples, n_features = X.shape
            sw = check_sample_weight(sample_weight, n_samples)
        else:
            n_samples, n_features, sw = stream.n_samples, stream.n_features, None
            self.n_features_in_ = n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        model.check_n_features(n_features)
        n_rows = n_samples if sw is None else int(np.count_nonzero(sw))
        if n_rows < self.n_components:
            raise DataError(
                f"n_components={self.n_components} needs at least as many samples "
                f"(rows with positive weight); got {n_rows}. Use fewer components "
                "or more data."
            )
        if continuing and self.means_.shape[1] != n_features:
            raise DataError(
                f"warm_start continues a model with {self.means_.shape[1]} features, "
                f"but X has {n_features}. Set warm_start=False to start afresh."
            )
        inits = self._check_inits(model, n_samples, n_features, sw)
        chunk = (
            self.batch_size
            or self.chunk_size
            or auto_chunk_size(self.n_components, n_features, model.moments)
        )
        self.__dict__.pop("_online_state", None)
        if stream is None:
            source: Any = ArraySource(X, sw, chunk)
        else:
            source = stream.with_chunk_size(chunk)
        random_state = check_random_state(self.random_state)
        prior = self._resolve_prior(model, source, n_features)
        if stream is None:
            em_source = self._array_source(X, sw, chunk)
        else:
            em_source = self._em_stream(source)

        best: EMResult | None = None
        for init in range(1 if continuing else self.n_init):
            if continuing:
                params = self._params()
                start_bound = float(self.lower_bound_)  # type: ignore[has-type]
            else:
                params = self._initial_params(
                    source, model, inits, random_state, prior=prior
                )
                start_bound = -np.inf
            if self.verbose:
                _ensure_visible()
                logger.info("initialisation %d", init)
            run = run_em if self.batch_size is None else self._minibatch_em
            extra = {} if self.accelerate is None else {"accelerate": self.accelerate}
            result = run(
                em_source,
                model,
                params,
                tol=self.tol,
                max_iter=self.max_iter,
                reg_covar=self.reg_covar,
                lower_bound=start_bound,
                on_iteration=self._log_iteration,
                estep=getattr(source, "estep", estep_stats),
                convergence=self.convergence,
                prior=prior,
                **extra,
            )
            if self.verbose:
                logger.info(
                    "initialisation %d %s after %d iterations, lower bound %.6f",
                    init,
                    "converged" if result.converged else "did not converge",
                    result.n_iter,
                    result.lower_bound,
                )
            if best is None or _better_bound(result.lower_bound, best.lower_bound):
                best = result
        assert best is not None
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different "
                "init parameters, or increase max_iter, tol, or check for "
                "degenerate data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._set_params(model, best.params)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = list(best.lower_bounds)
        # A final pass gives the log-likelihood of the fitted parameters (and
        # the labels of fit_predict, consistent with predict by construction:
        # both read the rows as predict does; fit alone reads them as EM did).
        final_source = source if want_labels else em_source
        final_ll, labels = self._final_pass(
            final_source, model, best.params, want_labels
        )
        self.log_likelihood_history_ = np.array([*best.history, final_ll])
        self.n_samples_fit_ = n_samples
        return labels

    def _minibatch_em(
        self,
        source: Any,
        model: CovarianceModel,
        params: Params,
        *,
        tol: float,
        max_iter: int,
        reg_covar: float,
        prior: Any = None,
        **_: Any,
    ) -> EMResult:
        """``run_em`` for ``batch_size``: stepwise EM over the source's chunks.

        Convergence follows ``tol`` on the epoch's mean log-likelihood (see
        :func:`gmmkit._online.minibatch_em`); a prior is rejected earlier.
        """
        from ._online import minibatch_em

        assert prior is None  # _resolve_prior rejects a prior with batch_size

        return minibatch_em(
            source,
            model,
            params,
            tol=tol,
            max_iter=max_iter,
            reg_covar=reg_covar,
            decay=float(self.step_decay),
            offset=float(self.step_offset),
        )

    def partial_fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> GaussianMixture:
        """Update the model from one batch of rows (online, stepwise EM).

        The first call initialises the model from its batch (``init_params``
        or the ``*_init`` parameters) and takes one EM step on it; each later
        call blends the batch's statistics into running averages with the
        step size ``eta_t = (t + step_offset) ** -step_decay`` (``t`` = calls
        so far) and runs the M-step on them (Cappé & Moulines 2009; Liang &
        Klein 2009).  Each batch is seen once; a model fitted by ``fit`` is
        continued.  See :mod:`gmmkit._online` for the trade-off against
        exact EM.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch,), default=None

        Returns
        -------
        self : GaussianMixture
        """
        with _kernels.fit_blas_limits():
            return self._partial_fit(X, sample_weight)

    def _partial_fit(self, X: Any, sample_weight: Any) -> GaussianMixture:
        from ._online import first_update, update

        if self.prior is not None:
            raise InvalidParameterError(
                "partial_fit does not support a prior (MAP-EM is exact batch EM): "
                f"got prior={self.prior!r}. Use fit with the prior, or partial_fit "
                "with prior=None."
            )

        model = self._check_params()
        state = getattr(self, "_online_state", None)
        fitted = hasattr(self, "means_")
        X = check_X(self, X, reset=not fitted)
        n_samples, n_features = X.shape
        sw = check_sample_weight(sample_weight, n_samples)
        w = np.ones(n_samples) if sw is None else sw
        if state is None:
            if fitted:
                self._check_warm_start_compatible()
                params = self._params()
            else:
                n_rows = n_samples if sw is None else int(np.count_nonzero(sw))
                if n_rows < self.n_components:
                    raise DataError(
                        f"the first batch given to partial_fit initialises "
                        f"n_components={self.n_components} components and needs at "
                        f"least as many rows (with positive weight); got {n_rows}. "
                        "Pass a larger first batch."
                    )
                inits = self._check_inits(model, n_samples, n_features, sw)
                chunk = self.chunk_size or auto_chunk_size(
                    self.n_components, n_features, model.moments
                )
                params = self._initial_params(
                    ArraySource(X, sw, chunk),
                    model,
                    inits,
                    check_random_state(self.random_state),
                )
            params, state, mean_ll = first_update(X, w, model, params, self.reg_covar)
            self.lower_bounds_ = []
        else:
            params, mean_ll = update(
                X,
                w,
                model,
                self._params(),
                state,
                self.reg_covar,
                float(self.step_decay),
                float(self.step_offset),
            )
        self._online_state = state
        self._set_params(model, params)
        self.converged_ = False
        self.n_iter_ = state.n_updates + 1
        self.lower_bound_ = mean_ll
        self.lower_bounds_ = [*getattr(self, "lower_bounds_", []), mean_ll]
        self.log_likelihood_history_ = np.array([mean_ll * float(w.sum())])
        return self

    def _stream_source(self, X: Any, sample_weight: Any) -> Any:
        """The source for X when it is streamed (file, memmap, chunks, Dask).

        None for ordinary array-likes, which are validated whole.
        """
        if _is_dask(X):
            from ._dask import DaskSource

            source: Any = DaskSource(X)
        else:
            source = as_stream(X)
            if source is not None:  # a copy: this fit's chunk size stays with it
                source = copy.copy(source)
        if source is not None and sample_weight is not None:
            raise InvalidParameterError(
                "sample_weight is only supported for in-memory arrays; got "
                f"sample_weight with a streamed X ({type(X).__name__}). Pass the "
                "weights as data or fit an in-memory array."
            )
        return source

    def _initial_params(
        self,
        source: ArraySource,
        model: CovarianceModel,
        inits: tuple[Any, Any, Any, Any],
        random_state: np.random.RandomState,
        prior: ResolvedPrior | None = None,
    ) -> Params:
        weights, means, precisions, resp = inits
        k = self.n_components
        sampled: Params | None = None
        if resp is not None:
            resp_of = lambda start, stop: resp[start:stop]  # noqa: E731
        elif weights is not None and means is not None and precisions is not None:
            resp_of = None
        elif not isinstance(source, ArraySource) or (
            source.n_samples > SAMPLED_INIT_THRESHOLD
        ):
            # streamed or very long data: start from a sample (see sampled_start)
            resp_of = None
            sampled = sampled_start(
                self.init_params, source, model, k, self.reg_covar, random_state
            )
        else:
            resp_of = initial_resp(self.init_params, source, k, random_state)
        if resp_of is not None:
            params = params_from_resp(
                source, model, resp_of, k, self.reg_covar, prior=prior
            )
        elif sampled is not None:
            params = sampled
        else:
            params = Params(weights, means, np.empty(0), np.empty(0))
        if weights is not None:
            params.weights = weights
        if means is not None:
            params.means = means
        if precisions is not None:
            d = source.n_features
            params.precisions_cholesky = model.precisions_cholesky_from_precisions(
                precisions
            )
            params.covariances = model.covariances_from_cholesky(
                params.precisions_cholesky, k, d
            )
        return params

    def _final_pass(
        self,
        source: ArraySource,
        model: CovarianceModel,
        params: Params,
        want_labels: bool,
    ) -> tuple[float, np.ndarray | None]:
        remote = getattr(source, "final_pass", None)
        if remote is not None:  # Dask: computed on the cluster
            return remote(model, params, want_labels)
        total = 0.0
        labels = np.empty(source.n_samples, dtype=np.intp) if want_labels else None
        weights = source.sample_weight
        for start, log_norm, best in score_rows(source, model, params, want_labels):
            stop = start + log_norm.shape[0]
            if weights is None:
                total += float(log_norm.sum())
            else:
                w = weights[start:stop]
                keep = w > 0
                total += float(w[keep] @ log_norm[keep])
            if labels is not None and best is not None:
                labels[start:stop] = best
        check_loglik(total)
        return total, labels

    def _resolve_prior(
        self, model: CovarianceModel, source: Any, n_features: int
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

    def _log_iteration(self, n_iter: int, bound: float, change: float) -> None:
        if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
            logger.info(
                "  iteration %d: lower bound %.8f, change %.3e", n_iter, bound, change
            )

    def _check_warm_start_compatible(self) -> None:
        fitted_type = getattr(self, "_fitted_covariance_type", self.covariance_type)
        if (
            self.means_.shape[0] != self.n_components
            or fitted_type != self.covariance_type
        ):
            raise InvalidParameterError(
                "warm_start=True continues the fitted model, but n_components or "
                "covariance_type changed since it was fitted (fitted with "
                f"n_components={self.means_.shape[0]}, covariance_type="
                f"{fitted_type!r}; now n_components={self.n_components!r}, "
                f"covariance_type={self.covariance_type!r}). Set warm_start=False "
                "to start afresh."
            )

    # ------------------------------------------------------------ parameters
    def _set_params(self, model: CovarianceModel, params: Params) -> None:
        self.weights_ = params.weights
        self.means_ = params.means
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = model.precisions_from_cholesky(params.precisions_cholesky)
        k, d = params.means.shape
        self.volumes_, self.shapes_, self.orientations_ = model.decomposition(
            params.covariances, k, d
        )
        self._fitted_covariance_type = self.covariance_type

    def _params(self) -> Params:
        return Params(
            np.asarray(self.weights_),
            np.asarray(self.means_),
            np.asarray(self.covariances_),
            np.asarray(self.precisions_cholesky_),
        )

    def _model(self) -> CovarianceModel:
        return get_model(getattr(self, "_fitted_covariance_type", self.covariance_type))

    def _scores(
        self, X: Any, scorer: Any = score_chunks
    ) -> tuple[int, Iterator[tuple[int, np.ndarray, np.ndarray]]]:
        """``(n_samples, scorer(chunks of X, model, params))``.

        ``scorer`` is :func:`score_chunks` (log-densities per component) or
        :func:`score_rows` (per-row log-density and label only).
        """
        check_is_fitted(self)
        stream = as_stream(X)
        if stream is not None:  # memory-mapped file, callable of chunks, ...
            d = self.means_.shape[1]
            if stream.n_features != d:
                raise DataError(
                    f"X has {stream.n_features} features, but the model was fitted "
                    f"with {d} features. Pass data with the same columns."
                )
            chunk = self.chunk_size or auto_chunk_size(
                self.n_components, d, self._model().moments
            )
            source: Any = stream.with_chunk_size(chunk)
            return stream.n_samples, scorer(source, self._model(), self._params())
        X = check_X(self, X, reset=False)
        chunk = self.chunk_size or auto_chunk_size(
            self.n_components, X.shape[1], self._model().moments
        )
        source = ArraySource(X, None, chunk)
        return X.shape[0], scorer(source, self._model(), self._params())

    def _em_stream(self, source: Any) -> Any:
        """The source EM reads: float32 chunks kept under ``dtype="auto"``.

        A copy, so the float64 reads of the initialisation and of
        ``fit_predict``'s labels (as ``predict`` reads) are left as they are.
        Dask sources compute in float64.
        """
        if self.dtype != "auto" or not hasattr(source, "keep_float32"):
            return source
        stream = copy.copy(source)
        stream.keep_float32 = True
        return stream

    def _array_source(
        self, X: np.ndarray, sample_weight: np.ndarray | None, chunk: int
    ) -> ArraySource:
        """Chunks of X: float32 arrays stay float32 under ``dtype="auto"``."""
        if X.dtype == np.float32 and self.dtype == "auto":
            return Float32Rows(X, sample_weight, chunk)
        return ArraySource(X, sample_weight, chunk)

    # ---------------------------------------------------------------- predict
    def _lazy_scores(self, X: Any, what: str) -> Any:
        check_is_fitted(self)
        from ._dask import lazy_scores

        return lazy_scores(
            X, self._model(), self._params(), self.means_.shape[1], what
        )

    def score_samples(self, X: Any) -> np.ndarray:
        """Log of the mixture density at each row, ``log p(x)``.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        if _is_dask(X):  # a lazy dask array, computed blockwise
            return self._lazy_scores(X, "score_samples")
        n, chunks = self._scores(X, partial(score_rows, labels=False))
        out = np.empty(n)
        for start, log_norm, _ in chunks:
            out[start : start + log_norm.shape[0]] = log_norm
        return out

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean (weighted) log-likelihood of X under the model."""
        log_density = self.score_samples(X)
        sw = check_sample_weight(sample_weight, log_density.shape[0])
        if sw is None:
            return float(log_density.mean())
        keep = sw > 0
        return float(sw[keep] @ log_density[keep] / sw.sum())

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each component given each row, P(k | x).

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        if _is_dask(X):  # a lazy dask array, computed blockwise
            return self._lazy_scores(X, "predict_proba")
        n, chunks = self._scores(X)
        out = np.empty((n, self.n_components))
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
        """
        if _is_dask(X):  # a lazy dask array, computed blockwise
            return self._lazy_scores(X, "predict")
        n, chunks = self._scores(X, score_rows)
        out = np.empty(n, dtype=np.intp)
        for start, _, labels in chunks:
            out[start : start + labels.shape[0]] = labels
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
        check_int("sample", "n_samples", n_samples, 1)
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
        from ._io import save

        return save(self, path)

    def _html_repr(self) -> str:
        """scikit-learn's diagram, plus a table of components once fitted."""
        html = str(super()._html_repr())
        if not hasattr(self, "means_"):
            return html
        from .report import components_html

        head, body_end, tail = html.rpartition("</body>")
        if not body_end:
            return html + components_html(self)
        return head + components_html(self) + body_end + tail

    # --------------------------------------------------------------- criteria
    def n_parameters(self) -> int:
        """Number of free parameters: weights (K - 1), means, covariances."""
        check_is_fitted(self)
        k, d = self.means_.shape
        return int(self._model().n_cov_parameters(k, d) + k * d + k - 1)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on X; lower is better.

        ``-2 log L + n_parameters * log(n_samples)`` (scikit-learn's sign;
        mclust reports the negative of this).
        """
        mean_log_l = self.score(X)  # validates X before its rows are counted
        n = _n_rows(X)
        return -2 * mean_log_l * n + self.n_parameters() * math.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion on X; lower is better.

        ``-2 log L + 2 * n_parameters``.
        """
        mean_log_l = self.score(X)  # validates X before its rows are counted
        n = _n_rows(X)
        return -2 * mean_log_l * n + 2 * self.n_parameters()

    def icl(self, X: Any) -> float:
        """Integrated completed likelihood on X (mclust's ICL); lower is better.

        ``bic(X) - 2 * sum_i log max_k P(k | x_i)``: BIC plus twice the
        entropy of the hard (MAP) classification, so ``icl >= bic``.  This is
        the negative of mclust's ``icl`` (``BIC + 2 sum_i log z_i,map`` with
        mclust's BIC sign), just as :meth:`bic` is the negative of mclust's
        BIC.  Computed chunk by chunk (no (n_samples, n_components) array).
        """
        bic = self.bic(X)  # validates X
        _, chunks = self._scores(X)
        log_map = 0.0
        for _, log_prob, log_norm in chunks:
            log_map += float((log_prob.max(axis=1) - log_norm).sum())
        return bic - 2.0 * log_map


def _better_bound(bound: float, best: float) -> bool:
    """True when ``bound`` beats ``best`` by more than rounding (BOUND_TIE)."""
    if not np.isfinite(best):
        return bool(bound > best)
    return bound > best + BOUND_TIE * max(1.0, abs(best))


def _is_dask(X: Any) -> bool:
    """True for dask arrays and dask DataFrames (without importing dask)."""
    return type(X).__module__.split(".")[0] in ("dask", "dask_expr")


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    return len(X)


def _ensure_visible() -> None:
    """Show gmmkit's INFO messages on stderr when verbose output is asked for."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("gmmkit: %(message)s"))
        logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


def _check_accelerate(
    owner: str, accelerate: Any, model: CovarianceModel, prior: Any
) -> None:
    """Validate ``accelerate`` against the covariance model and the prior."""
    from ._squarem import SUPPORTED

    if accelerate is None:
        return
    if accelerate != "squarem":
        raise InvalidParameterError(
            f"The 'accelerate' parameter of {owner} must be None or 'squarem'. "
            f"Got {accelerate!r} instead."
        )
    if model.name not in SUPPORTED:
        raise InvalidParameterError(
            f"accelerate='squarem' supports covariance_type in "
            f"{sorted(SUPPORTED)} (models whose covariances can be extrapolated); "
            f"got {model.label!r}. Use accelerate=None for this model."
        )
    if prior is not None:
        raise InvalidParameterError(
            "accelerate='squarem' is not available with a prior (its safeguard "
            "checks the likelihood, not the posterior). Use accelerate=None."
        )
