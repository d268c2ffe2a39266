"""GaussianMixtureRegressor against independent oracles: gmr 2.0.3's
prediction from the same parameters (full covariances), the law of total
variance over gmr's conditional mixture, dense algebra with explicit inverses
(every covariance model), sampling moments, and scikit-learn's checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gmr import GMM
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from gmmkit import (
    DataError,
    GaussianMixture,
    GaussianMixtureRegressor,
    InvalidParameterError,
)
from gmmkit.covariance import COVARIANCE_TYPES, to_dense


def _wave(n: int = 800, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=(n, 1))
    return x, np.sin(2 * x[:, 0]) + 0.3 * x[:, 0] + 0.1 * rng.normal(size=n)


def _multi(n: int = 900, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Three inputs, two targets, three clusters with different slopes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) + np.repeat(
        [[0, 0, 0], [4, 1, -2], [-3, 3, 1]], n // 3, 0
    )
    slopes = rng.normal(size=(3, 3, 2))
    group = np.repeat(np.arange(3), n // 3)
    Y = np.einsum("ni,nit->nt", X, slopes[group]) + 0.2 * rng.normal(size=(n, 2))
    return X, Y


def _dense(gm: GaussianMixture) -> np.ndarray:
    k, d = gm.means_.shape
    return to_dense(gm.covariances_, gm.covariance_type, k, d)


def _gmr(reg: GaussianMixtureRegressor) -> GMM:
    gm = reg.mixture_
    return GMM(
        gm.n_components, priors=gm.weights_, means=gm.means_, covariances=_dense(gm)
    )


def _brute_force(gm, inputs, targets, X):
    """Mean and standard deviation of p(x_t | x_g) row by row, with explicit
    inverses and the law of total variance."""
    w, mu, cov = gm.weights_, gm.means_, _dense(gm)
    out_mean, out_std = [], []
    for x in X:
        dens, means, variances = [], [], []
        for k in range(gm.n_components):
            s = cov[k]
            s_gg = s[np.ix_(inputs, inputs)]
            s_tg = s[np.ix_(targets, inputs)]
            inv = np.linalg.inv(s_gg)
            r = x - mu[k, inputs]
            dens.append(
                w[k]
                * np.exp(-0.5 * r @ inv @ r)
                / np.sqrt(np.linalg.det(2 * np.pi * s_gg))
            )
            means.append(mu[k, targets] + s_tg @ inv @ r)
            variances.append(np.diag(s[np.ix_(targets, targets)] - s_tg @ inv @ s_tg.T))
        p = np.array(dens) / np.sum(dens)
        m, v = np.array(means), np.array(variances)
        mean = p @ m
        out_mean.append(mean)
        out_std.append(np.sqrt(p @ (v + m**2) - mean**2))
    return np.array(out_mean), np.array(out_std)


# ------------------------------------------------------------------ gmr oracle
def test_predict_matches_gmr_one_input_one_target():
    x, y = _wave()
    reg = GaussianMixtureRegressor(8, random_state=0).fit(x, y)
    grid = np.linspace(-3.5, 3.5, 101)[:, None]
    got = reg.predict(grid)
    assert got.shape == (101,)
    want = _gmr(reg).predict(np.array([0]), grid)[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_predict_matches_gmr_several_inputs_and_targets():
    X, Y = _multi()
    reg = GaussianMixtureRegressor(3, random_state=0).fit(X, Y)
    got = reg.predict(X[:50])
    assert got.shape == (50, 2)
    want = _gmr(reg).predict(np.arange(3), X[:50])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_return_std_is_the_law_of_total_variance_of_gmrs_conditional():
    X, Y = _multi()
    reg = GaussianMixtureRegressor(3, random_state=0).fit(X, Y)
    rows = X[::90]
    mean, std = reg.predict(rows, return_std=True)
    for i, x in enumerate(rows):
        cond = _gmr(reg).condition(np.arange(3), x)
        p, m = cond.priors, cond.means
        var = np.array([np.diag(c) for c in cond.covariances])
        total = p @ var + p @ (m - p @ m) ** 2  # E[Var] + Var[E]
        np.testing.assert_allclose(mean[i], p @ m, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(std[i], np.sqrt(total), rtol=1e-9)


# ---------------------------------------------- every model: dense algebra
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES[:-2])
def test_every_covariance_model_matches_dense_algebra(covariance_type):
    X, Y = _multi(450)
    reg = GaussianMixtureRegressor(
        3, covariance_type=covariance_type, random_state=0, max_iter=40, tol=1e-2
    ).fit(X, Y)
    rows = X[::45]
    mean, std = reg.predict(rows, return_std=True)
    want_mean, want_std = _brute_force(reg.mixture_, [0, 1, 2], [3, 4], rows)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(std, want_std, rtol=1e-8)


def test_one_dimensional_models_e_and_v_do_not_apply_but_a_1d_input_does():
    x, y = _wave(300)
    reg = GaussianMixtureRegressor(4, covariance_type="VVI", random_state=0).fit(x, y)
    mean, std = reg.predict(x[:20], return_std=True)
    want_mean, want_std = _brute_force(reg.mixture_, [0], [1], x[:20])
    np.testing.assert_allclose(mean, want_mean[:, 0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(std, want_std[:, 0], rtol=1e-8)


# ------------------------------------------------------------ missing inputs
def test_missing_inputs_condition_on_the_observed_ones():
    X, Y = _multi()
    reg = GaussianMixtureRegressor(3, random_state=0).fit(X, Y)
    rows = X[:12].copy()
    rows[0:4, 1] = np.nan
    rows[4:8, [0, 2]] = np.nan
    rows[8:10, :] = np.nan
    mean, std = reg.predict(rows, return_std=True)
    gm = reg.mixture_
    for block, observed in ((slice(0, 4), [0, 2]), (slice(4, 8), [1])):
        want_mean, want_std = _brute_force(
            gm, observed, [3, 4], rows[block][:, observed]
        )
        np.testing.assert_allclose(mean[block], want_mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(std[block], want_std, rtol=1e-8)
        gmr_mean = GMM(
            3,
            priors=gm.weights_,
            means=gm.means_[:, observed + [3, 4]],
            covariances=_dense(gm)[:, observed + [3, 4]][:, :, observed + [3, 4]],
        ).predict(np.arange(len(observed)), rows[block][:, observed])
        np.testing.assert_allclose(mean[block], gmr_mean, rtol=1e-10, atol=1e-10)
    # nothing observed: the targets' marginal mean and spread
    w, mu, cov = gm.weights_, gm.means_[:, 3:], _dense(gm)[:, 3:, 3:]
    marginal_mean = w @ mu
    marginal_var = w @ (np.diagonal(cov, axis1=1, axis2=2) + mu**2) - marginal_mean**2
    np.testing.assert_allclose(mean[8:10], [marginal_mean] * 2, rtol=1e-12)
    np.testing.assert_allclose(std[8:10], [np.sqrt(marginal_var)] * 2, rtol=1e-10)
    # complete rows are unaffected by their neighbours' NaN
    np.testing.assert_allclose(mean[10:], reg.predict(X[10:12]), rtol=1e-12)


def test_nan_policy_raise_rejects_nan_at_fit_and_predict():
    X, Y = _multi(300)
    reg = GaussianMixtureRegressor(2, nan_policy="raise", random_state=0).fit(X, Y)
    bad = X[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(DataError, match="row 1, column 2"):
        reg.predict(bad)
    with pytest.raises(DataError, match="NaN"):
        clone(reg).fit(bad, Y[:3])
    Ybad = Y.copy()
    Ybad[5, 1] = np.nan
    with pytest.raises(DataError, match="row 5, target 1"):
        clone(reg).fit(X, Ybad)


def test_missing_values_in_training_are_marginalised():
    X, Y = _multi(600)
    rng = np.random.default_rng(3)
    Xm, Ym = X.copy(), Y.copy()
    Xm[rng.random(X.shape) < 0.1] = np.nan
    Ym[rng.random(Y.shape) < 0.1] = np.nan
    reg = GaussianMixtureRegressor(3, random_state=0).fit(Xm, Ym)
    want = GaussianMixture(3, random_state=0, nan_policy="marginalize").fit(
        np.column_stack([Xm, Ym])
    )
    np.testing.assert_allclose(reg.mixture_.means_, want.means_, rtol=1e-12)
    assert reg.score(X, Y) > 0.8


# ------------------------------------------------------------------- sampling
def test_sample_y_shapes_are_gaussian_process_regressors():
    x, y = _wave(200)
    X, Y = _multi(300)
    reg1 = GaussianMixtureRegressor(3, random_state=0).fit(x, y)
    reg2 = GaussianMixtureRegressor(3, random_state=0).fit(X, Y)
    gp1 = GaussianProcessRegressor(optimizer=None).fit(x[:20], y[:20])
    gp2 = GaussianProcessRegressor(optimizer=None).fit(X[:20], Y[:20])
    assert reg1.sample_y(x[:7], 4).shape == gp1.sample_y(x[:7], 4).shape == (7, 4)
    assert reg1.sample_y(x[:7]).shape == gp1.sample_y(x[:7]).shape == (7, 1)
    assert reg2.sample_y(X[:7], 5).shape == gp2.sample_y(X[:7], 5).shape == (7, 2, 5)
    a = reg2.sample_y(X[:7], 5, random_state=4)
    np.testing.assert_array_equal(a, reg2.sample_y(X[:7], 5, random_state=4))
    assert not np.array_equal(a, reg2.sample_y(X[:7], 5, random_state=5))


def test_sample_y_moments_match_predict():
    X, Y = _multi()
    reg = GaussianMixtureRegressor(3, random_state=0).fit(X, Y)
    rows = X[[0, 400, 800]].copy()
    rows[1, 0] = np.nan  # a row with a missing input: a wider, mixed conditional
    n = 100_000
    draws = reg.sample_y(rows, n, random_state=0)
    mean, std = reg.predict(rows, return_std=True)
    se = std / np.sqrt(n)
    np.testing.assert_array_less(np.abs(draws.mean(axis=2) - mean), 5 * se)
    np.testing.assert_allclose(draws.std(axis=2), std, rtol=0.02)


def test_sample_y_draws_each_component_with_its_posterior_weight():
    """Two well separated branches at the same x: y given x is bimodal, and
    the draws split between the branches as the posterior says."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(1200, 1))
    branch = rng.random(1200) < 0.3
    y = np.where(branch, 5 + x[:, 0], -5 - x[:, 0]) + 0.1 * rng.normal(size=1200)
    reg = GaussianMixtureRegressor(2, random_state=0).fit(x, y)
    cond = reg.mixture_.condition([0], [0.2])
    upper = cond.weights_[np.argmax(cond.means_[:, 0])]
    draws = reg.sample_y([[0.2]], 50_000, random_state=1)[0]
    share = np.mean(draws > 0)
    assert abs(share - upper) < 5 * np.sqrt(upper * (1 - upper) / 50_000)
    assert 0.2 < upper < 0.4


