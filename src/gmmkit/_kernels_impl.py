"""numba implementations behind :mod:`gmmkit._kernels` (imported lazily).

Serial, GIL-free kernels over a range of rows; :mod:`gmmkit._kernels`
runs them on several threads.  Compiled on first use and cached on disk.

Rows are processed in tiles (:func:`tile_rows`), transposed so that every inner
loop runs over the rows of the tile with unit stride: the Mahalanobis
distances, the log-sum-exp, the responsibilities and the moment sums then
compile to SIMD instructions.  The exponential is computed by :func:`_exp_tile`
(range reduction and a degree-12 polynomial, within a few ulp; float32 rows:
:func:`_exp_tile32`, in float32), and the log of each row's sum by
:func:`_log_row`, because the C library's ``exp`` and ``log`` are scalar
calls that no compiler vectorises.

Reductions over the rows of a tile are compiled with re-association allowed,
so they are summed in SIMD lanes; the result is deterministic for a given
machine, and differs from a sequential sum only by rounding.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .covariance import _closed, _inner, _linalg
from .covariance._jit import compiled

#: Loops whose sums may be re-associated (vectorised reductions).  No
#: ``nnan``/``ninf``: -inf log-densities are legitimate.  Note that numba
#: compiles callees with their caller's fast-math flags, so nothing here may
#: rely on exact rounding of a sum (see ``_exp_tile``).
fast = njit(
    cache=True,
    nogil=True,
    error_model="numpy",
    fastmath={"reassoc", "contract", "nsz", "arcp"},
)
# Helpers that sum over the rows of a tile are inlined where numba compiles
# their callers: a helper left as its own function exists twice, as compiled
# for itself (which the compiling process runs) and as optimised again inside
# its caller (which the on-disk cache holds), and with re-associated sums the
# two copies round differently; the first run after install then differed
# from later runs at ~1e-14 (the moment sums).  Inlined, there is one copy.
fast_inline = njit(
    cache=True,
    nogil=True,
    error_model="numpy",
    fastmath={"reassoc", "contract", "nsz", "arcp"},
    inline="always",
)

#: Bytes per row of a (d, rows) tile of the full kernel: 264 float64 rows,
#: 528 float32 ones.
#: Not a power of two: with 256 float64 rows the rows of a tile lie 2 KiB
#: apart and the loops that touch many of them at once (the transposition in
#: ``_load_tile``, the triangular product) evict each other from the same L1
#: sets; 264 rows measured 1.5-3x faster there at d = 64.  float32 tiles of
#: the same bytes (528 rows) measured 4-14% faster than 264 rows at d = 2-64
#: (ad-hoc, one thread, alternating runs).
TILE_BYTES = 2112

#: Bytes per row of a diagonal model's tile: 600 float64 rows, 1200 float32
#: ones (75 cache lines, an odd number, so the rows of a tile spread over all
#: L1 sets).  The diagonal kernels stream through a few rows of the tile at
#: a time, and each tile costs a fixed amount (a horizontal sum per feature
#: and component, the per-row vectors); 600 rows measured 8-12% faster than
#: 264 at d = 2-16 and K = 3-64, 1-5% at d = 64, K = 16 (one thread, E-step
#: kernel, 6 alternating runs, both precisions; the full kernel was not
#: faster with larger tiles at d = 16-64).
DIAG_TILE_BYTES = 4800


#: Largest tile, bytes (a thread holds one, two with full moments): fewer
#: rows than ``DIAG_TILE_BYTES`` gives beyond ~870 float64 features, so
#: that very wide rows (diagonal models have no feature limit) do not take
#: hundreds of MB per thread.
MAX_TILE_BYTES = 4 << 20


@njit(cache=True, nogil=True, error_model="numpy")
def log_constants(full, weights, factors, d, out):  # pragma: no cover - compiled
    """``out[k] = log pi_k + log det P_k - d/2 log(2 pi)``: ``factors`` (K, d, d)
    upper precision factors (``full``) or (K, d) diagonal precisions, whose
    log-determinant is half the sum of their logs.  Sums in index order, no
    re-association (a numpy call per step cost ~8 us at K = 3)."""
    half_log_2pi = 0.5 * d * 1.8378770664093453
    for k in range(weights.shape[0]):
        s = 0.0
        if full:
            for j in range(d):
                s += math.log(factors[k, j, j])
        else:
            t = 0.0
            for j in range(d):
                t += math.log(factors[k, 0, j])
            s = 0.5 * t
        # log(0) = -inf, log(nan) = nan: numpy's numbers
        out[k] = math.log(weights[k]) + s - half_log_2pi


@njit(cache=True, nogil=True)
def hc_refresh(L, row_min, row_arg, rows, col):  # pragma: no cover - compiled
    """The hierarchical clustering's row minima after column ``col`` of the
    rows ``rows`` of the cost matrix ``L`` changed (``col < 0``: the rows
    changed entirely).  Per row ``j`` the minimum of ``L[j, :j]`` and its
    last index (mclust's packed scan keeps the last of equal costs); a row
    whose minimum sat in the changed column is scanned again.  Comparisons
    only, so the same numbers as the numpy version."""
    for t in range(rows.shape[0]):
        r = rows[t]
        if col >= 0 and row_arg[r] != col:
            v = L[r, col]
            if v < row_min[r] or (v == row_min[r] and col > row_arg[r]):
                row_min[r] = v
                row_arg[r] = col
            continue
        if r == 0:
            row_min[0] = np.inf
            continue
        best = L[r, 0]
        arg = 0
        for c in range(1, r):
            if L[r, c] <= best:
                best = L[r, c]
                arg = c
        row_min[r] = best
        row_arg[r] = arg


def tile_rows(dtype, n_features: int = 1, full: bool = True) -> int:
    """Rows per tile for rows of this dtype and width, for the full kernel
    or (``full`` False) the diagonal one."""
    size = np.dtype(dtype).itemsize
    cap = MAX_TILE_BYTES // (size * max(n_features, 1))
    return max(8, min((TILE_BYTES if full else DIAG_TILE_BYTES) // size, cap))


_LOG2E = 1.4426950408889634
# ln 2 split so that n * _LN2_HI is exact for |n| < 2^20 (fdlibm's constants).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# An integer f (|f| < 2^51) plus 1.5 * 2^52 holds f in its low mantissa bits.
_ROUND = 6755399441055744.0
_ROUND_BITS = 0x4338000000000000
# Below this exp(x) is subnormal or zero; the kernels return 0 there.
_EXP_MIN = -708.0


@fast
def _exp_tile(x, m, tbuf, pbuf, ibuf):
    """``x[:m] = exp(x[:m])`` in place, for x <= 0 (1-D contiguous arrays).

    ``exp(v) = 2^f exp(r)`` with ``f = round(v / ln 2)``, ``|r| <= ln(2) / 2``;
    ``exp(r)`` by its Taylor polynomial of degree 12 (truncation error below
    2e-16) and ``2^f`` built in the exponent bits.  Written to stay exact
    under re-association: ``f`` comes from ``np.floor`` (a float; ``math.floor``
    returns an int64, whose conversions do not vectorise) and is moved to the
    integer unit through the bits of ``f + 1.5 * 2^52``.  Relative error is
    below 2e-15 for |v| < 30, growing to ~1e-13 near v = -708 (from rounding
    of ``f ln 2``), where exp(v) < 1e-300; tested against numpy.
    """
    tbits = tbuf.view(np.int64)
    scale = ibuf.view(np.float64)
    for b in range(m):
        v = max(x[b], _EXP_MIN)
        f = np.floor(v * _LOG2E + 0.5)
        tbuf[b] = f + _ROUND
        r = (v - f * _LN2_HI) - f * _LN2_LO
        p = 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        pbuf[b] = p
    for b in range(m):
        ibuf[b] = (tbits[b] - _ROUND_BITS + 1023) << 52
    for b in range(m):
        x[b] = pbuf[b] * scale[b] if x[b] >= _EXP_MIN else 0.0


_LOG2E32 = np.float32(_LOG2E)
# ln 2 split for float32: n * _LN2_HI32 is exact for |n| < 2^15.
_LN2_HI32 = np.float32(0.693359375)
_LN2_LO32 = np.float32(-2.12194440e-4)
# Below this exp(x) is subnormal or zero in float32; the kernels return 0.
_EXP_MIN32 = np.float32(-87.0)


@fast
def _exp_tile32(x, m, pbuf, ibuf):
    """:func:`_exp_tile` for float32 rows, in float32 (1-D contiguous arrays).

    The same range reduction with a degree-7 Taylor polynomial (truncation
    below 6e-9 on ``|r| <= ln(2) / 2``); ``2^f`` from the integer ``f`` (a
    float32-to-int32 conversion, which vectorises, unlike float64-to-int64
    on AVX2).  Relative error below 1e-6 for v > -20, ~1e-5 near the float32
    underflow limit (v = -87); exactly 0 below it.  Tested against numpy.
    """
    scale = ibuf.view(np.float32)
    one = np.float32(1.0)
    for b in range(m):
        v = max(x[b], _EXP_MIN32)
        f = np.floor(v * _LOG2E32 + np.float32(0.5))
        ibuf[b] = (np.int32(f) + np.int32(127)) << np.int32(23)
        r = (v - f * _LN2_HI32) - f * _LN2_LO32
        p = np.float32(1.0 / 5040.0)
        p = p * r + np.float32(1.0 / 720.0)
        p = p * r + np.float32(1.0 / 120.0)
        p = p * r + np.float32(1.0 / 24.0)
        p = p * r + np.float32(1.0 / 6.0)
        p = p * r + np.float32(0.5)
        p = p * r + one
        p = p * r + one
        pbuf[b] = p
    for b in range(m):
        x[b] = pbuf[b] * scale[b] if x[b] >= _EXP_MIN32 else np.float32(0.0)


@fast
def _exp_row(x, m, ebuf):
    """``x[:m] = exp(x[:m])`` in the row's precision (``ebuf``: from
    :func:`_tile_buffers`)."""
    if x.itemsize == 4:
        _exp_tile32(x, m, ebuf[3], ebuf[4])
    else:
        _exp_tile(x, m, ebuf[0], ebuf[1], ebuf[2])


_LN2 = 0.6931471805599453
_SQRT2 = 1.4142135623730951
_MANT = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000  # the bits of 1.0
# (bits >> 52) | _EXP_BITS is the float 2^52 + (biased exponent): the
# exponent moves to a float without an int64-to-float conversion (as in
# _exp_tile, none vectorises on AVX2).
_EXP_BITS = 0x4330000000000000
_EXP_BIAS = 4503599627370496.0 + 1023.0


@fast
def _log_row(x, m, out, fbuf, ibuf):
    """``out[:m] = log(x[:m])`` in float64, for finite x > 0 (``out``, ``fbuf``:
    float64, ``ibuf``: int64, all of length >= m; other x give finite garbage).

    ``x = 2^e u`` with ``u`` in [sqrt(1/2), sqrt(2)); ``log u = 2 atanh(s)``,
    ``s = (u - 1) / (u + 1)``, ``|s| < 0.172``, by its series to ``s^23``
    (truncation below 1e-17).  ``u - 1`` is exact, so the relative error is a
    few ulp; tested against numpy.  The C library's ``log`` is a scalar call.
    """
    fbits = fbuf.view(np.int64)
    ubuf = out.view(np.int64)
    efl = ibuf.view(np.float64)
    for b in range(m):
        fbuf[b] = x[b]
    for b in range(m):
        bits = fbits[b]
        ubuf[b] = (bits & _MANT) | _ONE_BITS
        ibuf[b] = (bits >> 52) | _EXP_BITS
    for b in range(m):
        u = out[b]
        e = efl[b] - _EXP_BIAS
        big = u > _SQRT2  # selects as arithmetic (see _max_rows)
        u -= big * (0.5 * u)
        e += big
        s = (u - 1.0) / (u + 1.0)
        z = s * s
        p = 1.0 / 23.0
        p = p * z + 1.0 / 21.0
        p = p * z + 1.0 / 19.0
        p = p * z + 1.0 / 17.0
        p = p * z + 1.0 / 15.0
        p = p * z + 1.0 / 13.0
        p = p * z + 1.0 / 11.0
        p = p * z + 1.0 / 9.0
        p = p * z + 1.0 / 7.0
        p = p * z + 1.0 / 5.0
        p = p * z + 1.0 / 3.0
        out[b] = e * _LN2 + 2.0 * (s + s * (z * p))


#: Side of the square blocks that :func:`_load_tile` transposes in vector
#: registers: 8 float32 or 4 float64 values, 32 bytes (one AVX register).
_BLOCK = {types.float32: 8, types.float64: 4}


def _transposed(builder, rows):
    """LLVM IR: the transpose of ``W`` vectors of ``W`` values (``W`` a power
    of two), in ``log2 W`` rounds of shuffles; round ``h`` swaps, in each
    2h x 2h block, its two off-diagonal h x h blocks."""
    w = len(rows)
    h = 1
    while h < w:
        lo = [c + t + side for c in range(0, w, 2 * h) for side in (0, w)
              for t in range(h)]  # fmt: skip
        hi = [i + h for i in lo]
        out = list(rows)
        for i in range(w):
            if not i & h:
                for dst, mask in ((i, lo), (i + h, hi)):
                    indices = ir.Constant(ir.VectorType(ir.IntType(32), w), mask)
                    out[dst] = builder.shuffle_vector(rows[i], rows[i + h], indices)
        rows = out
        h *= 2
    return rows


@intrinsic
def _transpose_block(typingctx, X, r, c, shift, xt, b):
    """``xt[c + v, b + u] = X[r + u, c + v] - shift[c + v]`` for u, v < W
    (``_BLOCK``): W rows loaded as vectors, the shift subtracted, transposed
    in registers and stored as W vectors.  The arrays share one dtype and
    are C-contiguous (other arrays do not compile); no bounds checks (the
    caller keeps the block inside)."""
    arrays = (X, shift, xt)
    if not (
        X.dtype == shift.dtype == xt.dtype
        and X.dtype in _BLOCK
        and all(a.layout == "C" for a in arrays)
    ):
        return None
    w = _BLOCK[X.dtype]
    sig = types.void(X, r, c, shift, xt, b)

    def codegen(context, builder, signature, args):
        xv, rv, cv, sv, tv, bv = args
        x_arr, s_arr, t_arr = (
            context.make_array(signature.args[i])(context, builder, a)
            for i, a in ((0, xv), (3, sv), (4, tv))
        )
        vec = ir.VectorType(context.get_value_type(X.dtype), w).as_pointer()
        i64 = ir.IntType(64)
        size = ir.Constant(i64, X.dtype.bitwidth // 8)
        raw = ir.IntType(8).as_pointer()

        def row(arr, stride, i, j):  # address of arr[i, j] as a vector
            off = builder.add(builder.mul(i, stride), builder.mul(j, size))
            ptr = builder.gep(builder.bitcast(arr.data, raw), [off])
            return builder.bitcast(ptr, vec)

        x_stride = cgutils.unpack_tuple(builder, x_arr.strides)[0]
        t_stride = cgutils.unpack_tuple(builder, t_arr.strides)[0]
        sub = builder.load(builder.bitcast(builder.gep(s_arr.data, [cv]), vec), align=1)
        rows = [
            builder.fsub(
                builder.load(
                    row(x_arr, x_stride, builder.add(rv, ir.Constant(i64, u)), cv),
                    align=1,
                ),
                sub,
            )
            for u in range(w)
        ]
        for v, out in enumerate(_transposed(builder, rows)):
            ptr = row(t_arr, t_stride, builder.add(cv, ir.Constant(i64, v)), bv)
            builder.store(out, ptr, align=1)
        return context.get_dummy_value()

    return sig, codegen


@fast
def _load_tile(X, shift, s, nb, xt):
    """``xt[j, b] = X[s + b, j] - shift[j]`` (rows along axis 1).

    ``shift`` has X's dtype, and is exactly representable in it, so the
    difference is rounded once, as if taken in float64 and rounded to X's
    dtype (see :func:`_run`).  Square blocks are transposed in vector
    registers (:func:`_transpose_block`), one column of blocks after
    another, so that each pass writes a few rows of the tile in order; the
    rest of the rows and columns one value at a time.  Measured (one thread,
    131072 rows, ad-hoc, against one value at a time, where every value is
    a scalar store into another row of the tile): float32, d = 16: 0.82-0.93
    -> 0.27-0.28 ms; d = 64: 6.0 -> 3.7-4.0 ms; float64, d = 16: 1.8 -> 1.2;
    d = 64: 8.5 -> 6.8.
    """
    d = X.shape[1]
    w = 8 if X.itemsize == 4 else 4  # as _BLOCK
    nbw = nb - nb % w
    dw = d - d % w
    for j in range(0, dw, w):
        for b in range(0, nbw, w):
            _transpose_block(X, s + b, j, shift, xt, b)
    for b in range(nbw):
        for j in range(dw, d):
            xt[j, b] = X[s + b, j] - shift[j]
    for b in range(nbw, nb):
        for j in range(d):
            xt[j, b] = X[s + b, j] - shift[j]


@fast
def _diff_tile(xt, nb, k, means_s, dk):
    """``dk[m, b] = x_bm - mu_km``."""
    for m in range(xt.shape[0]):
        c = means_s[k, m]
        for b in range(nb):
            dk[m, b] = xt[m, b] - c


@fast
def _maha_full(xt, nb, k, means_s, P, dk, y, out):
    """``out[:nb] = |(x_b - mu_k) P_k|^2``; leaves ``dk = x - mu_k``.

    Columns ``j`` and ``j + 1`` of the product at once (sums over
    ``m <= j`` share the loads of ``dk``), four terms per pass over the
    partial sums ``y`` (2, B): fewer loads and stores per multiply-add.
    20-40% faster than one column at a time at d = 64 (ad-hoc).
    """
    d = xt.shape[0]
    _diff_tile(xt, nb, k, means_s, dk)
    y0, y1 = y[0], y[1]
    for b in range(nb):
        out[b] = 0.0
    for j in range(0, d, 2):
        two = j + 1 < d
        n = j + 1 if two else j  # the second column (a dummy when d is odd)
        for b in range(nb):
            y0[b] = 0.0
            y1[b] = 0.0
        m = 0
        while m + 4 <= j + 1:
            p0 = P[k, m, j]
            p1 = P[k, m + 1, j]
            p2 = P[k, m + 2, j]
            p3 = P[k, m + 3, j]
            q0 = P[k, m, n]
            q1 = P[k, m + 1, n]
            q2 = P[k, m + 2, n]
            q3 = P[k, m + 3, n]
            d0, d1, d2, d3 = dk[m], dk[m + 1], dk[m + 2], dk[m + 3]
            for b in range(nb):
                x0 = d0[b]
                x1 = d1[b]
                x2 = d2[b]
                x3 = d3[b]
                y0[b] += (x0 * p0 + x1 * p1) + (x2 * p2 + x3 * p3)
                y1[b] += (x0 * q0 + x1 * q1) + (x2 * q2 + x3 * q3)
            m += 4
        while m <= j:
            p = P[k, m, j]
            q = P[k, m, n]
            dm = dk[m]
            for b in range(nb):
                y0[b] += dm[b] * p
                y1[b] += dm[b] * q
            m += 1
        if two:  # column j + 1 has one more term, m = j + 1
            q = P[k, n, n]
            dn = dk[n]
            for b in range(nb):
                z = y1[b] + dn[b] * q
                out[b] += y0[b] * y0[b] + z * z
        else:
            for b in range(nb):
                out[b] += y0[b] * y0[b]


@fast
def _maha_diag(xt, nb, k, means_s, prec, out):
    """``out[:nb] = sum_j prec_kj (x_bj - mu_kj)^2``; ``prec`` is (K, 1, d).

    Four features per pass over ``out`` (as in :func:`_maha_full`).
    """
    d = xt.shape[0]
    for b in range(nb):
        out[b] = 0.0
    j = 0
    while j + 4 <= d:
        c0, c1 = means_s[k, j], means_s[k, j + 1]
        c2, c3 = means_s[k, j + 2], means_s[k, j + 3]
        p0, p1 = prec[k, 0, j], prec[k, 0, j + 1]
        p2, p3 = prec[k, 0, j + 2], prec[k, 0, j + 3]
        x0, x1, x2, x3 = xt[j], xt[j + 1], xt[j + 2], xt[j + 3]
        for b in range(nb):
            e0 = x0[b] - c0
            e1 = x1[b] - c1
            e2 = x2[b] - c2
            e3 = x3[b] - c3
            out[b] += (e0 * e0 * p0 + e1 * e1 * p1) + (e2 * e2 * p2 + e3 * e3 * p3)
        j += 4
    while j < d:
        c = means_s[k, j]
        p = prec[k, 0, j]
        xj = xt[j]
        for b in range(nb):
            e = xj[b] - c
            out[b] += e * e * p
        j += 1


@fast
def _log_prob_tile(full, xt, nb, means_s, P, logc, dk, y, lp):
    """``lp[k, :nb] = log pi_k + log N(x_b | mu_k, Sigma_k)`` for all k.

    ``P`` is (K, d, d) upper precision factors, or (K, 1, d) diagonal
    precisions; ``dk`` (d, B) and ``y`` (2, B) are scratch.
    """
    K = means_s.shape[0]
    for k in range(K):
        row = lp[k]
        if full:
            _maha_full(xt, nb, k, means_s, P, dk, y, row)
        else:
            _maha_diag(xt, nb, k, means_s, P, row)
        c = logc[k]
        for b in range(nb):  # the factors carry the 1/2: see _run
            row[b] = c - row[b]


@fast
def _max_rows(lp, nb, top, best):
    """``top[b] = max_k lp[k, b]``, or 0 where no entry of the row is finite;
    if ``best`` is not empty, ``best[b]`` = the first k where the maximum is
    (as numpy's argmax; a float, in the tile's dtype).

    Selects are written as ``np.maximum`` and arithmetic: numba compiles
    ``a if c else b`` to branches, and the loop then stays scalar.
    """
    K = lp.shape[0]
    labels = best.shape[0] > 0
    for b in range(nb):
        top[b] = lp[0, b]
    if labels:
        for b in range(nb):
            best[b] = 0.0
    for k in range(1, K):
        row = lp[k]
        if labels:
            for b in range(nb):
                v = row[b]
                t = top[b]
                best[b] += (v > t) * (k - best[b])
                top[b] = np.maximum(v, t)
        else:
            for b in range(nb):
                top[b] = np.maximum(row[b], top[b])
    for b in range(nb):  # once per row: may stay scalar
        top[b] = top[b] if top[b] > -math.inf else 0.0


@fast
def _exp_normalise(lp, nb, top, best, total, ebuf):
    """``lp[:, b] = exp(lp[:, b] - top[b])`` and ``total[b] = sum_k lp[k, b]``.

    ``top``, ``best``: as :func:`_max_rows` leaves them.
    """
    K = lp.shape[0]
    _max_rows(lp, nb, top, best)
    for k in range(K):
        row = lp[k]
        for b in range(nb):
            row[b] -= top[b]
        _exp_row(row, nb, ebuf)
    for b in range(nb):
        total[b] = lp[0, b]
    for k in range(1, K):
        for b in range(nb):
            total[b] += lp[k, b]


@fast_inline
def _softmax_tile(lp, nb, w, s, top, total, ebuf, tot):
    """Turn ``lp[:, :nb]`` into weighted responsibilities ``w_b r_kb``.

    Adds ``sum_b w_b log p(x_b)`` to ``tot[0]`` and ``sum_b w_b`` to ``tot[1]``;
    rows with ``w_b <= 0`` get zero responsibilities and are not counted.
    Written as selects, without branches, so that it vectorises.
    """
    K = lp.shape[0]
    _exp_normalise(lp, nb, top, total[:0], total, ebuf)
    log_t = ebuf[0]  # float64; the exponential is done with its buffers
    _log_row(total, nb, log_t, ebuf[1], ebuf[2])
    ll = 0.0
    wsum = 0.0
    lost = 0
    for b in range(nb):  # selects as arithmetic (see _max_rows)
        wi = w[s + b]
        t = total[b]
        live = wi > 0.0
        ok = live & (t > 0.0)
        wsum += wi * live
        ll += ok * (wi * (top[b] + log_t[b]))
        # every component has zero density at a counted row: log p = -inf
        lost += live & (t <= 0.0)
        # t is 0 or >= 1 (the row's largest term is exp(0))
        total[b] = ok * (wi / np.maximum(t, 1.0))
    tot[0] += ll if lost == 0 else -math.inf
    tot[1] += wsum
    for k in range(K):
        for b in range(nb):
            lp[k, b] *= total[b]


@fast
def _tile_buffers(full, X, K, B):
    """Work arrays of one tile, in X's dtype: rows (d, B), differences (d, B;
    (0, B) unless ``full``), densities (K, B) and four row vectors (4, B);
    the exponential's buffers
    (float64, float64, int64 for :func:`_exp_tile`; float32, int32 for
    :func:`_exp_tile32`); and a zero of X's dtype (to start sums)."""
    d = X.shape[1]
    dt = X.dtype
    zero = np.zeros(1, dt)
    return (
        np.empty((d, B), dt),
        np.empty((d if full else 0, B), dt),
        np.empty((K, B), dt),
        np.empty((4, B), dt),
        (
            np.empty(B),
            np.empty(B),
            np.empty(B, dtype=np.int64),
            np.empty(B, dtype=np.float32),
            np.empty(B, dtype=np.int32),
        ),
        zero[0],
    )


