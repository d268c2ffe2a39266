"""Regression tests of the library-side defects of the reliability issue:
partial_fit continuing a fitted model (and its state in model files), the
scale of sample_weight, column names through select_model and streamed
sources, scale-free model selection, and the public progress hooks."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris

import gmmkit
from gmmkit import (
    CSVSource,
    FitProgress,
    GaussianMixture,
    ParquetSource,
    SelectionProgress,
    select_model,
)


def _blobs(n, seed=0):
    rng = np.random.default_rng(seed)
    half = n // 2
    return np.vstack(
        [
            rng.normal(size=(half, 2)),
            rng.normal(size=(n - half, 2)) * 0.5 + [5.0, 5.0],
        ]
    )


# ------------------------------------------------ partial_fit after fit
def test_partial_fit_after_fit_takes_a_small_step():
    """Ten rows must not replace a model fitted on 2000 (the first update
    used step size 1: weights became [1, 0] and a covariance collapsed)."""
    X = _blobs(2000)
    gm = GaussianMixture(2, random_state=0).fit(X)
    weights, means, cov = gm.weights_.copy(), gm.means_.copy(), gm.covariances_.copy()
    gm.partial_fit(_blobs(10, seed=1))
    assert np.abs(gm.weights_ - weights).max() < 0.05
    assert np.abs(gm.means_ - means).max() < 0.25
    ratio = np.linalg.det(gm.covariances_) / np.linalg.det(cov)
    assert np.all((ratio > 0.5) & (ratio < 2.0))
    # the running statistics count the fit's rows, then the batch's
    assert gm.online_state_.rows_seen == 2010


def test_partial_fit_on_a_fitted_model_starts_from_its_fixed_point():
    """The running statistics built from a fitted model give back that model
    under an M-step (they are the statistics of an EM fixed point)."""
    from gmmkit._engine import m_step
    from gmmkit._online import OnlineState

    X = _blobs(600)
    for cov in ("full", "tied", "diag", "spherical", "VEV", "EVI"):
        gm = GaussianMixture(2, covariance_type=cov, random_state=0, tol=1e-10)
        gm.fit(X)
        model = gm._model()
        params = gm._fitted_params()
        state = OnlineState.from_fitted(model, params, gm.reg_covar, 600, 10)
        again = m_step(model, state.as_stats(), gm.reg_covar, params)
        assert_allclose(again.weights, gm.weights_, rtol=1e-9)
        assert_allclose(again.means, gm.means_, rtol=1e-9, atol=1e-12)
        assert_allclose(again.covariances, gm.covariances_, rtol=1e-7, atol=1e-12)


def test_online_state_is_saved_and_continues_after_load(tmp_path):
    X = _blobs(3000)
    a = GaussianMixture(2, random_state=0).partial_fit(X[:1000])
    a.partial_fit(X[1000:2000])
    path = a.save(tmp_path / "online.gmm")
    b = gmmkit.load(path)
    assert b.online_state_.n_updates == a.online_state_.n_updates
    a.partial_fit(X[2000:])
    b.partial_fit(X[2000:])
    assert_allclose(b.means_, a.means_, rtol=1e-12)
    assert_allclose(b.covariances_, a.covariances_, rtol=1e-12)
    assert_allclose(b.weights_, a.weights_, rtol=1e-12)


def test_version_1_model_files_still_load(tmp_path, monkeypatch):
    import gmmkit._io as gio

    gm = GaussianMixture(2, random_state=0).fit(_blobs(200))
    monkeypatch.setattr(gio, "FORMAT_VERSION", 1)
    path = gm.save(tmp_path / "v1.gmm")
    monkeypatch.undo()
    assert gio.read_metadata(path)["format_version"] == 1
    back = gmmkit.load(path)
    assert_allclose(back.means_, gm.means_)


# --------------------------------------------------- sample_weight scale
@pytest.mark.parametrize("scale", [1e-20, 1e-16, 1e-8, 1e8, 1e20])
@pytest.mark.parametrize("cov", ["full", "diag", "VEV"])
def test_only_relative_sample_weights_matter(scale, cov):
    X = _blobs(300)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=300)
    kw = dict(covariance_type=cov, random_state=0, init_params="random_from_data")
    ref = GaussianMixture(2, **kw).fit(X, sample_weight=w)
    gm = GaussianMixture(2, **kw).fit(X, sample_weight=w * scale)
    assert_allclose(gm.weights_, ref.weights_, rtol=1e-9)
    assert_allclose(gm.means_, ref.means_, rtol=1e-9, atol=1e-12)
    assert_allclose(gm.covariances_, ref.covariances_, rtol=1e-8, atol=1e-12)


def test_tiny_equal_weights_fit_as_unit_weights():
    X = _blobs(400)
    ref = GaussianMixture(2, random_state=0).fit(X)
    gm = GaussianMixture(2, random_state=0).fit(X, sample_weight=np.full(400, 1e-20))
    assert gm.weights_.min() > 0.4
    assert_allclose(gm.means_, ref.means_, rtol=1e-9)


# ---------------------------------------------------------- column names
def test_select_model_keeps_dataframe_column_names(recwarn):
    iris = load_iris(as_frame=True).frame.drop(columns="target")
    result = select_model(iris, n_components=[2, 3], covariance_types=["VEV"])
    assert list(result.best_.feature_names_in_) == list(iris.columns)
    result.best_.predict(iris)
    assert not [w for w in recwarn if "feature names" in str(w.message)]


def test_streamed_sources_set_feature_names(tmp_path):
    df = pd.DataFrame(_blobs(200), columns=["height", "width"])
    df.to_parquet(tmp_path / "d.parquet")
    df.to_csv(tmp_path / "d.csv", index=False)
    for source in (
        ParquetSource(tmp_path / "d.parquet"),
        CSVSource(tmp_path / "d.csv"),
        ParquetSource(tmp_path / "d.parquet", columns=["width"]),
    ):
        gm = GaussianMixture(1, random_state=0).fit(source)
        expected = source.columns or ["height", "width"]
        assert list(gm.feature_names_in_) == expected


# -------------------------------------------------- scale-free selection
def test_select_model_does_not_depend_on_the_data_units():
    """iris in other units: the same cells fail, the same model wins, and the
    criteria move by the log-Jacobian only.  (mclust's stopping rule compares
    the change with 1 + |l|, and l depends on the units, so the fits are
    run to a tight tol, where both stop at the optimum.)"""
    X = load_iris().data
    ref = select_model(X, n_components=range(1, 5), tol=1e-10)
    for factor in (1e-8, 1e6):
        small = select_model(X * factor, n_components=range(1, 5), tol=1e-10)
        assert small.best_params_ == ref.best_params_
        ok = ref.table["error"].isna().to_numpy()
        assert (small.table["error"].isna().to_numpy() == ok).all()
        n = X.shape[0]
        shift = 2 * n * X.shape[1] * np.log(factor)  # -2 log L moves by this
        assert_allclose(
            small.table["bic"].to_numpy()[ok],
            ref.table["bic"].to_numpy()[ok] + shift,
            rtol=1e-6,
        )


# ------------------------------------------------------------ progress
def test_fit_callback_sees_every_iteration():
    seen = []
    gm = GaussianMixture(3, random_state=0, n_init=2, callback=seen.append)
    gm.fit(_blobs(500))
    assert all(isinstance(p, FitProgress) for p in seen)
    assert {p.init for p in seen} == {0, 1}
    runs = {i: [p for p in seen if p.init == i] for i in (0, 1)}
    # the kept start's bounds are those the callback saw, in order
    kept = [i for i, run in runs.items()
            if [p.lower_bound for p in run] == gm.lower_bounds_]  # fmt: skip
    assert kept
    run = runs[kept[0]]
    assert [p.n_iter for p in run] == list(range(1, gm.n_iter_ + 1))
    for run in runs.values():
        bounds = [p.lower_bound for p in run]
        assert run[0].change == np.inf  # from -inf
        assert_allclose([p.change for p in run][1:], np.diff(bounds))


def test_callback_exception_stops_the_fit():
    def stop(progress):
        if progress.n_iter == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        GaussianMixture(2, random_state=0, tol=0, callback=stop).fit(_blobs(200))


def test_callback_must_be_callable():
    with pytest.raises(gmmkit.InvalidParameterError, match="callback"):
        GaussianMixture(2, callback=3).fit(_blobs(20))


def test_select_model_reports_each_cell():
    seen = []
    X = load_iris().data
    select_model(X, n_components=[1, 2], covariance_types=["EII", "VVV"],
                 callback=seen.append)  # fmt: skip
    assert all(isinstance(p, SelectionProgress) for p in seen)
    assert [p.done for p in seen] == [1, 2, 3, 4]
    assert {(p.covariance_type, p.n_components) for p in seen} == {
        ("EII", 1), ("EII", 2), ("VVV", 1), ("VVV", 2)
    }  # fmt: skip
    assert all(p.total == 4 and p.bic is not None for p in seen)


def test_select_model_time_limit_bounds_each_cell():
    X = load_iris().data
    with pytest.raises(gmmkit.GMMError, match=r"stopped after .*time_limit=1e-09"):
        select_model(X, n_components=[2], covariance_types=["VVV"], time_limit=1e-9)
    ref = select_model(X, n_components=[2, 3], covariance_types=["VVV", "EVE"])
    timed = select_model(
        X, n_components=[2, 3], covariance_types=["VVV", "EVE"], time_limit=600
    )
    assert timed.best_params_ == ref.best_params_
    assert_allclose(timed.table["bic"], ref.table["bic"], rtol=1e-12)
    with pytest.raises(gmmkit.InvalidParameterError, match="time_limit"):
        select_model(X, time_limit=0)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(n_jobs=0), "n_jobs"),
        (dict(n_jobs=1.5), "n_jobs"),
        (dict(n_jobs="x"), "n_jobs"),
        (dict(random_state="x"), "random_state"),
        (dict(tol=-1), "tol"),
        (dict(max_iter=-1), "max_iter"),
        (dict(reg_covar=-1.0), "reg_covar"),
        (dict(reg_covar=float("nan")), "reg_covar"),
    ],
)
def test_select_model_checks_its_parameters_first(kw, name):
    """Named in one InvalidParameterError, before any fit (not a grid of
    failed rows, not joblib's or numpy's own message)."""
    with pytest.raises(gmmkit.InvalidParameterError, match=f"'{name}' parameter"):
        select_model(_blobs(50), n_components=[1, 2], **kw)


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_save_to_a_bad_path_is_a_model_file_error(tmp_path, where):
    gm = GaussianMixture(1, random_state=0).fit(_blobs(20))
    path = tmp_path if where == "folder" else tmp_path / "nofolder" / "m.gmm"
    with pytest.raises(gmmkit.ModelFileError, match="cannot write") as info:
        gm.save(path)
    assert ".tmp" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
