"""GaussianMixture.marginal and .condition against independent oracles:
gmr 2.0.3 (full covariances, from the same parameters), scipy.stats
densities, dense algebra with explicit inverses (every covariance model), the
joint density divided by the marginal one, and sampling moments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gmr import GMM
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import gmmkit
from gmmkit import GaussianMixture, InvalidParameterError
from gmmkit._gaussian import conditioner
from gmmkit.covariance import (
    COVARIANCE_TYPES,
    MCLUST_MODELS,
    get_model,
    subset_type,
    to_dense,
)


def _data(n: int = 600, d: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal(size=(n // 3, d)) @ rng.normal(size=(d, d)) + 4 * rng.normal(size=d)
        for _ in range(3)
    ]
    return np.vstack(parts)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return _data()


def _fit(X: np.ndarray, covariance_type: str, k: int = 3) -> GaussianMixture:
    return GaussianMixture(
        k, covariance_type=covariance_type, random_state=0, max_iter=30, tol=1e-2
    ).fit(X)


def _dense(gm: GaussianMixture) -> np.ndarray:
    k, d = gm.means_.shape
    return to_dense(gm.covariances_, gm.covariance_type, k, d)


def _gmr(gm: GaussianMixture) -> GMM:
    return GMM(
        n_components=gm.n_components,
        priors=gm.weights_,
        means=gm.means_,
        covariances=_dense(gm),
    )


# ------------------------------------------------------------------- gmr oracle
@pytest.mark.parametrize("given", [[0], [3, 1], [4, 0, 2], [0, 1, 2, 3]])
def test_condition_matches_gmr_for_full_covariances(X, given):
    gm = _fit(X, "full")
    rng = np.random.default_rng(1)
    for row in X[rng.choice(len(X), 3)]:
        values = row[given] + rng.normal(size=len(given))
        got = gm.condition(given, values)
        want = _gmr(gm).condition(np.array(given), values)
        assert got.covariance_type == "full"
        np.testing.assert_allclose(got.weights_, want.priors, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(got.means_, want.means, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(
            got.covariances_, want.covariances, rtol=1e-10, atol=1e-10
        )


def test_condition_order_of_given_features_does_not_matter(X):
    gm = _fit(X, "full")
    a = gm.condition([1, 3], [0.2, -1.0])
    b = gm.condition([3, 1], [-1.0, 0.2])
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-12)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-12)


# ----------------------------------------------------- marginals against scipy
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES[:-2])
def test_marginal_density_matches_scipy(X, covariance_type):
    gm = _fit(X, covariance_type)
    index = [4, 1, 2]
    marg = gm.marginal(index)
    dense = _dense(gm)
    points = X[::37][:, index]
    want = logsumexp(
        [
            np.log(gm.weights_[k])
            + multivariate_normal(
                gm.means_[k, index], dense[k][np.ix_(index, index)]
            ).logpdf(points)
            for k in range(gm.n_components)
        ],
        axis=0,
    )
    np.testing.assert_allclose(marg.score_samples(points), want, rtol=1e-10)
    assert marg.covariance_type == subset_type(covariance_type)
    assert marg.n_features_in_ == 3
    model = get_model(marg.covariance_type)
    assert np.shape(marg.covariances_) == model.native_shape(gm.n_components, 3)


def test_marginal_keeps_the_listed_order_and_one_feature(X):
    gm = _fit(X, "full")
    marg = gm.marginal([3, 0])
    np.testing.assert_array_equal(marg.means_, gm.means_[:, [3, 0]])
    one = gm.marginal(2)
    assert one.means_.shape == (3, 1)
    x = np.linspace(-5, 5, 7)
    dense = _dense(gm)
    want = np.log(
        sum(
            gm.weights_[k] * multivariate_normal(gm.means_[k, 2], dense[k, 2, 2]).pdf(x)
            for k in range(3)
        )
    )
    np.testing.assert_allclose(one.score_samples(x[:, None]), want, rtol=1e-10)


def test_marginal_of_every_feature_is_the_model_itself(X):
    gm = _fit(X, "full")
    same = gm.marginal(list(range(5)))
    np.testing.assert_allclose(same.score_samples(X), gm.score_samples(X), rtol=1e-12)


# -------------------------------------------- every model against dense algebra
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES[:-2])
def test_condition_matches_dense_algebra(X, covariance_type):
    gm = _fit(X, covariance_type)
    given, rest = np.array([2, 0]), np.array([1, 3, 4])
    values = np.array([X[:, 2].mean() + 0.5, X[:, 0].mean() - 1.0])
    got = gm.condition([2, 0], values)
    assert got.covariance_type == subset_type(covariance_type)
    dense = _dense(gm)
    dens, means, covs = [], [], []
    for k in range(gm.n_components):
        s = dense[k]
        s_gg, s_rg = s[np.ix_(given, given)], s[np.ix_(rest, given)]
        inv = np.linalg.inv(s_gg)
        dens.append(
            gm.weights_[k] * multivariate_normal(gm.means_[k, given], s_gg).pdf(values)
        )
        means.append(gm.means_[k, rest] + s_rg @ inv @ (values - gm.means_[k, given]))
        covs.append(s[np.ix_(rest, rest)] - s_rg @ inv @ s_rg.T)
    weights = np.array(dens) / np.sum(dens)
    np.testing.assert_allclose(got.weights_, weights, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(got.means_, np.array(means), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(_dense(got), np.array(covs), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("covariance_type", MCLUST_MODELS)
def test_derived_models_satisfy_their_declared_constraints(X, covariance_type):
    """The model named by subset_type really describes the marginal and the
    conditional: their precisions pass that model's constraint checks."""
    gm = _fit(X, covariance_type)
    for derived in (gm.marginal([0, 2, 4]), gm.condition([1, 3], [0.0, 1.0])):
        model = get_model(derived.covariance_type)
        model.check_precisions(derived.precisions_, gm.n_components, 3)


