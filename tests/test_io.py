"""Model files: bit-exact round trips and refusal of bad files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import gmmkit
import gmmkit._io as gio
from gmmkit import (
    COVARIANCE_TYPES,
    GaussianMixture,
    InvalidParameterError,
    ModelFileError,
)


def data(n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[-4.0, 0.0, 1.0], [0.0, 3.0, -1.0], [4.0, -1.0, 0.0]])
    return np.vstack([rng.randn(60, 3) * [1.0, 0.7, 1.3] + c for c in centres])[
        :, :n_features
    ]


@pytest.fixture(scope="module")
def fitted():
    return GaussianMixture(3, random_state=0).fit(data())


FITTED_ARRAYS = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "precisions_",
    "log_likelihood_history_",
)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_round_trip_is_bit_exact_for_every_model(tmp_path, covariance_type):
    X = data()
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=1)
    try:
        gm.fit(X)
    except InvalidParameterError:  # mclust's one-dimensional models E and V
        X = data(1)
        gm.fit(X)
    path = gm.save(tmp_path / "m.gmm")
    back = gmmkit.load(path)
    assert type(back) is GaussianMixture
    for name in FITTED_ARRAYS:
        a, b = getattr(gm, name), getattr(back, name)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes(), name
    assert back.get_params() == gm.get_params()
    assert back.lower_bounds_ == gm.lower_bounds_
    assert back.lower_bound_ == gm.lower_bound_
    assert (back.n_iter_, back.converged_) == (gm.n_iter_, gm.converged_)
    assert back.predict_proba(X).tobytes() == gm.predict_proba(X).tobytes()
    assert back.score_samples(X).tobytes() == gm.score_samples(X).tobytes()
    assert np.array_equal(back.predict(X), gm.predict(X))
    assert back.bic(X) == gm.bic(X)
    meta = gio.read_metadata(path)
    assert meta["format_version"] == gio.FORMAT_VERSION
    assert meta["gmmkit_version"] == gmmkit.__version__
    assert meta["covariance_type"]["fitted"] == covariance_type
    assert meta["training"]["n_samples"] == X.shape[0]
    assert meta["training"]["n_iter"] == gm.n_iter_
    assert meta["training"]["final_log_likelihood"] == gm.log_likelihood_history_[-1]


def test_feature_names_and_array_params_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    X = data()
    frame = pd.DataFrame(X, columns=["height", "width", "depth"])
    means = np.array([[-4.0, 0, 1], [0, 3, -1], [4, -1, 0]])
    gm = GaussianMixture(3, means_init=means, random_state=np.random.RandomState(0))
    gm.fit(frame)
    back = gmmkit.load(gm.save(tmp_path / "named.npz"))
    assert list(back.feature_names_in_) == ["height", "width", "depth"]
    assert np.array_equal(back.means_init, means)
    assert back.random_state is None  # a RandomState object cannot be stored
    assert gio.read_metadata(tmp_path / "named.npz")["dropped_params"] == [
        "random_state"
    ]
    assert np.array_equal(back.predict(frame), gm.predict(frame))


def test_loaded_model_saves_again_identically(tmp_path, fitted):
    first = gmmkit.load(fitted.save(tmp_path / "a.gmm"))
    second = gmmkit.load(first.save(tmp_path / "b.gmm"))
    for name in FITTED_ARRAYS:
        assert getattr(second, name).tobytes() == getattr(fitted, name).tobytes()


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GaussianMixture(2).save(tmp_path / "x.gmm")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- bad files
def refused(path, *fragments):
    with pytest.raises(ModelFileError) as info:
        gmmkit.load(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, ValueError)
    return message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gmm"
    path.write_bytes(b"")
    refused(path, str(path), "empty")


def test_missing_file_and_folder(tmp_path):
    refused(tmp_path / "nope.gmm", "does not exist")
    refused(tmp_path, "folder")


def test_not_a_model_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("x,y\n1,2\n")
    refused(path, "not an .npz/zip archive")


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, 0.99])
def test_truncated_file(tmp_path, fitted, keep):
    path = fitted.save(tmp_path / "m.gmm")
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    refused(path, str(path))


def test_corrupted_bytes_inside_an_array(tmp_path, fitted):
    """Flipped bytes in a stored member fail the zip CRC check."""
    path = fitted.save(tmp_path / "m.gmm")
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("attr.means_.npy")
    # local header is 30 bytes + name + extra; corrupt the member's data
    start = info.header_offset + 30 + len(info.filename) + 40
    for i in range(start, start + 16):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    refused(path, "damaged")


def flipped_bytes_are_refused_or_exact(path, model, X, size, seed=0):
    """No flipped byte of the file at ``path`` (holding ``model``) may load
    as a model that predicts differently."""
    raw = path.read_bytes()
    expected = model.predict_proba(X)
    rng = np.random.RandomState(seed)
    for position in rng.choice(len(raw), size=size, replace=False):
        bad = bytearray(raw)
        bad[position] ^= 0x5A
        path.write_bytes(bytes(bad))
        try:
            back = gmmkit.load(path)
        except ModelFileError:
            continue
        # only bytes outside stored data (e.g. zip timestamps) may change
        assert np.array_equal(back.predict_proba(X), expected), position


def test_every_single_byte_corruption_is_refused_or_exact(tmp_path, fitted):
    flipped_bytes_are_refused_or_exact(
        fitted.save(tmp_path / "m.gmm"), fitted, data(), 60
    )


def write_npz(path, members):
    with open(path, "wb") as handle:
        np.savez(handle, **members)


def members_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def meta_of(members):
    return json.loads(members["__gmmkit__"].tobytes())


def with_meta(members, meta):
    members = dict(members)
    members["__gmmkit__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    return members


def test_future_version_says_upgrade(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.gmm")
    members = members_of(path)
    meta = meta_of(members)
    meta["format_version"] = gio.FORMAT_VERSION + 1
    write_npz(path, with_meta(members, meta))
    refused(path, f"format version {gio.FORMAT_VERSION + 1}", "Upgrade gmmkit")


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda m: m.update(kind="KMeans"), "model kind 'KMeans'"),
        (lambda m: m.update(format="other"), "does not say format"),
        (lambda m: m.update(format_version="1"), "format_version '1'"),
        (
            lambda m: m["params"].update(bogus={"t": "int", "v": 1}),
            "unknown parameter(s) ['bogus']",
        ),
        (
            lambda m: m["covariance_type"].update(fitted="XYZ"),
            "covariance type 'XYZ'",
        ),
        (lambda m: m.update(feature_names=["a"]), "one name per feature"),
    ],
    ids=["kind", "format", "version-type", "param", "covariance", "names"],
)
def test_invalid_metadata(tmp_path, fitted, change, fragment):
    path = fitted.save(tmp_path / "m.gmm")
    members = members_of(path)
    meta = meta_of(members)
    change(meta)
    write_npz(path, with_meta(members, meta))
    refused(path, fragment)


def test_plain_npz_without_metadata(tmp_path):
    path = tmp_path / "plain.npz"
    write_npz(path, {"means_": np.zeros((2, 2))})
    refused(path, "metadata")


@pytest.mark.parametrize(
    "name, value, fragment",
    [
        ("attr.means_", np.zeros((3, 2)), "means_ has 2 columns"),
        ("attr.means_", np.zeros((2, 3)), "means_ has 2 rows"),
        ("attr.weights_", np.full(4, 0.25), "weights_ has shape (4,)"),
        ("attr.covariances_", np.zeros((3, 3)), "covariances_ has shape (3, 3)"),
        ("attr.precisions_cholesky_", np.zeros((3, 2, 2)), "needs (3, 3, 3)"),
        ("attr.weights_", np.array([0.5, 0.5, 0.5]), "sum to 1"),
        ("attr.means_", np.full((3, 3), np.nan), "non-finite"),
        ("attr.lower_bound_", np.array([1.0, 2.0]), "has shape (2,)"),
        ("attr.weights_", np.array(["a", "b", "c"]), "'weights_' is not numeric"),
        ("attr.weights_", np.array([1, 0, 0]), "non-finite or non-float"),
    ],
)
def test_arrays_with_wrong_shapes_or_values(tmp_path, fitted, name, value, fragment):
    path = fitted.save(tmp_path / "m.gmm")
    members = members_of(path)
    members[name] = value
    write_npz(path, members)
    refused(path, fragment)


def test_missing_attribute(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.gmm")
    members = members_of(path)
    del members["attr.precisions_cholesky_"]
    write_npz(path, members)
    refused(path, "'precisions_cholesky_'", "is missing")


class Boom:
    """Unpickling this would run code; it must never happen."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_bearing_npz_is_refused_without_running_it(
    tmp_path, fitted, monkeypatch
):
    path = fitted.save(tmp_path / "m.gmm")
    members = members_of(path)
    members["attr.means_"] = np.array([Boom()], dtype=object)
    write_npz(path, members)
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    refused(path, "pickled Python objects")
    assert calls == []


