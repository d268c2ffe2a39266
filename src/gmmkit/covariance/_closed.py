"""The M-steps as compiled loops on dense arrays.

Small in-memory fits run their whole EM loop compiled
(:func:`gmmkit._kernels_impl.em_dense`); these loops are its M-steps: the
closed-form ones (the same formula as each class's
``covariances_from_scatter``) and the iterative ones (VEI, VEV, VEE, EVE,
VVE: the same inner loops of :mod:`._inner` that their classes call, with the
same start and tolerances).  The tests hold the loop to the classes' M-steps.
A model names its loop with :attr:`CovarianceModel.closed_form` (one of the
codes below).  A loop returns False where the class would do something other
than its formula -- an empty component, a non-positive size, a variance that
collapsed -- and the fit then continues on the classes' own M-steps from that
iteration, so every unusual case has one implementation.

``scatter`` (K, m, d) holds each component's scatter about its new mean
with ``reg_covar * n_k`` already on its diagonal (``m = 1``: only the
diagonal, for the diagonal and spherical models); ``cov`` (K, d, d)
receives the dense covariances.
"""

from __future__ import annotations

import math

import numpy as np

from ._inner import (
    INNER_MAX_ITER,
    INNER_TOL,
    OBJECTIVE_TOL,
    equal_shape_kernel,
    orientation_kernel,
    vee_kernel,
)
from ._linalg import EMPTY_FRACTION

#: Codes of the M-steps (:attr:`CovarianceModel.closed_form`): the
#: closed-form ones, then the iterative ones, whose inner loops are those of
#: :mod:`gmmkit.covariance._inner` (the classes call the same loops).
EII, VII, EEI, VVI, EVI, EEE, VVV, EEV, EVV = range(9)
VEI, VEV, VEE, EVE, VVE = range(9, 14)

_JIT_HELPERS = (
    "_diag_of",
    "_sym_eig_desc",
    "_symmetrise",
    "_rotate_into",
    "_iterative",
    "equal_shape_kernel",
    "vee_kernel",
    "orientation_kernel",
)


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


def _symmetrise(cov):  # pragma: no cover - compiled
    """``(S + S^T) / 2`` in place, as :func:`._linalg.compose` returns."""
    n_comp, d, _ = cov.shape
    for k in range(n_comp):
        for i in range(d):
            for j in range(i + 1, d):
                s = 0.5 * (cov[k, i, j] + cov[k, j, i])
                cov[k, i, j] = s
                cov[k, j, i] = s


def _rotate_into(cov, k, vectors, diag):  # pragma: no cover - compiled
    """``cov[k] = vectors diag(diag) vectors^T``."""
    d = diag.shape[0]
    for i in range(d):
        for j in range(d):
            s = 0.0
            for m in range(d):
                s += vectors[i, m] * diag[m] * vectors[j, m]
            cov[k, i, j] = s


def _iterative(code, nk, scatter, cov, orientation, active):  # pragma: no cover
    """The iterative M-steps (VEI, VEV, VEE, EVE, VVE); ``orientation``
    (d, d): EVE's and VVE's start (NaN: the eigenvectors of the summed
    scatter, as their class starts without a previous orientation), replaced
    by the orientation found."""
    n_comp, d, _ = cov.shape
    if code == VEI or code == VEV:
        values = np.empty((n_comp, d))
        vectors = np.empty((n_comp, d, d))
        for k in range(n_comp):
            if code == VEI:
                for j in range(d):
                    values[k, j] = _diag_of(scatter, k, j)
            else:
                v, u = _sym_eig_desc(np.ascontiguousarray(scatter[k]))
                vectors[k] = u
                for j in range(d):
                    values[k, j] = max(v[j], 0.0)
        volumes, shape, _ = equal_shape_kernel(
            nk, values, active, INNER_TOL, INNER_MAX_ITER
        )
        diag = np.empty(d)
        for k in range(n_comp):
            for j in range(d):
                diag[j] = volumes[k] * shape[j]
            if code == VEI:
                for j in range(d):
                    cov[k, j, j] = diag[j]
            else:
                _rotate_into(cov, k, vectors[k], diag)
        if code == VEV:
            _symmetrise(cov)
        return True
    if code == VEE:
        volumes, common, _ = vee_kernel(
            nk, np.ascontiguousarray(scatter), active, INNER_TOL, INNER_MAX_ITER
        )
        for k in range(n_comp):
            for i in range(d):
                for j in range(d):
                    cov[k, i, j] = volumes[k] * common[i, j]
        return True
    # EVE, VVE
    if math.isnan(orientation[0, 0]):
        total = np.zeros((d, d))
        for k in range(n_comp):
            if active[k]:
                for i in range(d):
                    for j in range(d):
                        total[i, j] += scatter[k, i, j]
        _, start = _sym_eig_desc(total)
        orientation[:, :] = start
    diag, ok, _, _ = orientation_kernel(
        nk, np.ascontiguousarray(scatter), orientation, active, code == EVE,
        INNER_TOL, OBJECTIVE_TOL, INNER_MAX_ITER,
    )  # fmt: skip
    if not ok:
        return False
    for k in range(n_comp):
        _rotate_into(cov, k, orientation, diag[k])
    _symmetrise(cov)
    return True


def dense_mstep(code, nk, scatter, cov, orientation):  # pragma: no cover - compiled
    """Covariances (K, d, d) of model ``code`` into ``cov``; False where the
    model's class must take over (see the module docstring).  ``orientation``
    (d, d): EVE's and VVE's common orientation, in and out (see
    :func:`_iterative`)."""
    n_comp, d, _ = cov.shape
    total = 0.0
    for k in range(n_comp):
        total += nk[k]
        for i in range(scatter.shape[1]):
            for j in range(d):
                if not math.isfinite(scatter[k, i, j]):
                    return False
    cov[:] = 0.0
    if code >= VEI:
        active = np.empty(n_comp, np.bool_)
        for k in range(n_comp):
            active[k] = nk[k] > EMPTY_FRACTION * total
        return _iterative(code, nk, scatter, cov, orientation, active)
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
                _rotate_into(cov, k, vectors[k], values)
            _symmetrise(cov)
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


__all__ = ["dense_mstep"]
