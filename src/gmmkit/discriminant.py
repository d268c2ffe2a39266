"""Discriminant analysis with Gaussian mixtures: mclust's ``MclustDA`` and
``EDDA`` (Fraley & Raftery 2002) as a scikit-learn classifier.

Each class ``c`` gets a density ``f_c`` and the prior ``tau_c`` (its
proportion in the training data); a row's class posterior is
``tau_c f_c(x) / sum_j tau_j f_j(x)``.

* ``"MclustDA"``: ``f_c`` is a Gaussian mixture chosen for class ``c`` alone
  by BIC over the covariance models and numbers of components
  (:func:`gmmkit.select_model` on the class's rows, mclust's start and
  stopping rule).
* ``"EDDA"``: one Gaussian per class, all classes sharing one covariance
  model (e.g. ``EEE``: one common covariance, linear discriminant analysis;
  ``VVV``: quadratic discriminant analysis).  For each model the parameters
  are one M-step from the class labels (the mixture with the classes as its
  components and ``tau`` as its weights), and the model with the best BIC
  is kept.

As mclust defines them, the log-likelihood is that of the class-proportion
mixture, ``sum_i log sum_c tau_c f_c(x_i)``; the number of parameters is the
sum of the class densities' parameters (the proportions ``tau`` are not
counted); ``bic = -2 log L + p log n`` (gmmkit's sign: mclust reports its
negative).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import assert_all_finite, check_is_fitted, column_or_1d

from ._errors import DataError, InvalidParameterError
from ._stats import Params, information_criteria
from ._validation import check_choice, check_X
from .covariance import get_model
from .mixture import GaussianMixture
from .selection import default_covariance_types, select_model

__all__ = ["MixtureDiscriminantAnalysis"]

MODEL_TYPES = ("MclustDA", "EDDA")


class MixtureDiscriminantAnalysis(ClassifierMixin, BaseEstimator):
    """Classification with a Gaussian mixture per class (mclust's MclustDA/EDDA).

    Parameters
    ----------
    model_type : {"MclustDA", "EDDA"}, default="MclustDA"
        ``"MclustDA"``: each class's mixture chosen by BIC over
        ``covariance_types`` x ``n_components``.  ``"EDDA"``: one Gaussian
        per class, one covariance model for all classes, chosen by BIC
        (``n_components`` is ignored).
    n_components : int, iterable of int or None, default=None
        Numbers of components tried per class (MclustDA; mclust's ``G``);
        None: ``range(1, 6)``, mclust's default.
    covariance_types : sequence of str or None, default=None
        Models tried; default mclust's (every model; ``E``/``V`` for one
        feature; without ``EEE``, ``EEV``, ``VEV``, ``VVV`` when there are no
        more rows than features).
    prior : None, "default", dict or ConjugatePrior, default=None
        MclustDA: passed to each class's :func:`gmmkit.select_model`.
    tol, max_iter, reg_covar :
        mclust's EM controls (``1e-5``, practically no limit, 0).
    random_state : int, RandomState or None
        Draws hierarchical-start subsets of classes over 2000 rows.
    n_jobs : int or None
        Parallel fits of each class's grid (see ``select_model``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_prior_ : ndarray of shape (n_classes,)
        Class proportions in the training data.
    models_ : dict
        Class label -> fitted :class:`GaussianMixture` (its density ``f_c``;
        for EDDA a one-component mixture holding the class's Gaussian).
    mixture_ : GaussianMixture
        EDDA only: the fitted mixture whose components are the classes (its
        weights the class proportions).
    covariance_type_ : str
        EDDA only: the chosen covariance model.
    edda_bic_ : dict
        EDDA only: covariance model -> BIC (NaN where it cannot be fitted).
    log_likelihood_ : float
    n_parameters_ : int
    bic_ : float
        ``-2 log_likelihood_ + n_parameters_ log(n)``; lower is better.
    n_iter_ : int
        The most EM iterations any kept class density took (EDDA: 1, its
        one M-step).
    n_features_in_ : int
    feature_names_in_ : ndarray
        Only when X has string column names.
    """

    def __init__(
        self,
        model_type: str = "MclustDA",
        n_components: Any = None,
        covariance_types: Any = None,
        *,
        prior: Any = None,
        tol: float = 1e-5,
        max_iter: int = 10_000,
        reg_covar: float = 0.0,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.model_type = model_type
        self.n_components = n_components
        self.covariance_types = covariance_types
        self.prior = prior
        self.tol = tol
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any) -> MixtureDiscriminantAnalysis:
        """Fit the class densities on labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        check_choice(owner, "model_type", self.model_type, MODEL_TYPES)
        X = check_X(self, X, reset=True)
        y = self._check_y(y, X.shape[0])
        n, d = X.shape
        self.classes_, codes = np.unique(y, return_inverse=True)
        counts = np.bincount(codes, minlength=len(self.classes_))
        self.class_prior_ = counts / n
        models = self._models(n, d)
        if self.model_type == "EDDA":
            self._fit_edda(X, codes, models)
        else:
            self._fit_mclustda(X, codes, models)
        scores = self._joint_log_prob(X)
        loglik = float(_logsumexp(scores).sum())
        self.log_likelihood_ = loglik
        self.bic_ = information_criteria(loglik, self.n_parameters_, n)[0]
        return self

    def _check_y(self, y: Any, n: int) -> np.ndarray:
        if y is None:
            raise InvalidParameterError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None. Pass the class label of every row of X."
            )
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # scikit-learn's DataConversionWarning
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")
        if y.ndim != 1 or y.shape[0] != n:
            raise DataError(
                f"y must hold one class label per row of X, shape ({n},); got "
                f"shape {y.shape}."
            )
        check_classification_targets(y)
        return y

    def _models(self, n: int, d: int) -> tuple[str, ...]:
        if self.covariance_types is None:
            models = default_covariance_types(max(n, d + 1), d)
            if n <= d:  # as mclust: no full-covariance models
                models = tuple(
                    m for m in models if m not in ("EEE", "EEV", "VEV", "VVV")
                )
            return models
        if isinstance(self.covariance_types, str):
            return (self.covariance_types,)
        return tuple(self.covariance_types)

    def _fit_mclustda(
        self, X: np.ndarray, codes: np.ndarray, models: tuple[str, ...]
    ) -> None:
        self.models_ = {}
        p = 0
        grid = self._grid()
        for c, label in enumerate(self.classes_):
            rows = X[codes == c]
            result = select_model(
                rows,
                n_components=[k for k in grid if k <= rows.shape[0]] or [1],
                covariance_types=models,
                tol=self.tol,
                max_iter=self.max_iter,
                reg_covar=self.reg_covar,
                prior=self.prior,
                random_state=self.random_state,
                n_jobs=self.n_jobs,
            )
            self.models_[label] = _after_last_m_step(result.best_, rows)
            p += result.best_.n_parameters()
        self.n_parameters_ = int(p)
        self.n_iter_ = max(1, *(int(gm.n_iter_) for gm in self.models_.values()))

    def _grid(self) -> list[int]:
        """``n_components`` as a list (None: mclust's 1..5)."""
        value = self.n_components
        if value is None:
            return list(range(1, 6))
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return [int(value)]
        try:
            grid = [int(k) for k in value]
        except (TypeError, ValueError):
            grid = []
        if not grid or min(grid) < 1:
            raise InvalidParameterError(
                f"The 'n_components' parameter of {type(self).__name__} must be "
                "None, an int >= 1 or an iterable of them (e.g. range(1, 6)). "
                f"Got {value!r} instead."
            )
        return grid

    def _fit_edda(
        self, X: np.ndarray, codes: np.ndarray, models: tuple[str, ...]
    ) -> None:
        n = X.shape[0]
        k = len(self.classes_)
        resp = np.zeros((n, k))
        resp[np.arange(n), codes] = 1.0
        best: tuple[float, str, GaussianMixture] | None = None
        self.edda_bic_ = {}
        for model in models:
            # one M-step from the class labels (mclust's mstep)
            gm = GaussianMixture(
                k,
                covariance_type=model,
                resp_init=resp,
                max_iter=0,
                reg_covar=self.reg_covar,
                prior=self.prior,
            )
            try:
                gm.fit(X)
                loglik = float(gm.score(X)) * n
                p = gm.n_parameters() - (k - 1)  # proportions are not counted
                bic = information_criteria(loglik, p, n)[0]
            except Exception:  # a model that cannot be fitted: NA, as mclust
                self.edda_bic_[model] = math.nan
                continue
            self.edda_bic_[model] = bic
            if math.isfinite(bic) and (best is None or bic < best[0]):
                best = (bic, model, gm)
        if best is None:
            raise DataError(
                "EDDA could not fit any covariance model to these classes "
                f"(tried {', '.join(models)}). Check for classes with fewer rows "
                "than features or constant features."
            )
        _, model, gm = best
        self.covariance_type_ = model
        self.mixture_ = gm
        self.n_iter_ = 1
        self.n_parameters_ = int(gm.n_parameters() - (k - 1))
        self.models_ = {
            label: _one_gaussian(gm, c) for c, label in enumerate(self.classes_)
        }

    def _joint_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log tau_c + log f_c(x)``, shape (n_samples, n_classes)."""
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        return np.column_stack(
            [
                self.models_[label].score_samples(X) + log_prior[c]
                for c, label in enumerate(self.classes_)
            ]
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class posteriors ``tau_c f_c(x) / sum_j tau_j f_j(x)``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), columns as ``classes_``
        """
        check_is_fitted(self)
        X = check_X(self, X, reset=False)
        scores = self._joint_log_prob(X)
        return np.exp(scores - _logsumexp(scores)[:, None])

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        check_is_fitted(self)
        X = check_X(self, X, reset=False)
        scores = self._joint_log_prob(X)
        return scores - _logsumexp(scores)[:, None]

    def predict(self, X: Any) -> np.ndarray:
        """The class with the largest posterior."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score_samples(self, X: Any) -> np.ndarray:
        """``log sum_c tau_c f_c(x)`` per row (the density the
        log-likelihood sums)."""
        check_is_fitted(self)
        X = check_X(self, X, reset=False)
        return _logsumexp(self._joint_log_prob(X))


def _after_last_m_step(gm: GaussianMixture, X: np.ndarray) -> GaussianMixture:
    """``gm`` (fitted with mclust's stopping rule, which keeps the parameters
    whose E-step passed the test) moved by the M-step of that E-step: the
    parameters mclust's ``Mclust`` returns, whose class densities MclustDA's
    log-likelihood and predictions use.  mclust's one-feature models (E, V)
    return the tested parameters themselves, so they are kept."""
    if not gm.converged_ or gm.max_iter == 0 or X.shape[1] == 1:
        return gm
    saved = gm.get_params()
    gm.set_params(warm_start=True, max_iter=1, convergence="sklearn", tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm._fit_prepared(X)
    gm.set_params(**saved)
    gm.converged_ = True
    return gm


def _one_gaussian(gm: GaussianMixture, c: int) -> GaussianMixture:
    """Component ``c`` of a fitted mixture as a fitted one-component
    mixture ("VVV", or "V" for one feature) with the same density."""
    k, d = gm.means_.shape
    dense = gm._model().dense(np.asarray(gm.covariances_), k, d)[c : c + 1]
    name = "V" if d == 1 else "VVV"
    model = get_model(name)
    native = model.from_dense(np.ascontiguousarray(dense))
    params = Params(
        np.ones(1),
        np.array(gm.means_[c : c + 1]),
        native,
        model.precisions_cholesky(native, 0.0),
    )
    out = GaussianMixture(1, covariance_type=name, reg_covar=0.0)
    out._store_fitted(model, params)
    out.n_features_in_ = d
    out.converged_ = True
    out.n_iter_ = 0
    out.lower_bound_ = -math.inf
    out.lower_bounds_ = []
    return out


def _logsumexp(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - top[:, None]).sum(axis=1)) + top