@fast
def _estep(full, X, shift, means_s, P, logc, start, stop, w, n_, s1, s2, tot, B):
    _estep_tiles(full, X, shift, means_s, P, logc, start, stop, w, n_, s1, s2, tot, B)


@fast_inline
def _estep_tiles(full, X, shift, means_s, P, logc, start, stop, w, n_, s1, s2, tot, B):
    """The E-step's statistics of rows ``start:stop`` (inlined into each
    kernel that runs it, see ``fast_inline``)."""
    K = means_s.shape[0]
    xt, dk, lp, vec, ebuf, zero = _tile_buffers(full, X, K, B)
    top, total = vec[2], vec[3]
    y = vec[:2]  # the densities' scratch, then the moments'
    for s in range(start, stop, B):
        nb = min(B, stop - s)
        _load_tile(X, shift, s, nb, xt)
        _log_prob_tile(full, xt, nb, means_s, P, logc, dk, y, lp)
        _softmax_tile(lp, nb, w, s, top, total, ebuf, tot)
        for k in range(K):
            r = lp[k]
            acc = zero
            for b in range(nb):
                acc += r[b]
            if acc == 0.0:
                continue
            n_[k] += acc
            if full:
                _moments_full(xt, r, nb, k, means_s, dk, y, s1, s2, zero)
            else:
                _moments_diag(xt, r, nb, k, means_s, s1, s2, zero)


