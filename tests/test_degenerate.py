"""Degenerate data: a sane fit or a gmmkit error, never a numpy crash.

A *sane fit* has finite parameters, weights that sum to 1, positive-definite
covariances, and working predict / predict_proba / score_samples / sample.
The suite turns warnings into errors (pyproject), so any RuntimeWarning from
numpy (overflow, invalid value, divide by zero) fails these tests.

Decided behaviour for a component that loses all its points (weighted count
below ``EMPTY_FRACTION`` of the total, see ``gmmkit._engine.m_step``): it keeps
its previous mean and covariance and gets the weight its count gives it
(about 0), so the fit goes on, predictions never pick it for the data, and it
can recover if points come back.  Only the *first* M-step (from the
initialisation) has nothing to keep; there an empty component is a FitError
naming it and the remedies.
"""

import logging
import warnings

import numpy as np
import pytest
from numpy.linalg import LinAlgError
from sklearn.exceptions import ConvergenceWarning

from gmmkit import FitError, GaussianMixture, GMMError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

RNG = np.random.RandomState(0)
BLOBS = np.vstack([RNG.randn(40, 2), RNG.randn(40, 2) * 0.5 + [4.0, 4.0]])


@pytest.fixture(params=COVARIANCE_TYPES)
def covariance_type(request):
    return request.param


def dense_covariances(gm):
    k, d = gm.means_.shape
    cov = np.asarray(gm.covariances_)
    if gm.covariance_type == "full":
        return cov
    if gm.covariance_type == "tied":
        return np.broadcast_to(cov, (k, d, d))
    if gm.covariance_type == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([np.eye(d) * c for c in cov])


def assert_sane_fit(gm, X):
    """Finite parameters, weights summing to 1, PD covariances, usable model."""
    k, d = gm.means_.shape
    assert d == X.shape[1]
    for name in (
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
    ):
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert np.all(gm.weights_ >= 0)
    np.testing.assert_allclose(gm.weights_.sum(), 1.0, rtol=0, atol=1e-12)
    for j, cov in enumerate(dense_covariances(gm)):
        np.testing.assert_allclose(cov, cov.T, rtol=0, atol=1e-12 * np.abs(cov).max())
        assert np.linalg.eigvalsh(cov).min() > 0, f"covariance {j} not PD"
    assert np.isfinite(gm.lower_bound_)
    assert np.all(np.isfinite(gm.log_likelihood_history_))
    labels = gm.predict(X)
    assert labels.shape == (X.shape[0],)
    assert labels.min() >= 0 and labels.max() < k
    proba = gm.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)
    assert np.all(np.isfinite(gm.score_samples(X)))
    assert np.isfinite(gm.score(X))
    assert np.isfinite(gm.bic(X)) and np.isfinite(gm.aic(X))
    samples, sample_labels = gm.sample(7, random_state=0)
    assert samples.shape == (7, d) and np.all(np.isfinite(samples))
    assert sample_labels.shape == (7,)


def fit_sane_or_library_error(gm, X):
    """Fit; return "fit" (after checking it is sane) or the gmmkit error."""
    try:
        gm.fit(X)
    except GMMError as exc:
        assert isinstance(exc, FitError), f"unexpected {type(exc).__name__}: {exc}"
        assert "component" in str(exc).lower()
        assert "n_components" in str(exc) or "reg_covar" in str(exc)
        return exc
    except (LinAlgError, FloatingPointError, ArithmeticError, ValueError) as exc:
        pytest.fail(f"numpy/scipy error escaped: {type(exc).__name__}: {exc}")
    assert_sane_fit(gm, X)
    return "fit"


# ------------------------------------------------------------- duplicate points
IDENTICAL = np.tile([3.7, -1.2], (12, 1))


