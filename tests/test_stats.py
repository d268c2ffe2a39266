"""Properties of the sufficient statistics and of the EM engine."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from gmmkit import GaussianMixture
from gmmkit._engine import m_step
from gmmkit._stats import Params, SuffStats, estep_stats
from gmmkit.covariance import get_model
from gmmkit.sources import ArraySource

TYPES = ["full", "tied", "diag", "spherical"]


def _params(model, k, d, rng):
    means = rng.randn(k, d) * 3
    covs = np.stack([np.cov(rng.randn(d + 5, d).T) + np.eye(d) for _ in range(k)])
    native = model.from_dense(covs)
    if model.name == "EEE":
        native = covs.mean(axis=0)
    weights = rng.dirichlet(np.ones(k))
    return Params(weights, means, native, model.precisions_cholesky(native, 0.0))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 120),
    d=st.integers(1, 4),
    k=st.integers(1, 4),
    chunk=st.integers(1, 130),
    covariance_type=st.sampled_from(TYPES),
    seed=st.integers(0, 2**31 - 1),
    offset=st.sampled_from([0.0, 1e3, -1e5]),
)
def test_statistics_do_not_depend_on_chunking(
    n, d, k, chunk, covariance_type, seed, offset
):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) * rng.uniform(0.1, 5, size=d) + offset
    w = rng.uniform(0, 2, size=n)
    model = get_model(covariance_type)
    params = _params(model, k, d, rng)
    params.means += offset
    whole = estep_stats(ArraySource(X, w, n), model, params)
    parts = estep_stats(ArraySource(X, w, chunk), model, params)
    for name in ("n", "s1", "s2"):
        a, b = getattr(parts, name), getattr(whole, name)
        assert_allclose(a, b, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(b).max()))
    assert_allclose(parts.loglik, whole.loglik, rtol=1e-10)
    assert_allclose(parts.weight, w.sum(), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    split=st.integers(1, 99),
    covariance_type=st.sampled_from(TYPES),
    seed=st.integers(0, 2**31 - 1),
)
def test_statistics_of_two_halves_add_up(split, covariance_type, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(100, 3)
    model = get_model(covariance_type)
    params = _params(model, 3, 3, rng)
    left = estep_stats(ArraySource(X[:split], None, 1000), model, params)
    right = estep_stats(ArraySource(X[split:], None, 1000), model, params)
    total = estep_stats(ArraySource(X, None, 1000), model, params)
    both = left + right
    assert isinstance(both, SuffStats)
    assert_allclose(both.s2, total.s2, rtol=1e-10, atol=1e-12)
    assert_allclose(both.loglik, total.loglik, rtol=1e-12)
    # the M-step from added statistics is the M-step of all rows
    a = m_step(model, both, 1e-6, params)
    b = m_step(model, total, 1e-6, params)
    # off-diagonal covariances may be ~0: compare them on the matrices' scale
    scale = float(np.abs(b.covariances).max())
    assert_allclose(a.covariances, b.covariances, rtol=1e-10, atol=1e-12 * scale)
    assert_allclose(a.means, b.means, rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    covariance_type=st.sampled_from(TYPES),
    k=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_log_likelihood_never_decreases(covariance_type, k, seed):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(40, 2) + rng.uniform(-6, 6, size=2) for _ in range(3)])
    gm = GaussianMixture(
        k,
        covariance_type=covariance_type,
        reg_covar=1e-8,
        tol=1e-12,
        max_iter=60,
        init_params="random",
        random_state=seed,
    )
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    hist = gm.log_likelihood_history_
    # reg_covar > 0 makes the M-step inexact by at most ~reg_covar per entry
    assert np.all(np.diff(hist) >= -1e-6 * (1 + np.abs(hist[1:])))


def test_shifted_moments_survive_a_huge_offset():
    """Raw moments would cancel catastrophically at 1e8; shifted ones don't."""
    rng = np.random.RandomState(0)
    X = np.round(rng.randn(500, 2) * 2**20) / 2**20  # exact after translation
    model = get_model("full")
    params = _params(model, 2, 2, rng)
    params.means = np.round(params.means * 2**20) / 2**20  # exact translation too
    near = estep_stats(ArraySource(X, None, 64), model, params)
    params.means += 1e8
    far = estep_stats(ArraySource(X + 1e8, None, 64), model, params)
    _, m_near, s_near = near.means_and_scatter()
    _, m_far, s_far = far.means_and_scatter()
    assert_allclose(s_far, s_near, rtol=1e-12)
    assert_allclose(m_far - 1e8, m_near, atol=3e-8)  # 2 ulp of 1e8