@fast_inline
def _moments_full(xt, r, nb, k, means_s, dk, rd, s1, s2, zero):
    """Add ``sum_b r_b (x_b - mu_k)`` to ``s1[k]`` and the upper triangle of
    ``sum_b r_b (x_b - mu_k)(x_b - mu_k)^T`` to ``s2[k]``.

    Sums over one tile are in the rows' dtype (``zero``), across tiles in
    ``s1``/``s2`` (float64).  Two rows of ``s2`` at a time, four entries of
    each per pass over the tile (eight sums from six loads; ``rd`` is (2, B)
    scratch): 15-40% faster than one row at a time at d = 64 (ad-hoc).
    """
    d = xt.shape[0]
    _diff_tile(xt, nb, k, means_s, dk)
    r0, r1 = rd[0], rd[1]
    for j in range(0, d, 2):
        two = j + 1 < d
        dj = dk[j]
        dn = dk[j + 1] if two else dj  # (a dummy second row when d is odd)
        a0 = zero
        a1 = zero
        for b in range(nb):
            u = r[b] * dj[b]
            v = r[b] * dn[b]
            r0[b] = u
            r1[b] = v
            a0 += u
            a1 += v
        s1[k, j] += a0
        m = j
        if two:
            s1[k, j + 1] += a1
            acc = zero
            for b in range(nb):
                acc += r0[b] * dj[b]
            s2[k, j, j] += acc
            m = j + 1
        while m + 4 <= d:
            e0 = zero
            e1 = zero
            e2 = zero
            e3 = zero
            f0 = zero
            f1 = zero
            f2 = zero
            f3 = zero
            q0, q1, q2, q3 = dk[m], dk[m + 1], dk[m + 2], dk[m + 3]
            for b in range(nb):
                u = r0[b]
                v = r1[b]
                x0 = q0[b]
                x1 = q1[b]
                x2 = q2[b]
                x3 = q3[b]
                e0 += u * x0
                e1 += u * x1
                e2 += u * x2
                e3 += u * x3
                f0 += v * x0
                f1 += v * x1
                f2 += v * x2
                f3 += v * x3
            s2[k, j, m] += e0
            s2[k, j, m + 1] += e1
            s2[k, j, m + 2] += e2
            s2[k, j, m + 3] += e3
            if two:
                s2[k, j + 1, m] += f0
                s2[k, j + 1, m + 1] += f1
                s2[k, j + 1, m + 2] += f2
                s2[k, j + 1, m + 3] += f3
            m += 4
        while m < d:
            e0 = zero
            f0 = zero
            q0 = dk[m]
            for b in range(nb):
                e0 += r0[b] * q0[b]
                f0 += r1[b] * q0[b]
            s2[k, j, m] += e0
            if two:
                s2[k, j + 1, m] += f0
            m += 1


