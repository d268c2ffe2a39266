"""numba E-step kernels for rows with missing values (NaN), in the precision form.

Serial, GIL-free kernels over a range of rows, run on several threads by
:mod:`gmmkit._kernels` (imported lazily, like :mod:`gmmkit._kernels_impl`,
whose tile helpers they share).

With ``Lambda = Sigma^{-1}`` of a component, a row's missing coordinates
``m``, observed ones ``o`` and ``r = x - mu`` with ``r_m = 0``; with
``Lambda_mm = L D L^T`` (``L`` unit lower triangular) and
``u = L^{-1} t``, ``t = (Lambda r)_m``:

* the conditional mean of the missing coordinates is ``mu_m + delta``,
  ``delta = -Lambda_mm^{-1} t = -L^{-T} D^{-1} u``, and their conditional
  covariance is ``Lambda_mm^{-1} = L^{-T} D^{-1} L^{-1}``;
* the observed coordinates' Mahalanobis distance is
  ``r^T Lambda r - u^T D^{-1} u`` (the full quadratic form at the filled row
  ``(x_o, mu_m + delta)``, its minimum over ``x_m``);
* ``log det Sigma_oo = sum log diag D - log det Lambda``.

A (row, component) thus costs one dense product ``Lambda r`` (``d^2``,
vectorised over the rows of a tile, :func:`_quadratic`) and the
factorisation of the ``|m| x |m|`` block only: no grouping by pattern.  The
rows of a tile are ordered by their number of missing values ``q``, so
that the factorisations of the rows with the same ``q``, for every
component, run side by side in SIMD lanes (:func:`_condition_lanes`; the
entries of ``Lambda_mm`` are gathered by row offsets that the components
share).  After the responsibilities, the moments of the filled rows are
summed by the complete-data kernel's vectorised loops, and the conditional
covariances are computed and added only for the (row, component) lanes
whose responsibility is not negligible (:data:`NEGLIGIBLE`,
:func:`_add_conditional`).

Rows are loaded into float64 tiles (float32 rows too: a marginalised row is
computed in float64, as the pattern path does).  A tile takes up to ``B``
rows (fewer for large ``K d``) but stops early where its rows' packed
factors would exceed ``cap`` values, so the work arrays are
O(K B d + K cap + d^2) per thread whatever the missingness.
"""

import math

import numpy as np

from ._kernels_impl import (
    _exp_normalise,
    _log_row,
    _moments_diag,
    _moments_full,
    _softmax_tile,
    fast,
)

_LOG_2PI = math.log(2.0 * math.pi)
#: float64's normal range: the fast log (``_log_row``) is exact inside it.
_TINY, _HUGE = 2.2250738585072014e-308, 1.7976931348623157e308


@fast
def _load_nan_tile(X, w, s, stop, B, cap, xz, om, wt, src, qcol, gs, mi):
    """The next tile, rows ``s:s+nb``, ordered by their number of missing
    values; returns ``nb``.

    Column ``c`` of the tile is row ``src[c]``: ``xz[j, c]`` its value (0 where
    missing), ``om[j, c]`` 1 where observed, 0 where missing, ``wt[c]`` its
    weight (unless ``w`` is empty), ``mi[a, c]`` its ``a``-th missing
    coordinate (ascending) for ``a < qcol[c]``; the rows with ``q`` missing
    values are the columns ``gs[q]:gs[q + 1]``.  The tile stops before
    ``sum q (q + 1) / 2`` exceeds ``cap`` (but takes at least one row).
    """
    d = X.shape[1]
    for q in range(d + 2):
        gs[q] = 0
    nb = 0
    used = 0
    while nb < B and s + nb < stop:
        i = s + nb
        q = 0
        for j in range(d):
            v = X[i, j]
            q += v != v
        if nb > 0 and used + (q * (q + 1) >> 1) > cap:
            break
        used += q * (q + 1) >> 1
        qcol[nb] = q  # (by row for now)
        gs[q + 1] += 1
        nb += 1
    for q in range(d + 1):
        gs[q + 1] += gs[q]
    # place each row at the next free column of its group (no branches on
    # the values: a missing value at random would mispredict every time)
    nxt = gs[: d + 1].copy()
    for t in range(nb):
        i = s + t
        q = qcol[t]
        c = nxt[q]
        nxt[q] += 1
        src[c] = i
        if w.shape[0] > 0:
            wt[c] = w[i]
        a = 0
        for j in range(d):
            v = X[i, j]
            gone = v != v
            xz[j, c] = v
            om[j, c] = 1.0 - gone
            mi[a, c] = j
            a += gone
    # NaN -> 0 (through the bits: a select, vectorised)
    bits = xz.view(np.int64)
    for j in range(d):
        xj, bj = xz[j], bits[j]
        for c in range(nb):
            x = xj[c]
            bj[c] &= -np.int64(x == x)
    for q in range(d + 1):
        for c in range(gs[q], gs[q + 1]):
            qcol[c] = q
    return nb


