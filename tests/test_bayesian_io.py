"""Saving and loading BayesianGaussianMixture: bit-exact round trips of the
posterior, the prior and the parameters; bad files refused cleanly.

Oracles: the saved model itself (every attribute and prediction, byte for
byte); the format's own rules for refusals.
"""

import json

import numpy as np
import pytest

import gmmkit
import gmmkit._io as gio
from gmmkit import BayesianGaussianMixture, GaussianMixture, ModelFileError
from test_io import flipped_bytes_are_refused_or_exact

COV_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
POSTERIOR = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "precisions_",
    "mean_precision_",
    "mean_prior_",
)
SCALARS = (
    "elbo_",
    "n_iter_",
    "converged_",
    "n_features_in_",
    "n_effective_components_",
    "n_samples_fit_",
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "degrees_of_freedom_prior_",
)


def _data(seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[-4.0, 0.0, 1.0], [0.0, 3.0, -1.0], [4.0, -1.0, 0.0]])
    return np.vstack([rng.randn(60, 3) * [1.0, 0.7, 1.3] + c for c in centres])


def _same_bytes(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, what
    assert a.tobytes() == b.tobytes(), what


def _round_trip_is_exact(m, back, X):
    assert type(back) is BayesianGaussianMixture
    for name in POSTERIOR:
        _same_bytes(getattr(m, name), getattr(back, name), name)
    if isinstance(m.weight_concentration_, tuple):
        assert isinstance(back.weight_concentration_, tuple)
        for a, b in zip(m.weight_concentration_, back.weight_concentration_):
            _same_bytes(a, b, "weight_concentration_")
    else:
        _same_bytes(m.weight_concentration_, back.weight_concentration_, "conc")
    for name in ("degrees_of_freedom_", "covariance_prior_"):
        a, b = getattr(m, name), getattr(back, name)
        assert type(a) is type(b), name
        _same_bytes(a, b, name)
    for name in SCALARS:
        a, b = getattr(m, name), getattr(back, name)
        assert type(a) is type(b) and (a == b or (np.isnan(a) and np.isnan(b))), name
    for a, b in zip(
        [m.lower_bound_, *m.lower_bounds_], [back.lower_bound_, *back.lower_bounds_]
    ):
        assert type(a) is type(b)  # scikit-learn's: float64, (1,) for tied
        _same_bytes(a, b, "lower bounds")
    assert len(back.lower_bounds_) == len(m.lower_bounds_)
    params = m.get_params()
    params.pop("callback")
    got = back.get_params()
    assert got.pop("callback") is None
    assert got.keys() == params.keys()
    for key, value in params.items():
        if isinstance(value, np.ndarray):
            _same_bytes(value, got[key], key)
        else:
            assert got[key] == value, key
    for method in ("predict_proba", "score_samples", "predict"):
        _same_bytes(getattr(m, method)(X), getattr(back, method)(X), method)
    _same_bytes(
        m.score_samples(X, predictive=True),
        back.score_samples(X, predictive=True),
        "predictive",
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("weight_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_round_trip_is_bit_exact(tmp_path, covariance_type, weight_type):
    X = _data()
    m = BayesianGaussianMixture(
        5,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_type,
        random_state=0,
        max_iter=50,
    ).fit(X)
    back = gmmkit.load(m.save(tmp_path / "m.gmm"))
    _round_trip_is_exact(m, back, X)
    # a loaded model saves the same file contents again and continues a fit
    again = gmmkit.load(back.save(tmp_path / "again.gmm"))
    _round_trip_is_exact(m, again, X)
    meta = gio.read_metadata(tmp_path / "m.gmm")
    assert meta["kind"] == "BayesianGaussianMixture"
    assert meta["covariance_type"]["sklearn"] == covariance_type
    assert meta["params"]["weight_concentration_prior_type"]["v"] == weight_type
    assert meta["n_parameters"] == m.n_parameters()
    cont = BayesianGaussianMixture(**{**m.get_params(), "warm_start": True})
    back.set_params(warm_start=True, max_iter=3)
    cont.set_params(max_iter=3)
    for name, value in vars(m).items():
        if name.endswith("_") or name.startswith("_fitted"):
            setattr(cont, name, value)
    back.fit(X)
    cont.fit(X)
    _same_bytes(back.means_, cont.means_, "continued means")


def test_given_priors_feature_names_and_a_pruned_model(tmp_path):
    pd = pytest.importorskip("pandas")
    X = _data(1)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    m = BayesianGaussianMixture(
        8,
        weight_concentration_prior=1e-3,
        weight_concentration_prior_type="dirichlet_distribution",
        mean_prior=[0.5, 0.0, -0.5],
        covariance_prior=2.0 * np.eye(3),
        degrees_of_freedom_prior=4.5,
        mean_precision_prior=0.2,
        random_state=np.random.RandomState(0),
        max_iter=500,
    ).fit(frame)
    back = gmmkit.load(m.save(tmp_path / "named.gmm"))
    assert list(back.feature_names_in_) == ["a", "b", "c"]
    assert back.random_state is None  # a RandomState object is not stored
    assert back.mean_prior == [0.5, 0.0, -0.5]
    _same_bytes(back.covariance_prior, m.covariance_prior, "covariance_prior")
    pruned = m.prune()
    assert pruned.n_components < 8
    back = gmmkit.load(pruned.save(tmp_path / "pruned.gmm"))
    assert back.n_components == pruned.n_components
    assert np.isnan(back.elbo_)
    _same_bytes(back.predict_proba(frame), pruned.predict_proba(frame), "proba")


def test_gaussian_mixture_files_still_load_as_gaussian_mixtures(tmp_path):
    gm = GaussianMixture(2, random_state=0).fit(_data())
    assert type(gmmkit.load(gm.save(tmp_path / "gm.gmm"))) is GaussianMixture


# ---------------------------------------------------------------- bad files
@pytest.fixture(scope="module")
def fitted():
    return BayesianGaussianMixture(3, random_state=0).fit(_data())


def _members(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _write(path, members):
    with open(path, "wb") as handle:
        np.savez(handle, **members)


def _refused(path, *fragments):
    with pytest.raises(ModelFileError) as info:
        gmmkit.load(path)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "name, value, fragment",
    [
        ("attr.mean_precision_", np.ones(2), "mean_precision_ must be a float array"),
        ("attr.mean_precision_", -np.ones(3), "mean_precision_ must hold finite"),
        ("attr.weight_concentration_.0", np.ones(4), "weight_concentration_[0]"),
        ("attr.degrees_of_freedom_", np.ones(3), "above 2"),
        ("attr.mean_prior_", np.zeros(2), "mean_prior_ must be 3 finite"),
        ("attr.covariance_prior_", -np.eye(3), "positive-definite"),
        ("attr.degrees_of_freedom_prior_", np.array(1.0), "above 2"),
    ],
)
def test_bad_posterior_or_prior_is_refused(tmp_path, fitted, name, value, fragment):
    path = fitted.save(tmp_path / "m.gmm")
    members = _members(path)
    assert name in members
    members[name] = value
    _write(path, members)
    _refused(path, fragment)


@pytest.mark.parametrize(
    "attribute", ["weight_concentration_", "covariance_prior_", "mean_precision_"]
)
def test_missing_posterior_attribute(tmp_path, fitted, attribute):
    path = fitted.save(tmp_path / "m.gmm")
    members = _members(path)
    meta = json.loads(members["__gmmkit__"].tobytes())
    del meta["attributes"][attribute]
    members["__gmmkit__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    _write(path, members)
    _refused(path, repr(attribute), "is missing")


def test_bad_metadata(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.gmm")
    members = _members(path)
    for change, fragment in [
        (lambda m: m["covariance_type"].update(fitted="VEV"), "no variational"),
        (
            lambda m: m["params"].update(
                weight_concentration_prior_type={"t": "str", "v": "beta"}
            ),
            "weight_concentration_prior_type 'beta'",
        ),
    ]:
        meta = json.loads(members["__gmmkit__"].tobytes())
        change(meta)
        _write(
            path,
            {
                **members,
                "__gmmkit__": np.frombuffer(json.dumps(meta).encode(), np.uint8),
            },
        )
        _refused(path, fragment)


def test_truncated_and_corrupt_files(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.gmm")
    raw = path.read_bytes()
    for keep in (0.3, 0.9):
        path.write_bytes(raw[: int(len(raw) * keep)])
        _refused(path)
    path.write_bytes(raw)
    flipped_bytes_are_refused_or_exact(path, fitted, _data(), 40, seed=1)


def test_pickled_object_is_refused(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.gmm")
    members = _members(path)
    members["attr.mean_precision_"] = np.array([object()], dtype=object)
    _write(path, members)
    _refused(path, "pickled")