# --------------------------------------------------------- scoring, weights
def test_score_is_r2_and_nonlinear_fit_is_good():
    x, y = _wave(1200, seed=0)
    x_test, y_test = _wave(400, seed=1)
    reg = GaussianMixtureRegressor(10, random_state=0).fit(x, y)
    score = reg.score(x_test, y_test)
    assert score == pytest.approx(r2_score(y_test, reg.predict(x_test)), rel=1e-12)
    assert score > 0.8
    linear = GaussianMixtureRegressor(1).fit(x, y).score(x_test, y_test)
    assert score > linear + 0.3  # one component is linear regression


def test_one_component_is_ordinary_least_squares():
    X, Y = _multi(300)
    reg = GaussianMixtureRegressor(1, reg_covar=0.0).fit(X, Y[:, 0])
    design = np.column_stack([np.ones(len(X)), X])
    coef, *_ = np.linalg.lstsq(design, Y[:, 0], rcond=None)
    np.testing.assert_allclose(reg.predict(X), design @ coef, rtol=1e-8, atol=1e-8)


def test_sample_weight_zero_drops_rows_and_integers_repeat_them():
    X, Y = _multi(300)
    w = np.zeros(300)
    w[:200] = 1.0
    w[:50] = 3.0
    inits = GaussianMixture(2, random_state=0).fit(np.column_stack([X, Y]))
    kwargs = dict(
        weights_init=inits.weights_,
        means_init=inits.means_,
        precisions_init=inits.precisions_,
        tol=1e-8,
        max_iter=500,
    )
    weighted = GaussianMixtureRegressor(2, **kwargs).fit(X, Y, sample_weight=w)
    rows = np.concatenate([np.repeat(np.arange(50), 3), np.arange(50, 200)])
    repeated = GaussianMixtureRegressor(2, **kwargs).fit(X[rows], Y[rows])
    np.testing.assert_allclose(
        weighted.predict(X[250:]), repeated.predict(X[250:]), rtol=1e-6, atol=1e-8
    )


