"""Linear algebra shared by the covariance models (the leaf of ``covariance/``).

Factorisations, Mahalanobis distances and the volume / shape / orientation
decomposition, on plain arrays.  Nothing here knows about a model class: the
model modules (``_base``, ``_decomposed``, ``spherical``, ``diagonal``,
``ellipsoidal``) import from this module and never the other way round, so
``covariance/`` has no import cycle.

Precision Cholesky factors ``P`` are upper triangular with
``P @ P.T == inv(Sigma)`` (scikit-learn's convention).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from .._errors import FitError
from ._jit import available as _compiled_available
from ._jit import compiled

LOG_2PI = float(np.log(2.0 * np.pi))

#: A component whose weighted count is below this fraction of the total
#: weight is empty: its responsibilities have all underflowed (or it started
#: with zero weight).  The engine keeps its previous mean and covariance and
#: gives it the weight of its count (~0); the decomposed models leave it out
#: of the parameters they share.  Any larger count, however small, is an
#: ordinary component and is re-estimated, as scikit-learn does (a threshold
#: of 1e-10 froze components that scikit-learn re-estimates and recover).
EMPTY_FRACTION = 1e-300

#: The reciprocal condition below which a fitted covariance counts as
#: numerically singular (see :func:`reciprocal_condition`): mclust's
#: ``sqrt(.Machine$double.eps)``.
SINGULAR_RCOND = float(np.sqrt(np.finfo(np.float64).eps))


# -- errors ------------------------------------------------------------------------
def singular_error(
    components: list[int], reg_covar: float, dtype_note: str = ""
) -> FitError:
    """The error raised when a covariance cannot be factorised."""
    which = ", ".join(str(k) for k in components)
    plural = "s" if len(components) > 1 else ""
    return FitError(
        # scikit-learn's sentence for the same condition first (a drop-in keeps
        # its messages), then where and what to do
        "Fitting the mixture model failed because some components have "
        "ill-defined empirical covariance (for instance caused by singleton or "
        "collapsed samples). Try to decrease the number of components, increase "
        "reg_covar, or scale the input data. "
        f"EM cannot continue: the covariance of component{plural} {which} is not "
        "positive definite (its points have collapsed onto a point or a lower-"
        "dimensional subspace, e.g. duplicate rows, a constant column or collinear "
        f"columns). Remedies: increase reg_covar (now {reg_covar:g}) to a value "
        "small against the data's variances (it is added to them, in the data's "
        "units), reduce n_components, use a constrained covariance_type such as "
        "'diag', 'spherical' or 'tied', or standardise/deduplicate the features."
        + dtype_note
    )


# -- factorisations ----------------------------------------------------------------
def _flip(a: np.ndarray) -> np.ndarray:
    return a[..., ::-1, ::-1]


def upper_cholesky_of_precision(precision: np.ndarray) -> np.ndarray:
    """Upper triangular U with U @ U.T == precision (via J chol(J A J) J)."""
    return _flip(linalg.cholesky(_flip(precision), lower=True, check_finite=False))


def is_symmetric_pd(a: np.ndarray) -> bool:
    """Whether ``a`` is symmetric (to rounding) and positive definite."""
    if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12 * np.abs(a).max()):
        return False
    try:
        linalg.cholesky(a, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return False
    return True


def numerically_singular(chol: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Which covariances (..., d, d) are singular to working precision, from
    their lower Cholesky factors: those where some feature's variance given
    the features before it (the pivot ``L_jj^2``) is within ``d`` units of
    rounding of its own variance ``Sigma_jj``.

    Past that point whether the factorisation succeeds at all, and the
    log-determinant, are decided by rounding (an exactly collinear column
    gives a pivot of either sign at ~1e-16 relative), so the same data
    could fit or fail with the order of a sum.  The test compares each
    variance with itself, so it does not depend on the data's units.
    """
    d = cov.shape[-1]
    pivots = np.diagonal(chol, axis1=-2, axis2=-1) ** 2
    own = np.diagonal(cov, axis1=-2, axis2=-1)
    return np.any(pivots <= d * np.finfo(cov.dtype).eps * own, axis=-1)


#: Largest number of features for which :func:`factor_full` runs the
#: compiled loop: per call (K = 9) 1.5 us against numpy's 18 us at d = 4,
#: 50 against 117 at d = 32, 303 against 442 at d = 64 (2026-12-07, 2 cores;
#: numpy's stacked routines are not blocked for small matrices); larger d
#: was not measured and takes numpy.
FACTOR_MAX_FEATURES = 128


