"""scikit-learn's own estimator checks, and the meta-estimators users combine."""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gmmkit import GaussianMixture, GaussianMixtureImputer, GaussianMixtureRegressor


def _expected_failures(estimator):
    if estimator.n_components == 1 or isinstance(estimator, GaussianMixtureImputer):
        # (the imputer's transform of the checks' complete data is the
        # identity, whatever the fit's start)
        return {}
    # With several components the k-means start draws random centres, and a
    # weighted data set and its repeated-rows twin consume the random stream
    # differently. Weighted EM itself equals repeated rows from the same
    # start: see test_mixture.py::test_integer_weights_equal_repeated_rows.
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "random k-means start differs between weighted and repeated data"
        )
    }


@parametrize_with_checks(
    [
        GaussianMixture(),
        GaussianMixture(n_components=2, covariance_type="diag"),
        GaussianMixtureRegressor(),
        GaussianMixtureRegressor(n_components=2, covariance_type="VVV"),
        GaussianMixtureImputer(),
        GaussianMixtureImputer(n_components=2, covariance_type="diag"),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _blobs(seed=0):
    rng = np.random.RandomState(seed)
    return np.vstack([rng.randn(80, 2), rng.randn(80, 2) * 0.5 + [5, 5]])


def test_clone_keeps_params_and_drops_fit():
    gm = GaussianMixture(3, covariance_type="tied", reg_covar=1e-4, random_state=7)
    gm.fit(_blobs())
    twin = clone(gm)
    assert twin.get_params() == gm.get_params()
    assert not hasattr(twin, "means_")


def test_pipeline_scales_then_fits():
    X = _blobs() * [1.0, 1000.0]
    pipe = make_pipeline(StandardScaler(), GaussianMixture(2, random_state=0))
    labels = pipe.fit(X).predict(X)
    scaled = StandardScaler().fit_transform(X)
    direct = GaussianMixture(2, random_state=0).fit(scaled)
    np.testing.assert_array_equal(labels, direct.predict(scaled))
    np.testing.assert_allclose(pipe.score(X), direct.score(scaled), rtol=1e-12)


def test_grid_search_prefers_the_true_number_of_components():
    X = _blobs(1)
    search = GridSearchCV(
        GaussianMixture(random_state=0), {"n_components": [1, 2, 3]}, cv=3
    ).fit(X)
    # held-out log-likelihood: one Gaussian for two blobs is clearly worse
    scores = dict(
        zip(
            search.cv_results_["param_n_components"],
            search.cv_results_["mean_test_score"],
        )
    )
    assert scores[2] > scores[1] + 0.5