def test_all_rows_identical_one_component(covariance_type):
    gm = GaussianMixture(1, covariance_type=covariance_type, random_state=0)
    gm.fit(IDENTICAL)
    assert_sane_fit(gm, IDENTICAL)
    np.testing.assert_allclose(gm.means_[0], [3.7, -1.2], rtol=1e-12)
    # no spread at all: the covariance is reg_covar on the diagonal
    np.testing.assert_allclose(
        dense_covariances(gm)[0], 1e-6 * np.eye(2), rtol=1e-6, atol=1e-15
    )


@pytest.mark.parametrize("n_components", [2, 3])
def test_all_rows_identical_kmeans(covariance_type, n_components):
    # k-means finds one cluster and says so (a legitimate, user-facing
    # warning); the components it leaves empty have no defined mean, so the
    # outcome is a sane fit or a FitError naming them and the remedies.
    gm = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        outcome = fit_sane_or_library_error(gm, IDENTICAL)
    if outcome != "fit":
        assert "duplicate points" in str(outcome)
        assert "n_components" in str(outcome)


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
@pytest.mark.parametrize("n_components", [2, 3])
def test_all_rows_identical_several_components(
    covariance_type, init_params, n_components
):
    gm = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=0,
    )
    gm.fit(IDENTICAL)
    assert_sane_fit(gm, IDENTICAL)
    np.testing.assert_allclose(gm.means_, np.tile([3.7, -1.2], (n_components, 1)))


@pytest.mark.parametrize("n_components", [2, 3])
def test_all_rows_identical_kmeans_plus_plus(covariance_type, n_components):
    # k-means++ may pick the same row for several components when X has fewer
    # distinct rows than n_components: a sane fit or a FitError naming the
    # component and the remedies, never a crash.
    gm = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        init_params="k-means++",
        random_state=0,
    )
    outcome = fit_sane_or_library_error(gm, IDENTICAL)
    if outcome != "fit":
        assert "fewer components" in str(outcome) or "n_components" in str(outcome)


MANY_DUPLICATES = np.repeat(np.array([[0.0, 0.0], [5.0, 1.0], [-3.0, 4.0]]), 15, 0)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_many_duplicates_one_component_per_distinct_point(covariance_type, init_params):
    gm = GaussianMixture(
        3, covariance_type=covariance_type, init_params=init_params, random_state=0
    )
    gm.fit(MANY_DUPLICATES)
    assert_sane_fit(gm, MANY_DUPLICATES)
    np.testing.assert_allclose(np.sort(gm.weights_), [1 / 3] * 3, atol=1e-8)
    found = sorted(map(tuple, np.round(gm.means_, 6)))
    assert found == sorted(map(tuple, np.unique(MANY_DUPLICATES, axis=0)))
    labels = gm.predict(MANY_DUPLICATES)
    assert len(set(labels)) == 3


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
def test_many_duplicates_random_starts(covariance_type, init_params):
    # a random start may put two components on one point: any sane fit will do
    gm = GaussianMixture(
        3, covariance_type=covariance_type, init_params=init_params, random_state=0
    )
    assert_sane_fit(gm.fit(MANY_DUPLICATES), MANY_DUPLICATES)


@pytest.mark.parametrize("n_components", [1, 2])
def test_many_duplicates_fewer_components(covariance_type, n_components):
    gm = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0)
    gm.fit(MANY_DUPLICATES)
    assert_sane_fit(gm, MANY_DUPLICATES)


def test_more_components_than_distinct_rows(covariance_type):
    X = MANY_DUPLICATES  # 3 distinct rows, 45 rows in all
    gm = GaussianMixture(4, covariance_type=covariance_type, random_state=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        fit_sane_or_library_error(gm, X)


def test_duplicates_plus_noise(covariance_type):
    X = np.vstack([np.tile([1.0, 1.0], (30, 1)), RNG.randn(30, 2) + [6.0, 0.0]])
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    assert_sane_fit(gm.fit(X), X)


# ------------------------------------------------- constant / collinear columns
@pytest.mark.parametrize("n_components", [1, 2, 3])
def test_constant_column(covariance_type, n_components):
    X = np.column_stack([BLOBS[:, 0], np.full(len(BLOBS), 7.5)])
    gm = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0)
    gm.fit(X)
    assert_sane_fit(gm, X)
    np.testing.assert_allclose(gm.means_[:, 1], 7.5, rtol=1e-12)