def factor_kernel(cov, out, bad):  # pragma: no cover - compiled
    """Upper precision factors ``out[k] = inv(L_k).T`` of a stack ``cov``
    (K, d, d), ``L_k`` its lower Cholesky factor; ``bad[k]`` where the
    factorisation fails or is singular to working precision (a pivot
    ``L_jj^2 <= d eps Sigma_jj``, as :func:`numerically_singular`)."""
    n_comp, d, _ = cov.shape
    low = np.zeros((d, d))
    eps = 2.220446049250313e-16
    for k in range(n_comp):
        ok = True
        for j in range(d):
            s = cov[k, j, j]
            for m in range(j):
                s -= low[j, m] * low[j, m]
            if not (s > d * eps * cov[k, j, j] and math.isfinite(s)):
                ok = False
                break
            low[j, j] = math.sqrt(s)
            for i in range(j + 1, d):
                t = cov[k, i, j]
                for m in range(j):
                    t -= low[i, m] * low[j, m]
                low[i, j] = t / low[j, j]
        if not ok:
            bad[k] = True
            continue
        # row j of out[k] is column j of inv(L): forward substitution
        for j in range(d):
            for i in range(d):
                out[k, j, i] = 0.0
            out[k, j, j] = 1.0 / low[j, j]
            for i in range(j + 1, d):
                t = 0.0
                for m in range(j, i):
                    t += low[i, m] * out[k, j, m]
                out[k, j, i] = -t / low[i, i]
            for i in range(d):
                if not math.isfinite(out[k, j, i]):
                    bad[k] = True


def factor_full(covariances: np.ndarray, reg_covar: float) -> np.ndarray:
    """Upper precision factors of a stack (K, d, d); FitError names the bad
    ones (not positive definite, or singular to working precision: see
    :func:`numerically_singular`)."""
    k, d = covariances.shape[0], covariances.shape[-1]
    if (
        _compiled_available()
        and d <= FACTOR_MAX_FEATURES
        and covariances.dtype == np.float64
    ):
        factors = np.empty((k, d, d))
        refused = np.zeros(k, dtype=np.bool_)
        compiled(factor_kernel)(np.ascontiguousarray(covariances), factors, refused)
        if refused.any():
            raise singular_error([int(j) for j in np.flatnonzero(refused)], reg_covar)
        return factors
    # Fast path: numpy's stacked Cholesky and triangular inverse (one call for
    # all components, ~1000x faster than a scipy call per small matrix);
    # the loop below runs only to name the components that fail.
    with np.errstate(all="ignore"):
        try:
            chol = np.linalg.cholesky(covariances)
            fast = np.linalg.inv(chol)
        except np.linalg.LinAlgError:
            fast = None
    if (
        fast is not None
        and np.all(np.isfinite(fast))
        and not numerically_singular(chol, covariances).any()
    ):
        return np.ascontiguousarray(fast.transpose(0, 2, 1))
    out = np.empty_like(covariances)
    bad = []
    for k in range(covariances.shape[0]):
        if not np.all(np.isfinite(covariances[k])):
            bad.append(k)
            continue
        try:
            chol_k = linalg.cholesky(covariances[k], lower=True, check_finite=False)
        except (linalg.LinAlgError, ValueError):
            bad.append(k)
            continue
        if numerically_singular(chol_k, covariances[k]):
            bad.append(k)
            continue
        eye = np.eye(chol_k.shape[0], dtype=chol_k.dtype)
        out[k] = linalg.solve_triangular(chol_k, eye, lower=True, check_finite=False).T
    if bad:
        raise singular_error(bad, reg_covar)
    return out


def positive_factors(variances: np.ndarray, reg_covar: float) -> np.ndarray:
    """1/sqrt(variances); FitError names the components with a variance <= 0."""
    bad_rows = ~(np.isfinite(variances) & (variances > 0))
    if bad_rows.any():
        comps = np.nonzero(bad_rows.reshape(bad_rows.shape[0], -1).any(axis=1))[0]
        raise singular_error([int(k) for k in comps], reg_covar)
    return 1.0 / np.sqrt(variances)


