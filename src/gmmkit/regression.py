""":class:`GaussianMixtureRegressor`: regression by a Gaussian mixture of the
joint distribution of inputs and targets (Gaussian mixture regression)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._conditional import ConditionalRows
from ._errors import DataError, DataTypeError, InvalidParameterError
from ._validation import check_choice, check_int, check_X
from .mixture import NAN_POLICIES, GaussianMixture

__all__ = ["GaussianMixtureRegressor"]


class GaussianMixtureRegressor(RegressorMixin, BaseEstimator):
    """Regression by a Gaussian mixture of the inputs and targets together.

    ``fit(X, y)`` fits a :class:`gmmkit.GaussianMixture` to the rows
    ``[x, y]``; ``predict`` returns the mean of the conditional mixture
    ``p(y | x)`` (Gaussian mixture regression, Ghahramani & Jordan 1994):
    ``E[y | x] = sum_k P(k | x) (mu_ky + Sigma_kyx Sigma_kxx^-1 (x - mu_kx))``,
    a smooth nonlinear function of x, and with ``return_std=True`` its
    standard deviation (the law of total variance over the conditional
    components), which grows where the data are noisy or ambiguous.  Every
    covariance model works (axis-aligned models make the components' slopes
    zero: their predictions are posterior-weighted constants).  Inputs with
    NaN are conditioned on their observed features.  The computation is
    batched over rows and components (no loop over rows).

    Parameters
    ----------
    n_components, covariance_type, tol, reg_covar, max_iter, n_init, \