@pytest.mark.parametrize("n_components", [1, 2, 3])
def test_collinear_columns(covariance_type, n_components):
    X = np.column_stack([BLOBS[:, 0], 2.0 * BLOBS[:, 0]])
    gm = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0)
    gm.fit(X)
    assert_sane_fit(gm, X)
    np.testing.assert_allclose(gm.means_[:, 1], 2.0 * gm.means_[:, 0], rtol=1e-9)


def test_collinear_columns_in_higher_dimension(covariance_type):
    base = RNG.randn(60, 2)
    X = np.column_stack([base, base @ [1.0, -2.0], base[:, 0] * 3.0 + 1.0])
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    assert_sane_fit(gm.fit(X), X)


# ----------------------------------------------- n_components == n_samples
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_as_many_components_as_samples(covariance_type, init_params):
    X = BLOBS[:6]
    gm = GaussianMixture(
        6, covariance_type=covariance_type, init_params=init_params, random_state=0
    )
    gm.fit(X)
    assert_sane_fit(gm, X)
    np.testing.assert_allclose(gm.weights_, 1 / 6, atol=1e-8)
    assert sorted(gm.predict(X)) == list(range(6))


def test_as_many_components_as_samples_random_init(covariance_type):
    X = BLOBS[:6]
    gm = GaussianMixture(
        6,
        covariance_type=covariance_type,
        init_params="random",
        random_state=0,
        max_iter=500,
    )
    assert_sane_fit(gm.fit(X), X)


