"""The iterative M-steps' inner loops (VEI, VEV, VEE, EVE, VVE), compiled.

Each loop is written once, as plain Python on scalars and small arrays
(numpy scalars and ``np.log``, so that zeros give infinities rather than
exceptions, as in compiled code), and compiled with numba on first use
(:func:`gmmkit.covariance._jit.compiled`).  Without numba, or with
``GMMKIT_DISABLE_NUMBA=1``, the same functions run as Python: identical
results, slower.

Stopping rules (documented numbers; see also :data:`INNER_TOL`):

* VEI, VEV, VEE (alternating closed-form updates, which converge quickly)
  stop when no parameter moved by more than ``INNER_TOL`` relative to its
  size, or after ``INNER_MAX_ITER`` rounds.
* EVE, VVE (sweeps of plane rotations of the common orientation ``D``) stop
  when a sweep moved neither ``D`` (absolute change of its entries) nor the
  diagonals (relative) by more than ``INNER_TOL``, *or* when a sweep lowered
  the objective ``sum_k n_k log|Sigma_k|`` by at most ``OBJECTIVE_TOL``
  times the total weight ``n`` (the objective of the M-step less its
  constant trace part, so the rule does not depend on the data's units), or
  after ``INNER_MAX_ITER`` sweeps.  The objective never increases from sweep
  to sweep (coordinate descent), and where the optimum is flat in some plane
  (two components with equal shapes there) the orientation would wander for
  thousands of sweeps without changing the fit: the objective rule stops it.
  Given the previous EM iteration's covariances the sweeps start from their
  orientation (see ``ellipsoidal._CommonOrientation``), so near EM's
  convergence an M-step takes a few sweeps.
  Stopping at ``OBJECTIVE_TOL`` leaves the M-step objective within
  2.4e-11 relative of where 5000 sweeps without the objective rule end
  (largest gap over mclust's reference cases and 200 random ones with
  d = 2..9, K = 2..6; median 1.5e-16), at a fraction of the sweeps.
  mclust's own M-steps stop at ``sqrt(eps)`` on the parameters, further
  away: the tests check that gmmkit's objective is at least as good as
  mclust's.  Where the objective is nearly flat in some rotation (slow
  coordinate descent) the orientation is determined only to ~1e-7
  relative when the sweeps stop (2.2e-7 the worst of 1500 random cases,
  compared between the same scatter in two units): the likelihood does not
  see the difference.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import compiled

#: Inner tolerance of the iterative M-steps (VEI, VEE, VEV, EVE, VVE): the
#: alternating updates stop when no parameter changed by more than this,
#: relative to its size (orientations: absolute change of their entries).
#: Tighter than mclust's ``sqrt(.Machine$double.eps)`` so that gmmkit lands on
#: the M-step's optimum rather than near it.
INNER_TOL = 1e-12
#: EVE and VVE also stop when a sweep lowered the objective
#: ``sum_k n_k log|Sigma_k|`` by at most this times the total weight.
OBJECTIVE_TOL = 1e-13
#: Iteration limit of the inner loops; reaching it keeps the last iterate.
INNER_MAX_ITER = 5000

#: Helpers called by the loops (compiled first: see :mod:`._jit`).
_JIT_HELPERS = ("_volumes_into", "_unit_det_into", "_diagonals_into", "_log_det_sum")


# -- VEI, VEV: volumes and a common shape --------------------------------------------
def equal_shape_kernel(nk, values, active, tol, max_iter):  # pragma: no cover
    """Volumes ``lambda_k`` (K,) and common shape ``a`` (d,) of VEI / VEV.

    Minimises ``sum_k n_k d log lambda_k + sum_j values_kj / (lambda_k a_j)``
    over ``lambda`` and ``a`` with ``prod(a) == 1`` by alternating the two
    closed-form partial solutions.  Returns ``(volumes, shape, rounds)``.
    """
    n_comp, d = values.shape
    shape = np.zeros(d)
    for k in range(n_comp):
        if active[k]:
            for j in range(d):
                shape[j] += values[k, j]
    log_mean = 0.0
    for j in range(d):
        log_mean += np.log(shape[j])
    shape /= math.exp(log_mean / d)
    volumes = np.ones(n_comp)
    new_volumes = np.empty(n_comp)
    new_shape = np.empty(d)
    rounds = 0
    for _ in range(max_iter):
        rounds += 1
        for k in range(n_comp):
            t = 0.0
            for j in range(d):
                t += values[k, j] / shape[j]
            new_volumes[k] = t / (d * nk[k])
        new_shape[:] = 0.0
        for k in range(n_comp):
            if active[k]:
                for j in range(d):
                    new_shape[j] += values[k, j] / new_volumes[k]
        log_mean = 0.0
        for j in range(d):
            log_mean += np.log(new_shape[j])
        new_shape /= math.exp(log_mean / d)
        change = 0.0
        finite = True
        for k in range(n_comp):
            if active[k]:
                c = abs(new_volumes[k] - volumes[k]) / max(abs(new_volumes[k]), 1e-300)
                if not math.isfinite(c):
                    c = math.inf
                change = max(change, c)
        for j in range(d):
            if not math.isfinite(new_shape[j]):
                finite = False
            c = abs(new_shape[j] - shape[j]) / max(abs(new_shape[j]), 1e-300)
            if not math.isfinite(c):
                c = math.inf
            change = max(change, c)
        volumes[:] = new_volumes
        shape[:] = new_shape
        if change <= tol or not finite:
            break
    for k in range(n_comp):
        t = 0.0
        for j in range(d):
            t += values[k, j] / shape[j]
        volumes[k] = t / (d * nk[k])
    return volumes, shape, rounds


# -- VEE: volumes and a common shape-and-orientation matrix ---------------------------
def _volumes_into(nk, scatter, inverse, out):  # pragma: no cover
    """``out[k] = tr(W_k C^-1) / (d n_k)``: VEE's volumes given the common
    matrix ``C`` (its inverse given)."""
    n_comp, d, _ = scatter.shape
    for k in range(n_comp):
        t = 0.0
        for i in range(d):
            for j in range(d):
                t += scatter[k, i, j] * inverse[j, i]
        out[k] = t / (d * nk[k])


def _unit_det_into(matrix, out):  # pragma: no cover
    """``out = matrix / |matrix|^(1/d)`` symmetrised; False if not PD."""
    d = matrix.shape[0]
    sign, logdet = np.linalg.slogdet(matrix)
    if sign <= 0:
        return False
    f = math.exp(-logdet / d)
    for i in range(d):
        for j in range(d):
            out[i, j] = 0.5 * (matrix[i, j] + matrix[j, i]) * f
    return True


def vee_kernel(nk, scatter, active, tol, max_iter):  # pragma: no cover
    """Volumes (K,) and the common unit-determinant matrix ``C`` (d, d) of VEE.

    Alternates ``lambda_k = tr(W_k C^-1) / (d n_k)`` and ``C = S / |S|^(1/d)``
    with ``S = sum_k W_k / lambda_k``.  ``C`` is NaN when ``S`` is not
    positive definite.  Returns ``(volumes, common, rounds)``.
    """
    n_comp, d, _ = scatter.shape
    total = np.zeros((d, d))
    for k in range(n_comp):
        if active[k]:
            total += scatter[k]
    common = np.empty((d, d))
    new_common = np.empty((d, d))
    volumes = np.ones(n_comp)
    new_volumes = np.empty(n_comp)
    rounds = 0
    if not _unit_det_into(total, common):
        common[:, :] = np.nan
        return volumes * np.nan, common, rounds
    for _ in range(max_iter):
        rounds += 1
        _volumes_into(nk, scatter, np.linalg.inv(common), new_volumes)
        total[:, :] = 0.0
        for k in range(n_comp):
            if active[k]:
                total += scatter[k] / new_volumes[k]
        ok = _unit_det_into(total, new_common)
        change = 0.0
        for k in range(n_comp):
            if active[k]:
                c = abs(new_volumes[k] - volumes[k]) / max(abs(new_volumes[k]), 1e-300)
                if not math.isfinite(c):
                    c = math.inf
                change = max(change, c)
        volumes[:] = new_volumes
        if not ok:
            common[:, :] = np.nan
            break
        top = 0.0
        moved = 0.0
        for i in range(d):
            for j in range(d):
                top = max(top, abs(new_common[i, j]))
                moved = max(moved, abs(new_common[i, j] - common[i, j]))
        change = max(change, moved / top)
        common[:, :] = new_common
        if change <= tol:
            break
    if np.all(np.isfinite(common)):
        _volumes_into(nk, scatter, np.linalg.inv(common), volumes)
    return volumes, common, rounds


# -- EVE, VVE: a common orientation by plane rotations --------------------------------
def _diagonals_into(nk, rotated, active, equal_volume, diag):  # pragma: no cover
    """``lambda_k A_k`` (K, d) from ``diag(D^T W_k D)``: EVE's (equal volume)
    or VVE's closed form given the orientation."""
    n_comp, d, _ = rotated.shape
    if not equal_volume:
        for k in range(n_comp):
            for j in range(d):
                diag[k, j] = rotated[k, j, j] / nk[k]
        return
    total_n = 0.0
    size_sum = 0.0
    for k in range(n_comp):
        total_n += nk[k]
        log_mean = 0.0
        for j in range(d):
            log_mean += np.log(rotated[k, j, j])
        geo = math.exp(log_mean / d)
        if active[k]:
            size_sum += geo
        for j in range(d):
            diag[k, j] = rotated[k, j, j] / geo
    volume = size_sum / total_n
    for k in range(n_comp):
        for j in range(d):
            diag[k, j] *= volume