@fast
def _offsets(gs, d, tri_off, full_off):
    """Offsets of each group's packed arrays: ``tri_off[q]`` for ``q (q - 1) /
    2`` values per row, ``full_off[q]`` for ``q (q + 1) / 2``."""
    tri_off[0] = 0
    full_off[0] = 0
    for q in range(d + 1):
        n = gs[q + 1] - gs[q]
        tri_off[q + 1] = tri_off[q] + (q * (q - 1) >> 1) * n
        full_off[q + 1] = full_off[q] + (q * (q + 1) >> 1) * n


@fast
def _residuals(xz, om, nb, k, means, rk):
    """``rk[j, c] = x_cj - mu_kj`` where observed, 0 where missing."""
    for j in range(xz.shape[0]):
        m = means[k, j]
        xj, oj, rj = xz[j], om[j], rk[j]
        for c in range(nb):
            rj[c] = xj[c] - m * oj[c]


@fast
def _quadratic(xz, om, nb, k, means, prec, rk, wv, spare, lpk):
    """``lpk[c] -= r_c^T Lambda_k r_c / 2`` and ``wv = Lambda_k r`` for the
    rows of the tile (``spare``: (B) scratch)."""
    d = xz.shape[0]
    P = prec[k]
    _residuals(xz, om, nb, k, means, rk)
    # two rows of the product per pass over the tile (a dummy second row,
    # spare, when d is odd); four terms per pass over them
    for i in range(0, d, 2):
        two = i + 1 < d
        n = i + 1 if two else i
        w0, w1 = wv[i], wv[n] if two else spare
        for c in range(nb):
            w0[c] = 0.0
            w1[c] = 0.0
        j = 0
        while j + 4 <= d:
            p0, p1, p2, p3 = P[i, j], P[i, j + 1], P[i, j + 2], P[i, j + 3]
            q0, q1, q2, q3 = P[n, j], P[n, j + 1], P[n, j + 2], P[n, j + 3]
            r0, r1, r2, r3 = rk[j], rk[j + 1], rk[j + 2], rk[j + 3]
            for c in range(nb):
                x0 = r0[c]
                x1 = r1[c]
                x2 = r2[c]
                x3 = r3[c]
                w0[c] += (x0 * p0 + x1 * p1) + (x2 * p2 + x3 * p3)
                w1[c] += (x0 * q0 + x1 * q1) + (x2 * q2 + x3 * q3)
            j += 4
        while j < d:
            p = P[i, j]
            q = P[n, j]
            rj = rk[j]
            for c in range(nb):
                w0[c] += rj[c] * p
                w1[c] += rj[c] * q
            j += 1
        ri, rn = rk[i], rk[n]
        if two:
            for c in range(nb):
                lpk[c] -= 0.5 * (ri[c] * w0[c] + rn[c] * w1[c])
        else:
            for c in range(nb):
                lpk[c] -= 0.5 * ri[c] * w0[c]


@fast
def _gather(src, step, pidx, nr, K, out):
    """``out[k nr + i] = src[k step + pidx[i]]`` for every component ``k``:
    one entry per (row, component) lane, the rows' offsets shared by all
    components."""
    for k in range(K):
        s = src[k * step :]
        o = out[k * nr :]
        for i in range(nr):
            o[i] = s[pidx[i]]


