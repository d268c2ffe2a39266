"""The conditioning core (gmmkit._gaussian) against scipy and brute-force
inverses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmmkit import FitError
from gmmkit._gaussian import (
    complement,
    condition,
    log_density,
    marginal,
    mixture_condition,
)


def _params(k: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 3
    a = rng.normal(size=(k, d, d))
    covs = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(d)
    return means, covs


@pytest.mark.parametrize("given", [[0], [1, 3], [4, 0, 2], [0, 1, 2, 3, 4], []])
def test_condition_matches_brute_force_inverse(given: list[int]) -> None:
    means, covs = _params(3, 5)
    rng = np.random.default_rng(1)
    g = np.array(given, dtype=int)
    r = complement(g, 5)
    values = rng.normal(size=(7, g.size))
    log_dens, cond_means, cond_covs = condition(means, covs, g, values)
    assert log_dens.shape == (7, 3)
    assert cond_means.shape == (7, 3, r.size)
    assert cond_covs.shape == (3, r.size, r.size)
    for k in range(3):
        s = covs[k]
        s_gg, s_rg = s[np.ix_(g, g)], s[np.ix_(r, g)]
        if g.size:
            inv = np.linalg.inv(s_gg)
            want = multivariate_normal(means[k, g], s_gg).logpdf(values)
            np.testing.assert_allclose(log_dens[:, k], np.atleast_1d(want), rtol=1e-12)
        else:
            inv = np.zeros((0, 0))
            np.testing.assert_array_equal(log_dens[:, k], 0.0)
        want_mean = means[k, r] + (values - means[k, g]) @ (s_rg @ inv).T
        want_cov = s[np.ix_(r, r)] - s_rg @ inv @ s_rg.T
        np.testing.assert_allclose(cond_means[:, k], want_mean, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(cond_covs[k], want_cov, rtol=1e-10, atol=1e-10)


def test_log_density_and_marginal_match_scipy() -> None:
    means, covs = _params(4, 6, seed=2)
    idx = np.array([5, 1, 2])
    m, c = marginal(means, covs, idx)
    x = np.random.default_rng(3).normal(size=(9, 3))
    got = log_density(means, covs, idx, x)
    for k in range(4):
        np.testing.assert_array_equal(m[k], means[k, idx])
        np.testing.assert_array_equal(c[k], covs[k][np.ix_(idx, idx)])
        want = multivariate_normal(m[k], c[k]).logpdf(x)
        np.testing.assert_allclose(got[:, k], want, rtol=1e-12)


def test_mixture_condition_posterior_is_bayes_rule() -> None:
    means, covs = _params(3, 4, seed=4)
    weights = np.array([0.2, 0.5, 0.3])
    g = np.array([2, 0])
    x = np.random.default_rng(5).normal(size=(6, 2))
    log_marg, post, cond_means, _ = mixture_condition(weights, means, covs, g, x)
    dens = np.column_stack(
        [
            weights[k] * multivariate_normal(means[k, g], covs[k][np.ix_(g, g)]).pdf(x)
            for k in range(3)
        ]
    )
    np.testing.assert_allclose(log_marg, np.log(dens.sum(axis=1)), rtol=1e-12)
    np.testing.assert_allclose(post, dens / dens.sum(axis=1, keepdims=True), rtol=1e-10)
    assert cond_means.shape == (6, 3, 2)


def test_singular_block_is_a_located_fit_error() -> None:
    means, covs = _params(2, 3)
    covs[1] = np.ones((3, 3))  # rank one
    with pytest.raises(FitError, match="component 1"):
        condition(means, covs, np.array([0, 1]), np.zeros((1, 2)))
