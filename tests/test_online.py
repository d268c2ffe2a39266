"""Online (stepwise) EM: partial_fit and mini-batch fit.

Oracles: scikit-learn's batch fit (held-out log-likelihood) and a stepwise
update recomputed by hand from scipy's Gaussian densities.
"""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGM

from gmmkit import DataError, GaussianMixture, InvalidParameterError

K, D = 4, 3


def _mixture(n, seed):
    """Unequal weights and scales, overlapping enough to need EM."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [4, 0, 1], [0, 4, -1], [3, 3, 3]], float)
    scales = np.array([1.0, 0.6, 1.4, 0.9])
    labels = rng.choice(K, size=n, p=[0.4, 0.3, 0.2, 0.1])
    mix = np.array([[1, 0.3, 0], [0.3, 1, 0.2], [0, 0.2, 1]])
    noise = rng.normal(size=(n, D)) @ mix
    return centres[labels] + noise * scales[labels, None]


@pytest.fixture(scope="module")
def data():
    return _mixture(40_000, 0), _mixture(10_000, 1)


@pytest.fixture(scope="module")
def batch_score(data):
    train, test = data
    return SkGM(K, random_state=0).fit(train).score(test)


def test_partial_fit_stream_reaches_batch_fit(data, batch_score):
    train, test = data
    online = GaussianMixture(K, random_state=0)
    for start in range(0, train.shape[0], 5000):
        online.partial_fit(train[start : start + 5000])
    assert online.n_iter_ == 8
    gap = (online.score(test) - batch_score) / abs(batch_score)
    assert abs(gap) < 0.01
    # and it learnt something: far better than the model after one batch
    first = GaussianMixture(K, random_state=0).partial_fit(train[:5000])
    assert online.score(test) >= first.score(test) - 1e-9


def test_minibatch_fit_reaches_batch_fit(data, batch_score):
    train, test = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(K, random_state=0, batch_size=5000, max_iter=3)
        gm.fit(train)
    assert gm.n_iter_ <= 3
    assert abs(gm.score(test) - batch_score) / abs(batch_score) < 0.01


def _stats_by_hand(X, weights, means, covs):
    dens = np.column_stack(
        [w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, covs)]
    )
    resp = dens / dens.sum(axis=1, keepdims=True)
    n = resp.sum(axis=0)
    s1 = resp.T @ X
    s2 = np.einsum("nk,ni,nj->kij", resp, X, X)
    return n / len(X), s1 / len(X), s2 / len(X)


def _params_from(n, s1, s2, reg):
    means = s1 / n[:, None]
    covs = s2 / n[:, None, None] - np.einsum("ki,kj->kij", means, means)
    covs += reg * np.eye(s1.shape[1])
    return n / n.sum(), means, covs


@pytest.mark.parametrize("decay,offset", [(0.6, 2.0), (1.0, 0.0), (0.75, 5.0)])
def test_stepwise_update_matches_hand_computation(decay, offset):
    rng = np.random.default_rng(3)
    X1, X2, X3 = (_mixture(400, s) for s in (4, 5, 6))
    w0 = np.full(K, 0.25)
    m0 = X1[rng.choice(400, K, replace=False)]
    c0 = np.tile(np.eye(D), (K, 1, 1))
    reg = 1e-6
    gm = GaussianMixture(
        K,
        weights_init=w0,
        means_init=m0,
        precisions_init=np.linalg.inv(c0),
        reg_covar=reg,
        step_decay=decay,
        step_offset=offset,
    )
    gm.partial_fit(X1)
    S = _stats_by_hand(X1, w0, m0, c0)  # first batch: eta = 1
    params = _params_from(*S, reg)
    np.testing.assert_allclose(gm.means_, params[1], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(gm.covariances_, params[2], rtol=1e-8, atol=1e-10)
    for t, X in enumerate((X2, X3), start=1):
        gm.partial_fit(X)
        eta = (t + offset) ** (-decay)
        new = _stats_by_hand(X, *params)
        S = tuple((1 - eta) * a + eta * b for a, b in zip(S, new))
        params = _params_from(*S, reg)
        np.testing.assert_allclose(gm.weights_, params[0], rtol=1e-9)
        np.testing.assert_allclose(gm.means_, params[1], rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(gm.covariances_, params[2], rtol=1e-8, atol=1e-10)
    assert gm.n_iter_ == 3


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_partial_fit_other_models_learn(data, covariance_type):
    train, test = data
    gm = GaussianMixture(K, covariance_type=covariance_type, random_state=0)
    for start in range(0, 30_000, 5000):
        gm.partial_fit(train[start : start + 5000])
    ref = SkGM(K, covariance_type=covariance_type, random_state=0).fit(train[:30_000])
    assert abs(gm.score(test) - ref.score(test)) / abs(ref.score(test)) < 0.01


def test_partial_fit_continues_a_fitted_model(data):
    train, _ = data
    gm = GaussianMixture(K, random_state=0).fit(train[:5000])
    means = gm.means_.copy()
    gm.partial_fit(train[5000:10000])
    assert gm.means_.shape == means.shape
    assert np.abs(gm.means_ - means).max() < 0.5  # continued, not restarted


def test_partial_fit_bad_input():
    gm = GaussianMixture(5)
    with pytest.raises(DataError, match="first batch.*at least as many rows"):
        gm.partial_fit(np.random.default_rng(0).normal(size=(3, 2)))
    gm = GaussianMixture(2, random_state=0).partial_fit(_mixture(200, 1))
    with pytest.raises(ValueError, match="features"):
        gm.partial_fit(np.zeros((10, 2)))
    with pytest.raises(DataError, match="NaN"):
        gm.partial_fit(np.full((10, D), np.nan))


@pytest.mark.parametrize("value", [0.5, 0.3, 1.5, "a", True])
def test_step_decay_is_checked(value):
    with pytest.raises(InvalidParameterError, match="step_decay.*\\(0.5, 1\\]"):
        GaussianMixture(2, step_decay=value).fit(_mixture(100, 0))


def test_batch_size_is_checked():
    with pytest.raises(InvalidParameterError, match="batch_size"):
        GaussianMixture(2, batch_size=0).fit(_mixture(100, 0))
