"""BayesianGaussianMixture.partial_fit: stochastic variational inference.

Oracles: scikit-learn's BayesianGaussianMixture from the same random_state
(one variational step of the full data equals its ``max_iter=1`` fit; the
continued fit with step size 1 equals its next iteration), the batch fit's
held-out posterior predictive log-likelihood for a stream of batches, and
the variational M-step itself for the statistics read back from a posterior.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SkBGM

import gmmkit
from gmmkit import BayesianGaussianMixture
from gmmkit._errors import DataError, InvalidParameterError
from gmmkit._online import OnlineState
from gmmkit._variational import m_step, stats_from_posterior
from gmmkit.sources import ArraySource
from test_bayesian import POSTERIOR, same_posterior

TYPES = ("full", "tied", "diag", "spherical")
WEIGHTS = ("dirichlet_process", "dirichlet_distribution")


def blobs(n=300, seed=0):
    rng = np.random.RandomState(seed)
    return np.vstack([rng.randn(n // 3, 3) + c for c in (0.0, 4.0, 8.0)])


def stream_data(n, seed):
    """Four Gaussian clusters in 3-D with unequal weights and spreads."""
    rng = np.random.RandomState(seed)
    centres = np.array([[0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 5]], dtype=float)
    z = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    return centres[z] + rng.randn(n, 3) * np.array([1.0, 0.7, 1.3])


def params(cov, weight_type, k=4):
    return dict(
        n_components=k,
        covariance_type=cov,
        weight_concentration_prior_type=weight_type,
        random_state=0,
    )


def sk_fit(max_iter, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkBGM(max_iter=max_iter, **kw).fit(X)


@pytest.mark.parametrize("weight_type", WEIGHTS)
@pytest.mark.parametrize("cov", TYPES)
def test_first_batch_is_one_variational_step(cov, weight_type):
    """The first batch (rho = 1): scikit-learn's start and one E/M step."""
    X = blobs()
    kw = params(cov, weight_type)
    ours = BayesianGaussianMixture(**kw).partial_fit(X)
    same_posterior(ours, sk_fit(1, X, **kw))
    assert ours.n_iter_ == 1 and ours.converged_ is False
    assert ours.online_state_.n_updates == 0
    assert ours.n_samples_fit_ == 300