@fast
def _condition_lanes(q, g0, g1, K, Pf, d, B, mi, wvf, T, L, D, Di, work, pidx):
    """The rows ``g0:g1`` (each with ``q`` missing values) for every
    component, side by side in lanes ``l0:l1`` (``l0 = K g0``; component
    ``k``'s rows are the lanes ``l0 + k n_r + i``, ``n_r = g1 - g0``):
    ``Lambda_mm = L D L^T`` (``L``'s strictly lower part packed by (row,
    column) pairs, ``n = l1 - l0`` values each), ``T[:q, l0:l1]`` the
    offsets ``delta``, ``work[0, l0:l1]`` the lanes' additions to the
    log-density; ``Di[:q, l0:l1]`` holds ``1 / diag D``.  ``Pf``
    (K d d) the precisions and ``wvf`` (K d B) the products ``Lambda_k r``,
    flattened; ``work``: (4, K B) and ``pidx`` (B) scratch."""
    nr = g1 - g0
    l0 = K * g0
    n = K * nr
    dd = d * d
    for a in range(q):  # t = (Lambda r)_m
        ma = mi[a]
        for i in range(nr):
            pidx[i] = ma[g0 + i] * B + g0 + i
        _gather(wvf, d * B, pidx, nr, K, T[a, l0:])
    # Lambda_mm = L D L^T, by rows
    for a in range(q):
        ma = mi[a]
        la = (a * (a - 1) >> 1) * n
        for b in range(a):
            out = L[la + b * n : la + (b + 1) * n]
            mb = mi[b]
            for i in range(nr):
                pidx[i] = ma[g0 + i] * d + mb[g0 + i]
            _gather(Pf, dd, pidx, nr, K, out)
            lb = (b * (b - 1) >> 1) * n
            for e in range(b):
                xa, xb, de = L[la + e * n :], L[lb + e * n :], D[e, l0:]
                for i in range(n):
                    out[i] -= xa[i] * xb[i] * de[i]
            ib = Di[b, l0:]
            for i in range(n):
                out[i] *= ib[i]
        da, ia = D[a, l0:], Di[a, l0:]
        for i in range(nr):
            pidx[i] = ma[g0 + i] * (d + 1)
        _gather(Pf, dd, pidx, nr, K, da)
        for e in range(a):
            xa, de = L[la + e * n :], D[e, l0:]
            for i in range(n):
                da[i] -= xa[i] * xa[i] * de[i]
        for i in range(n):
            ia[i] = 1.0 / da[i]
    # u = L^{-1} t (in place), u^T D^{-1} u, delta = -L^{-T} D^{-1} u
    for a in range(1, q):
        la = (a * (a - 1) >> 1) * n
        ta = T[a, l0:]
        for b in range(a):
            xa, tb = L[la + b * n :], T[b, l0:]
            for i in range(n):
                ta[i] -= xa[i] * tb[i]
    acc = work[0, l0:]
    for i in range(n):
        acc[i] = q * _LOG_2PI
    for a in range(q):
        ta, ia = T[a, l0:], Di[a, l0:]
        for i in range(n):
            v = ta[i] * ia[i]
            acc[i] += v * ta[i]
            ta[i] = v
    for a in range(q - 2, -1, -1):
        ta = T[a, l0:]
        for b in range(a + 1, q):
            xb, tb = L[((b * (b - 1) >> 1) + a) * n :], T[b, l0:]
            for i in range(n):
                ta[i] -= xb[i] * tb[i]
    for a in range(q):
        ta = T[a, l0:]
        for i in range(n):
            ta[i] = -ta[i]
    # - log det(Lambda_mm): the log of each product of up to four pivots
    # (each pivot lies in Lambda's eigenvalue range, so a product of four
    # leaves float64's normal range only for eigenvalues beyond 1e+-77: data
    # in extreme units, e.g. variances of 1e-90; such a lane takes the log
    # of each pivot instead)
    logs, fbuf, ibuf = work[1, l0:], work[2], work[3].view(np.int64)
    prod = fbuf  # (_log_row copies its input there first, and leaves it)
    for a0 in range(0, q, 4):
        top = min(q, a0 + 4)
        da = D[a0, l0:]
        for i in range(n):
            prod[i] = da[i]
        for a in range(a0 + 1, top):
            da = D[a, l0:]
            for i in range(n):
                prod[i] *= da[i]
        _log_row(prod, n, logs, fbuf, ibuf)
        for i in range(n):
            v = prod[i]
            if not (v >= _TINY and v <= _HUGE):
                s = 0.0
                for a in range(a0, top):
                    s += math.log(D[a, l0 + i])
                logs[i] = s
            acc[i] -= logs[i]