# ----------------------------------------------------------- scale extremes
def test_huge_offset_gives_the_same_fit(covariance_type):
    reference = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    reference.fit(BLOBS)
    shifted = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    shifted.fit(BLOBS + 1e8)
    assert_sane_fit(shifted, BLOBS + 1e8)
    np.testing.assert_allclose(shifted.means_ - 1e8, reference.means_, atol=1e-6)
    np.testing.assert_allclose(
        shifted.covariances_, reference.covariances_, rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(shifted.weights_, reference.weights_, atol=1e-8)
    np.testing.assert_array_equal(
        shifted.predict(BLOBS + 1e8), reference.predict(BLOBS)
    )


def test_tiny_scale_default_reg_covar(covariance_type):
    """Still a sane fit, and a warning that reg_covar (1e-6) swamps the
    data's variances (~1e-16): the covariances describe reg_covar."""
    X = BLOBS * 1e-8
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    with pytest.warns(UserWarning, match=r"reg_covar=1e-06 is not small .*Rescale"):
        gm.fit(X)
    assert_sane_fit(gm, X)


def test_tiny_scale_with_matching_reg_covar(covariance_type):
    reference = GaussianMixture(
        2, covariance_type=covariance_type, random_state=0, reg_covar=1e-6
    ).fit(BLOBS)
    tiny = GaussianMixture(
        2, covariance_type=covariance_type, random_state=0, reg_covar=1e-22
    ).fit(BLOBS * 1e-8)
    assert_sane_fit(tiny, BLOBS * 1e-8)
    np.testing.assert_allclose(tiny.means_ * 1e8, reference.means_, rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(tiny.covariances_) * 1e16, reference.covariances_, rtol=1e-4
    )
    np.testing.assert_array_equal(tiny.predict(BLOBS * 1e-8), reference.predict(BLOBS))


# --------------------------------------------------------------- one sample
@pytest.mark.parametrize(
    "init_params", ["kmeans", "k-means++", "random", "random_from_data"]
)
def test_single_sample_one_component(covariance_type, init_params):
    X = np.array([[1.5, -2.0, 0.25]])
    gm = GaussianMixture(
        1, covariance_type=covariance_type, init_params=init_params, random_state=0
    )
    gm.fit(X)
    assert_sane_fit(gm, X)
    np.testing.assert_allclose(gm.means_, X)
    np.testing.assert_allclose(dense_covariances(gm)[0], 1e-6 * np.eye(3), rtol=1e-9)


# --------------------------------------------- a component loses all its points
FAR = [1e6, 1e6]


def _far_mean_model(covariance_type, **extra):
    return GaussianMixture(
        2,
        covariance_type=covariance_type,
        means_init=[[0.0, 0.0], FAR],
        random_state=0,
        **extra,
    )


def test_component_that_loses_all_points_keeps_its_parameters(covariance_type, caplog):
    X = BLOBS[:40]  # one blob around the origin; component 1 starts far away
    start = _far_mean_model(covariance_type, max_iter=0).fit(X)  # initial params
    with caplog.at_level(logging.INFO, logger="gmmkit"):
        gm = _far_mean_model(covariance_type).fit(X)
    assert gm.converged_
    assert_sane_fit(gm, X)
    # its responsibilities underflow to 0: mean kept exactly, weight ~0
    np.testing.assert_array_equal(gm.means_[1], FAR)
    assert gm.weights_[1] < 1e-12
    if covariance_type != "tied":  # a tied covariance is shared, not kept
        np.testing.assert_array_equal(gm.covariances_[1], start.covariances_[1])
    # component 0 takes everything: it is the one-component fit
    single = GaussianMixture(1, covariance_type=covariance_type).fit(X)
    np.testing.assert_allclose(gm.means_[0], single.means_[0], rtol=1e-9, atol=1e-12)
    # predictions never use the empty component for the data it lost
    fresh = RNG.randn(200, 2)
    for data in (X, fresh):
        assert np.all(gm.predict(data) == 0)
        assert np.all(gm.predict_proba(data)[:, 1] < 1e-12)
    _, labels = gm.sample(1000, random_state=0)
    assert np.all(labels == 0)
    assert "components [1] are empty" in caplog.text


def test_component_with_zero_initial_weight_stays_empty(covariance_type):
    X = BLOBS
    gm = GaussianMixture(
        2,
        covariance_type=covariance_type,
        weights_init=[1.0, 0.0],
        means_init=[[0.0, 0.0], [4.0, 4.0]],
        random_state=0,
    ).fit(X)
    assert_sane_fit(gm, X)
    np.testing.assert_array_equal(gm.means_[1], [4.0, 4.0])
    assert gm.weights_[1] < 1e-12
    assert np.all(gm.predict(X) == 0)


@pytest.mark.parametrize("sk_type", ["full", "diag"])
def test_tiny_component_is_re_estimated_like_scikit_learn(sk_type):
    """A count of ~5e-9 rows (7e-11 of the total) is not empty: it is
    re-estimated from its responsibilities, as scikit-learn does, so both
    libraries take the same EM step from the same start (the former 1e-10
    threshold kept its old mean)."""
    from sklearn.mixture import GaussianMixture as SkGM

    start = dict(
        weights_init=[1.0 - 1e-12, 1e-12],
        means_init=[[2.0, 2.0], [4.5, 3.5]],
        precisions_init=(
            np.stack([np.eye(2), np.eye(2) * 4.0])
            if sk_type == "full"
            else np.array([[1.0, 1.0], [4.0, 4.0]])
        ),
    )
    kw = dict(covariance_type=sk_type, max_iter=1, tol=0, **start)
    with pytest.warns(ConvergenceWarning):
        ours = GaussianMixture(2, **kw).fit(BLOBS)
    with pytest.warns(ConvergenceWarning):
        theirs = SkGM(2, **kw).fit(BLOBS)
    assert ours.weights_[1] < 1e-10  # still tiny ...
    assert np.abs(ours.means_[1] - [4.5, 3.5]).max() > 0.1  # ... but it moved
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-12)
    # both add 10 eps to every count; scikit-learn divides the raw sums by
    # it, gmmkit the sums about the old means, so the means differ by
    # ~10 eps / n_k * |mean| ~ 2e-6 here (scikit-learn's diagonal
    # covariances carry that through its squared means: ~1e-5)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        ours.covariances_, theirs.covariances_, rtol=0, atol=2e-5
    )