# ------------------------------------------------------------ scikit-learn
# check_estimator: tests/test_estimator_checks.py runs scikit-learn's checks on
# GaussianMixtureRegressor() and GaussianMixtureRegressor(2, "VVV").


def test_clone_cross_val_score_and_grid_search():
    x, y = _wave(600)
    reg = GaussianMixtureRegressor(6, covariance_type="full", random_state=0)
    twin = clone(reg)
    assert twin.get_params() == reg.get_params()
    scores = cross_val_score(reg, x, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and scores.min() > 0.8
    search = GridSearchCV(
        reg, {"n_components": [1, 6]}, cv=KFold(3, shuffle=True, random_state=0)
    ).fit(x, y)
    assert search.best_params_ == {"n_components": 6}


def test_parameters_are_those_of_gaussian_mixture():
    gm = GaussianMixture().get_params()
    reg = GaussianMixtureRegressor().get_params()
    # all but the noise component's (a uniform noise in the joint space is
    # no regression model)
    assert set(reg) == set(gm) - {"noise_init", "hypervolume"}
    differing = {k for k in reg if gm[k] != reg[k]}
    assert differing == {"nan_policy"}  # "marginalize": see the docstring
    x, y = _wave(200)
    fitted = GaussianMixtureRegressor(3, covariance_type="EVI", reg_covar=1e-3).fit(
        x, y
    )
    assert fitted.mixture_.covariance_type == "EVI"
    assert fitted.mixture_.reg_covar == 1e-3


def test_dataframe_names_flow_into_the_joint_mixture():
    X, Y = _multi(300)
    frame = pd.DataFrame(X, columns=["u", "v", "w"])
    targets = pd.DataFrame(Y, columns=["p", "q"])
    reg = GaussianMixtureRegressor(2, random_state=0).fit(frame, targets)
    np.testing.assert_array_equal(reg.feature_names_in_, ["u", "v", "w"])
    np.testing.assert_array_equal(reg.mixture_.feature_names_in_, list("uvwpq"))
    # the joint mixture answers questions by name
    cond = reg.mixture_.condition(["u", "v", "w"], X[0])
    np.testing.assert_allclose(cond.weights_ @ cond.means_, reg.predict(frame[:1])[0])
    series = GaussianMixtureRegressor(2, random_state=0).fit(frame, targets["p"])
    np.testing.assert_array_equal(series.mixture_.feature_names_in_, list("uvwp"))
    assert series.predict(frame).shape == (300,)


def test_column_y_predicts_a_column():
    x, y = _wave(200)
    reg = GaussianMixtureRegressor(2, random_state=0)
    flat = reg.fit(x, y).predict(x)
    column = clone(reg).fit(x, y[:, None]).predict(x)
    assert column.shape == (200, 1)
    np.testing.assert_allclose(column[:, 0], flat)
    assert clone(reg).fit(x, y[:, None]).sample_y(x[:3], 2).shape == (3, 1, 2)


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (None, DataError, "requires y to be passed"),
        (np.zeros(5), DataError, "y has 5 rows but X has 200"),
        (np.array(["a"] * 200), DataError, "y must hold numbers"),
        (np.full(200, np.inf), DataError, "y contains inf at row 0"),
        (np.zeros((200, 0)), DataError, "at least one target"),
        (np.zeros((200, 1, 1)), DataError, "shape"),
    ],
)
def test_bad_targets_are_clear_errors(y, error, match):
    x, _ = _wave(200)
    with pytest.raises(error, match=match):
        GaussianMixtureRegressor().fit(x, y)