@fast
def _conditional_covariances(q, n, L, Di, Cf):
    """The upper triangle of ``Lambda_mm^{-1}`` packed into ``Cf`` by (row,
    column) pairs for ``n`` lanes side by side, from the factors ``L``
    (strictly lower part packed by pairs, ``n`` values each; overwritten)
    and ``Di`` (q, n) ``1 / diag D``."""
    # Lambda_mm^{-1} = M^T D^{-1} M with M = L^{-1} (unit lower), which
    # replaces L row by row, left to right: M[a, b] needs L[a, e] for e > b
    # (not yet replaced) and the rows of M above
    for a in range(1, q):
        la = (a * (a - 1) >> 1) * n
        for b in range(a):
            out = L[la + b * n : la + (b + 1) * n]
            for i in range(n):
                out[i] = -out[i]
            for e in range(b + 1, a):
                xa, me = L[la + e * n :], L[((e * (e - 1) >> 1) + b) * n :]
                for i in range(n):
                    out[i] -= xa[i] * me[i]
    p = 0
    for a in range(q):
        for b in range(a, q):
            out = Cf[p * n : (p + 1) * n]
            ib = Di[b]
            if a == b:
                for i in range(n):
                    out[i] = ib[i]
            else:
                mba = L[((b * (b - 1) >> 1) + a) * n :]
                for i in range(n):
                    out[i] = mba[i] * ib[i]
            for e in range(b + 1, q):
                le = (e * (e - 1) >> 1) * n
                mea, meb, ie = L[le + a * n :], L[le + b * n :], Di[e]
                for i in range(n):
                    out[i] += mea[i] * meb[i] * ie[i]
            p += 1


@fast
def _nan_buffers(d, K, B, cap):
    """Work arrays of one thread (see :func:`_estep`)."""
    cap = max(cap, d * (d + 1) >> 1, 1)
    KB = K * B
    return (
        np.empty((d, B)),  # xz
        np.empty((d, B)),  # om
        np.empty((d, B)),  # rk (then the moments' copy)
        np.empty((K, d, B)),  # Lambda_k r (then the filled residuals)
        np.empty((K, B)),  # lp
        np.empty((4, KB)),  # work
        np.empty(B),  # weights of the columns
        np.empty(B, dtype=np.int64),  # source rows
        np.empty(B, dtype=np.int64),  # q of each column
        np.empty(d + 2, dtype=np.int64),  # group starts
        np.empty((2, d + 2), dtype=np.int64),  # group offsets
        np.empty((d, B), dtype=np.int64),  # missing coordinates
        np.empty(B, dtype=np.int64),  # rows' offsets
        np.empty((d, KB)),  # t, then delta
        np.empty((d, KB)),  # D
        np.empty((d, KB)),  # 1 / D
        np.empty(K * cap),  # L
        (  # the conditional covariances' (see _add_conditional)
            np.empty(KB, dtype=np.int64),
            np.empty(B, dtype=np.int64),
            np.empty(K * cap),
            np.empty((d, KB)),
            np.empty(K * cap),
            np.empty(KB, dtype=np.int64),
            np.empty(KB, dtype=np.int64),
            np.empty(KB),
        ),
        (
            np.empty(B),
            np.empty(B),
            np.empty(B, dtype=np.int64),
            np.empty(B, dtype=np.float32),
            np.empty(B, dtype=np.int32),
        ),
        cap,
    )


@fast
def _observed_tile(X, w, s, stop, means, prec, logc, B, bufs):
    """Load the next tile and leave the observed coordinates' log-densities
    in its ``lp``, the offsets ``delta`` in ``T`` and the factors of
    ``Lambda_mm`` in ``L`` (group ``q`` at ``K offs[0, q]``) and ``Di``;
    returns its number of rows."""
    (xz, om, rk, wv, lp, work, wt, src, qcol, gs, offs, mi, pidx, T, D, Di, L,
     _, _, cap) = bufs  # fmt: skip
    K, d = means.shape
    nb = _load_nan_tile(X, w, s, stop, B, cap, xz, om, wt, src, qcol, gs, mi)
    _offsets(gs, d, offs[0], offs[1])
    for k in range(K):
        lpk = lp[k]
        c0 = logc[k]
        for c in range(nb):
            lpk[c] = c0
        _quadratic(xz, om, nb, k, means, prec, rk, wv[k], work[0], lpk)
    Pf = prec.reshape(K * d * d)
    wvf = wv.reshape(wv.size)
    for q in range(1, d + 1):
        g0, g1 = gs[q], gs[q + 1]
        n = g1 - g0
        if n == 0:
            continue
        l0 = K * g0
        _condition_lanes(
            q, g0, g1, K, Pf, d, B, mi, wvf, T, L[K * offs[0, q] :], D, Di, work,
            pidx,
        )  # fmt: skip
        acc = work[0]
        for k in range(K):
            lpk = lp[k]
            base = l0 + k * n
            for i in range(n):
                lpk[g0 + i] += 0.5 * acc[base + i]
    return nb


