"""Sufficient statistics and the E-step kernel: the only code that reads rows.

For each component ``k`` and a per-component centre ``c_k`` the statistics of
a set of rows are

* ``n[k]  = sum_n w_n r_nk``
* ``s1[k] = sum_n w_n r_nk (x_n - c_k)``
* ``s2[k] = sum_n w_n r_nk (x_n - c_k)(x_n - c_k)^T`` (or only its diagonal)
* ``loglik = sum_n w_n log p(x_n)`` and ``weight = sum_n w_n``.

They add up exactly over chunks of rows, so a fit over one array, over many
chunks, over files or over Dask blocks runs the same code.  Moments are taken
about ``c_k`` (the previous means during EM), so covariances do not lose
digits to cancellation when the data sit far from the origin.

Inside the kernel every chunk is first shifted by one common centre ``g`` (the
weighted mean of the component means) before any matrix product; all
log-densities are shift invariant, so this only removes rounding error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from . import _kernels
from ._errors import FitError
from .covariance import CovarianceModel

# scikit-learn adds this to every n_k so that an empty component divides by a
# tiny number instead of zero; keeping it makes fits agree to rounding.  gmmkit
# scales it by the mean weight of a row (1 for unweighted data, so the same
# number as scikit-learn's), which keeps results independent of the overall
# scale of ``sample_weight``: weights all 1e-20 fit as weights all 1.
_NK_EPS = 10 * np.finfo(np.float64).eps


def count_guard(weight: float, rows: int) -> float:
    """The ``10 eps`` added to each count, scaled by the mean row weight."""
    return _NK_EPS * (weight / rows if rows > 0 and weight > 0 else 1.0)


#: A source of chunks: iterating it yields (first_row, X_chunk, w_chunk).
Chunks = Iterable[tuple[int, np.ndarray, np.ndarray]]


@dataclass
class Params:
    """Parameters of a Gaussian mixture in a covariance model's native shapes."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    def centre(self) -> np.ndarray:
        """A common centre of the components (weighted mean of the means),
        rounded to float32 where it fits, so that float32 rows can subtract
        it in float32 with the same result as in float64 (any point near the
        data serves as the shift)."""
        w = self.weights / self.weights.sum()
        centre = np.asarray(w @ self.means, dtype=np.float64)
        with np.errstate(over="ignore"):
            rounded = centre.astype(np.float32).astype(np.float64)
        return np.where(np.isfinite(rounded), rounded, centre)


def information_criteria(
    loglik: float, n_parameters: int, n_samples: int, log_map: float = 0.0
) -> tuple[float, float, float]:
    """``(bic, aic, icl)`` in scikit-learn's orientation (lower is better).

    ``bic = -2 l + p log n``, ``aic = -2 l + 2 p`` and ``icl = bic - 2
    log_map`` with ``log_map = sum_i log max_k P(k | x_i)`` (mclust's ICL,
    sign flipped as its BIC).
    """
    bic = -2.0 * loglik + n_parameters * math.log(n_samples)
    return bic, -2.0 * loglik + 2.0 * n_parameters, bic - 2.0 * log_map


def check_loglik(value: float) -> None:
    """FitError unless a total log-likelihood is finite."""
    if not np.isfinite(value):
        raise FitError(
            "The log-likelihood is not finite: some rows have zero density under "
            "every component (or the data hold values too large to square). "
            "Scale the data, increase reg_covar, or use fewer components."
        )