def test_empty_component_after_initialisation_is_a_fit_error(covariance_type):
    # the first M-step has no previous parameters to keep
    resp = np.zeros((len(BLOBS), 3))
    resp[:, :2] = 0.5
    resp[0] = [0.5, 0.5 - 1e-300, 1e-300]  # column 2 has (practically) no mass
    gm = GaussianMixture(3, covariance_type=covariance_type, resp_init=resp)
    with pytest.raises(
        FitError,
        match=r"Component\(s\) 2 received no "
        r"responsibility.*fewer components",
    ) as excinfo:
        gm.fit(BLOBS)
    assert excinfo.value.__cause__ is None


# ------------------------------------------------- reg_covar=0 cannot go on
@pytest.mark.parametrize(
    ("X", "n_components", "components"),
    [
        pytest.param(IDENTICAL, 1, r"component 0 ", id="identical-rows"),
        pytest.param(BLOBS[:4], 4, r"components? 0\b", id="one-point-per-component"),
    ],
)
def test_reg_covar_zero_with_collapsed_data_is_a_fit_error(
    covariance_type, X, n_components, components
):
    gm = GaussianMixture(
        n_components, covariance_type=covariance_type, reg_covar=0.0, random_state=0
    )
    with pytest.raises(FitError) as excinfo:
        gm.fit(X)
    message = str(excinfo.value)
    excinfo.match(components)
    excinfo.match(r"not positive definite")
    excinfo.match(r"increase reg_covar \(now 0\)")
    excinfo.match(r"reduce n_components")
    excinfo.match(r"covariance_type")
    assert excinfo.value.__cause__ is None
    assert "LinAlgError" not in message
    assert not hasattr(gm, "means_")


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_reg_covar_zero_collinear_full_covariance_is_a_fit_error(covariance_type):
    X = np.column_stack([BLOBS[:, 0], 2.0 * BLOBS[:, 0]])
    gm = GaussianMixture(1, covariance_type=covariance_type, reg_covar=0.0)
    with pytest.raises(
        FitError,
        match=r"component 0 is not positive definite.*"
        r"collinear columns.*reg_covar",
    ):
        gm.fit(X)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_reg_covar_zero_collinear_axis_aligned_models_fit(covariance_type):
    # per-axis variances stay positive on collinear (but non-constant) columns
    X = np.column_stack([BLOBS[:, 0], 2.0 * BLOBS[:, 0]])
    gm = GaussianMixture(1, covariance_type=covariance_type, reg_covar=0.0)
    assert_sane_fit(gm.fit(X), X)


# -------------------------------------------------- weighted degenerate data
def test_zero_weights_on_all_but_one_row(covariance_type):
    sw = np.zeros(len(BLOBS))
    sw[5] = 2.0
    gm = GaussianMixture(1, covariance_type=covariance_type, random_state=0)
    gm.fit(BLOBS, sample_weight=sw)
    assert_sane_fit(gm, BLOBS)
    np.testing.assert_allclose(gm.means_[0], BLOBS[5])


# ------------------------------------------------ the data's units do not matter
def _iris_and_start():
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "mclust" / "reference.json").read_text())
    X = np.array(ref["datasets"]["iris"], dtype=float)
    z = next(
        np.array(c["z"], dtype=float)
        for c in ref["cases"]
        if c["data"] == "iris" and c["G"] == 3
    )
    return X, z


