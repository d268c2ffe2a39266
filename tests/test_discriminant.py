"""MixtureDiscriminantAnalysis against R's mclust 6.0 (MclustDA, EDDA),
scikit-learn's LinearDiscriminantAnalysis, and scikit-learn's checks.

The oracle is tests/mclust/da_reference.json (tests/mclust/make_da_reference.R):
for each data set and model type, mclust's chosen models per class, the
total log-likelihood, df and BIC (mclust's sign), and the posteriors and
classes ``predict`` gives on the training rows.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from gmmkit import DataError, InvalidParameterError, MixtureDiscriminantAnalysis
from gmmkit.covariance import get_model

REF = json.loads((Path(__file__).parent / "mclust" / "da_reference.json").read_text())
SETS = REF["datasets"]

#: mclust's names for one-component models, which are the same density
#: under several of gmmkit's names (mclust reports XXX: any ellipsoidal
#: model, XXI: any diagonal one, X: one feature).
ONE_COMPONENT = {"XXX": "ellipsoidal", "XXI": "diagonal", "XII": "spherical"}


def dataset(name):
    entry = SETS[name]
    y = np.array(entry["class"])
    X = np.array(entry["data"], dtype=np.float64).reshape(len(y), -1)
    return X, y, entry


def fit(name, model_type):
    X, y, entry = dataset(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        da = MixtureDiscriminantAnalysis(model_type).fit(X, y)
    return da, X, y, entry[model_type]


def same_model(gm, ref):
    assert gm.n_components == ref["G"]
    if ref["model"] in ONE_COMPONENT:
        assert get_model(gm.covariance_type).family == ONE_COMPONENT[ref["model"]]
    elif ref["model"] == "X":
        assert gm.covariance_type in ("E", "V")
    else:
        assert gm.covariance_type == ref["model"]


@pytest.mark.parametrize("name", ["iris", "oned", "gen2"])
def test_mclustda_equals_mclust(name):
    da, X, y, ref = fit(name, "MclustDA")
    np.testing.assert_array_equal(da.classes_, sorted(set(y)))
    for label, gm in da.models_.items():
        same_model(gm, ref["models"][label])
    # gen2's class "a" is VVE, whose M-step mclust stops early (README):
    # EM from the same start ends ~3e-5 relative away
    rtol = 1e-4 if name == "gen2" else 1e-9
    np.testing.assert_allclose(da.log_likelihood_, ref["loglik"], rtol=rtol)
    assert da.n_parameters_ == ref["df"]
    np.testing.assert_allclose(da.bic_, -ref["bic"], rtol=rtol)
    np.testing.assert_allclose(
        da.predict_proba(X), np.array(ref["z"]), atol=1e-1 if name == "gen2" else 1e-6
    )
    np.testing.assert_array_equal(da.predict(X), ref["predicted"])


@pytest.mark.parametrize("name", ["iris", "oned", "gen2"])
def test_edda_equals_mclust(name):
    da, X, y, ref = fit(name, "EDDA")
    chosen = ref["models"][str(da.classes_[0])]["model"]
    assert da.covariance_type_ == chosen
    for model, bic in ref["edda_bic"].items():
        if bic is None:
            assert not np.isfinite(da.edda_bic_[model])
            continue
        if model == "VVE":  # mclust stops its inner M-step early (README):
            # gmmkit's M-step reaches at least as good an objective
            assert da.edda_bic_[model] <= -bic + 1e-9 * abs(bic)
            continue
        rtol = 1e-4 if model in ("VEE", "EVE") else 1e-7
        np.testing.assert_allclose(da.edda_bic_[model], -bic, rtol=rtol, err_msg=model)
    np.testing.assert_allclose(da.log_likelihood_, ref["loglik"], rtol=1e-9)
    assert da.n_parameters_ == ref["df"]
    np.testing.assert_allclose(da.bic_, -ref["bic"], rtol=1e-9)
    np.testing.assert_allclose(da.predict_proba(X), np.array(ref["z"]), atol=1e-7)
    np.testing.assert_array_equal(da.predict(X), ref["predicted"])


def test_edda_eee_is_linear_discriminant_analysis():
    rng = np.random.RandomState(0)
    X = np.vstack(
        [rng.randn(60, 3), rng.randn(40, 3) + [2, 1, 0], rng.randn(30, 3) - 2]
    )
    y = np.repeat([0, 1, 2], [60, 40, 30])
    da = MixtureDiscriminantAnalysis("EDDA", covariance_types=["EEE"]).fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    np.testing.assert_allclose(da.class_prior_, lda.priors_)
    np.testing.assert_allclose(da.predict_proba(X), lda.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(da.predict(X), lda.predict(X))


def test_posteriors_and_likelihood_from_the_class_densities():
    da, X, y, _ = fit("iris", "MclustDA")
    tau = np.array([np.mean(y == c) for c in da.classes_])
    dens = (
        np.column_stack([np.exp(da.models_[c].score_samples(X)) for c in da.classes_])
        * tau
    )
    np.testing.assert_allclose(
        da.predict_proba(X), dens / dens.sum(1)[:, None], rtol=1e-9, atol=1e-300
    )
    np.testing.assert_allclose(
        da.log_likelihood_, np.log(dens.sum(1)).sum(), rtol=1e-12
    )
    np.testing.assert_allclose(da.score_samples(X), np.log(dens.sum(1)), rtol=1e-12)
    assert da.score(X, y) == np.mean(da.predict(X) == y)


def test_cross_validation_through_scikit_learn():
    X, y, _ = dataset("iris")
    da = MixtureDiscriminantAnalysis("EDDA")
    scores = cross_val_score(da, X, y, cv=5)
    assert scores.shape == (5,)
    assert scores.mean() > 0.9


def test_bad_input():
    X, y, _ = dataset("iris")
    with pytest.raises(InvalidParameterError, match="model_type"):
        MixtureDiscriminantAnalysis("LDA").fit(X, y)
    with pytest.raises(DataError, match="one class label per row"):
        MixtureDiscriminantAnalysis("EDDA").fit(X, y[:10])
    with pytest.raises(InvalidParameterError, match="requires y"):
        MixtureDiscriminantAnalysis("EDDA").fit(X, None)


@parametrize_with_checks(
    [
        MixtureDiscriminantAnalysis("EDDA", reg_covar=1e-6),
        MixtureDiscriminantAnalysis(
            n_components=[1, 2], covariance_types=["VVV", "VII"], reg_covar=1e-6
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