def collapsed_variances(
    variances: np.ndarray, previous: np.ndarray | None
) -> np.ndarray:
    """Per-axis variances, none below ``eps`` times its previous value.

    With ``reg_covar=0`` a component whose responsibilities have concentrated
    on a single row gets a centred scatter of 0 (its mean *is* that row), or
    a rounding-sized one, depending on how the sums were ordered (compiled or
    numpy E-step).  scikit-learn's raw moments leave a rounding-sized
    positive variance there and EM goes on (its issue #18216: a spherical fit
    from a given start must not raise).  A variance cannot shrink by a
    factor of 1/eps in one M-step unless its component collapsed, so such a
    variance is set to ``eps`` times its previous value: the same number
    whatever the path, in the component's own units, and no precision that
    overflows.  The component is degenerate either way: ``select_model``'s
    singularity test rejects it as mclust does (its reciprocal condition is
    ~1e-8 of the previous scale).  Only the M-steps of EM pass ``previous``:
    at the start (``previous is None``) a zero variance stays an error.
    """
    if previous is None:
        return variances
    previous = np.asarray(previous, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    if variances.min() >= eps * previous.max():  # the usual case, two reductions
        return variances
    floor = eps * np.broadcast_to(previous, variances.shape)
    low = variances < floor
    if not low.any():
        return variances
    return np.where(low, floor, variances)


def reciprocal_condition(dense: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Reciprocal condition of the Cholesky factors of covariances (K, d, d).

    ``min_j L_jj / max_j L_jj`` per component (0 where the factorisation
    fails or is not finite): how close the component is to a lower-
    dimensional subspace, whatever the data's units.  With ``scale`` (a
    standard deviation of the data, e.g. the largest of its columns') the
    value is ``min_j L_jj / (scale + max_j L_jj)``, which also falls to ~0 for a
    component that collapsed onto a point (all its standard deviations tiny
    against the data's); ``scale = 1`` is mclust's ``rcond`` test, which
    depends on the units.  Either way the value is unchanged when data,
    covariances (x c^2) and ``scale`` (x c) are rescaled together.
    """
    dense = np.asarray(dense, dtype=np.float64)
    out = np.zeros(dense.shape[0])
    with np.errstate(all="ignore"):
        if np.all(np.isfinite(dense)):
            try:  # every component at once (the same factorisation per matrix)
                diags = np.abs(np.diagonal(np.linalg.cholesky(dense), axis1=1, axis2=2))
            except np.linalg.LinAlgError:
                pass
            else:
                top = diags.max(axis=1) + (0.0 if scale is None else float(scale))
                good = (top > 0) & np.isfinite(top)
                out[good] = diags.min(axis=1)[good] / top[good]
                return out
        for k, cov in enumerate(dense):
            if not np.all(np.isfinite(cov)):
                continue
            try:
                diag = np.abs(np.diag(np.linalg.cholesky(cov)))
            except np.linalg.LinAlgError:
                continue
            top = diag.max() + (0.0 if scale is None else float(scale))
            if top > 0 and np.isfinite(top):
                out[k] = diag.min() / top
    return out


def regularisation_share(dense: np.ndarray, reg_covar: float) -> np.ndarray:
    """How much of each component's covariance ``reg_covar`` makes up, (K,):
    ``max_j reg_covar / Sigma_kjj`` over the fitted covariances (K, d, d),
    which include it.  Near 1 the fit describes ``reg_covar`` rather than
    the data (e.g. the default 1e-6 on data whose variances are ~1e-16):
    ``reg_covar`` is in the data's units, not relative to them."""
    variances = np.diagonal(np.asarray(dense, dtype=np.float64), axis1=1, axis2=2)
    if reg_covar <= 0:
        return np.zeros(variances.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(variances > 0, reg_covar / variances, 1.0)
    return np.clip(share.max(axis=1), 0.0, 1.0)


def log_det_upper(prec_chol: np.ndarray) -> np.ndarray:
    """Sum of log-diagonals of (stacked) triangular matrices."""
    return np.log(np.diagonal(prec_chol, axis1=-2, axis2=-1)).sum(axis=-1)


# -- densities ---------------------------------------------------------------------
def gaussian_from_maha(
    maha: np.ndarray, log_det: np.ndarray, n_features: int
) -> np.ndarray:
    """Log-density from squared Mahalanobis distances and log|P|."""
    return -0.5 * (n_features * LOG_2PI + maha) + log_det


def diagonal_maha(X: np.ndarray, means: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """sum_j prec_kj (x_nj - mu_kj)^2 for all n, k as matrix products.

    Rows arrive shifted by a common centre (see ``_stats``), which keeps the
    expanded quadratic form free of cancellation for data far from the origin.
    """
    maha = (X * X) @ prec.T
    maha -= 2.0 * (X @ (means * prec).T)
    maha += np.einsum("kd,kd->k", means * means, prec)
    np.maximum(maha, 0.0, out=maha)
    return maha


def maha_blocks(X: np.ndarray, means: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Squared norms of (x - mu_k) @ P_k for all k with one matrix product.

    ``factors`` has shape (K, d, d); all K projections of the chunk are computed
    as a single (n, d) @ (d, K*d) product.
    """
    n_components, n_features = means.shape
    stacked = factors.transpose(1, 0, 2).reshape(n_features, n_components * n_features)
    proj = (X @ stacked).reshape(X.shape[0], n_components, n_features)
    proj -= np.einsum("kd,kde->ke", means, factors)
    return np.einsum("nke,nke->nk", proj, proj)


# -- volume, shape, orientation ------------------------------------------------------
def geometric_mean(values: np.ndarray) -> np.ndarray:
    """``prod(values) ** (1/d)`` along the last axis, computed in log space."""
    with np.errstate(divide="ignore"):
        return np.exp(np.log(values).mean(axis=-1))


def normalise_shape(values: np.ndarray) -> np.ndarray:
    """Scale positive values (along the last axis) to a product of 1."""
    return values / geometric_mean(values)[..., None]


def relative_change(new: np.ndarray, old: np.ndarray) -> float:
    """Largest change of ``new`` relative to its entries' size (finite or inf)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        change = np.abs(new - old) / np.maximum(np.abs(new), np.finfo(float).tiny)
    value = float(np.max(change)) if change.size else 0.0
    return value if np.isfinite(value) else np.inf


def sorted_eigh(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of a stack of symmetric matrices."""
    values, vectors = np.linalg.eigh(matrices)
    return values[..., ::-1], vectors[..., ::-1]


def active_components(nk: np.ndarray) -> np.ndarray:
    """Mask of the components with a non-negligible weighted count."""
    return nk > EMPTY_FRACTION * nk.sum()


def compose(
    volumes: np.ndarray, shapes: np.ndarray, orientations: np.ndarray | None
) -> np.ndarray:
    """Dense ``lambda_k D_k diag(A_k) D_k^T`` (``orientations=None``: identity)."""
    diag = volumes[:, None] * shapes
    if orientations is None:
        k, d = diag.shape
        out = np.zeros((k, d, d), dtype=np.result_type(diag, np.float64))
        out[:, np.arange(d), np.arange(d)] = diag
        return out
    out = np.einsum("kij,kj,klj->kil", orientations, diag, orientations)
    return 0.5 * (out + out.transpose(0, 2, 1))


def decompose(
    dense: np.ndarray, orientation_letter: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volume, shape and orientation of covariances ``Sigma_k`` (K, d, d).

    Returns ``(volumes, shapes, orientations)`` of shapes (K,), (K, d),
    (K, d, d) with ``Sigma_k = volumes[k] * D_k diag(shapes[k]) D_k^T``,
    ``prod(shapes[k]) == 1`` and ``D_k = orientations[k]`` orthogonal.

    ``orientation_letter`` is the model's third letter: ``"I"`` keeps the axes
    (shapes in feature order), ``"E"`` gives all components the common
    eigenvectors (ordered by the decreasing shapes of the average shape
    matrix) and ``"V"`` each component its own eigenvectors with decreasing
    shapes.  The sign of each eigenvector is chosen so that its largest entry
    is positive.
    """
    k, d, _ = dense.shape
    if orientation_letter == "I" or d == 1:
        return decompose_axes(np.diagonal(dense, axis1=1, axis2=2))
    volumes = np.exp(np.linalg.slogdet(dense)[1] / d)
    if orientation_letter == "E":
        common = common_axes(dense / volumes[:, None, None])
        shapes = np.einsum("ij,kil,lj->kj", common, dense, common)
        shapes /= volumes[:, None]
        orientations = np.broadcast_to(common, (k, d, d)).copy()
        return volumes, shapes, orientations
    values, vectors = sorted_eigh(dense)
    return volumes, values / volumes[:, None], fix_signs(vectors)


def common_axes(normalised: np.ndarray) -> np.ndarray:
    """The common eigenvectors (d, d) of matrices (K, d, d) that share them:
    those of their average, by decreasing eigenvalue, signs fixed."""
    _, common = sorted_eigh(normalised.mean(axis=0))
    return fix_signs(common)


def decompose_axes(
    variances: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`decompose` of axis-aligned covariances from their variances (K, d),
    in O(K d): the orientations are the identity, one read-only (d, d) array
    seen K times (not K copies, each of 800 MB at d = 10000)."""
    k, d = variances.shape
    with np.errstate(divide="ignore"):
        volumes = np.exp(np.log(variances).mean(axis=1))
    shapes = variances / volumes[:, None]
    return volumes, shapes, np.broadcast_to(np.eye(d), (k, d, d))


def fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Flip eigenvectors (columns) so that each one's largest entry is positive."""
    idx = np.abs(vectors).argmax(axis=-2)
    signs = np.sign(np.take_along_axis(vectors, idx[..., None, :], axis=-2))
    signs[signs == 0] = 1.0
    return vectors * signs


__all__ = [
    "EMPTY_FRACTION",
    "LOG_2PI",
    "SINGULAR_RCOND",
    "active_components",
    "common_axes",
    "compose",
    "decompose",
    "decompose_axes",
    "diagonal_maha",
    "factor_full",
    "factor_kernel",
    "fix_signs",
    "gaussian_from_maha",
    "geometric_mean",
    "is_symmetric_pd",
    "log_det_upper",
    "maha_blocks",
    "normalise_shape",
    "numerically_singular",
    "positive_factors",
    "reciprocal_condition",
    "regularisation_share",
    "relative_change",
    "singular_error",
    "sorted_eigh",
    "upper_cholesky_of_precision",
]
