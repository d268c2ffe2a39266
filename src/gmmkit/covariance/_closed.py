"""The closed-form M-steps as compiled loops on dense arrays.

Small in-memory fits run their whole EM loop compiled
(:func:`gmmkit._kernels_impl.em_dense`); these loops are its M-steps for the
nine models whose M-step is closed-form, each the same formula as its
class's ``covariances_from_scatter`` (the tests hold both to 1e-10).  A
model names its loop with :attr:`CovarianceModel.closed_form` (one of the
codes below).  A loop returns False where the class would do something
other than its formula -- an empty component, a non-positive size, a
variance that collapsed -- and the fit then continues on the classes' own
M-steps from that iteration, so every unusual case has one implementation.

``scatter`` (K, m, d) holds each component's scatter about its new mean
with ``reg_covar * n_k`` already on its diagonal (``m = 1``: only the
diagonal, for the diagonal and spherical models); ``cov`` (K, d, d)
receives the dense covariances.
"""

from __future__ import annotations

import math

import numpy as np

#: Codes of the closed-form M-steps (:attr:`CovarianceModel.closed_form`).
EII, VII, EEI, VVI, EVI, EEE, VVV, EEV, EVV = range(9)

_JIT_HELPERS = ("_diag_of", "_sym_eig_desc")


def _diag_of(scatter, k, j):  # pragma: no cover - compiled
    """Entry (j, j) of component k's scatter, whichever its layout."""
    if scatter.shape[1] == 1:
        return scatter[k, 0, j]
    return scatter[k, j, j]


def _sym_eig_desc(a):  # pragma: no cover - compiled
    """Eigenvalues (descending) and eigenvectors of a symmetric matrix."""
    values, vectors = np.linalg.eigh(a)
    d = values.shape[0]
    out_v = np.empty(d)
    out_u = np.empty((d, d))
    for j in range(d):
        out_v[j] = values[d - 1 - j]
        for i in range(d):
            out_u[i, j] = vectors[i, d - 1 - j]
    return out_v, out_u


def dense_mstep(code, nk, scatter, cov):  # pragma: no cover - compiled
    """Covariances (K, d, d) of model ``code`` into ``cov``; False where the
    model's class must take over (see the module docstring)."""
    n_comp, d, _ = cov.shape
    total = 0.0
    for k in range(n_comp):
        total += nk[k]
    cov[:] = 0.0
    if code == VVV or code == EEE or code == EEV or code == EVV:
        if code == VVV:
            for k in range(n_comp):
                for i in range(d):
                    for j in range(d):
                        cov[k, i, j] = scatter[k, i, j] / nk[k]
        elif code == EEE:
            for i in range(d):
                for j in range(d):
                    s = 0.0
                    for k in range(n_comp):
                        s += scatter[k, i, j]
                    for k in range(n_comp):
                        cov[k, i, j] = s / total
        elif code == EEV:
            values = np.zeros(d)
            vectors = np.empty((n_comp, d, d))
            for k in range(n_comp):
                v, u = _sym_eig_desc(np.ascontiguousarray(scatter[k]))
                vectors[k] = u
                for j in range(d):
                    values[j] += v[j]
            for j in range(d):
                values[j] /= total
            for k in range(n_comp):
                for i in range(d):
                    for j in range(d):
                        s = 0.0
                        for m in range(d):
                            s += vectors[k, i, m] * values[m] * vectors[k, j, m]
                        cov[k, i, j] = s
            for k in range(n_comp):  # symmetric to the last bit, as compose's
                for i in range(d):
                    for j in range(i + 1, d):
                        s = 0.5 * (cov[k, i, j] + cov[k, j, i])
                        cov[k, i, j] = s
                        cov[k, j, i] = s
        else:  # EVV
            sizes = np.empty(n_comp)
            volume = 0.0
            for k in range(n_comp):
                sign, logdet = np.linalg.slogdet(np.ascontiguousarray(scatter[k]))
                if not (sign > 0 and math.isfinite(logdet)):
                    return False
                sizes[k] = math.exp(logdet / d)
                volume += sizes[k]
            volume /= total
            for k in range(n_comp):
                for i in range(d):
                    for j in range(d):
                        cov[k, i, j] = volume * scatter[k, i, j] / sizes[k]
        return True
    # diagonal and spherical models
    if code == EII or code == EEI:
        for j in range(d):
            s = 0.0
            for k in range(n_comp):
                s += _diag_of(scatter, k, j)
            for k in range(n_comp):
                cov[k, j, j] = s
        norm = total * d if code == EII else total
        if code == EII:
            s = 0.0
            for j in range(d):
                s += cov[0, j, j]
            for k in range(n_comp):
                for j in range(d):
                    cov[k, j, j] = s
        for k in range(n_comp):
            for j in range(d):
                cov[k, j, j] /= norm
    elif code == VII:
        for k in range(n_comp):
            s = 0.0
            for j in range(d):
                s += _diag_of(scatter, k, j)
            for j in range(d):
                cov[k, j, j] = s / d / nk[k]
    elif code == VVI:
        for k in range(n_comp):
            for j in range(d):
                cov[k, j, j] = _diag_of(scatter, k, j) / nk[k]
    else:  # EVI
        sizes = np.empty(n_comp)
        volume = 0.0
        for k in range(n_comp):
            s = 0.0
            for j in range(d):
                v = _diag_of(scatter, k, j)
                if not v > 0.0:
                    return False
                s += math.log(v)
            sizes[k] = math.exp(s / d)
            volume += sizes[k]
        volume /= total
        for k in range(n_comp):
            for j in range(d):
                cov[k, j, j] = volume * _diag_of(scatter, k, j) / sizes[k]
    return True


__all__ = ["EEE", "EEI", "EEV", "EII", "EVI", "EVV", "VII", "VVI", "VVV", "dense_mstep"]