@fast_inline
def _moments_diag(xt, r, nb, k, means_s, s1, s2, zero):
    """Add ``sum_b r_b (x_bj - mu_kj)`` and its squares to ``s1[k]``, ``s2[k, 0]``
    (two features per pass over the tile, sharing the loads of ``r``)."""
    d = xt.shape[0]
    j = 0
    while j + 2 <= d:
        c0 = means_s[k, j]
        c1 = means_s[k, j + 1]
        x0, x1 = xt[j], xt[j + 1]
        a0 = zero
        b0 = zero
        a1 = zero
        b1 = zero
        for b in range(nb):
            rb = r[b]
            e0 = x0[b] - c0
            e1 = x1[b] - c1
            r0 = rb * e0
            r1 = rb * e1
            a0 += r0
            b0 += r0 * e0
            a1 += r1
            b1 += r1 * e1
        s1[k, j] += a0
        s2[k, 0, j] += b0
        s1[k, j + 1] += a1
        s2[k, 0, j + 1] += b1
        j += 2
    if j < d:
        c = means_s[k, j]
        xj = xt[j]
        a1 = zero
        a2 = zero
        for b in range(nb):
            e = xj[b] - c
            re = r[b] * e
            a1 += re
            a2 += re * e
        s1[k, j] += a1
        s2[k, 0, j] += a2


