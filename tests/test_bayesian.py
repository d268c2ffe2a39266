"""gmmkit.BayesianGaussianMixture.

Oracles: scikit-learn's BayesianGaussianMixture from the same random_state
(same start, same updates: the fits must agree to rounding); the in-memory
fit from the same responsibilities for chunked, streamed and Dask data (the
statistics add up); the fit of repeated rows for integer sample weights.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SkBGM

from gmmkit import BayesianGaussianMixture, DataError, InvalidParameterError
from gmmkit.sources import CSVSource, IterableSource, ParquetSource

COV_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


def _blobs(seed, n=(200, 150, 100), d=3, spread=6.0):
    rng = np.random.RandomState(seed)
    mix = rng.randn(d, d) + 2 * np.eye(d)
    parts = [rng.randn(m, d) @ mix + spread * rng.randn(d) for m in n]
    X = np.vstack(parts)
    return X[rng.permutation(X.shape[0])]


@pytest.fixture(scope="module")
def X():
    return _blobs(0)


def _close(a, b, rtol=1e-9):
    """Same fitted posterior, to ``rtol`` of each attribute's scale, after
    as many iterations."""
    same_posterior(a, b, rtol)
    assert a.n_iter_ == b.n_iter_
    assert a.converged_ == b.converged_


#: The posterior's array attributes (besides ``weight_concentration_``).
POSTERIOR = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "mean_precision_",
    "degrees_of_freedom_",
)


def same_posterior(a, b, rtol=1e-9):
    """Same posterior, to ``rtol`` of each attribute's scale."""
    for name in POSTERIOR:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(), err_msg=name)
    assert_allclose(
        np.asarray(a.weight_concentration_),
        np.asarray(b.weight_concentration_),
        rtol=rtol,
    )


def _same_as_sklearn(ours, theirs, X, rtol=1e-9):
    _close(ours, theirs, rtol)
    # scikit-learn's types too: numpy.float64, for tied an array of shape (1,)
    assert type(ours.lower_bound_) is type(theirs.lower_bound_)
    assert np.shape(ours.lower_bound_) == np.shape(theirs.lower_bound_)
    assert type(ours.degrees_of_freedom_) is type(theirs.degrees_of_freedom_)
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    assert [type(b) for b in ours.lower_bounds_] == [
        type(b) for b in theirs.lower_bounds_
    ]
    assert_allclose(
        np.ravel(ours.lower_bounds_), np.ravel(theirs.lower_bounds_), rtol=rtol
    )
    scale = np.abs(theirs.precisions_).max()
    assert_allclose(ours.precisions_, theirs.precisions_, rtol=1e-8, atol=1e-9 * scale)
    for name in ("mean_prior_", "covariance_prior_"):
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12)
    for name in (
        "weight_concentration_prior_",
        "mean_precision_prior_",
        "degrees_of_freedom_prior_",
    ):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name))
    assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-10)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-9)
    assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("weight_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_same_fit_as_sklearn(X, covariance_type, weight_type):
    kw = dict(
        n_components=6,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_type,
        random_state=3,
        max_iter=400,
        tol=1e-5,
    )
    _same_as_sklearn(BayesianGaussianMixture(**kw).fit(X), SkBGM(**kw).fit(X), X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "init_params, seed", [("random", 1), ("random_from_data", 2), ("k-means++", 4)]
)
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_same_fit_as_sklearn_other_starts_and_priors(
    init_params, seed, covariance_type
):
    X = _blobs(seed, n=(120, 80, 60), d=4)
    d = X.shape[1]
    cov_prior = {"full": 2.0 * np.eye(d), "diag": np.full(d, 0.5)}[covariance_type]
    kw = dict(
        n_components=5,
        covariance_type=covariance_type,
        init_params=init_params,
        weight_concentration_prior=0.3,
        mean_precision_prior=0.1,
        mean_prior=np.arange(d, dtype=float),
        degrees_of_freedom_prior=d + 1.5,
        covariance_prior=cov_prior,
        random_state=seed,
        n_init=2,
        max_iter=300,
        tol=1e-6,
        reg_covar=1e-4,
    )
    _same_as_sklearn(BayesianGaussianMixture(**kw).fit(X), SkBGM(**kw).fit(X), X)


def test_warm_start_continues_as_sklearn(X):
    kw = dict(n_components=5, warm_start=True, max_iter=3, random_state=0, tol=0.0)
    ours, theirs = BayesianGaussianMixture(**kw), SkBGM(**kw)
    for _ in range(4):
        with pytest.warns(ConvergenceWarning):
            ours.fit(X)
        with pytest.warns(ConvergenceWarning):
            theirs.fit(X)
        _close(ours, theirs)
        assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-10)