def test_constrained_models_that_do_not_survive_become_general():
    assert subset_type("EVI") == "VVI"
    assert subset_type("tied") == "full"
    assert subset_type("EEE") == "VVV"
    for name in ("spherical", "diag", "full", "EII", "VII", "EEI", "VEI", "VVI"):
        assert subset_type(name) == name


def test_diagonal_models_condition_only_the_weights(X):
    """Axis-aligned components have no correlation: conditioning changes only
    which component is likely, not their means or variances."""
    gm = _fit(X, "diag")
    got = gm.condition([0], [X[0, 0]])
    np.testing.assert_array_equal(got.means_, gm.means_[:, 1:])
    np.testing.assert_array_equal(got.covariances_, gm.covariances_[:, 1:])
    assert not np.allclose(got.weights_, gm.weights_)


def test_conditional_density_is_joint_over_marginal(X):
    """log p(x_r | x_g = v) = log p(x_r, v) - log p(v), the right side from
    the full model's own scoring (the ordinary E-step kernels)."""
    gm = _fit(X, "VEV")
    given = [1, 4]
    v = X[5, given] + 0.3
    cond = gm.condition(given, v)
    rest_points = X[::50][:, [0, 2, 3]]
    full = np.empty((rest_points.shape[0], 5))
    full[:, [0, 2, 3]] = rest_points
    full[:, given] = v
    want = gm.score_samples(full) - gm.marginal(given).score_samples(v[None])[0]
    np.testing.assert_allclose(cond.score_samples(rest_points), want, rtol=1e-9)


# ------------------------------------------------------------------- sampling
def test_conditional_samples_have_the_conditional_moments(X):
    gm = _fit(X, "full")
    cond = gm.condition([0, 1], X[10, :2])
    n = 200_000
    draws, _ = cond.sample(n, random_state=3)
    w, m, c = cond.weights_, cond.means_, _dense(cond)
    mean = w @ m
    cov = np.einsum("k,kij->ij", w, c + m[:, :, None] * m[:, None, :]) - np.outer(
        mean, mean
    )
    sd = np.sqrt(np.diag(cov))
    # the sample mean's standard error is sd / sqrt(n): 5 of them
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 5 * sd / np.sqrt(n))
    # a sample variance's standard error is below sd^2 sqrt(2 (kurtosis)/n)
    np.testing.assert_allclose(np.cov(draws.T), cov, rtol=0.03, atol=0.03 * sd.max())


