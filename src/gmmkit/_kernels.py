"""Compiled E-step kernels (numba): full moments up to 128 features, diagonal any.

With few features the E-step is dominated not by arithmetic but by passes
over ``(rows, K)`` and ``(rows, K, d)`` temporaries, which numpy makes one
operation at a time.  These kernels do the whole E-step of a tile of rows in
one go -- the Mahalanobis distance to every component, the log-sum-exp, the
responsibilities and the moment sums -- with no temporaries, each thread on
its own block of rows with its own accumulators (a thread per core), so both
cores are busy.  The moments are taken about each component's own centre
directly, so no re-centring (and no cancellation) is needed.

float64 rows are computed in float64; float32 rows in float32 (tiles and the
sums within a tile; the statistics across tiles are float64, and
:func:`gmmkit._stats.estep_stats` moves moments taken about the
float32-rounded centres to the exact ones).  The kernels are compiled on
first use and cached on disk (``cache=True``); importing this module
compiles nothing.  Without numba (or with the
environment variable ``GMMKIT_DISABLE_NUMBA=1``) :func:`available` is False
and gmmkit uses its numpy/BLAS path.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .covariance import CovarianceModel

# numba is imported (and the kernels compiled or loaded from cache) only on
# first use, so ``import gmmkit`` stays fast.
_HAVE_NUMBA = (
    os.environ.get("GMMKIT_DISABLE_NUMBA", "") in ("", "0")
    and importlib.util.find_spec("numba") is not None
)

_LOG_2PI = math.log(2.0 * math.pi)

#: Largest number of features for which the compiled kernels were measured to
#: beat the BLAS path (benchmarks/run.py cells and ad-hoc timings on this
#: project's 2-core machine, seconds per EM iteration, K = 16 unless noted):
#: full d = 64: 0.58 s against 0.66 (1e5 rows; K = 3: 0.148 against 0.183;
#: K = 64: 2.41 against 2.83); d = 96: 0.63 against 0.87 and d = 128, K = 8:
#: 0.57 against 0.70 (5e4 rows).  Larger d was not measured, so it takes the
#: BLAS path.  The diagonal kernel has no limit: it beat the BLAS path at
#: every d measured, 300 to 3000 (and at 256 before; K = 8: d = 512, 5e4 rows: 0.061 s
#: against 0.15; d = 1000, 2e4 rows: 0.044 against 0.13; d = 3000, 1e4 rows:
#: 0.077-0.10 against 0.14; 2026-12-06).
MAX_FEATURES = {"full": 128, "diag": math.inf}


def available() -> bool:
    """True when numba could be imported (and is not disabled)."""
    return _HAVE_NUMBA


def applicable(kind: str, n_features: int) -> str | None:
    """Which kernel serves a model of this ``kernel_kind`` ("full" / "diag"),
    or None.

    Every covariance model's density is ``log det P_k - |(x - mu_k) P_k|^2 / 2``
    with ``P_k`` its upper precision factor (diagonal for "diag"), so one
    kernel per kind serves all of them; the model gives its factors in the
    kernels' layout (:meth:`gmmkit.covariance.CovarianceModel.kernel_factors`).
    """
    if not _HAVE_NUMBA or n_features > MAX_FEATURES[kind]:
        return None
    return kind


def kernel_inputs(
    model: CovarianceModel,
    weights: np.ndarray,
    prec_chol: np.ndarray,
    n_features: int,
) -> tuple[str, np.ndarray, np.ndarray] | None:
    """``(kind, factors, log_constants)`` for the compiled kernels, or None
    where no kernel serves the model at this number of features."""
    kind = applicable(model.kernel_kind, n_features)
    if kind is None:
        return None
    factors = model.kernel_factors(prec_chol, len(weights), n_features)
    return kind, factors, log_constants(kind, weights, factors, n_features)


def log_constants(
    kind: str, weights: np.ndarray, factors: np.ndarray, d: int
) -> np.ndarray:
    """``log pi_k + log det P_k - d/2 log(2 pi)`` per component."""
    # compiled below 8 features, where numpy's sums run in index order too
    # (from 8 on they are pairwise): the same numbers either way
    if (
        _HAVE_NUMBA
        and d < 8
        and factors.dtype == np.float64
        and weights.dtype == np.float64
        and factors.ndim == (3 if kind == "full" else 2)
    ):
        out = np.empty(len(weights))
        f3 = factors if kind == "full" else factors.reshape(factors.shape[0], 1, -1)
        _impl().log_constants(kind == "full", weights, f3, d, out)
        return out
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
        if kind == "full":
            log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
        else:
            log_det = 0.5 * np.log(factors).sum(axis=1)
    return np.ascontiguousarray(log_w + log_det - 0.5 * d * _LOG_2PI)


@functools.cache
def _strict_lower(d: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.tril_indices(d, -1)``, built once per ``d`` (~4 us a call, once
    per E-step otherwise); read-only, as they are shared."""
    rows, cols = np.tril_indices(d, -1)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