@pytest.mark.parametrize("weight_type", PRIOR_TYPES)
def test_start_of_each_covariance_type_reduces_the_full_one(X, weight_type):
    """scikit-learn's test_compare_covar_type (which needs its private
    ``_initialize_parameters``) through the public API: ``max_iter=0`` keeps
    the first M-step, whose tied scale is the mean of the full ones, diag
    their diagonals, spherical the mean of those."""
    kw = dict(n_components=6, max_iter=0, random_state=0)
    kw["weight_concentration_prior_type"] = weight_type
    fits = {
        c: BayesianGaussianMixture(covariance_type=c, **kw).fit(X) for c in COV_TYPES
    }
    full = fits["full"].covariances_ * fits["full"].degrees_of_freedom_[:, None, None]
    tied = fits["tied"].covariances_ * fits["tied"].degrees_of_freedom_
    assert_allclose(tied, full.mean(axis=0), rtol=1e-12)
    diag = fits["diag"].covariances_ * fits["diag"].degrees_of_freedom_[:, None]
    assert_allclose(diag, np.diagonal(full, axis1=1, axis2=2), rtol=1e-12)
    sph = fits["spherical"].covariances_ * fits["spherical"].degrees_of_freedom_
    assert_allclose(sph, diag.mean(axis=1), rtol=1e-12)
    assert fits["full"].n_iter_ == 0 and fits["full"].lower_bound_ == -np.inf


def test_fit_predict_equals_fit_then_predict(X):
    kw = dict(n_components=5, random_state=0, max_iter=3)
    with pytest.warns(ConvergenceWarning):
        labels = BayesianGaussianMixture(**kw).fit_predict(X)
    with pytest.warns(ConvergenceWarning):
        model = BayesianGaussianMixture(**kw).fit(X)
    assert_array_equal(labels, model.predict(X))


def test_bound_never_decreases(X):
    model = BayesianGaussianMixture(
        n_components=8, random_state=0, tol=1e-8, max_iter=500
    )
    model.fit(X)
    steps = np.diff(model.lower_bounds_)
    assert (steps >= -1e-9 * np.abs(model.lower_bounds_[1:])).all()
    assert model.converged_


# -- sample weights --------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_integer_weights_equal_repeated_rows(X, covariance_type):
    rng = np.random.RandomState(5)
    w = rng.randint(0, 4, size=X.shape[0])
    w[:3] = (0, 1, 2)
    X_rep = np.repeat(X, w, axis=0)
    resp = rng.dirichlet(np.ones(4), size=X.shape[0])
    kw = dict(n_components=4, covariance_type=covariance_type, tol=1e-7, max_iter=500)
    weighted = BayesianGaussianMixture(resp_init=resp, **kw).fit(X, sample_weight=w)
    repeated = BayesianGaussianMixture(resp_init=np.repeat(resp, w, axis=0), **kw).fit(
        X_rep
    )
    _close(weighted, repeated, rtol=1e-9)
    assert_allclose(weighted.mean_prior_, X_rep.mean(axis=0), rtol=1e-12)
    assert_allclose(weighted.lower_bound_, repeated.lower_bound_, rtol=1e-10)
    sk = SkBGM(n_components=4, covariance_type=covariance_type, max_iter=0).fit(X_rep)
    assert_allclose(weighted.covariance_prior_, sk.covariance_prior_, rtol=1e-12)


def test_unit_weights_equal_no_weights(X):
    kw = dict(n_components=4, random_state=0)
    a = BayesianGaussianMixture(**kw).fit(X)
    b = BayesianGaussianMixture(**kw).fit(X, sample_weight=np.ones(X.shape[0]))
    _close(a, b, rtol=1e-12)


# -- chunks, streams, Dask, float32 ------------------------------------------------


@pytest.fixture(scope="module")
def start(X):
    return np.random.RandomState(7).dirichlet(np.ones(4), size=X.shape[0])


@pytest.fixture(scope="module")
def reference(X, start):
    return BayesianGaussianMixture(4, resp_init=start, tol=1e-7, max_iter=500).fit(X)


def _streamed(start, X_like, **kw):
    return BayesianGaussianMixture(
        4, resp_init=start, tol=1e-7, max_iter=500, **kw
    ).fit(X_like)


def test_chunked_equals_whole(X, start, reference):
    _close(_streamed(start, X, chunk_size=37), reference, rtol=1e-9)


def test_file_sources_equal_in_memory(X, start, reference, tmp_path):
    pd = pytest.importorskip("pandas")
    np.save(tmp_path / "x.npy", X)
    _close(_streamed(start, np.load(tmp_path / "x.npy", mmap_mode="r")), reference)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df.to_parquet(tmp_path / "x.parquet", row_group_size=100)
    df.to_csv(tmp_path / "x.csv", index=False)
    pq = _streamed(start, ParquetSource(tmp_path / "x.parquet", chunk_size=90))
    _close(pq, reference)
    assert list(pq.feature_names_in_) == ["a", "b", "c"]
    csv = _streamed(start, CSVSource(tmp_path / "x.csv", block_bytes=4096))
    _close(csv, reference)