#: Conditional covariances of a (row, component) whose responsibility is
#: below this fraction of the row's weight are not added: each adds less
#: than 2^-60 of what the row adds to the component's moments, far below
#: the rounding of those sums unless a component holds less than ~1e-4 of
#: the rows' weight (then ~1e-14 of its scatter).
NEGLIGIBLE = 2.0**-60


@fast
def _add_conditional(gs, offs, mi, lp, wt, L, Di, full, bufs, acc):
    """Add ``sum_c r_kc Lambda_kmm^{-1}`` of the tile's rows to the upper
    triangle of ``acc[., k]`` (d, d) (only its diagonal, (d), unless
    ``full``), from the factors :func:`_observed_tile` leaves (``L``,
    ``Di``); ``lp`` the weighted responsibilities, ``wt`` the rows' weights.
    Only the lanes whose responsibility is not negligible
    (:data:`NEGLIGIBLE`) are computed: their factors are gathered side by
    side (``bufs``: scratch), then :func:`_conditional_covariances`.

    ``acc`` (4, K d d or K d) holds four partial sums, the lanes added in
    turn to each: rows often share a missing coordinate, and one sum would
    wait for each addition to the same entry to complete.
    """
    live, pidx, Lc, Dc, Cc, base, lrow, rw = bufs
    K = lp.shape[0]
    d = mi.shape[0]
    dd = d * d if full else d
    for q in range(1, d + 1):
        g0, g1 = gs[q], gs[q + 1]
        nr = g1 - g0
        if nr == 0:
            continue
        n = K * nr
        m = 0  # live lanes, as k nr + i
        for k in range(K):
            lk = lp[k, g0:]
            for i in range(nr):  # (no branch: each is taken at random)
                r = lk[i]
                live[m] = k * nr + i
                base[m] = k * dd
                lrow[m] = i
                rw[m] = r
                m += r > NEGLIGIBLE * wt[g0 + i]
        if m == 0:
            continue
        Lq = L[K * offs[0, q] :]
        for p in range(q * (q - 1) >> 1):
            src, dst = Lq[p * n :], Lc[p * m :]
            for t in range(m):
                dst[t] = src[live[t]]
        for a in range(q):
            src, dst = Di[a, K * g0 :], Dc[a]
            for t in range(m):
                dst[t] = src[live[t]]
        _conditional_covariances(q, m, Lc, Dc, Cc)
        p = 0
        for a in range(q):
            ma = mi[a]
            for b in range(a, q):
                cp = Cc[p * m :]
                p += 1
                if not (full or a == b):
                    continue
                mb = mi[b]
                for i in range(nr):
                    pidx[i] = ma[g0 + i] * d + mb[g0 + i] if full else ma[g0 + i]
                for t in range(m):
                    acc[t & 3, base[t] + pidx[lrow[t]]] += rw[t] * cp[t]


@fast
def _estep(
    X, w, means, prec, logc, start, stop, full_moments, n_, s1, s2, tot, B, cap
):  # fmt: skip
    """Expected statistics of rows ``start:stop`` (about the component means)
    added to ``n_``, ``s1``, ``s2`` (upper triangle (K, d, d), or the
    diagonal (K, 1, d) unless ``full_moments``) and ``tot`` (log-likelihood,
    weight).  Rows with weight <= 0 add nothing."""
    K, d = means.shape
    bufs = _nan_buffers(d, K, B, cap)
    (xz, om, rk, wv, lp, work, wt, _, _, gs, offs, mi, pidx, T, _, Di, L, cbufs,
     ebuf, _) = bufs  # fmt: skip
    top, total, rd = work[0], work[1], work[1:3]  # rd: after the softmax
    zeros = np.zeros((K, d))  # the residuals are taken already
    wvf = wv.reshape(wv.size)
    cond = np.zeros((4, s2.size))
    s = start
    while s < stop:
        nb = _observed_tile(X, w, s, stop, means, prec, logc, B, bufs)
        _softmax_tile(lp, nb, wt, 0, top, total, ebuf, tot)
        # the filled rows' residuals (x_o - mu_ko, delta), all components
        for k in range(K):
            _residuals(xz, om, nb, k, means, wv[k])
        for q in range(1, d + 1):
            g0, g1 = gs[q], gs[q + 1]
            nr = g1 - g0
            for a in range(q):
                ma, ta = mi[a], T[a, K * g0 :]
                for i in range(nr):
                    pidx[i] = ma[g0 + i] * B + g0 + i
                for k in range(K):
                    dst, src = wvf[k * d * B :], ta[k * nr :]
                    for i in range(nr):
                        dst[pidx[i]] = src[i]
        for k in range(K):
            r = lp[k]
            acc = 0.0
            for c in range(nb):
                acc += r[c]
            if acc == 0.0:
                continue
            n_[k] += acc
            if full_moments:
                _moments_full(wv[k], r, nb, k, zeros, rk, rd, s1, s2, 0.0)
            else:
                _moments_diag(wv[k], r, nb, k, zeros, s1, s2, 0.0)
        _add_conditional(gs, offs, mi, lp, wt, L, Di, full_moments, cbufs, cond)
        s += nb
    s2f = s2.reshape(s2.size)
    for i in range(s2.size):
        s2f[i] += (cond[0, i] + cond[1, i]) + (cond[2, i] + cond[3, i])


