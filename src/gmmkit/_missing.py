"""Missing values (NaN) marginalised exactly: the E-step, scores, imputation.

``GaussianMixture(nan_policy="marginalize")`` treats NaN entries as missing at
random and maximises the likelihood of the observed coordinates by EM
(Ghahramani & Jordan 1994).  Only the E-step changes, so every covariance
model's M-step, the prior, chunked, streamed and Dask sources keep working:

* a row ``x`` with observed coordinates ``o`` and missing ones ``m`` gets the
  responsibilities ``r_k`` from ``pi_k N(x_o | mu_ko, Sigma_koo)``;
* in the moments about ``mu_k`` its missing coordinates are replaced by their
  conditional mean ``E[x_m | x_o, k]``, and the conditional covariance
  ``Cov[x_m | x_o, k]`` is added to the second moments (its diagonal for the
  models that need only the diagonal):

  ``s1_k += r_k (x_hat_k - mu_k)``,
  ``s2_k += r_k [(x_hat_k - mu_k)(x_hat_k - mu_k)^T + C_k]``.

These are the expected sufficient statistics given the observed values; they
add up over chunks like the complete-data ones. Complete rows take the
ordinary E-step (:func:`gmmkit._stats.estep_stats`) unchanged, except in a
chunk where at least :data:`WHOLE_CHUNK_FRACTION` of the rows have a NaN:
that chunk goes whole (no copies) to the compiled kernel, which reads
float32 rows as float64. Rows with a NaN take the compiled kernels of
:mod:`gmmkit._kernels_nan` (through :mod:`gmmkit._kernels`, on its threads):
in the precision form each (row, component) costs one product with the dense
precision and a factorisation of the small ``|m| x |m|`` block of missing
coordinates, so no grouping by pattern is needed (at 16 features and 20%
missing nearly every row has a pattern of its own); their work arrays are
per thread and tile. Without numba the rows are grouped by missingness
pattern and each (pattern, component) is conditioned by one Cholesky
factorisation (:mod:`gmmkit._gaussian`); memory is then that of the ordinary
E-step plus ``O(rows of a pattern * K * d)`` for the pattern being
processed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import _kernels, _stats
from ._errors import DataError
from ._gaussian import (
    Conditional,
    cholesky,
    complement,
    condition_residuals,
    mixture_condition,
)
from ._stats import Chunks, Params, SuffStats
from .covariance import CovarianceModel

__all__ = [
    "check_observed",
    "dense_covariances",
    "estep_stats",
    "impute_rows",
    "observed_log_prob",
    "patterns",
    "score_chunks",
    "score_rows",
]


def dense_covariances(model: CovarianceModel, params: Params) -> np.ndarray:
    """The covariances (K, d, d) exactly as the densities use them: from the
    precision Cholesky factors (``Sigma_k = A_k^T A_k``)."""
    k, d = params.means.shape
    factors = model.covariance_factors(params.precisions_cholesky, k, d)
    dense = np.matmul(factors.transpose(0, 2, 1), factors)
    return 0.5 * (dense + dense.transpose(0, 2, 1))


def check_observed(mask: np.ndarray, rows: np.ndarray, start: int) -> None:
    """DataError naming the first row of ``mask`` (NaN positions) with no
    observed value; ``rows`` are their positions in the chunk."""
    _check_empty(np.asarray(mask.all(axis=1)), rows, start)


def _check_empty(empty: np.ndarray, rows: np.ndarray | None, start: int) -> None:
    """DataError naming the first row where ``empty`` (no observed value)
    holds; ``rows`` their positions in the chunk (None: the same)."""
    if empty.any():
        i = int(np.argmax(empty))
        i = i if rows is None else int(rows[i])
        raise DataError(
            f"row {start + i} has no observed value (every feature is NaN); "
            "nan_policy='marginalize' needs at least one observed feature per "
            f"row ({int(empty.sum())} such rows in this chunk). Remove those rows."
        )


def _missing_counts(X: np.ndarray, start: int) -> np.ndarray:
    """The number of NaN per row of a chunk; a DataError names a row with no
    observed value."""
    if _kernels.available():
        q = _kernels.missing_counts(X)
    else:
        q = np.isnan(X).sum(axis=1)
    _check_empty(q == X.shape[1], None, start)
    return q


#: A chunk with at least this fraction of incomplete rows goes to the
#: compiled kernel whole (its complete rows too, at ~1.5x the complete-data
#: kernel's cost) rather than split into two copies.
WHOLE_CHUNK_FRACTION = 0.5


def _whole_chunk(n_incomplete: int, n: int) -> bool:
    return _kernels.available() and n_incomplete >= WHOLE_CHUNK_FRACTION * n


def patterns(mask: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(missing_coordinates, rows)`` for each missingness pattern of
    ``mask`` (True where a value is missing)."""
    n = mask.shape[0]
    if n == 0:
        return
    packed = np.ascontiguousarray(np.packbits(mask, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1])))[:, 0]
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(first.size + 1))
    for u in range(first.size):
        rows = order[bounds[u] : bounds[u + 1]]
        yield np.nonzero(mask[first[u]])[0], rows