@fast
def _log_prob(full, X, shift, means_s, P, logc, start, stop, out, B):
    K = means_s.shape[0]
    xt, dk, lp, vec, _, _ = _tile_buffers(full, X, K, B)
    y = vec[:2]
    for s in range(start, stop, B):
        nb = min(B, stop - s)
        _load_tile(X, shift, s, nb, xt)
        _log_prob_tile(full, xt, nb, means_s, P, logc, dk, y, lp)
        for b in range(nb):
            for k in range(K):
                out[s - start + b, k] = lp[k, b]


@fast
def _score(full, X, shift, means_s, P, logc, start, stop, log_norm, labels, B):
    """Per row of ``start:stop``: ``log p(x)`` and, unless ``labels`` is
    empty, the most probable component."""
    K = means_s.shape[0]
    xt, dk, lp, vec, ebuf, _ = _tile_buffers(full, X, K, B)
    y, best, top, total = vec[:2], vec[1], vec[2], vec[3]  # y: densities
    if labels.shape[0] == 0:
        best = best[:0]
    log_t = ebuf[0]
    for s in range(start, stop, B):
        nb = min(B, stop - s)
        _load_tile(X, shift, s, nb, xt)
        _log_prob_tile(full, xt, nb, means_s, P, logc, dk, y, lp)
        _exp_normalise(lp, nb, top, best, total, ebuf)
        if best.shape[0] > 0:
            for b in range(nb):
                labels[s - start + b] = int(best[b])
        _log_row(total, nb, log_t, ebuf[1], ebuf[2])
        for b in range(nb):
            t = total[b]
            log_norm[s - start + b] = top[b] + log_t[b] if t > 0.0 else -math.inf