init_params, weights_init, means_init, precisions_init, resp_init, \
random_state, warm_start, batch_size, step_decay, step_offset, verbose, \
verbose_interval, chunk_size, convergence, prior, dtype, accelerate, callback
        As for :class:`gmmkit.GaussianMixture`, for the joint mixture of
        ``[X, y]`` (``*_init`` arrays have ``n_features + n_targets``
        columns, X's features first).
    nan_policy : {"marginalize", "raise"}, default="marginalize"
        What NaN in X (and in y, at fit) means.  ``"marginalize"``: a missing
        value; ``fit`` maximises the likelihood of the observed values (see
        :class:`gmmkit.GaussianMixture`) and ``predict``, ``sample_y`` and
        ``score`` condition each row on its observed features (a row with
        none observed gets the targets' marginal distribution).
        ``"raise"``: an error naming the row and column, at fit and at
        prediction.  (The default differs from GaussianMixture's: missing
        inputs are where conditioning is most useful.)

    Attributes
    ----------
    mixture_ : GaussianMixture
        The fitted joint mixture: X's features first, then the targets
        (named after X's columns and y's name(s) when X is a DataFrame).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names (e.g. a DataFrame).
    n_targets_ : int
        Number of targets (columns of y; 1 for a 1-D y).
    n_iter_ : int
        EM iterations of the joint mixture's fit (``mixture_.n_iter_``).

    Examples
    --------
    >>> import numpy as np
    >>> from gmmkit import GaussianMixtureRegressor
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-3, 3, size=(500, 1))
    >>> y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=500)
    >>> reg = GaussianMixtureRegressor(8, random_state=0).fit(x, y)
    >>> mean, std = reg.predict([[0.5]], return_std=True)
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
        nan_policy: str = "marginalize",
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

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._marginalize()
        tags.target_tags.multi_output = True
        return tags

    def _marginalize(self) -> bool:
        return getattr(self, "nan_policy", "marginalize") == "marginalize"

    # --------------------------------------------------------------------- fit
    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> GaussianMixtureRegressor:
        """Fit the joint mixture of ``[X, y]`` by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (an integer weight counts a row that many
            times).

        Returns
        -------
        self : GaussianMixtureRegressor
        """
        owner = type(self).__name__
        check_choice(owner, "nan_policy", self.nan_policy, NAN_POLICIES)
        X = check_X(self, X, reset=True, allow_nan=self._marginalize())
        targets, names, one_d = self._check_y(y, X.shape[0])
        params = {  # the joint mixture's parameters (no noise component)
            name: getattr(self, name)
            for name in GaussianMixture._get_param_names()
            if name in self._get_param_names()
        }
        mixture = getattr(self, "mixture_", None)
        if not (self.warm_start and isinstance(mixture, GaussianMixture)):
            mixture = GaussianMixture()
        mixture.set_params(**params)
        joint = np.column_stack([np.asarray(X, dtype=np.float64), targets])
        mixture.fit(joint, sample_weight=sample_weight)
        x_names = getattr(self, "feature_names_in_", None)
        if x_names is not None:
            all_names = [*(str(n) for n in x_names), *names]
            if len(set(all_names)) == len(all_names):
                mixture.feature_names_in_ = np.asarray(all_names, dtype=object)
        self.mixture_ = mixture
        self.n_targets_ = int(targets.shape[1])
        self.n_iter_ = mixture.n_iter_
        self._y_1d = one_d
        return self

    def _check_y(self, y: Any, n_samples: int) -> tuple[np.ndarray, list[str], bool]:
        """y as float64 (n_samples, n_targets), the targets' names, and
        whether y was 1-D."""
        owner = type(self).__name__
        if y is None:
            raise DataError(
                f"{owner} requires y to be passed, but the target y is None. "
                "Pass the targets: fit(X, y)."
            )
        if hasattr(y, "dtypes") and hasattr(y, "columns"):  # DataFrame
            names = [str(c) for c in y.columns]
        elif hasattr(y, "to_frame") and isinstance(getattr(y, "name", None), str):
            names = [y.name]
        else:
            names = []
        try:
            arr = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DataTypeError(
                "y must hold numbers, shape (n_samples,) or (n_samples, n_targets); "
                f"it could not be converted to float ({exc}). Encode the targets "
                "as numbers."
            ) from None
        if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[1] == 0):
            raise DataError(
                "y must have shape (n_samples,) or (n_samples, n_targets) with at "
                f"least one target; got shape {arr.shape}."
            )
        if arr.shape[0] != n_samples:
            raise DataError(
                f"y has {arr.shape[0]} rows but X has {n_samples}; pass one target "
                "row per row of X."
            )
        targets = arr.reshape(n_samples, -1)
        bad = ~np.isfinite(targets)
        if self._marginalize():
            bad &= ~np.isnan(targets)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            hint = (
                ""
                if self._marginalize()
                else " (nan_policy='marginalize' treats NaN as missing)"
            )
            raise DataError(
                f"y contains {targets[i, j]} at row {i}, target {j}; targets must be "
                f"finite{hint}. Remove those rows or fix the values."
            )
        if len(names) != targets.shape[1]:
            width = targets.shape[1]
            names = ["y"] if width == 1 else [f"y{j}" for j in range(width)]
        return targets, names, arr.ndim == 1

    # ----------------------------------------------------------------- predict
    def _conditional(self, X: Any) -> tuple[ConditionalRows, np.ndarray]:
        """The conditional of the targets given the inputs, and X validated."""
        check_is_fitted(self)
        X = check_X(self, X, reset=False, allow_nan=self._marginalize())
        mixture = self.mixture_
        p = self.n_features_in_
        rows = ConditionalRows(
            mixture._model(),
            mixture._fitted_params(),
            np.arange(p),
            np.arange(p, p + self.n_targets_),
        )
        return rows, X

    def _shaped(self, values: np.ndarray) -> np.ndarray:
        """(n, t) per-target values as y was given at fit: (n,) for 1-D y."""
        return values[:, 0] if self._y_1d else values

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """The conditional mean ``E[y | x]``, and optionally its spread.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN (under ``nan_policy="marginalize"``): a missing input; the
            row is conditioned on its observed features.
        return_std : bool, default=False
            Also return the standard deviation of ``p(y | x)`` per target:
            ``sqrt(sum_k w_k (C_k,jj + (m_kj - E[y_j | x])^2))``.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
            (n_samples,) when y was 1-D at fit.
        y_std : ndarray, shape as y_mean
            Only with ``return_std=True``.
        """
        if not isinstance(return_std, (bool, np.bool_)):
            raise InvalidParameterError(
                f"return_std of predict must be True or False; got {return_std!r}."
            )
        rows, X = self._conditional(X)
        mean, var = rows.moments(X)
        if not return_std:
            return self._shaped(mean)
        return self._shaped(mean), self._shaped(np.sqrt(np.maximum(var, 0.0)))

    def sample_y(
        self, X: Any, n_samples: int = 1, random_state: Any = None
    ) -> np.ndarray:
        """Draws from ``p(y | x)`` for each row of X.

        Each draw picks a component from the posterior ``P(k | x)`` and then
        a value from that component's conditional Gaussian.  The shapes are
        those of :meth:`sklearn.gaussian_process.GaussianProcessRegressor.sample_y`.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
        n_samples : int, default=1
            Draws per row.
        random_state : int, RandomState or None
            Defaults to the estimator's ``random_state``.

        Returns
        -------
        y_samples : ndarray
            Shape (n_samples_X, n_samples) when y was 1-D at fit, else
            (n_samples_X, n_targets, n_samples).
        """
        check_int("sample_y", "n_samples", n_samples, 1)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        rows, X = self._conditional(X)
        draws = rows.sample(X, int(n_samples), rng)
        return draws[:, 0, :] if self._y_1d else draws