class _Model:
    """What the row-level code needs of one set of parameters, computed once."""

    def __init__(self, model: CovarianceModel, params: Params) -> None:
        self.model = model
        self.params = params
        self.means = np.asarray(params.means, dtype=np.float64)
        self.covs = dense_covariances(model, params)
        with np.errstate(divide="ignore"):
            self.log_w = np.log(params.weights)
        self.d = self.means.shape[1]

    def conditional(
        self, X: np.ndarray, missing: np.ndarray, with_rest: bool = True
    ) -> tuple[Conditional, np.ndarray]:
        """Condition every component on the observed coordinates of rows X
        that share the missingness pattern ``missing``; also the residuals
        ``x_o - mu_ko`` (K, n, |o|)."""
        observed = complement(missing, self.d)
        res = X[None, :, observed] - self.means[:, None, observed]
        rest = missing if with_rest else np.empty(0, dtype=np.intp)
        return condition_residuals(self.covs, observed, rest, res), res


def observed_log_prob(
    X: np.ndarray, model: CovarianceModel, params: Params, start: int = 0
) -> np.ndarray:
    """``log pi_k + log N(x_o | mu_ko, Sigma_koo)`` per row and component,
    shape (n, K); rows without NaN use every coordinate."""
    ctx = _Model(model, params)
    return _observed_log_prob(ctx, np.asarray(X, dtype=np.float64), start)


def _observed_log_prob(ctx: _Model, X: np.ndarray, start: int) -> np.ndarray:
    mask = np.isnan(X)
    check_observed(mask, np.arange(X.shape[0]), start)
    if _kernels.available() and X.shape[0]:
        return _observed_log_prob_compiled(X, ctx.model, ctx.params)
    out = np.empty((X.shape[0], ctx.means.shape[0]))
    for missing, rows in patterns(mask):
        cond, _ = ctx.conditional(X[rows], missing, with_rest=False)
        out[rows] = cond.log_density + ctx.log_w
    return out


def _add_incomplete(
    stats: SuffStats,
    ctx: _Model,
    X: np.ndarray,
    w: np.ndarray,
    mask: np.ndarray,
) -> None:
    """Add the expected statistics of rows X (each with a NaN) to ``stats``
    (taken about the component means)."""
    k, d = ctx.means.shape
    full = stats.s2.ndim == 3
    for missing, rows in patterns(mask):
        cond, res = ctx.conditional(X[rows], missing)
        log_prob = cond.log_density + ctx.log_w
        log_norm = _stats._resp_inplace(log_prob)
        rw = log_prob * w[rows, None]  # (n, K) weighted responsibilities
        filled = np.empty((k, rows.size, d))
        filled[:, :, complement(missing, d)] = res
        filled[:, :, missing] = cond.offsets.transpose(1, 0, 2)
        nk = rw.sum(axis=0)
        weighted = filled * rw.T[:, :, None]
        stats.n += nk
        stats.s1 += weighted.sum(axis=1)
        cc = cond.covariances * nk[:, None, None]
        if full:
            stats.s2 += np.matmul(weighted.transpose(0, 2, 1), filled)
            stats.s2[:, missing[:, None], missing[None, :]] += cc
        else:
            stats.s2 += np.einsum("knd,knd->kd", weighted, filled)
            stats.s2[:, missing] += np.diagonal(cc, axis1=1, axis2=2)
        stats.loglik += float(w[rows] @ log_norm)
    stats.weight += float(w.sum())
    stats.rows += X.shape[0]


