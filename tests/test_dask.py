"""Dask: EM as blockwise maps plus a tree reduction on a real LocalCluster.

Oracle: the in-memory fit from the same start (1e-10 relative).
"""

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from gmmkit import DataError, GaussianMixture  # noqa: E402

K, D = 3, 2


# A local Dask cluster (scheduler and workers) for the whole module.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    parts = [rng.normal(c, s, size=(1000, D)) for c, s in ((0, 1), (3, 0.6), (6, 1.2))]
    X = np.vstack(parts)
    rng.shuffle(X)
    return X


def _start(covariance_type, X):
    precisions = {
        "full": np.tile(np.eye(D), (K, 1, 1)),
        "tied": np.eye(D),
        "diag": np.ones((K, D)),
        "spherical": np.ones(K),
    }[covariance_type]
    return dict(
        covariance_type=covariance_type,
        weights_init=np.full(K, 1 / K),
        means_init=X[:K],
        precisions_init=precisions,
        tol=1e-6,
        max_iter=100,
    )


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_dask_fit_equals_in_memory(client, X, covariance_type):
    kw = _start(covariance_type, X)
    mem = GaussianMixture(K, chunk_size=400, **kw).fit(X)
    dsk = GaussianMixture(K, **kw).fit(da.from_array(X, chunks=(400, D)))
    assert dsk.n_iter_ == mem.n_iter_ > 5
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(
            getattr(dsk, name), getattr(mem, name), rtol=1e-10, atol=1e-13
        )
    np.testing.assert_allclose(
        dsk.log_likelihood_history_, mem.log_likelihood_history_, rtol=1e-12
    )


def test_dask_runs_on_the_cluster(client, X):
    with distributed.get_task_stream(client) as ts:
        GaussianMixture(K, **_start("full", X)).fit(da.from_array(X, chunks=(500, D)))
    workers = {t["worker"] for t in ts.data}
    assert len(workers) == 2  # both worker processes computed statistics


def test_predict_is_lazy_and_matches_in_memory(client, X):
    gm = GaussianMixture(K, **_start("full", X)).fit(X)
    dX = da.from_array(X, chunks=(700, D))
    labels = gm.predict(dX)
    proba = gm.predict_proba(dX)
    dens = gm.score_samples(dX)
    for out in (labels, proba, dens):
        assert isinstance(out, da.Array)
    np.testing.assert_array_equal(labels.compute(), gm.predict(X))
    np.testing.assert_allclose(proba.compute(), gm.predict_proba(X), rtol=1e-12)
    np.testing.assert_allclose(dens.compute(), gm.score_samples(X), rtol=1e-12)

    def boom(block):
        raise RuntimeError("computed")

    never = dX.map_blocks(boom, dtype=float)
    lazy = gm.predict(never)  # builds a graph only
    assert lazy.shape == (X.shape[0],)
    with pytest.raises(RuntimeError, match="computed"):
        lazy.compute()


def test_dask_dataframe_and_sampled_kmeans_start(client, X):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    df = dd.from_pandas(pd.DataFrame(X, columns=["a", "b"]), npartitions=3)
    ref = GaussianMixture(K, random_state=0, tol=1e-6).fit(X)
    gm = GaussianMixture(K, random_state=0, tol=1e-6).fit(df)
    assert gm.score(X) == pytest.approx(ref.score(X), rel=1e-6)
    assert gm.fit_predict(df).shape == (X.shape[0],)


def test_dask_nan_is_located(client, X):
    bad = X.copy()
    bad[1234, 1] = np.nan
    with pytest.raises(DataError, match="NaN at row 1234, column 1"):
        GaussianMixture(K, **_start("full", X)).fit(da.from_array(bad, chunks=(500, D)))
    with pytest.raises(DataError, match="2-D"):
        GaussianMixture(K).fit(da.from_array(X[:, 0], chunks=500))


@pytest.mark.parametrize("ext", ["npy", "parquet", "csv"])
def test_files_read_by_the_workers_equal_in_memory(client, X, tmp_path, ext):
    """gmmkit fit DATA --scheduler ADDRESS: blocks read on the workers."""
    pd = pytest.importorskip("pandas")
    from gmmkit.sources import scaled_input

    path = tmp_path / f"x.{ext}"
    if ext == "npy":
        np.save(path, X)
    elif ext == "parquet":
        pd.DataFrame(X, columns=["a", "b"]).to_parquet(path)
    else:
        pd.DataFrame(X, columns=["a", "b"]).to_csv(path, index=False)
    kw = _start("full", X)
    mem = GaussianMixture(K, **kw).fit(X)
    address = client.scheduler.address
    with scaled_input(path, chunk_size=700, scheduler=address) as dX:
        assert isinstance(dX, da.Array) and dX.shape == X.shape
        gm = GaussianMixture(K, **kw).fit(dX)
    np.testing.assert_allclose(gm.means_, mem.means_, rtol=1e-9)
    np.testing.assert_allclose(gm.covariances_, mem.covariances_, rtol=1e-9)


def test_cli_fit_on_a_scheduler(client, X, tmp_path, capsys):
    import json

    from gmmkit.cli import main

    np.save(tmp_path / "x.npy", X)
    argv = ["fit", str(tmp_path / "x.npy"), "-k", "3", "--json"]
    assert main(argv) == 0
    loaded = json.loads(capsys.readouterr().out)
    address = client.scheduler.address
    assert main([*argv, "--scheduler", address, "--chunk-size", "500"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert remote["n_samples"] == X.shape[0]
    ll = loaded["log_likelihood"]
    assert remote["log_likelihood"] == pytest.approx(ll, rel=1e-6)
