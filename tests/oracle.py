"""An independent, deliberately plain EM used as a test oracle.

It holds every responsibility in memory, evaluates densities with
``scipy.stats.multivariate_normal`` and computes each M-step by two passes
(weighted means first, then scatter about them), so it shares no code and no
numerical shortcut with gmmkit.
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def dense(cov, covariance_type, k, d):
    if covariance_type == "full":
        return np.asarray(cov)
    if covariance_type == "tied":
        return np.repeat(np.asarray(cov)[None], k, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([np.eye(d) * c for c in cov])


def log_prob(X, weights, means, covs):
    return np.column_stack(
        [
            np.log(w) + multivariate_normal(m, c).logpdf(X)
            for w, m, c in zip(weights, means, covs)
        ]
    )


def m_step(X, resp, sw, covariance_type, reg_covar):
    rw = resp * sw[:, None]
    nk = rw.sum(axis=0)
    means = (rw.T @ X) / nk[:, None]
    k, d = means.shape
    scatter = np.empty((k, d, d))
    for j in range(k):
        diff = X - means[j]
        scatter[j] = (diff * rw[:, j : j + 1]).T @ diff
    if covariance_type == "full":
        cov = scatter / nk[:, None, None] + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        cov = scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(d)
    elif covariance_type == "diag":
        cov = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar
    else:
        cov = np.diagonal(scatter, axis1=1, axis2=2).mean(axis=1) / nk + reg_covar
    return nk / nk.sum(), means, cov


def em(X, weights, means, cov, covariance_type, *, n_iter, reg_covar, sw=None):
    """Run exactly ``n_iter`` EM iterations; return params and LL history."""
    X = np.asarray(X, dtype=np.float64)
    sw = np.ones(len(X)) if sw is None else np.asarray(sw, dtype=np.float64)
    k, d = np.shape(means)
    history = []
    for _ in range(n_iter):
        lp = log_prob(X, weights, means, dense(cov, covariance_type, k, d))
        norm = logsumexp(lp, axis=1)
        history.append(float(sw @ norm))
        resp = np.exp(lp - norm[:, None])
        weights, means, cov = m_step(X, resp, sw, covariance_type, reg_covar)
    lp = log_prob(X, weights, means, dense(cov, covariance_type, k, d))
    history.append(float(sw @ logsumexp(lp, axis=1)))
    return weights, means, cov, np.array(history)
