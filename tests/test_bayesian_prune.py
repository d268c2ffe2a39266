"""BayesianGaussianMixture.prune().

Oracles: the original model's own parameters and responsibilities (the
kept components' posterior is unchanged; for the Dirichlet distribution
the pruned responsibilities are the original's kept columns renormalised
and the plug-in score changes by exactly ``digamma(A) - digamma(A') +
log(1 - r_dropped(x))``); the mixture identity ``p = (1 - delta) p_kept +
delta p_dropped`` for the predictive density.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import digamma

from gmmkit import BayesianGaussianMixture
from gmmkit.bayesian import EFFECTIVE_WEIGHT

COV_TYPES = ("full", "tied", "diag", "spherical")


def _clusters(n, seed=2):
    rng = np.random.RandomState(seed)
    return np.vstack([rng.randn(n, 2) + c for c in ([0, 0], [6, 0], [0, 6])])


def _fit(X, covariance_type, weight_type):
    return BayesianGaussianMixture(
        8,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_type,
        weight_concentration_prior=1e-3,
        random_state=0,
        max_iter=1000,
        tol=1e-6,
    ).fit(X)


def _kept_unchanged(m, p, keep):
    assert p.n_components == keep.size == m.n_effective_components_
    assert_array_equal(p.means_, m.means_[keep])
    assert_array_equal(p.mean_precision_, m.mean_precision_[keep])
    if m.covariance_type == "tied":
        assert_array_equal(p.covariances_, m.covariances_)
        assert_array_equal(p.precisions_cholesky_, m.precisions_cholesky_)
        assert p.degrees_of_freedom_ == m.degrees_of_freedom_
    else:
        assert_array_equal(p.covariances_, m.covariances_[keep])
        assert_array_equal(p.precisions_cholesky_, m.precisions_cholesky_[keep])
        assert_array_equal(p.precisions_, m.precisions_[keep])
        assert_array_equal(p.degrees_of_freedom_, m.degrees_of_freedom_[keep])
    for name in ("mean_prior_", "covariance_prior_", "weight_concentration_prior_"):
        assert_array_equal(getattr(p, name), getattr(m, name))
    assert p.n_effective_components_ == p.n_components
    assert np.isnan(p.elbo_)
    assert m.n_components == 8  # the original is untouched
    assert m.weights_.shape == (8,)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_prune_dirichlet_distribution_is_the_renormalised_model(covariance_type):
    X = _clusters(150)
    m = _fit(X, covariance_type, "dirichlet_distribution")
    keep = np.flatnonzero(m.weights_ > EFFECTIVE_WEIGHT)
    assert keep.size == 3 < 8  # something to prune
    dropped = 1.0 - m.weights_[keep].sum()
    assert 0 < dropped < 1e-3
    p = m.prune()
    _kept_unchanged(m, p, keep)
    assert_array_equal(p.weight_concentration_, m.weight_concentration_[keep])
    assert_allclose(p.weights_, m.weights_[keep] / m.weights_[keep].sum(), rtol=1e-13)
    # responsibilities: the kept columns, renormalised
    r = m.predict_proba(X)
    assert_allclose(
        p.predict_proba(X), r[:, keep] / r[:, keep].sum(axis=1, keepdims=True),
        rtol=1e-10, atol=1e-12,
    )
    # the plug-in score: E[log pi_k] of each kept component shifts by
    # digamma(A) - digamma(A'), the dropped rows' share is lost
    alpha = m.weight_concentration_
    shift = digamma(alpha.sum()) - digamma(alpha[keep].sum())
    expected = m.score_samples(X) + shift + np.log1p(-(1 - r[:, keep].sum(axis=1)))
    assert_allclose(p.score_samples(X), expected, rtol=1e-11, atol=1e-11)
    assert abs(p.score(X) - m.score(X)) < 2 * dropped
    # predictive densities: p = (1 - delta) p_kept + delta p_dropped
    lp, lm = p.score_samples(X, predictive=True), m.score_samples(X, predictive=True)
    assert (lp - lm <= -np.log1p(-dropped) + 1e-12).all()
    assert abs(lp.mean() - lm.mean()) < 2 * dropped
    assert_array_equal(keep[p.predict(X)], m.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_prune_dirichlet_process(covariance_type):
    """The sticks are recomputed from the kept counts (empty components in
    the middle of the stick are dropped too)."""
    X = _clusters(1500)
    m = _fit(X, covariance_type, "dirichlet_process")
    keep = np.flatnonzero(m.weights_ > EFFECTIVE_WEIGHT)
    assert 3 <= keep.size < 8
    if covariance_type != "tied":  # an empty stick before a kept one
        assert keep[-1] >= keep.size
    dropped = 1.0 - m.weights_[keep].sum()
    p = m.prune()
    _kept_unchanged(m, p, keep)
    a, b = m.weight_concentration_
    pa, pb = p.weight_concentration_
    counts = a[keep] - 1.0
    assert_allclose(pa, a[keep], rtol=1e-13)
    later = np.array([counts[i + 1 :].sum() for i in range(keep.size)])
    assert_allclose(pb, m.weight_concentration_prior_ + later, rtol=1e-12)
    renormalised = m.weights_[keep] / m.weights_[keep].sum()
    assert np.abs(p.weights_ - renormalised).sum() <= 2 * dropped + 1e-12
    assert abs(p.score(X) - m.score(X)) < 2 * dropped + 1e-9
    lp, lm = p.score_samples(X, predictive=True), m.score_samples(X, predictive=True)
    assert abs(lp.mean() - lm.mean()) < 2 * dropped + 1e-9
    assert_array_equal(keep[p.predict(X)], m.predict(X))


def test_prune_keeps_everything_when_nothing_is_empty():
    X = _clusters(100)
    m = BayesianGaussianMixture(3, random_state=0).fit(X)
    assert m.n_effective_components_ == 3
    p = m.prune()
    assert p is not m
    for name in ("weights_", "means_", "covariances_", "mean_precision_"):
        assert_allclose(getattr(p, name), getattr(m, name), rtol=1e-14)
    assert_allclose(p.score_samples(X), m.score_samples(X), rtol=1e-13)


def test_pruned_model_refits_with_warm_start():
    X = _clusters(150)
    m = _fit(X, "full", "dirichlet_distribution")
    p = m.prune()
    p.set_params(warm_start=True, max_iter=200)
    p.fit(X)
    assert p.n_components == 3 and np.isfinite(p.elbo_)
    assert_allclose(p.means_, m.means_[m.weights_ > EFFECTIVE_WEIGHT], atol=1e-3)


def test_prune_needs_a_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BayesianGaussianMixture(2).prune()