def estep_stats(chunks: Chunks, model: CovarianceModel, params: Params) -> SuffStats:
    """One E-step over chunks whose rows may hold NaN (missing values).

    Complete rows go through :func:`gmmkit._stats.estep_stats`; rows with a
    NaN contribute their expected statistics given the observed values (see
    the module docstring).  Rows with weight 0 contribute nothing; a row with
    no observed value is a DataError naming it.
    """
    stats = SuffStats.zeros(params.means, model.moments)
    ctx: list[_Model] = []

    def complete_rows() -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for start, X, w in chunks:
            incomplete = _missing_counts(X, start) > 0
            idx = np.nonzero(incomplete)[0]
            if idx.size == 0:
                yield start, X, w
                continue
            if _whole_chunk(idx.size, X.shape[0]):
                _add_incomplete_compiled(stats, model, params, X, w)
                continue
            keep = idx[w[idx] > 0]
            if _kernels.available():  # float32 rows are read as float64 there
                _add_incomplete_compiled(stats, model, params, X[keep], w[keep])
            else:
                if not ctx:
                    ctx.append(_Model(model, params))
                part = np.asarray(X[keep], dtype=np.float64)
                _add_incomplete(stats, ctx[0], part, w[keep], np.isnan(part))
            stats.rows += idx.size - keep.size
            if idx.size < X.shape[0]:
                complete = ~incomplete
                yield start, X[complete], w[complete]

    stats += _stats.estep_stats(complete_rows(), model, params)
    return stats


