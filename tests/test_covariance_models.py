"""mclust's covariance models (EII ... VVV, E, V) against R's mclust and scipy.

The reference numbers in ``tests/mclust/reference.json`` were produced by R's
mclust 6.0.0 with ``tests/mclust/make_reference.R`` (data sets and starting
responsibilities ``z`` are stored with them).  For every case and model we
compare

* one M-step from ``z`` (mclust ``mstep``; gmmkit ``resp_init=z, max_iter=0``);
* the same number of EM iterations from ``z`` (mclust ``me`` with outer
  tolerance 0 and at most 10 iterations);
* EM run to a tight convergence from ``z`` (a few fast-converging cases);
* ``n_parameters()`` against mclust's ``nMclustParams``.

Iterative M-steps: gmmkit iterates to the optimum of the M-step objective.
VEI and VEV then agree with mclust to its inner tolerance (``sqrt(eps)``);
mclust's VEE, EVE and VVE M-steps stop short of the optimum (by ~1e-6, ~1e-4
and ~1e-2 relative in the covariances), so for them the numbers agree less
tightly (VVE: only roughly).  For every model the tests also check, against
the data directly, that gmmkit's M-step reaches an objective at least as good
as mclust's.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning

from gmmkit import FitError, GaussianMixture, InvalidParameterError
from gmmkit.covariance import MCLUST_MODELS, get_model

REF = json.loads((Path(__file__).parent / "mclust" / "reference.json").read_text())
DATA = {name: np.array(X, dtype=float) for name, X in REF["datasets"].items()}

#: (log-likelihood rtol, parameter rtol) of one M-step / fixed EM iterations,
#: per model; closed-form M-steps agree to rounding.
CLOSED = (1e-11, 1e-9)
TOLERANCES = {
    # inner loops: mclust stops at a relative change of sqrt(eps)
    "VEI": (1e-9, 1e-7),
    "VEV": (1e-9, 1e-7),
    # mclust's M-step stops short of the optimum (our objective is lower)
    "VEE": (1e-6, 1e-4),
    "EVE": (1e-4, 2e-3),
}
#: mclust 6.0.0's VVE M-step stops far from the optimum (see module docstring).
DIFFERENT = {"VVE"}


def _cases():
    for index, case in enumerate(REF["cases"]):
        for model, result in case["models"].items():
            assert "error" not in result, (case["data"], model, result)
            yield pytest.param(index, model, id=f"{case['data']}-G{case['G']}-{model}")


CASES = list(_cases())


def _case(index):
    case = REF["cases"][index]
    return case, DATA[case["data"]], np.array(case["z"], dtype=float)


def _fit(X, z, model, max_iter, tol=0.0, **kwargs):
    kwargs.setdefault("reg_covar", 0.0)
    gm = GaussianMixture(
        z.shape[1],
        covariance_type=model,
        resp_init=z,
        max_iter=max_iter,
        tol=tol,
        **kwargs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gm.fit(X)


def _mclust_params(ref, G, d):
    """(weights, means (G, d), covariances (G, d, d)) from mclust's output."""
    pro = np.array(ref["pro"], dtype=float).reshape(G)
    means = np.array(ref["mean"], dtype=float).reshape(d, G).T
    sigma = np.array(ref["sigma"], dtype=float)
    if d == 1:
        cov = np.broadcast_to(sigma.reshape(-1), (G,)).reshape(G, 1, 1)
    else:
        cov = sigma.transpose(2, 0, 1)
    return pro, means, cov


def _assert_params(gm, ref, rtol):
    G, d = gm.means_.shape
    pro, means, cov = _mclust_params(ref, G, d)
    assert_allclose(gm.weights_, pro, rtol=rtol, atol=rtol)
    scale = np.abs(means).max() + np.sqrt(np.abs(cov).max())
    assert_allclose(gm.means_, means, rtol=rtol, atol=rtol * scale)
    assert_allclose(gm.covariances_, cov, rtol=rtol, atol=rtol * np.abs(cov).max())