# ----------------------------------------------------- names, files, errors
def test_feature_names_select_and_carry_over(X):
    frame = pd.DataFrame(X, columns=list("abcde"))
    gm = _fit(frame, "full")
    marg = gm.marginal(["d", "a"])
    np.testing.assert_array_equal(marg.feature_names_in_, ["d", "a"])
    np.testing.assert_allclose(
        marg.score_samples(frame[["d", "a"]]),
        gm.marginal([3, 0]).score_samples(frame[["d", "a"]]),
        rtol=1e-12,
    )
    cond = gm.condition(["e", "b"], [1.0, 2.0])
    np.testing.assert_array_equal(cond.feature_names_in_, ["a", "c", "d"])
    np.testing.assert_allclose(
        cond.means_, gm.condition([4, 1], [1.0, 2.0]).means_, rtol=1e-12
    )


def test_derived_models_save_load_and_keep_parameters(X, tmp_path):
    gm = GaussianMixture(3, covariance_type="tied", random_state=0, reg_covar=1e-4)
    gm.fit(X)
    cond = gm.condition([0], [1.0])
    assert cond.reg_covar == 1e-4 and cond.random_state == 0
    back = gmmkit.load(cond.save(tmp_path / "cond.npz"))
    np.testing.assert_allclose(
        back.score_samples(X[:, 1:]), cond.score_samples(X[:, 1:]), rtol=1e-12
    )
    # refitting a derived model works (its inits were reset)
    GaussianMixture(**cond.get_params()).fit(X[:, 1:4])


def test_far_away_values_give_a_valid_mixture(X):
    gm = _fit(X, "full")
    cond = gm.condition([0], [1e3])
    assert np.isclose(cond.weights_.sum(), 1.0)
    assert np.isfinite(cond.score_samples(X[:3, 1:])).all()


@pytest.mark.parametrize(
    ("features", "values", "match"),
    [
        ([7], [0.0], "out of range"),
        ([-1], [0.0], "out of range"),
        ([1, 1], [0.0, 0.0], "more than once"),
        (["a"], [0.0], "not fitted on named columns"),
        ([], [], "at least one feature"),
        ([0.5], [0.0], "int indices or feature names"),
        ([0, 1], [0.0], r"shape \(2,\)"),
        ([0], [np.nan], "finite"),
        ([0], ["x"], "could not be converted"),
        ([0, 1, 2, 3, 4], [0.0] * 5, "nothing to condition"),
    ],
)
def test_bad_arguments_are_clear_errors(X, features, values, match):
    gm = _fit(X, "diag")
    with pytest.raises(InvalidParameterError, match=match):
        gm.condition(features, values)


def test_unknown_name_lists_the_features(X):
    gm = _fit(pd.DataFrame(X, columns=list("abcde")), "full")
    with pytest.raises(InvalidParameterError, match=r"'z' is not a feature.*'a'"):
        gm.marginal(["z"])


def test_unfitted_model_is_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GaussianMixture().marginal([0])


# ------------------------------------------- the many-rows conditioning core
@pytest.mark.parametrize("given", [[0], [3, 1], [4, 0, 2], []])
def test_conditioner_matches_brute_force_inverse(given):

    rng = np.random.default_rng(7)
    means = rng.normal(size=(3, 5)) * 3
    a = rng.normal(size=(3, 5, 5))
    covs = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(5)
    g = np.array(given, dtype=int)
    r = np.array([j for j in range(5) if j not in given])
    values = rng.normal(size=(6, g.size))
    cond = conditioner(means, covs, g)
    log_dens, cond_means = cond.apply(values)
    for k in range(3):
        s = covs[k]
        inv = np.linalg.inv(s[np.ix_(g, g)]) if g.size else np.zeros((0, 0))
        s_rg = s[np.ix_(r, g)]
        if g.size:
            want = multivariate_normal(means[k, g], s[np.ix_(g, g)]).logpdf(values)
            np.testing.assert_allclose(log_dens[:, k], want, rtol=1e-12)
        else:
            np.testing.assert_array_equal(log_dens[:, k], 0.0)
        want_mean = means[k, r] + (values - means[k, g]) @ (s_rg @ inv).T
        np.testing.assert_allclose(cond_means[:, k], want_mean, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(
            cond.covariances[k],
            s[np.ix_(r, r)] - s_rg @ inv @ s_rg.T,
            rtol=1e-10,
            atol=1e-10,
        )
