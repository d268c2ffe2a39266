""":class:`GaussianMixtureImputer`: missing values filled in by a Gaussian
mixture fitted to the incomplete data itself."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._validation import check_choice
from .mixture import GaussianMixture

__all__ = ["GaussianMixtureImputer"]


class GaussianMixtureImputer(TransformerMixin, BaseEstimator):
    """Impute missing values (NaN) from a Gaussian mixture.

    ``fit`` fits a :class:`gmmkit.GaussianMixture` with
    ``nan_policy="marginalize"`` (EM on the observed values, exact for data
    missing at random); ``transform`` replaces each NaN by its conditional
    mean given the row's observed values (``method="mean"``) or by a draw
    from the conditional distribution (``method="sample"``), see
    :meth:`gmmkit.GaussianMixture.impute`.  A scikit-learn transformer: it
    works in a ``Pipeline`` and with ``set_output(transform="pandas")``.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default="full"
        Any covariance model of :class:`gmmkit.GaussianMixture`.
    method : {"mean", "sample"}, default="mean"
    tol, reg_covar, max_iter, n_init, init_params, random_state, prior
        As for :class:`gmmkit.GaussianMixture`.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The fitted mixture.
    n_iter_ : int
        EM iterations of the kept fit (``mixture_.n_iter_``).
    converged_ : bool
        Whether that fit converged (``mixture_.converged_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names (e.g. a DataFrame).
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        method: str = "mean",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        prior: Any = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.method = method
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.prior = prior

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> GaussianMixtureImputer:
        """Fit the mixture to X, missing values marginalised.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks a missing value.
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixtureImputer
        """
        check_choice(type(self).__name__, "method", self.method, ("mean", "sample"))
        mixture = GaussianMixture(
            self.n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self.init_params,
            random_state=self.random_state,
            prior=self.prior,
            nan_policy="marginalize",
        )
        mixture.fit(X, sample_weight=sample_weight)
        self.mixture_ = mixture
        self.n_iter_ = mixture.n_iter_
        self.converged_ = mixture.converged_
        self.n_features_in_ = mixture.n_features_in_
        if hasattr(mixture, "feature_names_in_"):
            self.feature_names_in_ = mixture.feature_names_in_
        else:
            self.__dict__.pop("feature_names_in_", None)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """X with each NaN imputed (see ``method``).

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        return self.mixture_.impute(X, method=self.method)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The input features' names (imputation keeps every column)."""
        check_is_fitted(self, "n_features_in_")
        return np.asarray(_check_feature_names_in(self, input_features), dtype=object)