def _scatter(X, z):
    """Counts and central scatter matrices of X under responsibilities z."""
    nk = z.sum(axis=0)
    means = (z.T @ X) / nk[:, None]
    scatter = np.stack(
        [(z[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(len(nk))]
    )
    return nk, scatter


def _objective(nk, scatter, cov):
    """The M-step's objective sum_k n_k log|S_k| + tr(W_k S_k^-1) (lower wins)."""
    return sum(
        nk[k] * np.linalg.slogdet(cov[k])[1]
        + np.trace(np.linalg.solve(cov[k], scatter[k]))
        for k in range(len(nk))
    )


# --------------------------------------------------------------------- M-step
@pytest.mark.parametrize(("index", "model"), CASES)
def test_one_m_step_matches_mclust(index, model):
    case, X, z = _case(index)
    ref = case["models"][model]["mstep"]
    gm = _fit(X, z, model, max_iter=0)
    assert gm.covariances_.shape == (z.shape[1], X.shape[1], X.shape[1])
    ll = gm.log_likelihood_history_[-1]
    if model in DIFFERENT:
        # Same means and weights; covariances from a better M-step.
        pro, means, _ = _mclust_params(ref, *gm.means_.shape)
        assert_allclose(gm.weights_, pro, rtol=1e-12)
        assert_allclose(gm.means_, means, rtol=1e-12)
        assert abs(ll - ref["loglik"]) < 1e-2 * abs(ref["loglik"])
        return
    ll_rtol, rtol = TOLERANCES.get(model, CLOSED)
    assert_allclose(ll, ref["loglik"], rtol=ll_rtol)
    _assert_params(gm, ref, rtol)


@pytest.mark.parametrize(("index", "model"), CASES)
def test_m_step_objective_at_least_as_good_as_mclust(index, model):
    case, X, z = _case(index)
    nk, scatter = _scatter(X, z)
    ref = case["models"][model]["mstep"]
    _, _, theirs = _mclust_params(ref, z.shape[1], X.shape[1])
    ours = _fit(X, z, model, max_iter=0).covariances_
    q_ours, q_theirs = _objective(nk, scatter, ours), _objective(nk, scatter, theirs)
    assert q_ours <= q_theirs + 1e-10 * abs(q_theirs)


@pytest.mark.parametrize(("index", "model"), CASES)
def test_same_em_iterations_match_mclust(index, model):
    case, X, z = _case(index)
    ref = case["models"][model]["me10"]
    # mclust's first iteration is the M-step from z, gmmkit's resp_init M-step.
    gm = _fit(X, z, model, max_iter=int(ref["iterations"]) - 1)
    ll = gm.log_likelihood_history_[-1]
    if model in DIFFERENT:
        assert abs(ll - ref["loglik"]) < 5e-2 * abs(ref["loglik"])
        return
    ll_rtol, rtol = TOLERANCES.get(model, CLOSED)
    assert_allclose(ll, ref["loglik"], rtol=max(ll_rtol, 1e-9))
    _assert_params(gm, ref, max(rtol, 1e-7))


#: Cases whose EM converges in few iterations (the slow ones add nothing but
#: running time: their parameters are checked by the two tests above).
FAST = [
    p
    for p in CASES
    if REF["cases"][p.values[0]]["models"][p.values[1]]["me"]["iterations"] <= 40
]


@pytest.mark.parametrize(("index", "model"), FAST)
def test_converged_em_matches_mclust(index, model):
    case, X, z = _case(index)
    ref = case["models"][model]["me"]
    gm = _fit(X, z, model, max_iter=2000, tol=1e-12)
    ll = gm.log_likelihood_history_[-1]
    if model in DIFFERENT:
        assert abs(ll - ref["loglik"]) < 1e-2 * abs(ref["loglik"])
        return
    assert gm.converged_
    assert_allclose(ll, ref["loglik"], rtol=1e-8)
    _assert_params(gm, ref, 1e-4)


# ------------------------------------------------------------- decomposition
@pytest.mark.parametrize(("index", "model"), CASES)
def test_decomposition_matches_mclust(index, model):
    case, X, z = _case(index)
    ref = case["models"][model]["mstep"]
    gm = _fit(X, z, model, max_iter=0)
    G, d = gm.means_.shape
    # The attributes rebuild the covariances, with det(A_k) = 1, D_k orthogonal.
    rebuilt = np.einsum(
        "k,kij,kj,klj->kil", gm.volumes_, gm.orientations_, gm.shapes_, gm.orientations_
    )
    assert_allclose(
        rebuilt, gm.covariances_, rtol=1e-10, atol=1e-12 * np.abs(rebuilt).max()
    )
    assert_allclose(np.prod(gm.shapes_, axis=1), 1.0, rtol=1e-10)
    eye = np.broadcast_to(np.eye(d), (G, d, d))
    assert_allclose(
        np.einsum("kji,kjl->kil", gm.orientations_, gm.orientations_), eye, atol=1e-12
    )
    if model in DIFFERENT:
        return
    rtol = max(TOLERANCES.get(model, CLOSED)[1], 1e-9)
    if ref["scale"] is not None:
        volumes = np.broadcast_to(np.array(ref["scale"], dtype=float).reshape(-1), (G,))
        assert_allclose(gm.volumes_, volumes, rtol=rtol)
    if ref["shape"] is not None:
        shapes = np.array(ref["shape"], dtype=float)
        shapes = np.broadcast_to(
            shapes[:, None] if shapes.ndim == 1 else shapes, (d, G)
        ).T
        if model[2] == "I":  # axis-aligned: shapes in feature order
            assert_allclose(gm.shapes_, shapes, rtol=rtol)
        else:
            assert_allclose(
                np.sort(gm.shapes_, axis=1), np.sort(shapes, axis=1), rtol=rtol
            )
    if model.endswith("E"):
        assert_allclose(gm.orientations_, gm.orientations_[:1].repeat(G, axis=0))


# ----------------------------------------------------------------- df
@pytest.mark.parametrize(
    "row", REF["df"], ids=[f"{r['model']}-d{r['d']}-G{r['G']}" for r in REF["df"]]
)
def test_parameter_count_equals_mclust_df(row):
    G, d = row["G"], row["d"]
    model = get_model(row["model"])
    assert model.n_cov_parameters(G, d) + G * d + G - 1 == row["df"]


@pytest.mark.parametrize(("index", "model"), CASES[::3])
def test_n_parameters_of_fitted_model_equals_mclust_df(index, model):
    case, X, z = _case(index)
    gm = _fit(X, z, model, max_iter=0)
    (df,) = [
        r["df"]
        for r in REF["df"]
        if r["model"] == model and r["d"] == X.shape[1] and r["G"] == case["G"]
    ]
    assert gm.n_parameters() == df


# ---------------------------------------------------- densities and sampling
ALL_MODELS = [*MCLUST_MODELS, "E", "V"]


def _fitted(model, seed=0):
    X = DATA["waiting"] if model in ("E", "V") else DATA["far"]
    gm = GaussianMixture(
        3, covariance_type=model, max_iter=5, tol=0.0, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gm.fit(X), X


@pytest.mark.parametrize("model", ALL_MODELS)
def test_log_density_matches_scipy(model):
    gm, X = _fitted(model)
    parts = np.column_stack(
        [
            np.log(gm.weights_[k])
            + multivariate_normal(gm.means_[k], gm.covariances_[k]).logpdf(X)
            for k in range(3)
        ]
    )
    assert_allclose(gm.score_samples(X), logsumexp(parts, axis=1), rtol=1e-10)
    precisions = np.linalg.inv(gm.covariances_)
    assert_allclose(
        gm.precisions_, precisions, rtol=1e-8, atol=1e-10 * np.abs(precisions).max()
    )
    P = gm.precisions_cholesky_
    assert_allclose(P @ P.transpose(0, 2, 1), gm.precisions_, rtol=1e-10, atol=1e-14)
    assert np.allclose(np.tril(P, -1), 0.0)


@pytest.mark.parametrize("model", ALL_MODELS)
def test_samples_have_the_model_moments(model):
    gm, _ = _fitted(model)
    n = 60_000
    samples, labels = gm.sample(n, random_state=1)
    counts = np.bincount(labels, minlength=3)
    # multinomial counts within 5 standard deviations
    sd = np.sqrt(n * gm.weights_ * (1 - gm.weights_))
    assert np.all(np.abs(counts - n * gm.weights_) < 5 * sd)
    for k in range(3):
        part = samples[labels == k]
        cov = gm.covariances_[k]
        se = np.sqrt(np.diag(cov) / len(part))
        assert np.all(np.abs(part.mean(axis=0) - gm.means_[k]) < 5 * se)
        emp = np.cov(part, rowvar=False).reshape(cov.shape)
        # entries of a sample covariance have sd sqrt((s_ij^2 + s_ii s_jj) / n)
        sd_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / len(part))
        assert np.all(np.abs(emp - cov) < 5 * sd_cov)


@pytest.mark.parametrize("model", ALL_MODELS)
def test_chunking_does_not_change_the_fit(model):
    X = DATA["waiting"] if model in ("E", "V") else DATA["iris"]
    index = next(
        i
        for i, c in enumerate(REF["cases"])
        if c["data"] == ("waiting" if model in ("E", "V") else "iris") and c["G"] == 3
    )
    z = np.array(REF["cases"][index]["z"])
    whole = _fit(X, z, model, max_iter=5)
    chunked = _fit(X, z, model, max_iter=5, chunk_size=7)
    assert_allclose(chunked.covariances_, whole.covariances_, rtol=1e-9, atol=1e-12)
    assert_allclose(chunked.means_, whole.means_, rtol=1e-10)
    assert_allclose(
        chunked.log_likelihood_history_, whole.log_likelihood_history_, rtol=1e-11
    )


# --------------------------------------------------------- names and shapes
@pytest.mark.parametrize(
    ("alias", "name"),
    [("full", "VVV"), ("tied", "EEE"), ("diag", "VVI"), ("spherical", "VII")],
)
def test_sklearn_alias_and_mclust_name_give_the_same_fit(alias, name):
    X, z = DATA["iris"], np.array(REF["cases"][3]["z"])
    a = _fit(X, z, alias, max_iter=3, reg_covar=1e-6)
    b = _fit(X, z, name, max_iter=3, reg_covar=1e-6)
    k, d = a.means_.shape
    native = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}
    assert a.covariances_.shape == a.precisions_.shape == native[alias]
    assert a.precisions_cholesky_.shape == native[alias]
    assert b.covariances_.shape == b.precisions_.shape == (k, d, d)
    assert b.precisions_cholesky_.shape == (k, d, d)
    model = get_model(alias)
    assert_allclose(b.covariances_, model.dense(a.covariances_, k, d), rtol=1e-13)
    assert_allclose(b.precisions_, model.dense(a.precisions_, k, d), rtol=1e-13)
    assert_allclose(b.log_likelihood_history_, a.log_likelihood_history_, rtol=1e-13)
    assert_allclose(b.score_samples(X), a.score_samples(X), rtol=1e-13)


@pytest.mark.parametrize("model", ["E", "V"])
def test_one_dimensional_models_refuse_several_features(model):
    with pytest.raises(
        InvalidParameterError,
        match=rf"covariance_type='{model}' is mclust's model for one-dimensional "
        "data, but X has 4 features",
    ):
        GaussianMixture(2, covariance_type=model).fit(DATA["iris"])


@pytest.mark.parametrize("model", ALL_MODELS)
def test_precisions_init_of_the_model_form_is_used(model):
    gm, X = _fitted(model)
    again = GaussianMixture(
        3,
        covariance_type=model,
        weights_init=gm.weights_,
        means_init=gm.means_,
        precisions_init=gm.precisions_,
        max_iter=0,
    ).fit(X)
    assert_allclose(
        again.precisions_,
        gm.precisions_,
        rtol=1e-9,
        atol=1e-12 * np.abs(gm.precisions_).max(),
    )
    assert_allclose(again.score_samples(X), gm.score_samples(X), rtol=1e-10)


_ROT = np.array([[0.8, -0.6, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    ("model", "covariances", "problem"),
    [
        ("EII", [np.eye(3), 2 * np.eye(3)], "volumes"),
        ("VII", [np.diag([1.0, 2.0, 1.0]), np.eye(3)], "not spherical"),
        ("EEI", [np.diag([1.0, 2.0, 3.0]), np.diag([3.0, 2.0, 1.0])], "shapes"),
        ("VVI", [_ROT @ np.diag([1.0, 2.0, 3.0]) @ _ROT.T, np.eye(3)], "not diagonal"),
        ("EEE", [np.eye(3), np.diag([1.0, 2.0, 0.5])], "differ"),
        ("VEE", [np.diag([1.0, 2.0, 3.0]), np.diag([1.0, 3.0, 2.0])], "differ"),
        (
            "EVE",
            [np.diag([1.0, 2.0, 3.0]), _ROT @ np.diag([2.0, 1.0, 3.0]) @ _ROT.T],
            "share their eigenvectors",
        ),
        ("EVV", [np.eye(3), 2 * np.eye(3)], "volumes"),
        (
            "VEV",
            [np.diag([1.0, 2.0, 3.0]), _ROT @ np.diag([1.0, 1.0, 6.0]) @ _ROT.T],
            "shapes",
        ),
    ],
)
def test_precisions_init_violating_the_model_is_refused(model, covariances, problem):
    precisions = np.linalg.inv(np.array(covariances))
    gm = GaussianMixture(2, covariance_type=model, precisions_init=precisions)
    with pytest.raises(
        InvalidParameterError,
        match=rf"precisions_init does not satisfy covariance_type='{model}'.*{problem}",
    ):
        gm.fit(DATA["far"])


def test_numerically_singular_covariances_are_refused_whatever_the_rounding():
    """A covariance whose last feature's variance given the others is 2^-51
    of its own (4.4e-16, below 3 units of rounding) factorises exactly in
    floating point (powers of two), yet is singular to working precision:
    FitError, not a fit decided by rounding.  Badly scaled but
    well-determined features are kept."""
    from gmmkit.covariance._base import factor_full, numerically_singular

    L = np.array([[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [2.0**-10, -(2.0**-10), 2.0**-35]])
    near = L @ L.T
    assert np.array_equal(np.linalg.cholesky(near), L)  # Cholesky succeeds
    assert numerically_singular(L, near)
    assert not numerically_singular(L * [1.0, 1.0, 2.0**8], near)
    scaled = np.diag([1e-8, 1.0, 1e8]) + 1e-9 * np.ones((3, 3))
    stack = np.stack([scaled, near])
    assert_allclose(
        factor_full(stack[:1], 0.0)[0] @ factor_full(stack[:1], 0.0)[0].T,
        np.linalg.inv(scaled),
        rtol=1e-9,
    )
    with pytest.raises(FitError, match="component 1 is not positive definite"):
        factor_full(stack, 0.0)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_collinear_data_give_a_fit_error_or_a_valid_fit(model):
    # Column 2 = 2 * column 0 + 1: every full covariance is singular, while
    # the axis-aligned models still have positive variances.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    X[:, 2] = 2.0 * X[:, 0] + 1.0
    z = np.repeat(np.eye(2), 100, axis=0)
    gm = GaussianMixture(2, covariance_type=model, resp_init=z, reg_covar=0.0)
    if model.endswith("I"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X)
        assert np.isfinite(gm.score(X))
    else:
        with pytest.raises(FitError, match="not positive definite.*reg_covar"):
            gm.fit(X)


@pytest.mark.parametrize("name", ["diag", "spherical"])
def test_axis_aligned_bookkeeping_matches_the_dense_route(name):
    """ "diag" / "spherical" get covariances from their factors and the volume-shape-
    orientation decomposition without (K, d, d) matrices: the same values as
    the generic route through dense covariances."""
    from gmmkit.covariance._decomposed import decompose

    model = get_model(name)
    rng = np.random.default_rng(3)
    k, d = 4, 6
    cov = rng.uniform(0.1, 5.0, size=model.native_shape(k, d))
    chol = model.precisions_cholesky(cov, 0.0)
    factors = model.covariance_factors(chol, k, d)
    generic = model.from_dense(np.matmul(factors.transpose(0, 2, 1), factors))
    assert_allclose(model.covariances_from_cholesky(chol, k, d), cov, rtol=1e-13)
    assert_allclose(generic, cov, rtol=1e-13)
    got = model.decomposition(cov, k, d)
    want = decompose(model.dense(cov, k, d), "V")  # eigen route, no shortcut
    order = np.argsort(-np.diagonal(model.dense(cov, k, d), axis1=1, axis2=2))
    assert_allclose(got[0], want[0], rtol=1e-12)
    assert_allclose(np.take_along_axis(got[1], order, axis=1), want[1], rtol=1e-10)
    assert_allclose(got[2], np.broadcast_to(np.eye(d), (k, d, d)))
    assert not got[2].flags.writeable  # one identity seen K times, not K copies


# ------------------------------------------ what each model tells the rest
from gmmkit import _kernels  # noqa: E402
from gmmkit.covariance import (  # noqa: E402
    COVARIANCE_TYPES,
    MCLUST_MODELS_1D,
    SINGULAR_RCOND,
    _jit,
    reciprocal_condition,
    to_dense,
)

ALL_TYPES = list(COVARIANCE_TYPES)


def _model_params(name, k, d, seed=0):
    """Native covariances of model ``name`` from its own M-step."""
    model = get_model(name)
    rng = np.random.default_rng(seed)
    nk = rng.uniform(5, 20, size=k)
    a = rng.normal(size=(k, d, d))
    scatter = nk[:, None, None] * (a @ a.transpose(0, 2, 1) / d + np.eye(d))
    if model.moments == "diag":
        scatter = np.diagonal(scatter, axis1=1, axis2=2).copy()
    return model, model.covariances_from_scatter(nk, scatter, 0.0)


@pytest.mark.parametrize("name", ALL_TYPES)
def test_kernel_factors_are_the_precision_factors_in_the_kernels_layout(name):
    k, d = 3, 1 if name in MCLUST_MODELS_1D else 4
    model, cov = _model_params(name, k, d)
    chol = model.precisions_cholesky(cov, 0.0)
    factors = model.kernel_factors(chol, k, d)
    assert factors.flags.c_contiguous and factors.dtype == np.float64
    dense_chol = model.dense(chol, k, d)
    if model.kernel_kind == "full":
        assert factors.shape == (k, d, d)
        assert_allclose(factors, dense_chol, rtol=1e-15)
    else:
        assert factors.shape == (k, d)
        assert_allclose(factors, np.diagonal(dense_chol, axis1=1, axis2=2) ** 2)
    # and they reproduce the model's own log-density
    X = np.random.default_rng(1).normal(size=(7, d))
    means = np.random.default_rng(2).normal(size=(k, d))
    inputs = _kernels.kernel_inputs(model, np.full(k, 1.0 / k), chol, d)
    if inputs is not None:
        kind, f, logc = inputs
        got = _kernels.log_prob_chunk(kind, X, np.zeros(d), means, f, logc)
        want = model.log_gaussian(X, means, chol) + np.log(1.0 / k)
        assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("name", ALL_TYPES)
def test_to_dense_reads_every_model_and_scikit_learn_shapes(name):
    k, d = 3, 1 if name in MCLUST_MODELS_1D else 4
    model, cov = _model_params(name, k, d)
    dense = to_dense(cov, name, k, d)
    assert dense.shape == (k, d, d)
    assert_allclose(dense, model.dense(cov, k, d))
    dense[...] = 0.0  # a new array
    assert np.abs(model.dense(cov, k, d)).max() > 0


@pytest.mark.parametrize(
    ("alias", "name"),
    [("full", "VVV"), ("tied", "EEE"), ("diag", "VVI"), ("spherical", "VII")],
)
def test_mclust_names_of_scikit_learn_models_accept_scikit_learn_shapes(alias, name):
    k, d = 3, 4
    model, native = _model_params(alias, k, d)
    want = model.dense(native, k, d)
    assert_allclose(get_model(name).dense(native, k, d), want)
    assert_allclose(to_dense(native, name, k, d), want)
    if alias != "full":  # unambiguous shapes are read without a name
        assert_allclose(to_dense(native, None, k, d), want)


def test_to_dense_refuses_unreadable_shapes():
    with pytest.raises(InvalidParameterError, match=r"Cannot read covariances_"):
        to_dense(np.ones((2, 5)), "full", 3, 4)
    with pytest.raises(InvalidParameterError, match=r"Cannot read covariances_"):
        to_dense(np.ones((3, 3)), None, 3, 3)  # tied or diag: ambiguous


def test_squarem_and_prior_rules_are_the_models_own():
    """The lists SQUAREM and the prior kept before (mclust's MAP models;
    unconstrained or linearly constrained covariances) now come from the
    classes; E and V (one feature, unconstrained) are extrapolable too."""
    from gmmkit._prior import PRIOR_MODELS
    from gmmkit._squarem import SUPPORTED

    assert SUPPORTED == {"VVV", "EEE", "VVI", "VII", "EEI", "EII", "E", "V"}
    assert set(PRIOR_MODELS) == {
        "E", "V", "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV",
    }  # fmt: skip
    for alias in ("full", "tied", "diag", "spherical"):
        assert get_model(alias).squarem
        assert get_model(alias).prior_rule is not None
    for name in MCLUST_MODELS:
        model = get_model(name)
        rule = model.prior_rule
        if rule is not None:
            assert rule.scale == ("scalar" if model.moments == "diag" else "matrix")
            assert get_model(rule.one_component).prior_rule is not None


@pytest.mark.parametrize("name", ["VEI", "VEV", "VEE", "EVE", "VVE"])
def test_compiled_inner_loops_equal_their_python_source(name, monkeypatch):
    """The inner loops are one source: compiled (numba) or run as Python they
    give the same covariances (to rounding)."""
    k, d = 3, 4
    model, compiled_cov = _model_params(name, k, d, seed=5)
    monkeypatch.setattr(_jit, "_HAVE_NUMBA", False)
    _, python_cov = _model_params(name, k, d, seed=5)
    assert_allclose(python_cov, compiled_cov, rtol=1e-9, atol=1e-12)


def test_reciprocal_condition_does_not_depend_on_the_units():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 4, 4))
    dense = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(4)
    dense[2] = np.outer([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]) + 1e-20 * np.eye(4)
    for scale in (None, 1.0):
        ref = reciprocal_condition(dense, scale)
        for c in (1e-8, 1e8):
            got = reciprocal_condition(dense * c**2, None if scale is None else c)
            assert_allclose(got, ref, rtol=1e-9)
        assert np.all(ref[:2] > SINGULAR_RCOND) and ref[2] <= SINGULAR_RCOND
    # a component collapsed onto a point is singular against the data's scale
    point = 1e-20 * np.eye(4)[None]
    assert reciprocal_condition(point, None)[0] == 1.0
    assert reciprocal_condition(point, 1.0)[0] <= SINGULAR_RCOND


def test_regularisation_share_says_when_reg_covar_dominates():
    from gmmkit.covariance import regularisation_share

    X, z = DATA["iris"], np.array(REF["cases"][2]["z"], dtype=float)
    for units, dominated in ((1.0, False), (1e-8, True)):
        if dominated:  # the estimator says so too
            with pytest.warns(UserWarning, match="reg_covar=1e-06 is not small"):
                gm = _fit(X * units, z, "VVV", max_iter=3, reg_covar=1e-6)
        else:
            gm = _fit(X * units, z, "VVV", max_iter=3, reg_covar=1e-6)
        share = regularisation_share(gm.covariances_, 1e-6)
        assert share.shape == (z.shape[1],)
        assert (share.max() > 0.5) == dominated
    assert not regularisation_share(gm.covariances_, 0.0).any()


@pytest.mark.parametrize("d", [1, 4, 20])
def test_compiled_factorisation_equals_numpy(d, monkeypatch):
    """factor_full's compiled loop and numpy's stacked Cholesky give the same
    factors and refuse the same (singular to working precision) components."""
    from gmmkit.covariance._base import factor_full

    rng = np.random.default_rng(d)
    a = rng.normal(size=(4, d, d))
    cov = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(d)
    fast = factor_full(cov, 0.0)
    bad = cov.copy()
    # rank one (in 1-D: zero)
    bad[2] = np.outer(a[2, :, 0], a[2, :, 0]) if d > 1 else 0.0
    bad[3, 0, 0] = np.nan
    with pytest.raises(FitError, match=r"components? 2, 3 is not positive"):
        factor_full(bad, 0.0)
    monkeypatch.setattr(_jit, "_HAVE_NUMBA", False)
    assert_allclose(fast, factor_full(cov, 0.0), rtol=1e-12, atol=1e-14)
    with pytest.raises(FitError, match=r"components? 2, 3 is not positive"):
        factor_full(bad, 0.0)