def moved_moments(
    n: np.ndarray, s1: np.ndarray, s2: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First and second moments about ``c[k]`` from moments about 0, exactly.

    ``s1 - n c`` and ``s2 - s1 c^T - c s1^T + n c c^T`` per component (``s2``
    of shape (K, d, d)); for diagonal ``s2`` (K, d): ``s2 - 2 c s1 + n c^2``.
    """
    s1_c = s1 - n[:, None] * c
    if s2.ndim == 3:
        cross = s1[:, :, None] * c[:, None, :]
        outer = c[:, :, None] * c[:, None, :]
        s2_c = s2 - cross - cross.transpose(0, 2, 1) + n[:, None, None] * outer
    else:
        s2_c = s2 - 2.0 * c * s1 + n[:, None] * c * c
    return s1_c, s2_c


@dataclass
class SuffStats:
    """Additive sufficient statistics of a set of weighted rows."""

    centres: np.ndarray
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    loglik: float = 0.0
    weight: float = 0.0
    rows: int = field(default=0)
    #: ``means_and_scatter()``'s result when the E-step computed it with the
    #: statistics (one small in-memory chunk); dropped by ``+=``.
    moments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def zeros(cls, centres: np.ndarray, moments: str) -> SuffStats:
        k, d = centres.shape
        s2_shape = (k, d, d) if moments == "full" else (k, d)
        return cls(
            centres=np.array(centres, dtype=np.float64),
            n=np.zeros(k),
            s1=np.zeros((k, d)),
            s2=np.zeros(s2_shape),
        )

    def __iadd__(self, other: SuffStats) -> SuffStats:
        if not np.array_equal(self.centres, other.centres):
            raise ValueError("cannot add statistics taken about different centres")
        # x + 0 == x exactly: added to empty statistics, the other's moments
        # stay valid (e.g. the complete rows' part of a missing-value E-step)
        empty = (
            self.rows == 0
            and self.weight == 0.0
            and not (self.n.any() or self.s1.any() or self.s2.any())
        )
        self.add(other.n, other.s1, other.s2, other.loglik, other.weight, other.rows)
        if empty:
            self.moments = other.moments
        return self

    def add(
        self,
        n: np.ndarray,
        s1: np.ndarray,
        s2: np.ndarray,
        loglik: float,
        weight: float,
        rows: int,
    ) -> None:
        """Add one chunk's statistics, taken about the same centres."""
        self.moments = None
        self.n += n
        self.s1 += s1
        self.s2 += s2
        self.loglik += loglik
        self.weight += weight
        self.rows += rows

    def __add__(self, other: SuffStats) -> SuffStats:
        out = SuffStats(
            self.centres,
            self.n.copy(),
            self.s1.copy(),
            self.s2.copy(),
            self.loglik,
            self.weight,
            self.rows,
        )
        out += other
        return out

    def recentred(self, centres: np.ndarray) -> SuffStats:
        """The same statistics taken about other per-component ``centres``
        (exact: :func:`moved_moments` by the difference of the centres)."""
        centres = np.array(centres, dtype=np.float64)
        s1, s2 = moved_moments(self.n, self.s1, self.s2, centres - self.centres)
        return SuffStats(
            centres, self.n.copy(), s1, s2, self.loglik, self.weight, self.rows
        )

    def means_and_scatter(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(nk, means, scatter)`` with scatter about the new means.

        ``nk`` includes scikit-learn's ``10 * eps`` guard.  The scatter is
        ``s2 - s1 d^T - d s1^T + n d d^T`` with ``d = means - centres``, the
        exact re-centring of the shifted moments.
        """
        if self.moments is not None:
            return self.moments
        nk = self.n + count_guard(self.weight, self.rows)
        delta = self.s1 / nk[:, None]
        means = self.centres + delta
        scatter = moved_moments(self.n, self.s1, self.s2, delta)[1]
        if scatter.ndim == 3:
            scatter = 0.5 * (scatter + scatter.transpose(0, 2, 1))
        else:
            np.maximum(scatter, 0.0, out=scatter)
        return nk, means, scatter


def _compiled(
    model: CovarianceModel, params: Params
) -> tuple[str, np.ndarray, np.ndarray] | None:
    """``(kind, factors, log_constants)`` for the compiled kernels, or None."""
    d = params.means.shape[1]
    return _kernels.kernel_inputs(model, params.weights, params.precisions_cholesky, d)


def weighted_log_prob(
    X: np.ndarray, model: CovarianceModel, params: Params, shift: np.ndarray
) -> np.ndarray:
    """``log pi_k + log N(x | mu_k, Sigma_k)`` for one chunk, shape (n, K)."""
    compiled = _compiled(model, params)
    if compiled is not None:
        kind, factors, logc = compiled
        return _kernels.log_prob_chunk(
            kind, X, shift, params.means - shift, factors, logc
        )
    with np.errstate(divide="ignore"):
        log_w = np.log(params.weights)
    out = model.log_gaussian(
        X - shift, params.means - shift, params.precisions_cholesky
    )
    out += log_w
    return out


def _accumulate(
    stats: SuffStats, Xs: np.ndarray, rw: np.ndarray, centres_s: np.ndarray
) -> None:
    """Add moments of shifted rows ``Xs`` about each ``centres_s[k]`` exactly.

    The reference path: one ``(rows, d)`` difference per component, so the
    moments are centred on each component's own centre without cancellation.
    The diagonal E-step uses :func:`_accumulate_diag` and falls back to this
    path only for the components whose centres are far (in their own units)
    from the common shift.
    """
    stats.n += rw.sum(axis=0)
    full = stats.s2.ndim == 3
    diff = np.empty_like(Xs)
    for k in range(rw.shape[1]):
        r = rw[:, k]
        if not r.any():
            continue
        np.subtract(Xs, centres_s[k], out=diff)
        stats.s1[k] += r @ diff
        if full:
            stats.s2[k] += (diff * r[:, None]).T @ diff
        else:
            stats.s2[k] += r @ (diff * diff)


#: Moments are gathered about the common shift and re-centred on each
#: component's centre afterwards; that re-centring loses about
#: ``log10(limit)`` digits at most, beyond which a component takes an exact
#: per-component path (see :func:`_far_components`).  float32 chunks keep
#: only 1 of their ~7 digits at risk.
_RECENTRE_LIMIT: dict[np.dtype, float] = {
    np.dtype(np.float64): 1e4,
    np.dtype(np.float32): 10.0,
}


def _far_components(
    model: CovarianceModel, params: Params, centres_s: np.ndarray
) -> dict[np.dtype, np.ndarray]:
    """Per chunk dtype, the components whose centre is too far from the shift
    to re-centre safely (see ``_RECENTRE_LIMIT``).

    Rounding in moments taken about the shift is of order ``eps * |delta|^2``
    per entry (``delta`` = centre minus shift); relative to the component's
    covariance that is ``eps * |delta|^2 * lambda_max(precision)``, with
    ``lambda_max`` bounded by the largest absolute row sum (Gershgorin) for
    full moments; for diagonal ones ``max_j delta_j^2 precision_jj``.
    """
    k, d = centres_s.shape
    d2 = centres_s * centres_s
    if model.moments == "full":
        prec = model.precisions_from_cholesky(params.precisions_cholesky)
        dense = np.asarray(model.dense(prec, k, d), dtype=np.float64)
        worst = d2.sum(axis=1) * np.abs(dense).sum(axis=2).max(axis=1)
    else:  # the precisions' diagonals, (K, d), from any native shape
        diag = model.kernel_factors(params.precisions_cholesky, k, d)
        worst = (d2 * diag).max(axis=1, initial=0.0)
    return {dt: np.nonzero(~(worst < lim))[0] for dt, lim in _RECENTRE_LIMIT.items()}


def _accumulate_diag(
    stats: SuffStats,
    Xs: np.ndarray,
    rw: np.ndarray,
    centres_s: np.ndarray,
    far: np.ndarray,
) -> None:
    """Add diagonal moments of shifted rows, all components in two GEMMs.

    Raw moments about the shift, ``R^T X`` and ``R^T X^2``, are re-centred on
    the component centres in float64; components in ``far`` take the exact
    per-component path instead.
    """
    nk = rw.sum(axis=0, dtype=np.float64)
    s1g = (rw.T @ Xs).astype(np.float64, copy=False)
    s2g = (rw.T @ (Xs * Xs)).astype(np.float64, copy=False)
    c = centres_s
    s1, s2 = moved_moments(nk, s1g, s2g, c)
    if far.size:
        exact = SuffStats.zeros(c[far], "diag")
        _accumulate(
            exact,
            Xs.astype(np.float64, copy=False),
            rw[:, far].astype(np.float64, copy=False),
            c[far],
        )
        s1[far] = exact.s1
        s2[far] = exact.s2
    stats.n += nk
    stats.s1 += s1
    stats.s2 += s2


def _accumulate_full(
    stats: SuffStats,
    xa: np.ndarray,
    rw: np.ndarray,
    centres_s: np.ndarray,
    buf: np.ndarray,
    far: np.ndarray,
) -> None:
    """Add full moments of shifted rows: one symmetric rank-k product each.

    ``xa`` is ``[1, x - shift]`` per row.  ``buf = xa * sqrt(r_k)`` has as Gram
    matrix ``n_k``, the first and the second moments about the shift as
    blocks, all from one SYRK; they are re-centred on ``c_k`` in float64.
    Components in ``far`` fill ``buf`` with ``[1, x - c_k] * sqrt(r_k)``
    instead (moments about their own centre, no re-centring).
    """
    sq = np.sqrt(rw)
    k, e = rw.shape[1], xa.shape[1]
    grams = np.empty((k, e, e))
    for j in range(k):
        if j in far:
            np.subtract(xa[:, 1:], centres_s[j].astype(xa.dtype), out=buf[:, 1:])
            buf[:, 1:] *= sq[:, j, None]
            buf[:, 0] = sq[:, j]
        else:
            np.multiply(xa, sq[:, j, None], out=buf)
        grams[j] = buf.T @ buf  # a SYRK
    n = grams[:, 0, 0]
    c = centres_s.copy()
    c[far] = 0.0  # far components' moments are about their centres already
    s1, s2 = moved_moments(n, grams[:, 0, 1:], grams[:, 1:, 1:], c)
    stats.n += n
    stats.s1 += s1
    stats.s2 += s2


def _resp_inplace(log_prob: np.ndarray) -> np.ndarray:
    """Turn ``log_prob`` into responsibilities in place; return log-normaliser."""
    top = log_prob.max(axis=1)
    top[~np.isfinite(top)] = 0.0
    log_prob -= top[:, None]
    np.exp(log_prob, out=log_prob)
    total = log_prob.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_prob /= total[:, None]
        log_norm = np.log(total)
    log_norm += top
    return log_norm


#: Columns per block of the triangular Mahalanobis product (see _GemmLogProb).
_TRI_BLOCK = 16


class _GemmLogProb:
    """Weighted log-densities of chunks by matrix products (the BLAS path).

    Full moments: the K projections ``(x - c_k) P_k`` of a chunk come from
    GEMMs with the stacked upper factors, one per block of ``_TRI_BLOCK``
    columns: block ``[c0, c1)`` of every ``P_k`` is zero below row ``c1``, so
    it needs only the first ``c1`` features (about 40% fewer flops than one
    dense product at d = 64).  The rows carry a leading column of ones, so
    the centres' projections are subtracted inside the same GEMMs.
    Diagonal moments: the expanded quadratic form, two GEMMs.  float32
    chunks are computed in float32.  Work arrays are kept per ``slot`` (one
    per thread) and reused.
    """

    def __init__(self, model: CovarianceModel, params: Params, shift: np.ndarray):
        k, d = params.means.shape
        self.shape = (k, d)
        self.full = model.moments == "full"
        kind = "full" if self.full else "diag"
        factors = model.kernel_factors(params.precisions_cholesky, k, d)
        logc = _kernels.log_constants(kind, params.weights, factors, d)
        c = params.means - shift
        if self.full:
            offsets = np.einsum("kd,kde->ke", c, factors)
            blocks = []
            for c0 in range(0, d, _TRI_BLOCK):
                c1 = min(d, c0 + _TRI_BLOCK)
                block = np.empty((1 + c1, k * (c1 - c0)))
                block[0] = -offsets[:, c0:c1].reshape(-1)
                block[1:] = factors[:, :c1, c0:c1].transpose(1, 0, 2).reshape(c1, -1)
                blocks.append(block)
            consts: tuple = (logc, *blocks)
        else:  # sum_j p_kj (x_j - c_kj)^2 = x^2 . p_k - 2 x . (p c)_k + (p c^2)_k
            pc = factors * c
            consts = (logc, factors.T, -2.0 * pc.T, (pc * c).sum(axis=1))
        self.shift = shift  # subtracted in float64, whatever the chunk's dtype
        # float32 copies for float32 chunks; constants beyond float32's range
        # (a collapsed component) become inf there, as the rows' own values
        # would, without a warning for the float64 data that never uses them
        with np.errstate(over="ignore"):
            single = tuple(np.asarray(a, np.float32) for a in consts)
        self._consts = {np.dtype(np.float64): consts, np.dtype(np.float32): single}
        self._spaces: dict = {}
        self._ones = {dt: np.ones(_TRI_BLOCK, dt) for dt in self._consts}

    def work(self, slot: int, rows: int, dt: np.dtype) -> dict:
        """Work arrays of at least ``rows`` rows for one thread."""
        k, d = self.shape
        ws = self._spaces.get((slot, dt))
        if ws is None or ws["xa"].shape[0] < rows:
            blocks = self._consts[dt][1:] if self.full else ()
            ws = self._spaces[(slot, dt)] = {
                "xa": np.ones((rows, 1 + d), dt),  # [1, x - shift]
                "work": [np.empty((rows, b.shape[1]), dt) for b in blocks]
                + ([] if self.full else [np.empty((rows, d), dt)]),
                "lp": np.empty((rows, k), dt),
                "tmp": np.empty((rows, k), dt),
                "buf": np.empty((rows, d + 1), dt),
            }
        return ws

    def __call__(self, X: np.ndarray, slot: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """``(X - shift, log pi_k + log N(x | mu_k, Sigma_k), work arrays)``."""
        rows = X.shape[0]
        k, d = self.shape
        dt = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        ws = self.work(slot, rows, dt)
        logc, *mats = self._consts[dt]
        xa = ws["xa"][:rows]
        Xs = np.subtract(X, self.shift, out=xa[:, 1:], casting="unsafe")
        lp = ws["lp"][:rows]
        if self.full:
            for i, block in enumerate(mats):
                proj = ws["work"][i][:rows]
                np.matmul(xa[:, : block.shape[0]], block, out=proj)
                # |projection|^2 per row and component: square in place, then
                # sum each component's columns by a matrix-vector product
                np.multiply(proj, proj, out=proj)
                ones = self._ones[dt][: proj.shape[1] // k]
                sums = lp if i == 0 else ws["tmp"][:rows]
                np.matmul(proj.reshape(rows * k, -1), ones, out=sums.reshape(-1))
                if i:
                    lp += sums
        else:
            a, b, e = mats
            sq = np.multiply(Xs, Xs, out=ws["work"][0][:rows])
            np.matmul(sq, a, out=lp)
            lp += np.matmul(Xs, b, out=ws["tmp"][:rows])
            lp += e
            np.maximum(lp, 0.0, out=lp)
        lp *= -0.5
        lp += logc
        return Xs, lp, ws


def _per_thread(chunks: Chunks, fn: Callable[..., None]) -> None:
    """Call ``fn(slot, start, X_part, w_part)`` on each thread's share of every
    chunk (BLAS limited to one thread inside)."""
    threads = _kernels.numpy_threads()
    if threads == 1:
        for start, X, w in chunks:
            if X.shape[0]:
                fn(0, start, X, w)
        return
    # One block of each chunk per core, each thread with single-threaded BLAS
    # and its own work arrays: the element-wise work runs on every core too,
    # and no BLAS call waits on threads that the OS has not scheduled.
    with _kernels.single_threaded_blas():
        for start, X, w in chunks:
            if not X.shape[0]:  # e.g. an empty Dask block
                continue
            step = -(-X.shape[0] // threads)
            _kernels.run_parallel(
                [
                    (fn, t, start + lo, X[lo : lo + step], w[lo : lo + step])
                    for t, lo in enumerate(range(0, X.shape[0], step))
                ]
            )


def _estep_compiled(
    chunks: Chunks,
    model: CovarianceModel,
    params: Params,
    kind: str,
    factors: np.ndarray,
    logc: np.ndarray,
) -> SuffStats:
    """:func:`estep_stats` through the compiled kernels."""
    stats = SuffStats.zeros(params.means, model.moments)
    shift: np.ndarray | None = None
    centres_s = params.means
    for _, X, w in chunks:
        if stats.rows == 0 and _kernels.small_chunk(X):
            # one call for a small float64 chunk: the statistics and the
            # M-step's moments (kept while no other chunk adds to them)
            n, s1, s2, loglik, weight, moments = _kernels.estep_moments(
                kind, X, w, params.weights, params.means, factors, logc, _NK_EPS
            )
            stats = SuffStats(stats.centres, n, s1, s2, loglik, weight, X.shape[0])
            stats.moments = moments
            continue
        if shift is None:
            shift = params.centre()
            centres_s = params.means - shift
        n, s1, s2, loglik, weight = _kernels.estep_chunk(
            kind, X, w, shift, centres_s, factors, logc
        )
        if X.dtype != np.float64:
            # about the centres rounded to X's dtype: move them to the
            # exact centres (a tiny move, so no cancellation)
            rounded = centres_s.astype(X.dtype).astype(np.float64)
            s1, s2 = moved_moments(n, s1, s2, centres_s - rounded)
        stats.add(n, s1, s2, loglik, weight, X.shape[0])
    return stats


def estep_stats(chunks: Chunks, model: CovarianceModel, params: Params) -> SuffStats:
    """One E-step over all chunks: statistics about the current means.

    Chunks of float32 rows are computed in float32 (densities, products);
    the statistics themselves are accumulated in float64.
    """
    compiled = _compiled(model, params)
    if compiled is not None:
        return _estep_compiled(chunks, model, params, *compiled)
    stats = SuffStats.zeros(params.means, model.moments)
    shift = params.centre()
    centres_s = params.means - shift
    gemm = _GemmLogProb(model, params, shift)
    far = _far_components(model, params, centres_s)
    parts: dict[int, SuffStats] = {}

    def block(slot: int, start: int, X: np.ndarray, w: np.ndarray) -> None:
        part = parts.get(slot)
        if part is None:
            part = parts[slot] = SuffStats.zeros(params.means, model.moments)
        Xs, lp, ws = gemm(X, slot)
        log_norm = _resp_inplace(lp)
        rw = lp
        if not np.all(w == 1.0):
            rw = rw * w[:, None].astype(lp.dtype)
            drop = ~(w > 0)  # zero weight: no statistics, whatever the density
            if drop.any():
                rw[drop] = 0.0
                w = np.where(drop, 0.0, w)
                log_norm = np.where(drop, 0.0, log_norm)
        if gemm.full:
            xa = ws["xa"][: X.shape[0]]
            buf = ws["buf"][: X.shape[0]]
            _accumulate_full(part, xa, rw, centres_s, buf, far[lp.dtype])
        else:
            _accumulate_diag(part, Xs, rw, centres_s, far[lp.dtype])
        part.loglik += float(w @ log_norm.astype(np.float64))
        part.weight += float(w.sum())
        part.rows += X.shape[0]

    _per_thread(chunks, block)
    for slot in sorted(parts):
        stats += parts[slot]
    return stats


@dataclass
class Responsibilities:
    """Starting responsibilities, produced chunk by chunk (no (n, K) array).

    Either ``labels`` (hard labels per row, -1: no component) or ``of``
    (``of(start, stop)`` gives rows ``start:stop``'s responsibilities).
    ``subset`` marks a start computed on a subset of the rows (rows outside
    it carry no responsibility; the weights are then the subset's); ``given``
    one the user gave (``resp_init``), where a component without mass is an
    error rather than a component started empty.
    """

    n_components: int
    of: Callable[[int, int], np.ndarray] | None = None
    labels: np.ndarray | None = None
    subset: bool = False
    given: bool = False

    def __call__(self, start: int, stop: int) -> np.ndarray:
        if self.of is not None:
            return self.of(start, stop)
        assert self.labels is not None
        lab = self.labels[start:stop]
        out = np.zeros((lab.shape[0], self.n_components))
        rows = np.nonzero(lab >= 0)[0]
        out[rows, lab[rows]] = 1.0
        return out


def resp_stats(
    chunks: Chunks,
    resp: Responsibilities,
    centres: np.ndarray,
    moments: str,
) -> SuffStats:
    """Statistics from given responsibilities (one M-step's input)."""
    stats = SuffStats.zeros(centres, moments)
    shift = centres.mean(axis=0)
    centres_s = centres - shift
    for start, X, w in chunks:
        if resp.labels is None:
            r = resp(start, start + X.shape[0])
            _accumulate(stats, X - shift, r * w[:, None], centres_s)
        else:
            Xs = X - shift
            labels = resp.labels[start : start + X.shape[0]]
            if not _kernels.label_moments(
                Xs, w, labels, centres_s, stats.n, stats.s1, stats.s2
            ):
                _accumulate_labels(stats, Xs, w, labels, centres_s)
        stats.weight += float(w.sum())
        stats.rows += X.shape[0]
    return stats


def _accumulate_labels(
    stats: SuffStats,
    Xs: np.ndarray,
    w: np.ndarray,
    labels: np.ndarray,
    centres_s: np.ndarray,
) -> None:
    """:func:`_accumulate` for one-hot responsibilities given as labels.

    Rows are grouped by label, so each row is read once, not once per
    component.
    """
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(centres_s.shape[0] + 1))
    full = stats.s2.ndim == 3
    for k in range(centres_s.shape[0]):
        rows = order[bounds[k] : bounds[k + 1]]
        if rows.size == 0:
            continue
        diff = Xs[rows] - centres_s[k]
        wk = w[rows]
        wd = diff * wk[:, None]
        stats.n[k] += wk.sum()
        stats.s1[k] += wd.sum(axis=0)
        stats.s2[k] += wd.T @ diff if full else (wd * diff).sum(axis=0)


def score_chunks(
    chunks: Chunks, model: CovarianceModel, params: Params
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(start, log_prob, log_norm)`` per chunk (for predictions)."""
    shift = params.centre()
    for start, X, _ in chunks:
        log_prob = weighted_log_prob(X, model, params, shift)
        yield start, log_prob, _logsumexp_rows(log_prob)


def score_rows(
    chunks: Chunks, model: CovarianceModel, params: Params, labels: bool = True
) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """Yield ``(start, log p(x), most probable component)`` per chunk; the
    last is None, and not computed, when ``labels`` is False.

    Cheaper than :func:`score_chunks` when the (n, K) log-densities are not
    needed (the fit's final pass, ``predict``, ``score_samples``).
    """
    shift = params.centre()
    compiled = _compiled(model, params)
    if compiled is not None:
        kind, factors, logc = compiled
        for start, X, _ in chunks:
            log_norm, best = _kernels.score_chunk(
                kind, X, shift, params.means - shift, factors, logc, labels
            )
            yield start, log_norm, best
        return
    gemm = _GemmLogProb(model, params, shift)
    for start, X, w in chunks:
        log_norm = np.empty(X.shape[0])
        best = np.empty(X.shape[0], dtype=np.intp) if labels else None

        def rows(
            slot: int,
            lo: int,
            part: np.ndarray,
            _: np.ndarray,
            log_norm: np.ndarray = log_norm,
            best: np.ndarray | None = best,
        ) -> None:
            lp = gemm(part, slot)[1]
            hi = lo + part.shape[0]
            if best is not None:
                best[lo:hi] = lp.argmax(axis=1)
            log_norm[lo:hi] = _logsumexp_rows(lp)

        _per_thread([(0, X, w)], rows)
        yield start, log_norm, best


def _logsumexp_rows(log_prob: np.ndarray) -> np.ndarray:
    """``log(sum(exp(log_prob), axis=1))`` without scipy's per-call overhead."""
    top = log_prob.max(axis=1)
    top[~np.isfinite(top)] = 0.0
    tmp = log_prob - top[:, None]
    np.exp(tmp, out=tmp)
    with np.errstate(divide="ignore"):
        out = np.log(tmp.sum(axis=1))
    out += top
    return out
