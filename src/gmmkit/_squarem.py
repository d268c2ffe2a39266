"""SQUAREM: squared extrapolation of the EM map (Varadhan & Roland, 2008).

Plain EM converges linearly, and slowly where components overlap.  SQUAREM
treats one EM step as a fixed-point map ``M`` and, from ``t0``, takes two EM
steps ``t1 = M(t0)``, ``t2 = M(t1)``, forms ``r = t1 - t0`` and
``v = t2 - t1 - r`` and jumps to ``t' = t0 - 2 a r + a^2 v`` with the step
length ``a = -|r| / |v|`` (their scheme S3, with ``a <= -1``; ``a = -1`` gives
``t2``).  An EM step from ``t'`` follows (it is part of the next cycle).

Monotonicity safeguard: the E-step at ``t'`` yields its log-likelihood; a
jump that lowers it below that of ``t1`` is rejected and the step length is
pulled back halfway towards -1, i.e. towards the plain EM point, (at most a
few times) and finally ``t2`` itself is used, so the log-likelihood of the
accepted points never decreases.  A jump whose covariances are not positive
definite is treated the same way.

The parameter vector is (log-weights, means, covariances in the model's
native shape).  Extrapolating covariances stays inside the model only when
its set of covariances is closed under affine combinations that remain
positive definite, which each model states in its ``squarem`` attribute
(:data:`SUPPORTED` lists them); other models (with shape or orientation
constraints) and MAP fits with a prior are refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._engine import Step, m_step
from ._errors import FitError
from ._prior import ResolvedPrior
from ._stats import Params, check_loglik
from .covariance import MCLUST_MODELS, MCLUST_MODELS_1D, CovarianceModel, get_model
from .sources import DataSource

#: mclust names of the models SQUAREM may extrapolate (unconstrained or
#: linearly constrained covariances): those whose class says so
#: (:attr:`gmmkit.covariance.CovarianceModel.squarem`).
SUPPORTED = frozenset(
    name for name in (*MCLUST_MODELS, *MCLUST_MODELS_1D) if get_model(name).squarem
)

#: How many times a rejected jump is pulled back before plain EM is used.
_MAX_BACKTRACK = 3


def _vector(p: Params) -> list[np.ndarray]:
    with np.errstate(divide="ignore"):
        return [np.log(p.weights), p.means, np.asarray(p.covariances)]


def _from_vector(
    parts: list[np.ndarray], model: CovarianceModel, reg_covar: float
) -> Params | None:
    log_w, means, cov = parts
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(cov))):
        return None
    w = np.exp(log_w - np.max(log_w))
    w /= w.sum()
    try:
        prec_chol = model.precisions_cholesky(cov, reg_covar)
    except FitError:
        return None
    return Params(w, means, cov, prec_chol)


def squarem_steps(
    source: DataSource,
    model: CovarianceModel,
    params: Params,
    reg_covar: float,
    max_passes: int,
    prior: ResolvedPrior | None = None,
) -> Iterator[Step]:
    """SQUAREM as EM steps for :func:`gmmkit._engine.drive`.

    A step is yielded at every accepted point (its log-likelihood never
    decreases); ``passes`` counts E-steps, including those of rejected
    jumps, and the iterator ends once ``max_passes`` are used.
    """
    passes = 0

    def visit(p: Params) -> Step:
        nonlocal passes
        passes += 1
        stats = source.estep(model, p)
        check_loglik(stats.loglik)
        after = m_step(model, stats, reg_covar, p, prior)
        return Step(stats.loglik, stats.weight, p, after, passes)

    t0 = params
    while passes < max_passes:
        step = visit(t0)
        yield step
        t1 = step.params
        if passes >= max_passes:
            return
        step = visit(t1)
        yield step
        t2 = step.params
        bound1 = step.loglik / step.weight
        v0, v1, v2 = _vector(t0), _vector(t1), _vector(t2)
        r = [b - a for a, b in zip(v0, v1, strict=True)]
        v = [c - 2 * b + a for a, b, c in zip(v0, v1, v2, strict=True)]
        norm_r = np.sqrt(sum(float(np.sum(x * x)) for x in r if np.all(np.isfinite(x))))
        norm_v = np.sqrt(sum(float(np.sum(x * x)) for x in v if np.all(np.isfinite(x))))
        alpha = -norm_r / norm_v if norm_v > 0 else -1.0
        alpha = min(alpha, -1.0)
        accepted = None
        for _ in range(_MAX_BACKTRACK + 1):
            if alpha == -1.0 or passes >= max_passes:
                break
            jump = [
                a - 2 * alpha * dr + alpha * alpha * dv
                for a, dr, dv in zip(v0, r, v, strict=True)
            ]
            # weights of components that are gone stay gone
            jump[0] = np.where(np.isfinite(v0[0]), jump[0], -np.inf)
            candidate = _from_vector(jump, model, reg_covar)
            if candidate is not None:
                passes += 1
                stats = source.estep(model, candidate)
                ll = stats.loglik / stats.weight if stats.weight > 0 else -np.inf
                if np.isfinite(stats.loglik) and ll >= bound1:
                    accepted = (candidate, stats)
                    break
            alpha = (alpha - 1.0) / 2.0
            if alpha > -1.0 - 1e-12:
                alpha = -1.0
        if accepted is None:
            t0 = t2
            continue
        candidate, stats = accepted
        nxt = m_step(model, stats, reg_covar, candidate, prior)
        yield Step(stats.loglik, stats.weight, candidate, nxt, passes)
        t0 = nxt