def score_chunks(
    chunks: Chunks, model: CovarianceModel, params: Params
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """:func:`gmmkit._stats.score_chunks` for rows that may hold NaN: the
    densities of the observed coordinates."""
    ctx: list[_Model] = []
    shift = params.centre()
    for start, X, _ in chunks:
        log_prob = _chunk_log_prob(ctx, start, X, None, model, params, shift)
        yield start, log_prob, _stats._logsumexp_rows(log_prob)


def _chunk_log_prob(
    ctx: list[_Model],
    start: int,
    X: np.ndarray,
    incomplete: np.ndarray | None,
    model: CovarianceModel,
    params: Params,
    shift: np.ndarray,
) -> np.ndarray:
    """``log pi_k + log N(x_o | ...)`` (n, K) of one chunk; ``incomplete``
    (rows with a NaN) if known."""
    if incomplete is None:
        incomplete = _missing_counts(X, start) > 0
    idx = np.nonzero(incomplete)[0]
    if idx.size == 0:
        return _stats.weighted_log_prob(X, model, params, shift)
    if _whole_chunk(idx.size, X.shape[0]):
        return _observed_log_prob_compiled(X, model, params)
    if not ctx:
        ctx.append(_Model(model, params))
    log_prob = np.empty((X.shape[0], params.n_components))
    complete = ~incomplete
    if complete.any():
        log_prob[complete] = _stats.weighted_log_prob(X[complete], model, params, shift)
    log_prob[idx] = _observed_log_prob(ctx[0], np.asarray(X[idx], np.float64), start)
    return log_prob


def score_rows(
    chunks: Chunks, model: CovarianceModel, params: Params, labels: bool = True
) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """:func:`gmmkit._stats.score_rows` for rows that may hold NaN."""
    ctx: list[_Model] = []
    shift = params.centre()
    for start, X, w in chunks:
        incomplete = _missing_counts(X, start) > 0
        if not incomplete.any():
            yield from _stats.score_rows([(start, X, w)], model, params, labels)
            continue
        if _whole_chunk(int(incomplete.sum()), X.shape[0]):
            log_norm, best = _kernels.score_nan_chunk(
                X, *_precision_form(model, params), labels
            )
            yield start, log_norm, best
            continue
        log_prob = _chunk_log_prob(ctx, start, X, incomplete, model, params, shift)
        log_norm = _stats._logsumexp_rows(log_prob)
        yield start, log_norm, log_prob.argmax(axis=1) if labels else None


def impute_rows(
    X: np.ndarray,
    model: CovarianceModel,
    params: Params,
    method: str = "mean",
    random_state: np.random.RandomState | None = None,
    start: int = 0,
) -> np.ndarray:
    """X with every NaN replaced, row by row, given the observed values.

    ``"mean"``: ``E[x_m | x_o] = sum_k P(k | x_o) E[x_m | x_o, k]``;
    ``"sample"``: a draw from ``p(x_m | x_o)`` (a component drawn from
    ``P(k | x_o)``, then its conditional Gaussian).
    """
    out = np.array(X, dtype=np.float64)
    mask = np.isnan(out)
    incomplete = np.nonzero(mask.any(axis=1))[0]
    if incomplete.size == 0:
        return out
    check_observed(mask[incomplete], incomplete, start)
    ctx = _Model(model, params)
    d = ctx.d
    rng = random_state
    sub = out[incomplete]
    for missing, rows in patterns(mask[incomplete]):
        observed = complement(missing, d)
        _, post, cond_means, cond_covs = mixture_condition(
            params.weights, ctx.means, ctx.covs, observed, sub[rows][:, observed]
        )
        if method == "mean":
            values = np.einsum("nk,nkm->nm", post, cond_means)
        else:
            assert rng is not None
            cum = np.cumsum(post, axis=1)
            u = rng.uniform(size=(rows.size, 1)) * cum[:, -1:]
            comp = np.minimum((cum < u).sum(axis=1), post.shape[1] - 1)
            chol = cholesky(cond_covs)
            noise = rng.standard_normal((rows.size, missing.size))
            values = cond_means[np.arange(rows.size), comp] + np.einsum(
                "nij,nj->ni", chol[comp], noise
            )
        block = sub[rows]
        block[:, missing] = values
        sub[rows] = block
    out[incomplete] = sub
    return out


# ---------------------------------------------------------------------------
# The compiled path: every incomplete row on its own, in the precision form
# (:mod:`gmmkit._kernels_nan`): one Cholesky factorisation of the |m| x |m|
# block Lambda_mm per (row, component), no grouping by pattern.
# ---------------------------------------------------------------------------


def _precision_form(
    model: CovarianceModel, params: Params
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(means, dense precisions, log pi_k + log det Lambda_k / 2 - d/2 log
    2 pi)`` for the compiled kernels."""
    k, d = params.means.shape
    upper = np.asarray(model.dense(params.precisions_cholesky, k, d), np.float64)
    prec = np.ascontiguousarray(np.matmul(upper, upper.transpose(0, 2, 1)))
    log_det = np.log(np.abs(np.diagonal(upper, axis1=1, axis2=2))).sum(axis=1)
    with np.errstate(divide="ignore"):
        logc = np.log(params.weights) + log_det - 0.5 * d * np.log(2.0 * np.pi)
    means = np.ascontiguousarray(params.means, dtype=np.float64)
    return means, prec, np.ascontiguousarray(logc, dtype=np.float64)


def _observed_log_prob_compiled(
    X: np.ndarray, model: CovarianceModel, params: Params
) -> np.ndarray:
    """``log pi_k + log N(x_o | ...)`` (n, K) by the compiled kernel."""
    return _kernels.log_prob_nan_chunk(X, *_precision_form(model, params))


def _add_incomplete_compiled(
    stats: SuffStats,
    model: CovarianceModel,
    params: Params,
    X: np.ndarray,
    w: np.ndarray,
) -> None:
    """:func:`_add_incomplete` by the compiled kernel (rows need not be
    grouped by pattern)."""
    if X.shape[0] == 0:
        return
    n, s1, s2, loglik, weight = _kernels.estep_nan_chunk(
        X, w, *_precision_form(model, params), stats.s2.ndim == 3
    )
    stats.add(n, s1, s2, loglik, weight, X.shape[0])
