"""Variational Bayes for Gaussian mixtures on additive sufficient statistics.

The model and its mean-field updates are scikit-learn's
``BayesianGaussianMixture`` (Bishop 2006, ch. 10.2; Blei & Jordan 2006 for
the Dirichlet process): weights with a Dirichlet distribution or a
truncated stick-breaking (Dirichlet process) prior, and per component a
Gaussian mean ``N(m_0, (beta_0 Lambda_k)^-1)`` with a Wishart-type precision
``W(nu_0, Psi_0^-1)`` (``Psi_0`` is ``covariance_prior``).  The posterior
``q`` has the same form, with hyperparameters

* ``alpha_k = alpha_0 + N_k`` (Dirichlet distribution), or
  ``(1 + N_k, alpha_0 + sum_{j>k} N_j)`` (stick-breaking Beta factors),
* ``beta_k = beta_0 + N_k``, ``m_k = (beta_0 m_0 + N_k xbar_k) / beta_k``,
* ``nu_k = nu_0 + N_k`` and ``nu_k Sigma_k = Psi_0 + N_k S_k +
  (beta_0 N_k / beta_k) (xbar_k - m_0)(xbar_k - m_0)^T`` (``covariances_`` is
  ``Sigma_k``; tied, diagonal and spherical models as scikit-learn reduces
  them),

where ``N_k``, ``xbar_k`` and ``S_k`` are the responsibilities' count, mean and
covariance (plus ``reg_covar``): exactly what :class:`gmmkit._stats.SuffStats`
holds, so the M-step (:func:`m_step`) runs on the EM engine's statistics,
from any data source, chunked, streamed or on Dask.

The E-step needs ``E[log pi_k] + E[log N(x | mu_k, Lambda_k)]``.  Its
dependence on ``x`` is ``-nu_k/2 (x - m_k)^T W_k (x - m_k) = -1/2 |(x - m_k)
P_k|^2`` with ``P_k`` the Cholesky factor of ``nu_k W_k = Sigma_k^-1``, and
all the rest is a constant per component.  So the variational E-step *is* an
EM E-step with precision factors ``P_k`` and "weights" ``exp(c_k)`` (see
:func:`estep_params`), which the compiled kernels run unchanged
(:meth:`gmmkit.sources.DataSource.estep`).  The entropy of the
responsibilities, which the bound needs, follows from the same statistics
(:func:`resp_entropy`), so no (n, K) array is ever kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaln, digamma, gammaln

from . import _kernels
from ._engine import Step
from ._online import OnlineState, step_size
from ._stats import Params, SuffStats, check_loglik, count_guard
from .covariance import CovarianceModel
from .sources import DataSource

#: Values of ``weight_concentration_prior_type``.
WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
#: The covariance types with a variational update (scikit-learn's four).
VB_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class VBPrior:
    """The prior's hyperparameters, every default resolved."""

    #: "dirichlet_process" or "dirichlet_distribution".
    weight_type: str
    #: ``alpha_0`` (``weight_concentration_prior_``).
    weight_concentration: float
    #: ``beta_0`` (``mean_precision_prior_``).
    mean_precision: float
    #: ``m_0``, shape (n_features,).
    mean: np.ndarray
    #: ``nu_0``.
    dof: float
    #: ``Psi_0`` in the covariance type's native shape: (d, d) for full and
    #: tied, (d,) for diag, a float for spherical.
    covariance: np.ndarray


@dataclass
class Posterior(Params):
    """The variational posterior ``q`` of the parameters.

    ``weights`` are the expected weights (scikit-learn's ``weights_``),
    ``means`` the ``m_k``, ``covariances`` the ``Sigma_k`` (Wishart scale
    inverse over the degrees of freedom) and ``precisions_cholesky`` their
    inverse's upper factors, in the covariance type's native shapes.
    """

    #: ``alpha_k`` (K,), or the stick-breaking Beta parameters (2, K).
    weight_concentration: np.ndarray
    #: ``beta_k`` (K,).
    mean_precision: np.ndarray
    #: ``nu_k`` (K,); a 0-d array for tied (one shared precision).
    dof: np.ndarray