@fast
def _log_prob(X, means, prec, logc, start, stop, out, B, cap):
    """``out[i - start, k] = log pi_k + log N(x_io | mu_ko, Sigma_koo)``."""
    K, d = means.shape
    bufs = _nan_buffers(d, K, B, cap)
    lp, src = bufs[4], bufs[7]
    w = np.ones(0)
    s = start
    while s < stop:
        nb = _observed_tile(X, w, s, stop, means, prec, logc, B, bufs)
        for c in range(nb):
            i = src[c] - start
            for k in range(K):
                out[i, k] = lp[k, c]
        s += nb


@fast
def _score(X, means, prec, logc, start, stop, log_norm, labels, B, cap):
    """Per row of ``start:stop``: the observed values' ``log p(x_o)`` and,
    unless ``labels`` is empty, the most probable component."""
    K, d = means.shape
    bufs = _nan_buffers(d, K, B, cap)
    lp, work, src, ebuf = bufs[4], bufs[5], bufs[7], bufs[-2]
    top, total, best, log_t = work[0], work[1], work[2], work[3]
    if labels.shape[0] == 0:
        best = best[:0]
    w = np.ones(0)
    s = start
    while s < stop:
        nb = _observed_tile(X, w, s, stop, means, prec, logc, B, bufs)
        _exp_normalise(lp, nb, top, best, total, ebuf)
        _log_row(total, nb, log_t, ebuf[1], ebuf[2])
        for c in range(nb):
            i = src[c] - start
            t = total[c]
            log_norm[i] = top[c] + log_t[c] if t > 0.0 else -math.inf
            if best.shape[0] > 0:
                labels[i] = int(best[c])
        s += nb


@fast
def _count_missing(X, start, stop, out):
    """``out[i - start]`` = the number of NaN in row ``i``."""
    d = X.shape[1]
    for i in range(start, stop):
        q = 0
        for j in range(d):
            v = X[i, j]
            q += v != v
        out[i - start] = q


def count_missing(X, start, stop, out):
    """See :func:`_count_missing`."""
    _count_missing(X, start, stop, out)


#: Most rows per tile (as the complete-data full kernel's float64 tiles).
TILE_ROWS = 264

#: Values per work array of a tile, (rows, K d): fewer rows for large K d.
TILE_VALUES = 1 << 17


def _tile(K: int, d: int) -> tuple[int, int]:
    """``(rows per tile, packed factor values per tile and component)``: a
    tile's rows may hold ``sum q (q + 1) / 2 <= rows * d`` factor values
    (rows with q <= sqrt(2 d) missing values on average fill it; the tile
    is cut shorter where rows miss more)."""
    rows = max(8, min(TILE_ROWS, TILE_VALUES // max(1, K * d)))
    return rows, rows * d


def estep(X, w, means, prec, logc, start, stop, full_moments, n, s1, s2, tot):
    """See :func:`_estep`; ``prec`` (K, d, d) dense precisions, ``logc``
    ``log pi_k + log det Lambda_k / 2 - d/2 log(2 pi)``."""
    B, cap = _tile(*means.shape)
    _estep(
        X, w, means, prec, logc, start, stop, full_moments, n, s1, s2, tot, B, cap
    )  # fmt: skip


def score(X, means, prec, logc, start, stop, log_norm, labels):
    """See :func:`_score`."""
    _score(X, means, prec, logc, start, stop, log_norm, labels, *_tile(*means.shape))


def log_prob(X, means, prec, logc, start, stop, out):
    """See :func:`_log_prob`."""
    _log_prob(X, means, prec, logc, start, stop, out, *_tile(*means.shape))