def test_bad_prediction_arguments_are_clear_errors():
    x, y = _wave(200)
    reg = GaussianMixtureRegressor(2, random_state=0).fit(x, y)
    with pytest.raises(InvalidParameterError, match="return_std"):
        reg.predict(x, return_std="yes")
    with pytest.raises(InvalidParameterError, match="n_samples"):
        reg.sample_y(x, 0)
    with pytest.raises(DataError, match="features"):
        reg.predict(np.zeros((3, 2)))
    with pytest.raises(InvalidParameterError, match="nan_policy"):
        GaussianMixtureRegressor(nan_policy="drop").fit(x, y)


@pytest.mark.slow
def test_a_million_queries_in_bounded_memory():
    """1e6 rows go through in blocks (no per-row loop): predict with std and
    agree with gmr on a slice."""
    x, y = _wave(2000)
    reg = GaussianMixtureRegressor(10, random_state=0).fit(x, y)
    queries = np.random.default_rng(2).uniform(-3, 3, size=(1_000_000, 1))
    mean, std = reg.predict(queries, return_std=True)
    assert mean.shape == std.shape == (1_000_000,)
    sl = queries[::10_000]
    np.testing.assert_allclose(
        mean[::10_000],
        _gmr(reg).predict(np.array([0]), sl)[:, 0],
        rtol=1e-10,
        atol=1e-10,
    )


def test_warm_start_continues_the_joint_mixture():
    X, Y = _multi(300)
    joint = np.column_stack([X, Y])
    kwargs = dict(warm_start=True, max_iter=2, random_state=0)
    reg = GaussianMixtureRegressor(3, **kwargs)
    gm = GaussianMixture(3, **kwargs)
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, Y)
        first = reg.mixture_
        reg.fit(X, Y)
        gm.fit(joint)
        gm.fit(joint)
    assert reg.mixture_ is first
    np.testing.assert_allclose(reg.mixture_.means_, gm.means_, rtol=1e-12)
