"""numba implementations behind :mod:`gmmkit._kernels` (imported lazily).

Serial, GIL-free kernels over a range of rows; :mod:`gmmkit._kernels`
runs them on several threads.  Compiled on first use and cached on disk.
"""

import math

import numpy as np
from numba import njit

jit = njit(cache=True, nogil=True, error_model="numpy")


@jit
def block_full(X, w, shift, means_s, P, logc, start, stop, n_, s1, s2, tot):
    d = X.shape[1]
    K = means_s.shape[0]
    xs = np.empty(d)
    diff = np.empty((K, d))
    lp = np.empty(K)
    ll = 0.0
    wsum = 0.0
    for i in range(start, stop):
        wi = w[i]
        if wi <= 0.0:
            continue
        for j in range(d):
            xs[j] = X[i, j] - shift[j]
        top = -math.inf
        for k in range(K):
            for j in range(d):
                diff[k, j] = xs[j] - means_s[k, j]
            maha = 0.0
            for j in range(d):
                y = 0.0
                for m in range(j + 1):
                    y += diff[k, m] * P[k, m, j]
                maha += y * y
            v = logc[k] - 0.5 * maha
            lp[k] = v
            if v > top:
                top = v
        wsum += wi
        if not top > -math.inf:
            ll = -math.inf
            continue
        total = 0.0
        for k in range(K):
            e = math.exp(lp[k] - top)
            lp[k] = e
            total += e
        ll += wi * (top + math.log(total))
        scale = wi / total
        for k in range(K):
            r = lp[k] * scale
            if r == 0.0:
                continue
            n_[k] += r
            for j in range(d):
                rd = r * diff[k, j]
                s1[k, j] += rd
                for m in range(j, d):
                    s2[k, j, m] += rd * diff[k, m]
    tot[0] = ll
    tot[1] = wsum

@jit
def block_diag(X, w, shift, means_s, prec, logc, start, stop, n_, s1, s2, tot):
    d = X.shape[1]
    K = means_s.shape[0]
    xs = np.empty(d)
    lp = np.empty(K)
    ll = 0.0
    wsum = 0.0
    for i in range(start, stop):
        wi = w[i]
        if wi <= 0.0:
            continue
        for j in range(d):
            xs[j] = X[i, j] - shift[j]
        top = -math.inf
        for k in range(K):
            maha = 0.0
            for j in range(d):
                e = xs[j] - means_s[k, j]
                maha += e * e * prec[k, j]
            v = logc[k] - 0.5 * maha
            lp[k] = v
            if v > top:
                top = v
        wsum += wi
        if not top > -math.inf:
            ll = -math.inf
            continue
        total = 0.0
        for k in range(K):
            e = math.exp(lp[k] - top)
            lp[k] = e
            total += e
        ll += wi * (top + math.log(total))
        scale = wi / total
        for k in range(K):
            r = lp[k] * scale
            if r == 0.0:
                continue
            n_[k] += r
            for j in range(d):
                e = xs[j] - means_s[k, j]
                re = r * e
                s1[k, j] += re
                s2[k, j] += re * e
    tot[0] = ll
    tot[1] = wsum

@jit
def logprob_full(X, shift, means_s, P, logc, start, stop, out):
    d = X.shape[1]
    K = means_s.shape[0]
    for i in range(start, stop):
        diff = np.empty(d)
        for k in range(K):
            for j in range(d):
                diff[j] = X[i, j] - shift[j] - means_s[k, j]
            maha = 0.0
            for j in range(d):
                y = 0.0
                for m in range(j + 1):
                    y += diff[m] * P[k, m, j]
                maha += y * y
            out[i - start, k] = logc[k] - 0.5 * maha



@jit
def logprob_diag(X, shift, means_s, prec, logc, start, stop, out):
    d = X.shape[1]
    K = means_s.shape[0]
    for i in range(start, stop):
        for k in range(K):
            maha = 0.0
            for j in range(d):
                e = X[i, j] - shift[j] - means_s[k, j]
                maha += e * e * prec[k, j]
            out[i - start, k] = logc[k] - 0.5 * maha