def _as_3d(kind, a):
    return a if kind == "full" else a.reshape(a.shape[0], 1, a.shape[1])


def _run(fn, kind, X, shift, means_s, factors, logc, start, stop, *outputs):
    """Call a kernel with the parameters in the rows' dtype (float32 rows are
    computed in float32).

    The shift must be exactly representable in the rows' dtype (as
    :meth:`gmmkit._stats.Params.centre` is): ``x - shift`` is then rounded
    once, in either precision, to the same value as the exact difference
    rounded to the rows' dtype.
    """
    dt = X.dtype
    shift_t = np.asarray(shift, dt)
    # (float64 shifts are float64 rows' own values: nothing to check)
    if dt != np.float64 or shift_t.dtype != np.asarray(shift).dtype:
        if not np.array_equal(shift_t, shift):
            raise ValueError(f"shift is not exactly representable in {dt}")
    # |(x - mu) P|^2 / 2 = |(x - mu) P / sqrt(2)|^2: the kernels need no 1/2
    factors = factors * (math.sqrt(0.5) if kind == "full" else 0.5)
    if dt != np.float64:
        means_s, factors, logc = (np.asarray(a, dt) for a in (means_s, factors, logc))
    fn(
        kind == "full", X, shift_t, means_s, _as_3d(kind, factors), logc, start,
        stop, *outputs, tile_rows(dt, X.shape[1], kind == "full"),
    )  # fmt: skip


def estep(kind, X, w, shift, means_s, factors, logc, start, stop, n, s1, s2, tot):
    """Statistics of rows ``start:stop`` added to ``n``, ``s1``, ``s2``, ``tot``.

    ``kind`` "full": ``factors`` (K, d, d) upper precision factors, ``s2``
    (K, d, d) of which the upper triangle is filled; "diag": ``factors`` and
    ``s2`` of shape (K, d).  ``tot`` += (log-likelihood, weight).
    """
    args = (X, shift, means_s, factors, logc, start, stop)
    _run(_estep, kind, *args, w, n, s1, _as_3d(kind, s2), tot)


def log_prob(kind, X, shift, means_s, factors, logc, start, stop, out):
    """``out[i - start, k]``: weighted log-density of row i."""
    _run(_log_prob, kind, X, shift, means_s, factors, logc, start, stop, out)


def score(kind, X, shift, means_s, factors, logc, start, stop, log_norm, labels):
    """``log_norm[i - start] = log p(x_i)``, ``labels[i - start]`` = argmax_k
    (not computed if ``labels`` is empty)."""
    _run(_score, kind, X, shift, means_s, factors, logc, start, stop, log_norm, labels)