# -- the weights ---------------------------------------------------------------


def weight_concentration(prior: VBPrior, nk: np.ndarray) -> np.ndarray:
    """``alpha_k`` (K,) or the stick-breaking Beta parameters (2, K)."""
    if prior.weight_type == "dirichlet_process":
        after = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0))  # sum_{j>k} N_j
        return np.vstack((1.0 + nk, prior.weight_concentration + after))
    return prior.weight_concentration + nk


def expected_log_weights(weight_type: str, conc: np.ndarray) -> np.ndarray:
    """``E_q[log pi_k]``."""
    if weight_type == "dirichlet_process":
        a, b = conc
        total = digamma(a + b)
        log_rest = np.cumsum(digamma(b) - total)[:-1]  # sum_{j<k} E log(1 - v_j)
        return digamma(a) - total + np.hstack((0.0, log_rest))
    return digamma(conc) - digamma(np.sum(conc))


def expected_weights(weight_type: str, conc: np.ndarray) -> np.ndarray:
    """``E_q[pi_k]``, normalised to sum 1 (scikit-learn's ``weights_``)."""
    if weight_type == "dirichlet_process":
        a, b = conc
        stick = a / (a + b)
        rest = np.hstack((1.0, np.cumprod(b / (a + b))[:-1]))
        weights = stick * rest
    else:
        weights = np.asarray(conc, dtype=np.float64)
    return weights / np.sum(weights)


# -- the precisions: one update per covariance type ----------------------------
# Each returns (nu, nu * Sigma) from the counts N_k, means xbar_k, the
# covariances S_k (with reg_covar) of the responsibilities and beta_k.