def test_callable_source_equals_in_memory(X, start, reference):
    def chunks():
        for i in range(0, X.shape[0], 101):
            yield X[i : i + 101]

    _close(_streamed(start, chunks), reference)
    _close(_streamed(start, IterableSource(chunks)), reference)


def test_dask_array_equals_in_memory(X, start, reference):
    da = pytest.importorskip("dask.array")
    model = _streamed(start, da.from_array(X, chunks=(120, 3)))
    _close(model, reference)
    lazy = model.predict(da.from_array(X, chunks=(120, 3)))
    assert_array_equal(np.asarray(lazy), reference.predict(X))


def test_streamed_default_start_reaches_the_same_optimum(X, reference):
    """Without resp_init a streamed fit starts from a sample (as
    GaussianMixture does): a different start, the same well-separated
    optimum."""
    model = BayesianGaussianMixture(4, random_state=0, tol=1e-7, max_iter=500).fit(
        IterableSource(lambda: iter([X[:200], X[200:]]))
    )
    order = np.argsort(model.means_[:, 0])
    heavy = model.weights_[order] > 0.05
    ref_order = np.argsort(reference.means_[:, 0])
    ref_heavy = reference.weights_[ref_order] > 0.05
    assert_allclose(
        model.means_[order][heavy], reference.means_[ref_order][ref_heavy], rtol=1e-3
    )


def test_float32_passes_agree_with_float64(X, start):
    """float32 rows are passed over in float32; the fit agrees with the
    float64 passes to float32 rounding (the bound's rounding, ~1e-7 of its
    size, needs a tol above it: the documented caveat)."""
    X32 = X.astype(np.float32)
    kw = dict(resp_init=start, tol=1e-3, max_iter=500)
    fast = BayesianGaussianMixture(4, **kw).fit(X32)
    exact = BayesianGaussianMixture(4, dtype="float64", **kw).fit(X32)
    assert fast.n_iter_ == exact.n_iter_
    assert_allclose(fast.means_, exact.means_, rtol=1e-4, atol=1e-4)
    assert_allclose(fast.covariances_, exact.covariances_, rtol=1e-4, atol=1e-4)
    assert_allclose(fast.weights_, exact.weights_, rtol=1e-4, atol=1e-6)
    assert fast.lower_bound_ == pytest.approx(exact.lower_bound_, rel=1e-6)
    X64 = X32.astype(np.float64)
    _close(exact, BayesianGaussianMixture(4, **kw).fit(X64), rtol=1e-9)


# -- errors ------------------------------------------------------------------------


def test_bad_parameters_are_named(X):
    cases = [
        (dict(covariance_type="VVV"), "'covariance_type' parameter"),
        (dict(weight_concentration_prior_type="x"), "weight_concentration_prior_type"),
        (dict(weight_concentration_prior=0.0), "'weight_concentration_prior'"),
        (dict(mean_precision_prior=-1), "'mean_precision_prior'"),
        (dict(degrees_of_freedom_prior=1.5), "should be greater than 2"),
        (dict(mean_prior=[1.0, 2.0]), r"'means' should have the shape of \(3,\)"),
        (dict(covariance_prior=np.eye(2)), r"shape of \(3, 3\)"),
        (
            dict(covariance_prior=-np.eye(3)),
            "symmetric, positive-definite",
        ),
        (dict(covariance_type="diag", covariance_prior=[1, 0, 1]), "positive"),
        (dict(covariance_type="spherical", covariance_prior=0.0), "covariance_prior"),
        (dict(n_components=0), "'n_components'"),
    ]
    for kw, pattern in cases:
        with pytest.raises(InvalidParameterError, match=pattern):
            BayesianGaussianMixture(**kw).fit(X)


def test_bad_data_are_errors(X):
    # scikit-learn's sentence first, then gmmkit's detail
    with pytest.raises(
        DataError,
        match=r"^Expected n_samples >= n_components but got n_components = 5, "
        r"n_samples = 3\. n_components=5 needs at least as many samples",
    ):
        BayesianGaussianMixture(5).fit(X[:3])
    with pytest.raises(DataError, match="sample_weight must be non-negative"):
        BayesianGaussianMixture(2).fit(X, sample_weight=-np.ones(X.shape[0]))
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(DataError, match="row 4"):
        BayesianGaussianMixture(2).fit(bad)
    with pytest.raises(InvalidParameterError, match="resp_init"):
        BayesianGaussianMixture(2, resp_init=np.ones((X.shape[0], 3))).fit(X)
    model = BayesianGaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(X[:, :2])