_POOL: list = []


def _impl():
    """The compiled kernels (numba is imported here, on first use)."""
    from . import _kernels_impl

    return _kernels_impl


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: Fewest rows worth a thread of their own (a thread hand-off costs ~50 us,
#: 1024 rows take the kernels 0.1-1 ms).
MIN_ROWS_PER_THREAD = 1024


def map_blocks(
    fn, n: int, min_rows: int = MIN_ROWS_PER_THREAD, threads: int | None = None
) -> list:
    """Run ``fn(start, stop)`` on one block of rows per thread (``threads``,
    default one per core); return the results."""
    t = min(threads or _threads(), max(1, n // min_rows))
    step = -(-n // t)
    bounds = [(i * step, min(n, (i + 1) * step)) for i in range(t)]
    if t == 1:
        return [fn(*bounds[0])]
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(_threads(), thread_name_prefix="gmmkit"))
    return list(_POOL[0].map(lambda b: fn(*b), bounds))


def _thread_zeros(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    """Zeroed float64 arrays of these shapes in one buffer, with 256 bytes
    unused on either side, for one thread's sums: no cache line (nor its
    prefetched neighbour) is shared with another thread's, which would
    bounce between the cores on every update (false sharing).
    """
    sizes = [math.prod(shape) for shape in shapes]
    buf = np.zeros(sum(sizes) + 64)
    out, at = [], 32
    for shape, size in zip(shapes, sizes):
        out.append(buf[at : at + size].reshape(shape))
        at += size
    return out


def estep_chunk(kind, X, w, shift, means_s, factors, logc):
    """Statistics of one chunk about each component's centre, as rounded to
    X's dtype (:func:`gmmkit._stats.estep_stats` moves float32 ones to the
    exact centres).

    Returns ``(n, s1, s2, loglik, weight)``; rows with weight <= 0 are skipped.
    """
    impl = _impl()
    k, d = means_s.shape
    X = np.ascontiguousarray(X)
    w = np.ascontiguousarray(w, dtype=np.float64)
    shape2 = (k, d, d) if kind == "full" else (k, d)
    if X.shape[0] < 2 * MIN_ROWS_PER_THREAD:
        # one block (what map_blocks would run): no closure, no thread-pool
        # bookkeeping and no sums of partial results -- at a few hundred rows
        # those cost as much as the kernel itself
        n_, s1, s2, tot = np.zeros(k), np.zeros((k, d)), np.zeros(shape2), np.zeros(2)
        impl.estep(
            kind, X, w, shift, means_s, factors, logc, 0, X.shape[0], n_, s1, s2, tot
        )
    else:

        def run(start: int, stop: int):
            parts = _thread_zeros((k,), (k, d), shape2, (2,))
            impl.estep(kind, X, w, shift, means_s, factors, logc, start, stop, *parts)
            return parts

        parts = map_blocks(run, X.shape[0])
        n_ = sum(p[0] for p in parts)
        s1 = sum(p[1] for p in parts)
        s2 = sum(p[2] for p in parts)
        tot = sum(p[3] for p in parts)
    if kind == "full":
        lower = _strict_lower(d)
        s2[:, lower[0], lower[1]] = s2[:, lower[1], lower[0]]
    return n_, s1, s2, float(tot[0]), float(tot[1])


def small_chunk(X: np.ndarray) -> bool:
    """True for a float64 chunk small enough for one thread, which
    :func:`estep_moments` serves."""
    return X.dtype == np.float64 and X.shape[0] < 2 * MIN_ROWS_PER_THREAD


def estep_moments(kind, X, w, weights, means, factors, logc, eps):
    """The E-step of one small float64 chunk and the M-step's moments, in one
    compiled call (no thread pool: below ``2 * MIN_ROWS_PER_THREAD`` rows).

    Returns ``(n, s1, s2, loglik, weight, (nk, means, scatter))``: the
    statistics of :func:`estep_chunk` about ``means`` and what
    :meth:`gmmkit._stats.SuffStats.means_and_scatter` computes from them.
    """
    k, d = means.shape
    shape2 = (k, d, d) if kind == "full" else (k, d)
    size2 = math.prod(shape2)
    buf = np.zeros(2 * k + 2 * k * d + 2 * size2 + 2)
    _impl().estep_moments(
        kind, np.ascontiguousarray(X), np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(weights, dtype=np.float64),
        np.ascontiguousarray(means, dtype=np.float64), factors, logc, eps, buf,
    )  # fmt: skip
    parts, at = [], 0
    for shape in ((k,), (k, d), shape2, (2,), (k,), (k, d), shape2):
        size = math.prod(shape)
        parts.append(buf[at : at + size].reshape(shape))
        at += size
    n_, s1, s2, tot, nk, new, scatter = parts
    return n_, s1, s2, float(tot[0]), float(tot[1]), (nk, new, scatter)


def _impl_nan():
    """The compiled kernels for rows with missing values (numba on first use)."""
    from . import _kernels_nan

    return _kernels_nan


def estep_nan_chunk(X, w, means, prec, logc, full_moments: bool):
    """Expected statistics of rows with missing values (NaN) about each
    component's mean, on one thread per core: ``(n, s1, s2, loglik,
    weight)``, ``s2`` (K, d, d) or, unless ``full_moments``, its diagonal
    (K, d).  ``prec`` (K, d, d) dense precisions, ``logc`` ``log pi_k + log
    det Lambda_k / 2 - d/2 log(2 pi)`` (see :mod:`gmmkit._kernels_nan`)."""
    impl = _impl_nan()
    k, d = means.shape
    X = np.ascontiguousarray(X)
    w = np.ascontiguousarray(w, dtype=np.float64)
    shape2 = (k, d, d) if full_moments else (k, 1, d)

    def run(start: int, stop: int):
        parts = _thread_zeros((k,), (k, d), shape2, (2,))
        impl.estep(X, w, means, prec, logc, start, stop, full_moments, *parts)
        return parts

    parts = map_blocks(run, X.shape[0])
    n_, s1, s2, tot = (sum(p[i] for p in parts) for i in range(4))
    if full_moments:
        lower = _strict_lower(d)
        s2[:, lower[0], lower[1]] = s2[:, lower[1], lower[0]]
    else:
        s2 = s2[:, 0]
    return n_, s1, s2, float(tot[0]), float(tot[1])


def score_nan_chunk(X, means, prec, logc, labels: bool = True):
    """``(log p(x_o), argmax_k)`` per row of rows that may hold NaN, without
    (n, K) arrays (arguments as :func:`estep_nan_chunk`); the second is None
    unless ``labels``."""
    impl = _impl_nan()
    X = np.ascontiguousarray(X)
    log_norm = np.empty(X.shape[0])
    best = np.empty(X.shape[0] if labels else 0, dtype=np.intp)

    def run(start: int, stop: int) -> None:
        impl.score(
            X, means, prec, logc, start, stop, log_norm[start:stop],
            best[start:stop],
        )  # fmt: skip

    map_blocks(run, X.shape[0])
    return log_norm, best if labels else None


def missing_counts(X) -> np.ndarray:
    """The number of NaN in each row of X (compiled: one pass, no mask)."""
    impl = _impl_nan()
    X = np.ascontiguousarray(X)
    out = np.empty(X.shape[0], dtype=np.intp)

    def run(start: int, stop: int) -> None:
        impl.count_missing(X, start, stop, out[start:stop])

    map_blocks(run, X.shape[0], min_rows=16 * MIN_ROWS_PER_THREAD)
    return out


def log_prob_nan_chunk(X, means, prec, logc):
    """``log pi_k + log N(x_o | mu_ko, Sigma_koo)`` of rows that may hold NaN,
    shape (n, K) (arguments as :func:`estep_nan_chunk`)."""
    impl = _impl_nan()
    X = np.ascontiguousarray(X)
    out = np.empty((X.shape[0], means.shape[0]))

    def run(start: int, stop: int) -> None:
        impl.log_prob(X, means, prec, logc, start, stop, out[start:stop])

    map_blocks(run, X.shape[0])
    return out


def em_dense(kind, code, X, w, weights, means, cov, orientation, *args):
    """The compiled EM loop of :func:`gmmkit._engine.dense_em` (see
    :func:`gmmkit._kernels_impl.em_dense`); the state arrays are updated."""
    _impl().em_dense(kind, code, X, w, weights, means, cov, orientation, *args)


def label_moments(Xs, w, labels, centres_s, n_, s1, s2) -> bool:
    """Add the moments of the rows ``Xs`` in their labelled components
    (see :func:`gmmkit._kernels_impl.label_moments`) to ``n_``, ``s1``,
    ``s2``; False (nothing done) where no compiled kernel serves them (no
    numba, float32 rows, or more rows than one thread takes)."""
    if not (_HAVE_NUMBA and small_chunk(Xs)):
        return False
    _impl().label_moments(
        np.ascontiguousarray(Xs), np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(labels, dtype=np.intp), centres_s, s2.ndim == 3,
        n_, s1, s2 if s2.ndim == 3 else s2.reshape(s2.shape[0], 1, -1),
    )  # fmt: skip
    return True


def log_prob_chunk(kind, X, shift, means_s, factors, logc):
    """``log pi_k + log N(x | mu_k, Sigma_k)`` of one chunk, shape (n, K)."""
    impl = _impl()
    X = np.ascontiguousarray(X)
    out = np.empty((X.shape[0], means_s.shape[0]))

    def run(start: int, stop: int) -> None:
        impl.log_prob(
            kind, X, shift, means_s, factors, logc, start, stop, out[start:stop]
        )

    map_blocks(run, X.shape[0])
    return out


def score_chunk(kind, X, shift, means_s, factors, logc, labels=True):
    """``(log p(x), argmax_k)`` per row of one chunk, without (n, K) arrays;
    the second is None when ``labels`` is False (not computed)."""
    impl = _impl()
    X = np.ascontiguousarray(X)
    log_norm = np.empty(X.shape[0])
    best = np.empty(X.shape[0] if labels else 0, dtype=np.intp)

    def run(start: int, stop: int) -> None:
        impl.score(
            kind, X, shift, means_s, factors, logc, start, stop,
            log_norm[start:stop], best[start:stop],
        )  # fmt: skip

    map_blocks(run, X.shape[0])
    return log_norm, best if labels else None


def hc_roots(merges: np.ndarray, n: int, steps: int) -> np.ndarray | None:
    """The root (smallest row) of each row's cluster after the first
    ``steps`` merges (:func:`gmmkit._kernels_impl.hc_roots`), or None
    without numba."""
    if not _HAVE_NUMBA:
        return None
    parent = np.empty(n, dtype=np.intp)
    _impl().hc_roots(np.ascontiguousarray(merges, dtype=np.intp), n, steps, parent)
    return parent


def hc_refresh(
    L: np.ndarray, row_min: np.ndarray, row_arg: np.ndarray, rows, col: int
) -> None:
    """Row minima of the hierarchical clustering's cost matrix after column
    ``col`` (``-1``: all) of ``rows`` changed; see
    :func:`gmmkit._kernels_impl.hc_refresh` (compiled: ~30x fewer calls'
    overhead on 1000 rows).  Without numba, the same rule in numpy."""
    rows = np.asarray(rows, dtype=np.intp)
    if _HAVE_NUMBA:
        _impl().hc_refresh(L, row_min, row_arg, rows, int(col))
        return
    for r in rows:
        r = int(r)
        if col >= 0 and row_arg[r] != col:
            v = L[r, col]
            if v < row_min[r] or (v == row_min[r] and col > row_arg[r]):
                row_min[r], row_arg[r] = v, col
            continue
        if r == 0:
            row_min[0] = np.inf
            continue
        row = L[r, :r]
        best = row.min()
        row_min[r] = best
        row_arg[r] = int(np.nonzero(row == best)[0][-1])


def numpy_threads() -> int:
    """Threads for the numpy/BLAS E-step (``GMMKIT_NUMPY_THREADS`` overrides)."""
    env = os.environ.get("GMMKIT_NUMPY_THREADS", "")
    return max(1, int(env)) if env.isdigit() else _threads()


_CONTROLLER: list = []


class single_threaded_blas:  # noqa: N801 - used as a context manager
    """Limit BLAS to one thread per call while gmmkit runs its own threads.

    The libraries are looked up once (threadpoolctl scans the process's
    memory maps, ~5 ms) and the controller reused; each limit costs ~10 us.
    """

    user_api = "blas"

    def __enter__(self) -> None:
        if not _CONTROLLER:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        self._limits = _CONTROLLER[0].limit(limits=1, user_api=self.user_api)

    def __exit__(self, *exc: object) -> None:
        self._limits.restore_original_limits()


class single_threaded_openmp(single_threaded_blas):  # noqa: N801
    """Limit OpenMP (scikit-learn's k-means) to one thread."""

    user_api = "openmp"


#: k-means starts on at most this many values (rows x features) run with
#: OpenMP limited to one thread.  scikit-learn's KMeans runs OpenMP threads
#: that spin-wait; on this project's 2-core machine (2026-12-07, K = 1..9,
#: medians of 5, ms) one thread was never slower up to 2e5 x 4: 200 x 4:
#: 5.9 against 5.8 quiet, 10.2 against 5.7 with the other core busy;
#: 5000 x 4: 26 against 26 quiet, 46 against 26 loaded; 20000 x 4: 274
#: against 86 quiet; 2e5 x 4 (K = 8): 277 against 165; 1e5 x 16: 172
#: against 167.  Larger data keep scikit-learn's threads (not measured).
KMEANS_ONE_THREAD_VALUES = 1_000_000


def kmeans_threads(n_values: int) -> contextlib.AbstractContextManager:
    """The thread setting of a k-means start on ``n_values`` values."""
    if n_values <= KMEANS_ONE_THREAD_VALUES:
        return single_threaded_openmp()
    return contextlib.nullcontext()


#: Most features of a fit that :func:`fit_blas_limits` leaves alone (its
#: M-step's matrices are then at most 32 x 32).
SMALL_FIT_FEATURES = 32


def fit_blas_limits(
    n_rows: int | None = None, n_features: int = 1
) -> contextlib.AbstractContextManager:
    """A whole fit's BLAS setting: one thread where gmmkit runs its own.

    Between E-steps the M-step calls BLAS on small matrices (K d x d
    factors); OpenBLAS's threads then busy-wait for more work for a while
    (~0.1 s), on the very cores that gmmkit's E-step threads need next.
    Single-threaded BLAS leaves no such threads: fits of 1e5 x 64 rows with
    3 full components ran in 0.22 s instead of 0.29 s (5 iterations; with
    ``OPENBLAS_NUM_THREADS=1`` against without, ad-hoc, 2 cores).  Where
    gmmkit's numpy E-step runs on one thread (``GMMKIT_NUMPY_THREADS=1``)
    BLAS keeps its threads.

    A fit of fewer than ``2 * MIN_ROWS_PER_THREAD`` rows (``n_rows``) and
    at most ``SMALL_FIT_FEATURES`` features runs its E-steps on one thread
    and its BLAS calls on matrices too small for OpenBLAS to thread, so
    nothing is changed (the limit's context switch, ~10 us, cost more than
    such a fit's compiled EM loop).
    """
    if (
        n_rows is not None
        and n_rows < 2 * MIN_ROWS_PER_THREAD
        and n_features <= SMALL_FIT_FEATURES
    ):
        return contextlib.nullcontext()
    if numpy_threads() > 1:
        return single_threaded_blas()
    return contextlib.nullcontext()


def run_parallel(tasks: list) -> None:
    """Run ``fn(*args)`` for each ``(fn, *args)`` on the thread pool; wait."""
    if len(tasks) == 1:
        fn, *args = tasks[0]
        fn(*args)
        return
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(_threads(), thread_name_prefix="gmmkit"))
    futures = [_POOL[0].submit(fn, *args) for fn, *args in tasks]
    for f in futures:
        f.result()