# ------------------------------------------------------------- atomic write
def test_failed_write_leaves_the_old_file_intact(tmp_path, fitted, monkeypatch):
    path = fitted.save(tmp_path / "m.gmm")
    before = path.read_bytes()
    other = GaussianMixture(2, random_state=0).fit(data())

    def broken_savez(handle, **members):
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(gio.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        other.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gmm"]  # no temp file
    monkeypatch.undo()
    assert gmmkit.load(path).n_components == 3


def test_save_replaces_an_existing_file(tmp_path, fitted):
    path = tmp_path / "m.gmm"
    path.write_bytes(b"old contents")
    fitted.save(path)
    assert zipfile.is_zipfile(io.BytesIO(path.read_bytes()))
    assert gmmkit.load(path).n_components == 3


def test_prior_and_its_fitted_hyperparameters_survive(tmp_path):
    if "prior" not in GaussianMixture().get_params():
        pytest.skip("this gmmkit has no prior parameter yet")
    X = data()
    gm = GaussianMixture(3, prior="default", random_state=0).fit(X)
    back = gmmkit.load(gm.save(tmp_path / "prior.gmm"))
    assert back.prior == "default"
    assert type(back.prior_) is type(gm.prior_)
    for f in ("shrinkage", "mean", "dof", "scale"):
        a, b = np.asarray(getattr(gm.prior_, f)), np.asarray(getattr(back.prior_, f))
        assert a.tobytes() == b.tobytes(), f
    assert back.predict_proba(X).tobytes() == gm.predict_proba(X).tobytes()