@pytest.mark.parametrize(
    "model",
    ["EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
     "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"],
)  # fmt: skip
@pytest.mark.parametrize("units", [1e-8, 1e8])
def test_fit_in_other_units_is_the_fit_in_those_units(model, units):
    """Regression (data around 1e-8 failed as "numerically singular"): with
    reg_covar=0 a fit of X * c is the fit of X with means * c and
    covariances * c^2, for every mclust model."""
    X, z = _iris_and_start()
    fits = []
    for data in (X, X * units):
        gm = GaussianMixture(
            3, covariance_type=model, resp_init=z, reg_covar=0.0, tol=0.0, max_iter=25
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(gm.fit(data))
    ref, got = fits
    np.testing.assert_allclose(got.weights_, ref.weights_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(
        got.means_, ref.means_ * units, rtol=1e-8, atol=1e-12 * units
    )
    scale = np.abs(ref.covariances_).max()
    np.testing.assert_allclose(
        got.covariances_,
        ref.covariances_ * units**2,
        rtol=1e-8,
        atol=1e-10 * scale * units**2,
    )
    np.testing.assert_allclose(
        got.log_likelihood_history_[-1],
        ref.log_likelihood_history_[-1] - 150 * 4 * np.log(units),
        rtol=1e-10,
    )


def test_model_selection_in_other_units_picks_the_same_model():
    """Regression: iris * 1e-8 failed every cell of select_model as
    numerically singular; now it picks what iris picks."""
    from gmmkit import select_model

    X, _ = _iris_and_start()
    ref = select_model(X)
    small = select_model(X * 1e-8)
    assert small.best_params_ == ref.best_params_
    assert np.isfinite(small.table["bic"]).sum() >= np.isfinite(ref.table["bic"]).sum()


# ------------------------------- a component collapsing onto one row mid-EM
def test_spherical_component_collapsing_during_em_goes_on():
    # scikit-learn #18216: from this start two components take one row each
    # in the first E-step; with reg_covar=0 their centred variance is exactly
    # 0.  EM goes on (as scikit-learn's does with its rounding-sized value),
    # giving the variance eps times its previous value, deterministically.
    rnd = np.random.RandomState(0)
    X = rnd.uniform(size=(30, 3))
    means = X[[0, 1, 2, 3, 4, 5]] + np.array([[0.0], [0.0], [0.1], [0.1], [0.2], [0.3]])
    precisions = np.array([1e6, 1e6, 500.0, 200.0, 15.0, 85.0])
    weights = np.array([1, 1, 2, 2, 21, 3]) / 30.0
    gm = GaussianMixture(
        6,
        covariance_type="spherical",
        reg_covar=0.0,
        means_init=means,
        precisions_init=precisions,
        weights_init=weights,
        max_iter=1,
    )
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    assert not gm.converged_
    eps = np.finfo(np.float64).eps
    np.testing.assert_array_equal(gm.covariances_[:2], eps / precisions[:2])
    np.testing.assert_array_equal(gm.means_[:2], X[:2])
    assert np.all(np.isfinite(gm.score_samples(X)))


def test_collapse_at_the_start_stays_an_error():
    # no previous variance to scale: the first M-step refuses as before
    with pytest.raises(FitError, match=r"^Fitting the mixture model failed"):
        GaussianMixture(4, covariance_type="diag", reg_covar=0.0, random_state=0).fit(
            BLOBS[:4]
        )


@pytest.mark.parametrize("name", ["VEI", "VEV", "VEE", "EVE", "VVE", "EVI", "EEV"])
def test_m_step_with_a_zero_count_component_ignores_it(name):
    """A component with no weight (count 0) in a compiled inner loop divides
    by its zero count: that must not raise (ZeroDivisionError was seen from
    VEI on data with missing values), and the other components come out as
    if it were not there."""
    from gmmkit.covariance import get_model

    model = get_model(name)
    rng = np.random.default_rng(0)
    d = 3
    nk = np.array([10.0, 0.0, 6.0])
    A = rng.normal(size=(3, d, d))
    scatter = np.einsum("kij,klj->kil", A, A) + np.eye(d)
    scatter *= nk[:, None, None]
    if model.moments != "full":
        scatter = np.diagonal(scatter, axis1=1, axis2=2).copy()
    active = nk > 0
    with_empty = model.dense(model.covariances_from_scatter(nk, scatter, 0.0), 3, d)
    without = model.dense(
        model.covariances_from_scatter(nk[active], scatter[active], 0.0), 2, d
    )
    np.testing.assert_allclose(with_empty[active], without, rtol=1e-6, atol=1e-12)
