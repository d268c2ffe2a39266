"""The sufficient statistics (their properties for every model, under
hypothesis: tests/test_properties.py)."""

import numpy as np
from numpy.testing import assert_allclose

from gmmkit._stats import Params, estep_stats
from gmmkit.covariance import get_model
from gmmkit.sources import ArraySource


def _params(model, k, d, rng):
    means = rng.randn(k, d) * 3
    covs = np.stack([np.cov(rng.randn(d + 5, d).T) + np.eye(d) for _ in range(k)])
    native = model.from_dense(covs)
    if model.name == "EEE":
        native = covs.mean(axis=0)
    weights = rng.dirichlet(np.ones(k))
    return Params(weights, means, native, model.precisions_cholesky(native, 0.0))


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
