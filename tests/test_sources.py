"""Streamed data sources: memory-mapped .npy, Parquet, CSV, callables.

The oracle is the in-memory fit from the same start (statistics add up, so
a streamed fit must give the same parameters) and scikit-learn's fit.
"""

import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGM

from gmmkit import DataError, GaussianMixture, InvalidParameterError
from gmmkit.sources import (
    CSVSource,
    IterableSource,
    MemmapSource,
    ParquetSource,
    as_stream,
    open_source,
    reservoir_sample,
)

K, D = 3, 3


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    parts = [rng.normal(c, s, size=(1500, D)) for c, s in ((0, 1), (4, 0.7), (9, 1.3))]
    X = np.vstack(parts)
    rng.shuffle(X)
    return X


def _start(X):
    """An explicit start, so every source starts from the same point."""
    return dict(
        weights_init=np.full(K, 1 / K),
        means_init=X[[0, 1000, 2000]],
        precisions_init=np.tile(np.eye(D), (K, 1, 1)),
        tol=1e-6,
    )


def _same_fit(a, b, rtol=1e-10):
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=rtol)
    np.testing.assert_allclose(a.means_, b.means_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_


@pytest.fixture(scope="module")
def reference(X):
    return GaussianMixture(K, chunk_size=700, **_start(X)).fit(X)


@pytest.fixture(scope="module")
def files(X, tmp_path_factory):
    pd = pytest.importorskip("pandas")
    d = tmp_path_factory.mktemp("data")
    np.save(d / "x.npy", X)
    np.save(d / "x32.npy", X.astype(np.float32))
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["label"] = "txt"
    df.to_parquet(d / "x.parquet", row_group_size=1000)
    df.to_csv(d / "x.csv", index=False)
    return d


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_memmap_npy_equals_in_memory(X, files, covariance_type):
    kw = _start(X)
    if covariance_type == "diag":
        kw["precisions_init"] = np.ones((K, D))
    mem = GaussianMixture(K, covariance_type=covariance_type, chunk_size=700, **kw)
    mm = GaussianMixture(K, covariance_type=covariance_type, chunk_size=700, **kw)
    _same_fit(mem.fit(X), mm.fit(np.load(files / "x.npy", mmap_mode="r")))
    np.testing.assert_allclose(
        mem.log_likelihood_history_, mm.log_likelihood_history_, rtol=1e-12
    )
    labels = mm.fit_predict(np.load(files / "x.npy", mmap_mode="r"))
    np.testing.assert_array_equal(labels, mem.predict(X))


def test_memmap_float32_is_read_per_chunk(X, files):
    X32 = X.astype(np.float32)
    mem = GaussianMixture(K, chunk_size=500, **_start(X32)).fit(X32)
    mm = GaussianMixture(K, chunk_size=500, **_start(X32))
    _same_fit(mem, mm.fit(np.load(files / "x32.npy", mmap_mode="r")), rtol=1e-9)
    # fit's final pass reads float32 as EM did, like the in-memory fit ...
    assert_allclose(
        mm.log_likelihood_history_[-1], mem.log_likelihood_history_[-1], rtol=1e-12
    )
    # ... while fit_predict's labels read the rows as predict does (float64),
    # and a source object the caller passes is left as it was
    source = as_stream(np.load(files / "x32.npy", mmap_mode="r"))
    labels = GaussianMixture(K, chunk_size=500, **_start(X32)).fit_predict(source)
    assert source.keep_float32 is False and source.chunk_size is None
    assert_array_equal(labels, mm.predict(source))
    assert_array_equal(labels, mm.predict(X32.astype(np.float64)))


def _rss_file_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux /proc")
def test_memmap_pages_are_released(tmp_path):
    """Reading the whole file keeps ~one chunk resident; the probe is real."""
    big = np.random.default_rng(1).normal(size=(500_000, 8))  # 32 MB
    path = tmp_path / "big.npy"
    np.save(path, big)
    del big
    os.sync()

    def peak_growth(iterate):
        base = _rss_file_kb()
        peak = base
        for _ in iterate():
            peak = max(peak, _rss_file_kb())
        return (peak - base) / 1024

    source = MemmapSource(str(path), chunk_size=20_000)  # 1.3 MB chunks
    released = peak_growth(lambda: (X for _, X, _ in source))
    arr = np.load(path, mmap_mode="r")
    kept = peak_growth(
        lambda: (np.array(arr[i : i + 20_000]) for i in range(0, 500_000, 20_000))
    )
    assert kept > 25, f"control read kept {kept:.1f} MB resident"
    assert released < 8, f"released source kept {released:.1f} MB resident"


def test_memmap_nan_is_located_by_global_row(X, tmp_path):
    bad = X.copy()
    bad[2345, 1] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(DataError, match=r"NaN at row 2345, column 1"):
        GaussianMixture(K, chunk_size=1000).fit(
            np.load(tmp_path / "bad.npy", mmap_mode="r")
        )
    bad[2345, 1] = np.inf
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(DataError, match=r"inf at row 2345, column 1"):
        GaussianMixture(K, chunk_size=1000).fit(
            np.load(tmp_path / "bad.npy", mmap_mode="r")
        )


def test_memmap_must_be_2d(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(10.0))
    with pytest.raises(DataError, match=r"2-D.*shape \(10,\)"):
        GaussianMixture(2).fit(np.load(tmp_path / "v.npy", mmap_mode="r"))


def test_parquet_and_csv_equal_in_memory(X, files, reference):
    cols = ["a", "b", "c"]
    pq = GaussianMixture(K, **_start(X)).fit(
        ParquetSource(files / "x.parquet", columns=cols, chunk_size=700)
    )
    _same_fit(reference, pq)
    csv = GaussianMixture(K, **_start(X)).fit(
        CSVSource(files / "x.csv", columns=cols, block_bytes=64 * 1024)
    )
    _same_fit(reference, csv, rtol=1e-9)  # CSV text holds 17 digits


def test_file_sources_report_bad_columns(files):
    with pytest.raises(DataError, match=r"column 'label' has type \w*string.*columns="):
        GaussianMixture(2).fit(ParquetSource(files / "x.parquet", columns=["label"]))
    with pytest.raises(DataError, match=r"no column\(s\) \['zz'\]"):
        ParquetSource(files / "x.parquet", columns=["a", "zz"])
    with pytest.raises(DataError, match=r"line \d+, column 'label'.*not a number"):
        GaussianMixture(2).fit(CSVSource(files / "x.csv", columns=["a", "label"]))


def test_file_sources_leave_text_columns_out_with_a_notice(files, caplog):
    """One rule for text columns, the command line's: left out unless named,
    with a notice (the "gmmkit" logger and ``notices``)."""
    for source in (ParquetSource(files / "x.parquet"), CSVSource(files / "x.csv")):
        assert "label" not in source.feature_names
        assert any("'label'" in n for n in source.notices)
        gm = GaussianMixture(2, random_state=0).fit(source)
        assert list(gm.feature_names_in_) == source.feature_names
    assert "leaving out" in caplog.text


def test_open_source_dispatches_on_extension(files, tmp_path):
    assert isinstance(open_source(files / "x.npy"), MemmapSource)
    assert isinstance(open_source(files / "x.parquet", columns=["a"]), ParquetSource)
    assert isinstance(open_source(files / "x.csv", columns=["a"]), CSVSource)
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(DataError, match=r"\.npy, \.parquet or \.csv"):
        open_source(tmp_path / "x.xlsx")
    with pytest.raises(DataError, match="does not exist"):
        open_source(tmp_path / "missing.npy")


def test_callable_source_equals_in_memory(X, reference):
    def chunks():
        for i in range(0, X.shape[0], 333):
            yield X[i : i + 333]

    _same_fit(reference, GaussianMixture(K, **_start(X)).fit(chunks))
    _same_fit(reference, GaussianMixture(K, **_start(X)).fit(IterableSource(chunks)))


def test_callable_source_errors(X):
    with pytest.raises(DataError, match="must return an iterator"):
        GaussianMixture(K).fit(lambda: 3)
    calls = []

    def shrinking():
        calls.append(1)
        yield X[: 3000 - 10 * len(calls)]

    with pytest.raises(DataError, match="same rows on every pass"):
        GaussianMixture(K, **_start(X)).fit(shrinking)

    def ragged():
        yield X[:10]
        yield X[10:20, :2]

    with pytest.raises(DataError, match="row 10 has 2 columns"):
        GaussianMixture(2).fit(ragged)
    with pytest.raises(InvalidParameterError, match="sample_weight"):
        GaussianMixture(2).fit(lambda: iter([X]), sample_weight=np.ones(len(X)))


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random_from_data", "random"])
def test_streamed_starts_from_a_sample_reach_the_same_optimum(X, files, init):
    """Starts drawn in one pass (reservoir sample) find sklearn's optimum."""
    ref = SkGM(K, random_state=0, tol=1e-6).fit(X)
    gm = GaussianMixture(K, init_params=init, random_state=0, tol=1e-6, n_init=2)
    gm.fit(np.load(files / "x.npy", mmap_mode="r"))
    assert gm.score(X) == pytest.approx(ref.score(X), rel=1e-6)


def test_large_arrays_start_from_a_subsample(X, monkeypatch):
    """Above the threshold k-means runs on a sample; the start is refined."""
    monkeypatch.setattr("gmmkit._fit.SAMPLED_INIT_THRESHOLD", 1000)
    monkeypatch.setattr("gmmkit._init.INIT_SAMPLE_SIZE", 300)
    ref = SkGM(K, random_state=0, tol=1e-6).fit(X)
    gm = GaussianMixture(K, random_state=0, tol=1e-6).fit(X)
    assert gm.score(X) == pytest.approx(ref.score(X), rel=1e-6)


def test_below_threshold_the_start_is_sklearns(X):
    with pytest.warns(ConvergenceWarning):
        ref = SkGM(K, random_state=3, max_iter=1).fit(X)
    gm = GaussianMixture(K, random_state=3, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-10)


def test_reservoir_sample_is_uniform_and_respects_weights():
    n, m, draws = 50, 10, 2000
    rng = np.random.RandomState(0)
    X = np.arange(n, dtype=float)[:, None]
    w = np.ones(n)
    w[:5] = 0.0  # never drawn
    counts = np.zeros(n)
    for _ in range(draws):
        chunks = [(s, X[s : s + 7], w[s : s + 7]) for s in range(0, n, 7)]
        rows, weights, index = reservoir_sample(chunks, m, rng)
        assert len(set(index)) == m and (np.diff(index) > 0).all()
        np.testing.assert_array_equal(rows[:, 0], index)
        counts[index] += 1
    assert counts[:5].sum() == 0
    freq = counts[5:] / draws  # each of 45 rows: inclusion probability 10/45
    expected = m / 45
    se = np.sqrt(expected * (1 - expected) / draws)
    assert np.abs(freq - expected).max() < 5 * se


def test_scaled_input_streams_each_format(X, files, reference):
    from gmmkit.sources import scaled_input

    for name, columns in (("x.npy", None), ("x.parquet", ["a", "b", "c"])):
        with scaled_input(files / name, columns=columns, chunk_size=700) as src:
            _same_fit(reference, GaussianMixture(K, **_start(X)).fit(src))
    with scaled_input(files / "x.csv", columns=["a", "b", "c"]) as src:
        _same_fit(reference, GaussianMixture(K, **_start(X)).fit(src), rtol=1e-9)


def test_predictions_stream_a_memmap(X, files, reference):
    mm = np.load(files / "x.npy", mmap_mode="r")
    np.testing.assert_array_equal(reference.predict(mm), reference.predict(X))
    np.testing.assert_allclose(
        reference.score_samples(mm), reference.score_samples(X), rtol=1e-13
    )
    np.testing.assert_allclose(
        reference.predict_proba(mm), reference.predict_proba(X), rtol=1e-13
    )
    assert reference.score(mm) == pytest.approx(reference.score(X), rel=1e-13)
    with pytest.raises(DataError, match="2 features, but the model was fitted with 3"):
        reference.predict(lambda: iter([X[:, :2]]))


def test_memmap_views_are_read_as_given(files, X):
    mm = np.load(files / "x.npy", mmap_mode="r")
    for view in (mm[::-1], mm[100:2000], mm[:, 1:]):
        rows = np.vstack([c for _, c, _ in MemmapSource(view, chunk_size=333)])
        np.testing.assert_array_equal(rows, np.asarray(view))


def test_cli_fit_streams_with_chunk_size(files, X, capsys):
    import json

    from gmmkit.cli import main

    assert main(["fit", str(files / "x.npy"), "-k", "3", "--json"]) == 0
    loaded = json.loads(capsys.readouterr().out)
    argv = ["fit", str(files / "x.parquet"), "-k", "3", "--columns", "a,b,c"]
    assert main([*argv, "--chunk-size", "700", "--json"]) == 0
    streamed = json.loads(capsys.readouterr().out)
    assert streamed["n_samples"] == loaded["n_samples"] == X.shape[0]
    assert streamed["feature_names"] == ["a", "b", "c"]
    ll = loaded["log_likelihood"]
    assert streamed["log_likelihood"] == pytest.approx(ll, rel=1e-6)
    assert streamed["bic"] == pytest.approx(loaded["bic"], rel=1e-6)
    assert main(["fit", "-", "--chunk-size", "10"]) == 1
    assert "not stdin" in capsys.readouterr().err


@pytest.mark.parametrize("moments", ["full", "diag"])
def test_nearest_centre_statistics_match_brute_force(moments):
    """The refining pass of a sampled start (rows split across threads):
    counts and moments of the partition by nearest centre, about each
    centre, against a direct computation."""
    from gmmkit._init import _nearest_centre_stats

    rng = np.random.default_rng(5)
    n, d, k = 5000, 4, 3
    centres = rng.normal(scale=2.0, size=(k, d))
    X = rng.normal(size=(n, d)) + centres[rng.integers(k, size=n)]
    w = rng.uniform(0.0, 2.0, size=n)
    stats = _nearest_centre_stats(centres, moments)(X, w)
    labels = ((X[:, None, :] - centres) ** 2).sum(axis=2).argmin(axis=1)
    for j in range(k):
        rows = labels == j
        diff = X[rows] - centres[j]
        wd = w[rows, None] * diff
        np.testing.assert_allclose(stats.n[j], w[rows].sum(), rtol=1e-12)
        np.testing.assert_allclose(stats.s1[j], wd.sum(axis=0), rtol=1e-10, atol=1e-9)
        s2 = wd.T @ diff if moments == "full" else (wd * diff).sum(axis=0)
        np.testing.assert_allclose(stats.s2[j], s2, rtol=1e-10)
    assert stats.weight == pytest.approx(w.sum(), rel=1e-13)
    assert stats.rows == n