@pytest.mark.parametrize("weight_type", WEIGHTS)
@pytest.mark.parametrize("cov", TYPES)
def test_continued_fit_with_step_one_is_the_next_iteration(cov, weight_type):
    """A model fitted by fit (3 iterations), continued by the full data as
    one batch with rho_1 = (1 + 0) ** -0.6 = 1 and N = n: the statistics
    read back from its posterior are replaced by the batch's, so the result
    is scikit-learn's 4th iteration; its bound estimate is the bound of the
    entering posterior on the data (elbo_ of the 3-iteration fit)."""
    X = blobs()
    kw = params(cov, weight_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(
            max_iter=3, step_offset=0.0, n_samples_total=300, **kw
        ).fit(X)
    bound3 = ours.elbo_
    ours.partial_fit(X)
    same_posterior(ours, sk_fit(4, X, **kw))
    assert ours.elbo_ == pytest.approx(bound3, rel=1e-10)
    assert ours.lower_bounds_ == [ours.lower_bound_]


@pytest.mark.parametrize("weight_type", WEIGHTS)
@pytest.mark.parametrize("cov", TYPES)
def test_statistics_from_a_posterior_invert_the_m_step(cov, weight_type):
    """The statistics read back from the M-step's posterior: for full and
    diag (where the inverse is unique) the E-step's statistics that gave
    it; for every type, their M-step is that posterior."""
    X = blobs()
    m = BayesianGaussianMixture(max_iter=1000, **params(cov, weight_type)).fit(X)
    model, prior = m._model(), m._vb_prior()
    stats = ArraySource(X, None, 64).estep(model, m._estep_params())
    post = m_step(model, stats, m.reg_covar, prior)
    back = stats_from_posterior(model, post, prior, m.reg_covar, 300)
    if cov in ("full", "diag"):
        given = stats.recentred(post.means)
        np.testing.assert_allclose(back.n, given.n, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(back.s1, given.s1, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(back.s2, given.s2, rtol=1e-9, atol=1e-9)
    again = m_step(model, back, m.reg_covar, prior)
    for name in ("weights", "means", "covariances", "mean_precision", "dof"):
        np.testing.assert_allclose(
            getattr(again, name), getattr(post, name), rtol=1e-9, atol=1e-11
        )
    np.testing.assert_allclose(
        again.weight_concentration, post.weight_concentration, rtol=1e-9, atol=1e-11
    )


@pytest.mark.parametrize(
    "cov, weight_type",
    [(c, "dirichlet_process") for c in TYPES] + [("full", "dirichlet_distribution")],
)
def test_stream_approaches_the_batch_fit(cov, weight_type):
    """One pass over 6000 rows in batches of 200 (default N: the weight seen
    so far) ends within 0.015 nats per held-out row of the batch fit's
    posterior predictive log-likelihood (measured: 0.001-0.007), and well
    above the model of the first batch alone (0.08-0.14 below the batch
    fit)."""
    X, X_test = stream_data(6000, 0), stream_data(3000, 1)
    kw = params(cov, weight_type, 6)
    batch = BayesianGaussianMixture(max_iter=1000, **kw).fit(X)
    order = np.random.RandomState(2).permutation(6000)
    online = BayesianGaussianMixture(**kw)
    for i in range(0, 6000, 200):
        online.partial_fit(X[order[i : i + 200]])
    first = BayesianGaussianMixture(**kw).partial_fit(X[order[:200]])

    def held_out(m):
        return m.score_samples(X_test, predictive=True).mean()

    assert abs(held_out(online) - held_out(batch)) < 0.015
    assert held_out(first) < held_out(batch) - 0.05
    assert online.n_iter_ == 30 and online.n_samples_fit_ == 6000
    assert online.online_state_.weight_seen == 6000
    # the posterior counts every row seen: N_k sum to 6000
    assert online.mean_precision_.sum() - 6 * online.mean_precision_prior_ == (
        pytest.approx(6000, rel=1e-9)
    )


def test_several_passes_with_the_data_size():
    """Three passes with n_samples_total = n: the posterior counts n rows
    (not 3n), and the held-out score is the batch fit's within 0.015."""
    X, X_test = stream_data(6000, 0), stream_data(3000, 1)
    kw = dict(n_components=6, random_state=0)
    batch = BayesianGaussianMixture(max_iter=1000, **kw).fit(X)
    online = BayesianGaussianMixture(n_samples_total=6000, **kw)
    for epoch in range(3):
        order = np.random.RandomState(10 + epoch).permutation(6000)
        for i in range(0, 6000, 200):
            online.partial_fit(X[order[i : i + 200]])
    assert online.online_state_.weight_seen == 18000
    assert online.mean_precision_.sum() - 6 * online.mean_precision_prior_ == (
        pytest.approx(6000, rel=1e-9)
    )
    gap = (
        online.score_samples(X_test, predictive=True).mean()
        - batch.score_samples(X_test, predictive=True).mean()
    )
    assert abs(gap) < 0.015


def test_step_sizes_follow_the_schedule():
    """After the first batch: S <- (1 - rho) S + rho s_b / b with rho =
    (1 + 2) ** -0.6, s_b / b the batch's mean responsibilities under q."""
    X = blobs(600, 3)
    m = BayesianGaussianMixture(3, random_state=0).partial_fit(X[:300])
    before = m.online_state_.n.copy()
    resp = m.predict_proba(X[300:])  # the batch's E-step under q
    m.partial_fit(X[300:])
    rho = (1 + 2.0) ** -0.6
    expected = (1 - rho) * before + rho * resp.mean(axis=0)
    np.testing.assert_allclose(m.online_state_.n, expected, rtol=1e-9)
    assert m.online_state_.n_updates == 1 and m.n_iter_ == 2
    # N = the weight seen: the posterior counts 600 rows
    np.testing.assert_allclose(m.mean_precision_, 1.0 + 600 * expected, rtol=1e-9)


def test_deterministic_for_a_random_state():
    X = stream_data(1200, 4)
    runs = []
    for _ in range(2):
        m = BayesianGaussianMixture(5, random_state=7, init_params="random")
        for i in range(0, 1200, 150):
            m.partial_fit(X[i : i + 150])
        runs.append(m)
    for name in (*POSTERIOR, "lower_bound_", "elbo_"):
        np.testing.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name))


def test_sample_weight_counts_rows():
    """Integer weights equal repeated rows, in the first batch (same starting
    responsibilities) and in a later update."""
    X1, X2 = blobs(300, 5), blobs(300, 6)
    rng = np.random.RandomState(0)
    w1, w2 = rng.randint(0, 3, 300), rng.randint(0, 3, 300)
    resp = rng.dirichlet(np.ones(3), 300)
    a = BayesianGaussianMixture(3, resp_init=resp)
    a.partial_fit(X1, sample_weight=w1.astype(float))
    b = BayesianGaussianMixture(3, resp_init=np.repeat(resp, w1, axis=0))
    b.partial_fit(np.repeat(X1, w1, axis=0))
    a.partial_fit(X2, sample_weight=w2.astype(float))
    b.partial_fit(np.repeat(X2, w2, axis=0))
    same_posterior(a, b)
    assert a.online_state_.weight_seen == b.online_state_.weight_seen


def test_save_load_keeps_the_online_state(tmp_path):
    X = stream_data(900, 6)
    m = BayesianGaussianMixture(4, random_state=0)
    for i in range(0, 600, 150):
        m.partial_fit(X[i : i + 150])
    path = m.save(tmp_path / "online.gmm")
    loaded = gmmkit.load(path)
    assert isinstance(loaded.online_state_, OnlineState)
    for field in ("n", "s1", "s2", "centres"):
        np.testing.assert_array_equal(
            getattr(loaded.online_state_, field), getattr(m.online_state_, field)
        )
    assert loaded.online_state_.n_updates == m.online_state_.n_updates == 3
    for est in (m, loaded):
        est.partial_fit(X[600:750])
    for name in (*POSTERIOR, "elbo_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(m, name))


def test_fit_forgets_the_online_state():
    X = blobs()
    m = BayesianGaussianMixture(3, random_state=0).partial_fit(X)
    assert hasattr(m, "online_state_")
    m.fit(X)
    assert not hasattr(m, "online_state_")


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"step_decay": 0.5}, "step_decay"),
        ({"step_decay": 1.5}, "step_decay"),
        ({"step_offset": -1.0}, "step_offset"),
        ({"n_samples_total": 0}, "n_samples_total"),
        ({"n_samples_total": "all"}, "n_samples_total"),
        ({"n_samples_total": 100}, "this batch alone weighs 300"),
    ],
)
def test_bad_parameters(kw, match):
    with pytest.raises(InvalidParameterError, match=match):
        BayesianGaussianMixture(3, **kw).partial_fit(blobs())


def test_bad_batches():
    X = blobs()
    with pytest.raises(DataError, match="needs at least 5 rows"):
        BayesianGaussianMixture(5).partial_fit(X[:4])
    with pytest.raises(DataError, match="needs at least 2 rows"):
        BayesianGaussianMixture(1).partial_fit(X[:1])
    m = BayesianGaussianMixture(3, random_state=0).partial_fit(X)
    with pytest.raises(DataError, match="3 features"):
        m.partial_fit(X[:, :2])
    bad = X[:10].copy()
    bad[4, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        m.partial_fit(bad)
    with pytest.raises(DataError, match="sample_weight"):
        m.partial_fit(X[:10], sample_weight=-np.ones(10))
    m.set_params(weight_concentration_prior_type="dirichlet_distribution")
    with pytest.raises(InvalidParameterError, match="dirichlet_process"):
        m.partial_fit(X)
    m.set_params(weight_concentration_prior_type="dirichlet_process", n_components=4)
    with pytest.raises(InvalidParameterError, match="n_components"):
        m.partial_fit(X)