WishartUpdate = Callable[
    [VBPrior, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tuple[np.ndarray, np.ndarray],
]


def _wishart_full(prior, nk, xk, sk, beta):
    diff = xk - prior.mean
    shrink = nk * prior.mean_precision / beta
    scale = (
        prior.covariance
        + nk[:, None, None] * sk
        + shrink[:, None, None] * diff[:, :, None] * diff[:, None, :]
    )
    return prior.dof + nk, scale


def _wishart_tied(prior, nk, xk, sk, beta):
    k = nk.shape[0]
    diff = xk - prior.mean
    scale = (
        prior.covariance
        + sk * (nk.sum() / k)
        + (prior.mean_precision / k) * ((nk / beta) * diff.T) @ diff
    )
    return np.asarray(prior.dof + nk.sum() / k), scale


def _wishart_diag(prior, nk, xk, sk, beta):
    diff = xk - prior.mean
    shrink = prior.mean_precision / beta
    scale = prior.covariance + nk[:, None] * (sk + shrink[:, None] * diff**2)
    return prior.dof + nk, scale


def _wishart_spherical(prior, nk, xk, sk, beta):
    diff = xk - prior.mean
    shrink = prior.mean_precision / beta
    scale = prior.covariance + nk * (sk + shrink * np.mean(diff**2, axis=1))
    return prior.dof + nk, scale


_WISHART: dict[str, WishartUpdate] = {
    "full": _wishart_full,
    "tied": _wishart_tied,
    "diag": _wishart_diag,
    "spherical": _wishart_spherical,
}


def _per_component_dof(dof: np.ndarray, k: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(dof, dtype=np.float64), (k,))


def m_step(
    model: CovarianceModel, stats: SuffStats, reg_covar: float, prior: VBPrior
) -> Posterior:
    """The variational M-step: ``q`` of the parameters from the statistics."""
    nk, xk, scatter = stats.means_and_scatter()
    sk = model.covariances_from_scatter(nk, scatter, reg_covar)
    conc = weight_concentration(prior, nk)
    beta = prior.mean_precision + nk
    means = (prior.mean_precision * prior.mean + nk[:, None] * xk) / beta[:, None]
    dof, scale = _WISHART[str(model.sklearn_name)](prior, nk, xk, sk, beta)
    covariances = scale / np.reshape(dof, dof.shape + (1,) * (scale.ndim - dof.ndim))
    prec_chol = model.precisions_cholesky(covariances, reg_covar)
    return Posterior(
        expected_weights(prior.weight_type, conc),
        means,
        covariances,
        prec_chol,
        conc,
        beta,
        dof,
    )


# -- the E-step ----------------------------------------------------------------


def log_det_factors(model: CovarianceModel, post: Params) -> np.ndarray:
    """``log det P_k`` (half the log-determinant of ``Sigma_k^-1``), (K,)."""
    k, d = post.means.shape
    factors = model.kernel_factors(post.precisions_cholesky, k, d)
    ones = np.ones(k)
    return _kernels.log_constants(model.kernel_kind, ones, factors, d) + 0.5 * d * (
        _LOG_2PI
    )


def expected_log_det(dof: np.ndarray, d: int) -> np.ndarray:
    """``E[log |Lambda_k|] - log |nu_k W_k|`` as scikit-learn has it:
    ``sum_i digamma((nu_k - i) / 2) + d log 2 - d log nu_k``."""
    i = np.arange(d)[:, None]
    return (
        np.sum(digamma(0.5 * (dof - i)), axis=0) + d * math.log(2.0) - d * np.log(dof)
    )


def log_constants(model: CovarianceModel, post: Posterior, weight_type: str):
    """``c_k``: the E-step's per-component constants besides ``log det P_k
    - d/2 log 2 pi``, i.e. ``E[log pi_k] + 1/2 (E[log |Lambda_k|] - log
    |Sigma_k^-1|) - d / (2 beta_k)``."""
    k, d = post.means.shape
    dof = _per_component_dof(post.dof, k)
    return (
        expected_log_weights(weight_type, post.weight_concentration)
        + 0.5 * expected_log_det(dof, d)
        - 0.5 * d / post.mean_precision
    )


def estep_params(model: CovarianceModel, post: Posterior, weight_type: str) -> Params:
    """The E-step as an EM E-step: ``Params`` whose "weights" are
    ``exp(c_k)`` (not normalised) and whose precision factors are ``q``'s.

    Its weighted log-densities are ``E_q[log pi_k + log N(x | mu_k,
    Lambda_k)]`` for every row, whatever computes them (compiled kernels,
    BLAS, Dask blocks); ``c_k <= 0``, and a ``c_k`` below ~-745 (a
    component with no weight left) gives weight 0, i.e. responsibility 0
    where scikit-learn's would be below ``1e-300``.
    """
    with np.errstate(under="ignore"):
        weights = np.exp(log_constants(model, post, weight_type))
    return Params(weights, post.means, post.covariances, post.precisions_cholesky)


def resp_entropy(model: CovarianceModel, params: Params, stats: SuffStats) -> float:
    """``sum_n w_n sum_k r_nk log r_nk`` of the E-step that gave ``stats``.

    With ``log r_nk = L_k - |(x_n - m_k) P_k|^2 / 2 - log p_n`` (``L_k`` the
    log-constants of ``params``), it is ``sum_k N_k L_k - 1/2 sum_k tr(P_k^T
    S_k P_k) - sum_n w_n log p_n``, where ``S_k`` is the weighted scatter
    about ``m_k`` the statistics hold (taken about ``params.means``).
    """
    k, d = params.means.shape
    factors = model.kernel_factors(params.precisions_cholesky, k, d)
    logc = _kernels.log_constants(model.kernel_kind, params.weights, factors, d)
    if not np.array_equal(stats.centres, params.means):
        stats = stats.recentred(params.means)
    if model.kernel_kind == "full":  # full moments, upper factors
        quad = np.einsum("kil,kij,kjl->k", factors, stats.s2, factors)
    else:  # diagonal moments, precisions
        quad = np.einsum("kj,kj->k", stats.s2, factors)
    with np.errstate(invalid="ignore"):
        counted = np.where(stats.n > 0, stats.n * logc, 0.0)
    return float(counted.sum() - 0.5 * quad.sum() - stats.loglik)


# -- the bound -----------------------------------------------------------------


def _log_wishart_norm(dof: np.ndarray, log_det_chol: np.ndarray, d: int):
    """``log B(W, nu)`` with ``log det W^(1/2) = log_det_chol``, per component."""
    i = np.arange(d)[:, None]
    return -(
        dof * log_det_chol
        + dof * d * 0.5 * math.log(2.0)
        + np.sum(gammaln(0.5 * (dof - i)), axis=0)
    )


def _log_weight_norm(weight_type: str, conc: np.ndarray) -> float:
    """Log normaliser of ``q(pi)``: Dirichlet, or the product of the sticks' Betas."""
    if weight_type == "dirichlet_process":
        return float(-np.sum(betaln(conc[0], conc[1])))
    return float(gammaln(np.sum(conc)) - np.sum(gammaln(conc)))


def sklearn_bound(model: CovarianceModel, post: Posterior, prior: VBPrior, entropy):
    """scikit-learn's ``lower_bound_``: the bound up to terms constant
    during a fit, for the responsibilities whose ``sum r log r`` is
    ``entropy`` and the ``q`` updated from them."""
    k, d = post.means.shape
    dof = _per_component_dof(post.dof, k)
    log_det = log_det_factors(model, post) - 0.5 * d * np.log(dof)
    log_wishart = float(np.sum(_log_wishart_norm(dof, log_det, d)))
    return (
        -entropy
        - log_wishart
        - _log_weight_norm(prior.weight_type, post.weight_concentration)
        - 0.5 * d * float(np.sum(np.log(post.mean_precision)))
    )


# -- the iteration -------------------------------------------------------------


def vb_steps(
    source: DataSource,
    model: CovarianceModel,
    post: Posterior,
    reg_covar: float,
    prior: VBPrior,
) -> Iterator[Step]:
    """Variational EM as the driver's steps: E-step, M-step, the bound.

    Each :class:`~gmmkit._engine.Step` reports scikit-learn's bound after
    the M-step as its "log-likelihood" (weight 1), so
    :func:`gmmkit._engine.drive` stops when the bound changed by less than
    ``tol``, as scikit-learn does.
    """
    passes = 0
    while True:
        params = estep_params(model, post, prior.weight_type)
        stats = source.estep(model, params)
        passes += 1
        check_loglik(stats.loglik)
        entropy = resp_entropy(model, params, stats)
        new = m_step(model, stats, reg_covar, prior)
        bound = sklearn_bound(model, new, prior, entropy)
        yield Step(bound, 1.0, post, new, passes)
        post = new


# -- online (stochastic) variational inference ---------------------------------


def _dense_prior_scale(prior: VBPrior, d: int) -> np.ndarray:
    """``Psi_0`` as a (d, d) matrix, whatever the covariance type's shape."""
    psi = np.asarray(prior.covariance, dtype=np.float64)
    if psi.ndim == 2:
        return psi
    return np.diag(psi) if psi.ndim == 1 else float(psi) * np.eye(d)


def stats_from_posterior(
    model: CovarianceModel,
    post: Posterior,
    prior: VBPrior,
    reg_covar: float,
    rows: int,
) -> SuffStats:
    """Statistics whose variational M-step (:func:`m_step`) is ``post``:
    the inverse of the M-step, for continuing a fitted posterior online.

    The conjugate posterior's natural parameters are the prior's plus the
    statistics, so they are read back from ``q``: ``N_k = beta_k - beta_0``;
    about the centres ``m_k``, the first moments ``beta_0 (m_k - m_0)`` and
    the second ``nu_k Sigma_k - Psi_0 - beta_0 (m_k - m_0)(m_k - m_0)^T -
    N_k reg_covar I`` (``reg_covar`` added back as the M-step adds it); the
    diagonal for diag and spherical.  Unique for full and diag; for tied
    only their sum over components and for spherical only their trace enter
    the M-step, which these reproduce.  ``rows``: the rows the fit saw (it
    scales the counts' ``10 eps`` guard).
    """
    k, d = post.means.shape
    counts = post.mean_precision - prior.mean_precision  # N_k with the guard
    weight = float(np.maximum(counts, 0.0).sum())
    n = np.maximum(counts - count_guard(weight, rows), 0.0)
    dof = _per_component_dof(post.dof, k)
    cov = np.asarray(model.dense(post.covariances, k, d), dtype=np.float64)
    delta = post.means - prior.mean
    b0 = prior.mean_precision
    s2 = (
        dof[:, None, None] * cov
        - _dense_prior_scale(prior, d)
        - b0 * delta[:, :, None] * delta[:, None, :]
        - (counts * reg_covar)[:, None, None] * np.eye(d)
    )
    if model.moments != "full":
        s2 = np.diagonal(s2, axis1=1, axis2=2).copy()
    return SuffStats(
        np.array(post.means, dtype=np.float64),
        n,
        b0 * delta,
        s2,
        weight=weight,
        rows=int(rows),
    )


def _scaled(stats: SuffStats, factor: float) -> SuffStats:
    """The statistics of ``factor`` copies of the rows."""
    return SuffStats(
        stats.centres,
        stats.n * factor,
        stats.s1 * factor,
        stats.s2 * factor,
        stats.loglik * factor,
        stats.weight * factor,
        stats.rows,
    )


def svi_step(
    batch: DataSource,
    model: CovarianceModel,
    post: Posterior,
    prior: VBPrior,
    reg_covar: float,
    state: OnlineState | None,
    decay: float,
    offset: float,
    data_size: float | None,
) -> tuple[Posterior, OnlineState, float]:
    """One update of stochastic variational inference (Hoffman et al. 2013)
    from the rows of ``batch``.

    The E-step of the batch under ``q`` gives its statistics ``s_b`` (weight
    ``b``).  ``state`` keeps the running statistics per unit weight ``S``;
    the step blends ``S <- (1 - rho) S + rho s_b / b`` with ``rho = (t +
    offset) ** -decay`` (``t``: the updates so far; the first batch, with no
    state, sets ``S = s_b / b``), and ``q`` is the M-step of ``N S``: the
    natural parameters (prior plus statistics) become ``(1 - rho) lambda +
    rho (prior + (N / b) s_b)``, Hoffman et al.'s natural-gradient step, with
    ``N = data_size`` -- the weight of the data set the batches are drawn
    from -- or, when None, the weight seen so far (then the posterior is
    that of a data set growing with the stream).

    Returns the new ``q``, the state and an estimate of the evidence lower
    bound (:func:`elbo`, every constant) of the entering ``q`` on ``N`` rows
    like the batch's: its rows' statistics scaled by ``N / b``.
    """
    params = estep_params(model, post, prior.weight_type)
    stats = batch.estep(model, params)
    check_loglik(stats.loglik)
    if state is None:
        state = OnlineState.from_stats(stats.recentred(post.means))
    else:
        state.blend(stats, step_size(state.n_updates + 1, decay, offset))
    size = state.weight_seen if data_size is None else float(data_size)
    new = m_step(model, state.as_stats(size), reg_covar, prior)
    bound = elbo(model, post, prior, params, _scaled(stats, size / stats.weight))
    return new, state, bound


# -- the evidence lower bound with every constant ------------------------------


def _log_wishart_b(log_det_w: np.ndarray, dof: np.ndarray, p: int) -> np.ndarray:
    """``log B(W, nu)``, the Wishart's log normaliser in dimension ``p``."""
    i = np.arange(p)[:, None]
    return (
        -0.5 * dof * log_det_w
        - 0.5 * dof * p * math.log(2.0)
        - 0.25 * p * (p - 1) * math.log(math.pi)
        - np.sum(gammaln(0.5 * (dof - i)), axis=0)
    )


def _precision_blocks(
    model: CovarianceModel, post: Posterior, prior: VBPrior
) -> tuple[tuple[Any, ...], np.ndarray]:
    """The Wishart factors of ``q`` and their prior, as arrays over blocks:
    ``(p, nu, log det W, tr(Psi_0 E[Lambda]), log det Psi_0)``, plus
    ``E[log |Lambda_k|]`` of each component (K,).

    full: one d-dimensional block per component; tied: one shared block;
    diag: one 1-dimensional block per component and feature; spherical: one
    1-dimensional block per component (``Lambda_k = lambda_k I``).  Each
    block's ``nu W`` is the posterior precision ``Sigma^-1``.
    """
    k, d = post.means.shape
    name = str(model.sklearn_name)
    dof = _per_component_dof(post.dof, k)
    prec = np.asarray(
        model.dense(model.precisions_from_cholesky(post.precisions_cholesky), k, d),
        dtype=np.float64,
    )
    log_det_prec = 2.0 * log_det_factors(model, post)
    psi0 = np.asarray(prior.covariance, dtype=np.float64)
    if name in ("full", "tied"):
        i = np.arange(d)[:, None]
        e_log_det = (
            np.sum(digamma(0.5 * (dof - i)), axis=0)
            + d * math.log(2.0)
            - d * np.log(dof)
            + log_det_prec
        )
        take = slice(0, 1) if name == "tied" else slice(None)
        blocks: tuple[Any, ...] = (
            d,
            dof[take],
            (log_det_prec - d * np.log(dof))[take],
            np.einsum("ij,kji->k", psi0, prec)[take],
            np.full(dof[take].shape, np.linalg.slogdet(psi0)[1]),
        )
        return blocks, e_log_det
    e_log_det = d * (digamma(0.5 * dof) + math.log(2.0) - np.log(dof)) + log_det_prec
    if name == "diag":
        p_diag = np.diagonal(prec, axis1=1, axis2=2)  # (K, d)
        nu = np.repeat(dof, d)
        blocks = (
            1,
            nu,
            np.log(p_diag).ravel() - np.log(nu),
            (psi0[None, :] * p_diag).ravel(),
            np.tile(np.log(psi0), k),
        )
    else:  # spherical
        lam = prec[:, 0, 0]
        blocks = (
            1,
            dof,
            np.log(lam) - np.log(dof),
            float(psi0) * lam,
            np.full(k, math.log(float(psi0))),
        )
    return blocks, e_log_det


def _neg_kl_wishart(blocks, prior: VBPrior) -> float:
    """``E_q[log p(Lambda)] - E_q[log q(Lambda)]`` summed over the blocks."""
    p, nu, log_w, trace, log_psi0 = blocks
    i = np.arange(p)[:, None]
    e_log = np.sum(digamma(0.5 * (nu - i)), axis=0) + p * math.log(2.0) + log_w
    nu0 = prior.dof
    log_p = (
        _log_wishart_b(-log_psi0, np.full(nu.shape, nu0), p)
        + 0.5 * (nu0 - p - 1) * e_log
        - 0.5 * trace
    )
    log_q = _log_wishart_b(log_w, nu, p) + 0.5 * (nu - p - 1) * e_log - 0.5 * nu * p
    return float(np.sum(log_p - log_q))


def _neg_kl_weights(weight_type: str, conc: np.ndarray, alpha0: float) -> float:
    """``E_q[log p(pi)] - E_q[log q(pi)]``: Dirichlet, or the sticks' Betas
    (prior ``Beta(1, alpha_0)``)."""
    if weight_type == "dirichlet_process":
        a, b = conc
        kl = float(
            np.sum(
                -np.log(alpha0)
                - betaln(a, b)
                + (a - 1.0) * digamma(a)
                + (b - alpha0) * digamma(b)
                + (alpha0 + 1.0 - a - b) * digamma(a + b)
            )
        )
        return -kl
    k = conc.shape[0]
    log_c = gammaln(conc.sum()) - gammaln(conc).sum()
    log_c0 = gammaln(k * alpha0) - k * gammaln(alpha0)
    kl = (
        log_c - log_c0 + np.sum((conc - alpha0) * (digamma(conc) - digamma(conc.sum())))
    )
    return -float(kl)


def elbo(
    model: CovarianceModel,
    post: Posterior,
    prior: VBPrior,
    params: Params,
    stats: SuffStats,
) -> float:
    """The evidence lower bound ``E_q[log p(X, Z, pi, mu, Lambda)] - E_q[log
    q(Z, pi, mu, Lambda)]`` with every constant, for ``q(Z)`` the
    responsibilities of the E-step (under ``params = estep_params(post)``)
    that gave ``stats``.  See :attr:`BayesianGaussianMixture.elbo_` for the
    model it bounds the evidence of."""
    k, d = post.means.shape
    if not np.array_equal(stats.centres, post.means):
        stats = stats.recentred(post.means)
    entropy = resp_entropy(model, params, stats)
    blocks, e_log_det = _precision_blocks(model, post, prior)
    beta, nk = post.mean_precision, stats.n
    factors = model.kernel_factors(post.precisions_cholesky, k, d)
    if model.kernel_kind == "full":
        trace_s = np.einsum("kil,kij,kjl->k", factors, stats.s2, factors)
    else:
        trace_s = np.einsum("kj,kj->k", stats.s2, factors)
    data = 0.5 * np.sum(nk * (e_log_det - d * _LOG_2PI - d / beta) - trace_s)
    e_log_pi = expected_log_weights(prior.weight_type, post.weight_concentration)
    labels = float(np.sum(np.where(nk > 0, nk * e_log_pi, 0.0)))
    prec = np.asarray(
        model.dense(model.precisions_from_cholesky(post.precisions_cholesky), k, d),
        dtype=np.float64,
    )
    diff = post.means - prior.mean
    b0 = prior.mean_precision
    means = 0.5 * np.sum(
        d * np.log(b0 / beta)
        - d * b0 / beta
        + d
        - b0 * np.einsum("ki,kij,kj->k", diff, prec, diff)
    )
    return float(
        data
        + labels
        - entropy
        + means
        + _neg_kl_wishart(blocks, prior)
        + _neg_kl_weights(
            prior.weight_type, post.weight_concentration, prior.weight_concentration
        )
    )


def predictive_log_density(
    model: CovarianceModel, post: Posterior, X: np.ndarray
) -> np.ndarray:
    """``log p(x | data)`` under ``q``: ``sum_k w_k St(x | m_k, S_k, f_k)``
    with ``w`` the normalised expected weights (``weights_``) and the
    Student-t of each component's ``q(mu_k, Lambda_k)`` marginalised
    (Bishop 2006, eq. 10.81): full and tied ``f = nu + 1 - d``, ``S =
    (1 + beta) nu Sigma / (beta f)``; spherical ``f = nu``, ``S = (1 + beta)
    Sigma / beta``; diag a product over features of one-dimensional ones
    with ``f = nu`` and scale ``(1 + beta) Sigma_j / beta``."""
    k, d = post.means.shape
    name = str(model.sklearn_name)
    dof = _per_component_dof(post.dof, k)
    beta = post.mean_precision
    cov = np.asarray(model.dense(post.covariances, k, d), dtype=np.float64)
    blocks = d if name in ("full", "tied") else 1
    f = dof + 1.0 - blocks
    scale = cov * ((1.0 + beta) / beta * dof / f)[:, None, None]
    out = np.empty((X.shape[0], k))
    for j in range(k):
        diff = X - post.means[j]
        if name == "diag":  # independent coordinates
            var = np.diagonal(scale[j])
            z = diff * diff / var
            out[:, j] = np.sum(
                gammaln(0.5 * (f[j] + 1.0))
                - gammaln(0.5 * f[j])
                - 0.5 * np.log(f[j] * math.pi * var)
                - 0.5 * (f[j] + 1.0) * np.log1p(z / f[j]),
                axis=1,
            )
            continue
        chol = np.linalg.cholesky(scale[j])
        z = np.linalg.solve(chol, diff.T)
        maha = np.einsum("ij,ij->j", z, z)
        out[:, j] = (
            gammaln(0.5 * (f[j] + d))
            - gammaln(0.5 * f[j])
            - 0.5 * d * math.log(f[j] * math.pi)
            - np.log(np.diagonal(chol)).sum()
            - 0.5 * (f[j] + d) * np.log1p(maha / f[j])
        )
    with np.errstate(divide="ignore"):
        out += np.log(post.weights)
    top = out.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(out - top).sum(axis=1, keepdims=True)))[:, 0]
