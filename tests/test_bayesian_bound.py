"""BayesianGaussianMixture's full bound (elbo_), effective components and
posterior predictive density.

Oracles: a Monte Carlo estimate of ``E_q[log p(X, Z, theta) - log q(Z,
theta)]`` from draws of ``q`` with scipy.stats' densities (Wishart, Gamma,
normal, Dirichlet, Beta); scipy.stats' Student-t densities; a numerical
integral of the predictive density.
"""

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as ss
from scipy.special import logsumexp

from gmmkit import BayesianGaussianMixture


def _mc_elbo(m, X, draws, seed=1):
    """Mean and standard error of the bound over draws of theta ~ q, with
    q(Z) = predict_proba(X) summed exactly."""
    r = m.predict_proba(X)
    k, d = m.means_.shape
    nu = np.broadcast_to(m.degrees_of_freedom_, (k,))
    g = np.random.default_rng(seed)
    vals = np.empty(draws)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = np.where(r > 0, r * np.log(r), 0.0).sum()
    for s in range(draws):
        tot = 0.0
        if m.weight_concentration_prior_type == "dirichlet_distribution":
            pi = g.dirichlet(m.weight_concentration_)
            alpha0 = np.full(k, m.weight_concentration_prior_)
            tot += ss.dirichlet.logpdf(pi, alpha0)
            tot -= ss.dirichlet.logpdf(pi, m.weight_concentration_)
            log_pi = np.log(pi)
        else:
            a, b = m.weight_concentration_
            v = g.beta(a, b)
            tot += np.sum(ss.beta.logpdf(v, 1, m.weight_concentration_prior_))
            tot -= np.sum(ss.beta.logpdf(v, a, b))
            log_pi = np.log(v) + np.hstack((0, np.cumsum(np.log1p(-v))[:-1]))
        for j in range(k):
            if m.covariance_type == "full":
                W = m.precisions_[j] / nu[j]
                L = ss.wishart.rvs(df=nu[j], scale=W, random_state=g)
                prior_scale = np.linalg.inv(m.covariance_prior_)
                tot += ss.wishart.logpdf(
                    L, df=m.degrees_of_freedom_prior_, scale=prior_scale
                )
                tot -= ss.wishart.logpdf(L, df=nu[j], scale=W)
            else:  # diag: independent Gamma precisions per feature
                W = m.precisions_[j] / nu[j]
                lam = g.gamma(nu[j] / 2, 2 * W)
                tot += np.sum(
                    ss.gamma.logpdf(
                        lam,
                        m.degrees_of_freedom_prior_ / 2,
                        scale=2 / m.covariance_prior_,
                    )
                    - ss.gamma.logpdf(lam, nu[j] / 2, scale=2 * W)
                )
                L = np.diag(lam)
            cov = np.linalg.inv(m.mean_precision_[j] * L)
            mu = g.multivariate_normal(m.means_[j], cov)
            prior_cov = np.linalg.inv(m.mean_precision_prior_ * L)
            tot += ss.multivariate_normal.logpdf(mu, m.mean_prior_, prior_cov)
            tot -= ss.multivariate_normal.logpdf(mu, m.means_[j], cov)
            log_lik = ss.multivariate_normal.logpdf(X, mu, np.linalg.inv(L))
            tot += np.sum(r[:, j] * (log_pi[j] + log_lik))
        vals[s] = tot - entropy
    return vals.mean(), vals.std() / np.sqrt(draws)


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.RandomState(0)
    return np.vstack([rng.randn(5, 2), rng.randn(4, 2) + 3])


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("weight_type", ["dirichlet_distribution", "dirichlet_process"])
def test_elbo_equals_monte_carlo_of_its_definition(tiny, covariance_type, weight_type):
    m = BayesianGaussianMixture(
        2,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_type,
        random_state=0,
    ).fit(tiny)
    estimate, se = _mc_elbo(m, tiny, draws=2500)
    assert abs(m.elbo_ - estimate) < 5 * se + 1e-6, (m.elbo_, estimate, se)
    # the constants scikit-learn leaves out are not small
    assert abs(m.elbo_ - m.lower_bound_) > 1.0


def test_elbo_compares_numbers_of_components():
    """Three well-separated clusters: the bound prefers 3 components over 1
    (a comparison scikit-learn's lower_bound_ cannot make)."""
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(100, 2) + c for c in ([0, 0], [8, 0], [0, 8])])
    kw = dict(weight_concentration_prior_type="dirichlet_distribution", random_state=0)
    one = BayesianGaussianMixture(1, **kw).fit(X)
    three = BayesianGaussianMixture(3, **kw).fit(X)
    assert three.elbo_ > one.elbo_ + 100


def test_n_effective_components():
    rng = np.random.RandomState(2)
    X = np.vstack([rng.randn(150, 2) + c for c in ([0, 0], [9, 0], [0, 9])])
    m = BayesianGaussianMixture(
        10, weight_concentration_prior=1e-3, random_state=0, max_iter=500
    ).fit(X)
    assert m.n_effective_components_ == int(np.sum(m.weights_ > 1e-3))
    # three clusters hold the data; the rest of the 10 are left practically empty
    assert 3 <= m.n_effective_components_ <= 4
    assert np.sort(m.weights_)[-3:].sum() > 0.99


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_predictive_density_is_a_mixture_of_student_t(covariance_type):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(50, 3), rng.randn(40, 3) + 3])
    Y = rng.randn(7, 3) * 2
    m = BayesianGaussianMixture(3, covariance_type=covariance_type, random_state=0)
    m.fit(X)
    k, d = m.means_.shape
    nu = np.broadcast_to(m.degrees_of_freedom_, (k,))
    beta = m.mean_precision_
    parts = []
    for j in range(k):
        shrink = (1 + beta[j]) / beta[j]
        if covariance_type in ("full", "tied"):
            cov = m.covariances_[j] if covariance_type == "full" else m.covariances_
            f = nu[j] + 1 - d
            dens = ss.multivariate_t(m.means_[j], shrink * nu[j] * cov / f, df=f)
            log_p = dens.logpdf(Y)
        elif covariance_type == "spherical":
            shape = shrink * m.covariances_[j] * np.eye(d)
            log_p = ss.multivariate_t(m.means_[j], shape, df=nu[j]).logpdf(Y)
        else:
            sd = np.sqrt(shrink * m.covariances_[j])
            log_p = ss.t.logpdf(Y, df=nu[j], loc=m.means_[j], scale=sd).sum(axis=1)
        parts.append(np.log(m.weights_[j]) + log_p)
    expected = logsumexp(np.array(parts), axis=0)
    np.testing.assert_allclose(
        m.score_samples(Y, predictive=True), expected, rtol=1e-12
    )


def test_predictive_density_integrates_to_one():
    rng = np.random.RandomState(3)
    X = np.concatenate([rng.randn(30), rng.randn(20) + 4])[:, None]
    m = BayesianGaussianMixture(4, random_state=0).fit(X)

    def density(x):
        return float(np.exp(m.score_samples(np.array([[x]]), predictive=True))[0])

    total, _ = integrate.quad(density, -np.inf, np.inf, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)