def _log_det_sum(nk, diag, reference, active):  # pragma: no cover
    """``sum_k n_k (log|Sigma_k| - log|R_k|)`` over the active components,
    ``R_k = diag(reference[k])``: relative to a reference in the same units,
    so that its rounding error does not grow with ``|log(units)|``."""
    n_comp, d = diag.shape
    total = 0.0
    for k in range(n_comp):
        if active[k]:
            s = 0.0
            for j in range(d):
                s += np.log(diag[k, j] / reference[k, j])
            total += nk[k] * s
    return total


def orientation_kernel(
    nk, scatter, orientation, active, equal_volume, tol, obj_tol, max_iter
):  # pragma: no cover
    """Common orientation ``D`` and diagonals ``b_k`` of EVE / VVE.

    Minimises ``sum_k [n_k log|Sigma_k| + tr(W_k Sigma_k^-1)]`` over
    ``Sigma_k = D diag(b_k) D^T`` from the starting ``orientation`` (updated
    in place).  Given ``D`` the ``b_k`` have a closed form.  Given the
    ``b_k``, the objective's dependence on a rotation by angle ``t`` of two
    columns ``i, j`` of ``D`` is ``C cos 2t + S sin 2t + const`` with
    ``C = sum_k (u_k - v_k)(a_k - c_k) / 2`` and ``S = sum_k (u_k - v_k) m_k``
    (``u, v`` the inverse diagonals at ``i, j``; ``a, c, m`` the entries
    ``ii, jj, ij`` of ``D^T W_k D``), whose minimum is at
    ``2t = atan2(-S, -C)``.  Sweeps over all pairs, each rotation followed by
    the update of the ``b_k``, never increase the objective (coordinate
    descent; the problem Browne and McNicholas 2014 solve by majorisation-
    minimisation, whose steps converge far more slowly here).

    Returns ``(diag, ok, sweeps, objective)`` with ``objective`` the final
    ``sum_k n_k log|Sigma_k|`` (the M-step's objective less its constant
    trace part ``d n``); ``ok`` is False when a diagonal became zero or
    non-finite (a collapsed component).
    """
    n_comp, d, _ = scatter.shape
    total_n = 0.0
    for k in range(n_comp):
        if active[k]:
            total_n += nk[k]
    # rotated[k] = D^T W_k D
    rotated = np.empty((n_comp, d, d))
    for k in range(n_comp):
        rotated[k] = np.ascontiguousarray(orientation.T) @ scatter[k] @ orientation
    diag = np.empty((n_comp, d))
    _diagonals_into(nk, rotated, active, equal_volume, diag)
    inverse = np.zeros((n_comp, d))
    old_orientation = np.empty((d, d))
    old_diag = np.empty((n_comp, d))
    reference = diag.copy()
    base = 0.0  # sum_k n_k log|R_k|, added back to the objective returned
    for k in range(n_comp):
        if active[k]:
            for j in range(d):
                base += nk[k] * np.log(reference[k, j])
    objective = 0.0
    sweeps = 0
    for _ in range(max_iter):
        sweeps += 1
        old_orientation[:, :] = orientation
        old_diag[:, :] = diag
        for i in range(d - 1):
            for j in range(i + 1, d):
                for k in range(n_comp):
                    if active[k]:
                        for m in (i, j):
                            v = diag[k, m]
                            if not (v > 0 and math.isfinite(v)):
                                return diag, False, sweeps, math.nan
                            inverse[k, m] = 1.0 / v
                c_coef = 0.0
                s_coef = 0.0
                for k in range(n_comp):
                    w = inverse[k, i] - inverse[k, j]
                    c_coef += 0.5 * w * (rotated[k, i, i] - rotated[k, j, j])
                    s_coef += w * rotated[k, i, j]
                if c_coef == 0.0 and s_coef == 0.0:
                    continue
                angle = 0.5 * math.atan2(-s_coef, -c_coef)
                c = math.cos(angle)
                s = math.sin(angle)
                for k in range(n_comp):
                    for m in range(d):  # columns i, j
                        a = rotated[k, m, i]
                        b = rotated[k, m, j]
                        rotated[k, m, i] = c * a + s * b
                        rotated[k, m, j] = c * b - s * a
                    for m in range(d):  # rows i, j
                        a = rotated[k, i, m]
                        b = rotated[k, j, m]
                        rotated[k, i, m] = c * a + s * b
                        rotated[k, j, m] = c * b - s * a
                for m in range(d):
                    a = orientation[m, i]
                    b = orientation[m, j]
                    orientation[m, i] = c * a + s * b
                    orientation[m, j] = c * b - s * a
                _diagonals_into(nk, rotated, active, equal_volume, diag)
        change = 0.0
        for m in range(d):
            for j in range(d):
                change = max(change, abs(orientation[m, j] - old_orientation[m, j]))
        for k in range(n_comp):
            if active[k]:
                for j in range(d):
                    c = abs(diag[k, j] - old_diag[k, j]) / max(abs(diag[k, j]), 1e-300)
                    if not math.isfinite(c):
                        c = math.inf
                    change = max(change, c)
        new_objective = _log_det_sum(nk, diag, reference, active)
        if not math.isfinite(new_objective):
            return diag, False, sweeps, math.nan
        done = change <= tol or objective - new_objective <= obj_tol * total_n
        objective = new_objective
        if done:
            break
    objective += base
    return diag, math.isfinite(objective), sweeps, objective


__all__ = [
    "INNER_MAX_ITER",
    "INNER_TOL",
    "OBJECTIVE_TOL",
    "compiled",
    "equal_shape_kernel",
    "orientation_kernel",
    "vee_kernel",
]