@fast_inline
def _shift_means(weights, means, means_s):
    """The weights' mean of the component means (the rows' shift); fills
    ``means_s`` with the means minus it."""
    K, d = means.shape
    shift = np.zeros(d)
    total = 0.0
    for k in range(K):
        total += weights[k]
    for k in range(K):
        for j in range(d):
            shift[j] += weights[k] / total * means[k, j]
    for k in range(K):
        for j in range(d):
            means_s[k, j] = means[k, j] - shift[j]
    return shift


@fast_inline
def _new_moments(full, means, n_, s1, s2, weight, rows, eps, nk, new, scatter):
    """:meth:`gmmkit._stats.SuffStats.means_and_scatter` from statistics
    about ``means`` (``s2``'s upper triangle is mirrored first)."""
    K, d = means.shape
    guard = eps * (weight / rows if rows > 0 and weight > 0.0 else 1.0)
    delta = np.empty(d)
    for k in range(K):
        nk[k] = n_[k] + guard
        for j in range(d):
            delta[j] = s1[k, j] / nk[k]
            new[k, j] = means[k, j] + delta[j]
        if full:
            for i in range(d):
                for j in range(i, d):
                    if j > i:
                        s2[k, j, i] = s2[k, i, j]
                    v = (
                        s2[k, i, j]
                        - s1[k, i] * delta[j]
                        - delta[i] * s1[k, j]
                        + n_[k] * delta[i] * delta[j]
                    )
                    scatter[k, i, j] = v
                    scatter[k, j, i] = v
        else:
            for j in range(d):
                v = s2[k, 0, j] - 2.0 * delta[j] * s1[k, j] + n_[k] * delta[j] ** 2
                scatter[k, 0, j] = max(v, 0.0)


@fast
def _estep_moments(full, X, w, weights, means, P, logc, eps, buf, B):
    """:func:`_estep` about ``means`` from a shift computed here, then the
    M-step's moments (:meth:`gmmkit._stats.SuffStats.means_and_scatter`):
    the whole E-step of a small in-memory fit in one call.  ``buf`` holds
    the outputs one after another (few arguments: each costs the call
    ~0.3 us, as much as the kernel on a hundred rows): ``n`` (K), ``s1`` (K,
    d), ``s2`` (K, m, d), ``tot`` (2), ``nk`` (K), new means (K, d),
    scatter (K, m, d), with m = d for full moments and 1 for diagonal."""
    K, d = means.shape
    m = d if full else 1
    sizes = (K, K * d, K * m * d, 2, K, K * d, K * m * d)
    at = np.zeros(len(sizes) + 1, np.int64)
    for i in range(len(sizes)):
        at[i + 1] = at[i] + sizes[i]
    n_ = buf[at[0] : at[1]]
    s1 = buf[at[1] : at[2]].reshape((K, d))
    s2 = buf[at[2] : at[3]].reshape((K, m, d))
    tot = buf[at[3] : at[4]]
    nk = buf[at[4] : at[5]]
    new = buf[at[5] : at[6]].reshape((K, d))
    scatter = buf[at[6] : at[7]].reshape((K, m, d))
    means_s = np.empty((K, d))
    shift = _shift_means(weights, means, means_s)
    rows = X.shape[0]
    _estep_tiles(full, X, shift, means_s, P, logc, 0, rows, w, n_, s1, s2, tot, B)
    _new_moments(full, means, n_, s1, s2, tot[1], rows, eps, nk, new, scatter)


def estep_moments(kind, X, w, weights, means, factors, logc, eps, buf):
    """float64 rows, all in one call, into ``buf`` (laid out as
    :func:`_estep_moments` says; zeros on entry); ``eps`` is the count
    guard per unit of mean row weight (see :func:`gmmkit._stats.count_guard`)."""
    full = kind == "full"
    factors = factors * (math.sqrt(0.5) if full else 0.5)
    _estep_moments(
        full, X, w, weights, means, _as_3d(kind, factors), logc, eps, buf,
        tile_rows(X.dtype, X.shape[1], full),
    )  # fmt: skip


# -- the whole EM loop of a small in-memory fit ---------------------------------

for _loop in (_inner.equal_shape_kernel, _inner.vee_kernel, _inner.orientation_kernel):
    compiled(_loop)  # compiled with their helpers, which dense_mstep's then call
compiled(_closed.dense_mstep)  # compiles and binds its helpers

#: The EM loop of small fits is compiled without fast-math: its M-steps call
#: helpers compiled on their own (the covariance models' loops), and a
#: fast-math caller made those differ between the compiling process and the
#: processes that load it from the cache (1e-12, EEV/VEV/VEE/EVE/VVE).
#: Without fast-math every copy rounds as IEEE arithmetic says.
exact = njit(cache=True, nogil=True, error_model="numpy")
exact_inline = njit(cache=True, nogil=True, error_model="numpy", inline="always")
_dense_mstep = exact_inline(_closed.dense_mstep)
_factor = exact_inline(_linalg.factor_kernel)

#: ``state[0]`` after :func:`em_dense`: done (converged or out of
#: iterations), or handed back before an iteration that the covariance
#: models' own code must run (an empty or collapsed component, a failed
#: factorisation, a non-finite log-likelihood).
EM_DONE, EM_HANDED_BACK = 0, 1

_LOG_2PI = 1.8378770664093453


@exact_inline
def _kernel_factors(full, weights, cov, prec_u, P, logc, bad):
    """The kernels' factors ``P`` and ``logc`` of dense covariances (and the
    upper precision factors ``prec_u`` when ``full``); False if a covariance
    is not positive definite (to working precision)."""
    K, d, _ = cov.shape
    for k in range(K):
        bad[k] = False
    if full:
        _factor(cov, prec_u, bad)
    for k in range(K):
        if bad[k]:
            return False
        s = 0.0
        for j in range(d):
            if full:
                s += math.log(prec_u[k, j, j])
                for i in range(d):
                    P[k, j, i] = prec_u[k, j, i] * 0.7071067811865476
            else:
                v = cov[k, j, j]
                if not (v > 0.0 and math.isfinite(v)):
                    return False
                s -= 0.5 * math.log(v)
                P[k, 0, j] = 0.5 / v
        logc[k] = math.log(weights[k]) + s - 0.5 * d * _LOG_2PI
    return True


@exact
def _em_dense(
    full, code, X, w, weights, means, cov, orientation, reg, eps, empty, tol,
    mclust, max_iter, bound, hist, state, B,
):  # fmt: skip
    """EM from (``weights``, ``means``, dense ``cov``, and the common
    ``orientation`` of EVE/VVE: see :func:`gmmkit.covariance._closed.dense_mstep`),
    which hold the result on return; ``hist`` the total log-likelihood (row 0)
    and its mean (row 1) of each iteration's
    entering parameters; ``state`` = (status, iterations, converged).  The
    stopping rules of :func:`gmmkit._engine.has_converged`; with mclust's,
    the parameters that passed the test are kept (no M-step after it)."""
    K, d = means.shape
    m = d if full else 1
    rows = X.shape[0]
    prec_u = np.empty((K, d, d))
    P = np.empty((K, m, d))
    logc = np.empty(K)
    bad = np.zeros(K, np.bool_)
    means_s = np.empty((K, d))
    n_ = np.empty(K)
    s1 = np.empty((K, d))
    s2 = np.empty((K, m, d))
    tot = np.empty(2)
    nk = np.empty(K)
    new_means = np.empty((K, d))
    scatter = np.empty((K, m, d))
    new_cov = np.empty((K, d, d))
    new_w = np.empty(K)
    new_orientation = np.empty((d, d))
    state[0] = EM_HANDED_BACK
    state[2] = 0
    it = 0
    if not _kernel_factors(full, weights, cov, prec_u, P, logc, bad):
        state[1] = it
        return
    while it < max_iter:
        shift = _shift_means(weights, means, means_s)
        n_[:] = 0.0
        s1[:] = 0.0
        s2[:] = 0.0
        tot[:] = 0.0
        _estep_tiles(full, X, shift, means_s, P, logc, 0, rows, w, n_, s1, s2, tot, B)
        loglik = tot[0]
        weight = tot[1]
        if not math.isfinite(loglik):
            break
        _new_moments(full, means, n_, s1, s2, weight, rows, eps, nk, new_means, scatter)
        total = 0.0
        ok = True
        for k in range(K):
            total += nk[k]
            if n_[k] < empty * weight:
                ok = False
            for j in range(d):
                if full:
                    scatter[k, j, j] += reg * nk[k]
                else:
                    scatter[k, 0, j] += reg * nk[k]
        new_orientation[:, :] = orientation
        if not ok or not _dense_mstep(code, nk, scatter, new_cov, new_orientation):
            break
        if code == _closed.VII or code == _closed.VVI:
            # collapsed_variances would floor a variance that fell below eps
            # times the largest previous one
            top = 0.0
            for k in range(K):
                for j in range(d):
                    top = max(top, cov[k, j, j])
            for k in range(K):
                for j in range(d):
                    if new_cov[k, j, j] < 2.220446049250313e-16 * top:
                        ok = False
            if not ok:
                break
        for k in range(K):
            new_w[k] = nk[k] / total
        if not _kernel_factors(full, new_w, new_cov, prec_u, P, logc, bad):
            break
        previous = bound
        bound = loglik / weight
        hist[0, it] = loglik
        hist[1, it] = bound
        it += 1
        if mclust:
            change = abs(bound * weight - previous * weight)
            done = change <= tol * (1.0 + abs(bound * weight))
        else:
            done = abs(bound - previous) < tol
        if done and mclust:
            state[2] = 1
            state[0] = EM_DONE
            break
        weights[:] = new_w
        means[:] = new_means
        cov[:] = new_cov
        orientation[:, :] = new_orientation
        if done:
            state[2] = 1
            state[0] = EM_DONE
            break
        if it >= max_iter:
            state[0] = EM_DONE
    state[1] = it


def em_dense(kind, code, X, w, weights, means, cov, orientation, reg, eps, empty,
             tol, mclust, max_iter, bound, hist, state):  # fmt: skip
    """:func:`_em_dense` with the tile size of ``X``'s kernel."""
    full = kind == "full"
    _em_dense(
        full, code, X, w, weights, means, cov, orientation, reg, eps, empty, tol,
        mclust, max_iter, bound, hist, state, tile_rows(X.dtype, X.shape[1], full),
    )  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def label_moments(Xs, w, labels, centres_s, full, n_, s1, s2):  # pragma: no cover
    """Moments of rows ``Xs`` in their labelled components (-1: none) about
    ``centres_s``, added to ``n_``, ``s1`` and ``s2`` ((K, d, d), or the
    diagonal as (K, 1, d) unless ``full``), row by row in index order."""
    rows, d = Xs.shape
    diff = np.empty(d)
    for i in range(rows):
        k = labels[i]
        if k < 0:
            continue
        wi = w[i]
        n_[k] += wi
        for j in range(d):
            diff[j] = Xs[i, j] - centres_s[k, j]
            s1[k, j] += wi * diff[j]
        if full:
            for a in range(d):
                wa = wi * diff[a]
                for b in range(d):
                    s2[k, a, b] += wa * diff[b]
        else:
            for j in range(d):
                s2[k, 0, j] += wi * diff[j] * diff[j]


@njit(cache=True, nogil=True)
def hc_roots(merges, n, steps, parent):  # pragma: no cover - compiled
    """Union-find over the first ``steps`` merges of a tree of ``n`` rows:
    ``parent[i]`` ends as the smallest row of row i's cluster (integers
    only: the same labels as the Python loop)."""
    for i in range(n):
        parent[i] = i
    for s in range(steps):
        a = merges[s, 0]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        b = merges[s, 1]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a < b:
            parent[b] = a
        else:
            parent[a] = b
    for i in range(n):
        a = i
        while parent[a] != a:
            a = parent[a]
        parent[i] = a
