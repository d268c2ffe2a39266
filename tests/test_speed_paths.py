"""Correctness of the fast paths: compiled kernels, GEMM moments, float32, SQUAREM.

Every fast path is checked against an independent oracle: scipy.stats
densities and brute-force weighted moments, or plain EM from the same start.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gmmkit import GaussianMixture, _kernels
from gmmkit._errors import InvalidParameterError
from gmmkit._stats import Params, estep_stats, score_rows, weighted_log_prob
from gmmkit.covariance import get_model
from gmmkit.sources import ArraySource, Float32Rows

TYPES = ["full", "tied", "diag", "spherical"]


def _params(model, k, d, rng, offset):
    """Random parameters that satisfy the model's constraints."""
    means = rng.normal(scale=3.0, size=(k, d)) + offset
    full = np.stack(
        [np.cov(rng.normal(size=(d + 6, d)).T) + 0.5 * np.eye(d) for _ in range(k)]
    )
    diag = np.stack([np.diag(np.diag(c)) for c in full])
    iso = np.stack([np.eye(d) * np.diag(c).mean() for c in full])
    dense = {
        "VVV": full,
        "EEE": np.repeat(full[:1], k, axis=0),
        "VVI": diag,
        "EEI": np.repeat(diag[:1], k, axis=0),
        "VII": iso,
        "EII": np.repeat(iso[:1], k, axis=0),
    }[model.name]
    native = model.from_dense(dense)
    weights = rng.dirichlet(np.ones(k))
    return Params(weights, means, native, model.precisions_cholesky(native, 0.0))


def _oracle(X, w, model, params):
    """scipy densities and brute-force moments about each component's mean."""
    k, d = params.means.shape
    dense = model.dense(params.covariances, k, d)
    logp = np.column_stack(
        [
            np.log(params.weights[j])
            + multivariate_normal(params.means[j], dense[j]).logpdf(X).reshape(-1)
            for j in range(k)
        ]
    )
    norm = logsumexp(logp, axis=1)
    resp = np.exp(logp - norm[:, None]) * w[:, None]
    n = resp.sum(axis=0)
    s1 = np.stack([resp[:, j] @ (X - params.means[j]) for j in range(k)])
    diffs = [X - params.means[j] for j in range(k)]
    s2_full = np.stack([(diffs[j] * resp[:, j, None]).T @ diffs[j] for j in range(k)])
    s2 = s2_full if model.moments == "full" else np.diagonal(s2_full, 0, 1, 2)
    return n, s1, s2, float(w @ norm), logp


def _close(a, b, rtol=1e-9):
    assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.abs(b).max())))


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    if request.param == "compiled" and not _kernels.available():
        pytest.skip("numba is not installed")  # the numpy leg still runs
    if request.param == "numpy":
        monkeypatch.setattr(_kernels, "_HAVE_NUMBA", False)
    return request.param


@pytest.mark.parametrize(
    "covariance_type", [*TYPES, "VVV", "EEE", "VVI", "VII", "EII", "EEI"]
)
@pytest.mark.parametrize("d", [1, 12, 30])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_estep_matches_oracle(path, covariance_type, d, offset):
    rng = np.random.RandomState(d + int(offset))
    model = get_model(covariance_type)
    k = 4
    params = _params(model, k, d, rng, offset)
    X = params.means[rng.randint(k, size=700)] + rng.normal(size=(700, d))
    w = rng.uniform(0, 2, size=700)
    w[::7] = 0.0
    stats = estep_stats(ArraySource(X, w, 256), model, params)
    n, s1, s2, ll, logp = _oracle(X, w, model, params)
    _close(stats.n, n)
    _close(stats.s1, s1)
    _close(stats.s2, s2)
    assert_allclose(stats.loglik, ll, rtol=1e-11)
    assert_allclose(stats.weight, w.sum(), rtol=1e-13)
    got = weighted_log_prob(X, model, params, params.centre())
    _close(got, logp, rtol=1e-10)


@pytest.mark.parametrize(
    "covariance_type", ["full", "tied", "diag", "EEI", "spherical"]
)
@pytest.mark.parametrize("d", [1, 5, 40])
def test_score_rows_match_oracle(path, covariance_type, d):
    """Per-row log-density and label (final pass, predict, score_samples)."""
    rng = np.random.RandomState(d)
    model = get_model(covariance_type)
    k = 5
    params = _params(model, k, d, rng, 10.0)
    X = params.means[rng.randint(k, size=900)] + 2.0 * rng.normal(size=(900, d))
    *_, logp = _oracle(X, np.ones(len(X)), model, params)
    got_norm, got_labels = [], []
    for _, log_norm, labels in score_rows(ArraySource(X, None, 300), model, params):
        got_norm.append(log_norm)
        got_labels.append(labels)
    assert_allclose(np.concatenate(got_norm), logsumexp(logp, axis=1), rtol=1e-11)
    assert_array_equal(np.concatenate(got_labels), logp.argmax(axis=1))
    # without labels (the fit's final pass, score_samples): none computed,
    # the same log-densities
    source = ArraySource(X, None, 300)
    rows = list(score_rows(source, model, params, labels=False))
    assert all(best is None for _, _, best in rows)
    assert_array_equal(
        np.concatenate([log_norm for _, log_norm, _ in rows]), np.concatenate(got_norm)
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tile_transposition_is_exact(dtype):
    """The tile of rows (transposed in vector registers in square blocks,
    the rest one value at a time): ``x - shift`` rounded once to the rows'
    dtype, for widths and row counts on and off the block size."""
    if not _kernels.available():
        pytest.skip("numba is not installed")
    from gmmkit import _kernels_impl as impl

    rng = np.random.default_rng(5)
    for d in (1, 3, 4, 5, 8, 9, 16, 17, 64):
        X = (rng.normal(size=(40, d)) * 3 + 1e4).astype(dtype)
        shift = (rng.normal(size=d) + 1e4).astype(np.float32).astype(dtype)
        for start, nb in ((0, 40), (3, 37), (5, 8), (1, 7), (2, 0)):
            xt = np.full((d, 41), np.nan, dtype)
            impl._load_tile(X, shift, start, nb, xt)
            exact = X[start : start + nb].astype(np.float64) - shift
            assert_array_equal(xt[:, :nb], exact.astype(dtype).T)
            assert np.isnan(xt[:, nb:]).all()  # nothing written beyond nb


def test_kernels_refuse_a_shift_their_dtype_cannot_hold():
    """float32 rows subtract the shift in float32: one that float32 cannot
    hold exactly would move every row, so it is refused (Params.centre()
    gives representable ones, also for very large values)."""
    if not _kernels.available():
        pytest.skip("numba is not installed")
    X = np.ones((10, 2), np.float32)
    means, prec = np.zeros((1, 2)), np.ones((1, 2))
    logc = _kernels.log_constants("diag", np.ones(1), prec, 2)
    with pytest.raises(ValueError, match="representable in float32"):
        _kernels.score_chunk("diag", X, np.array([0.1, 0.0]), means, prec, logc)
    rng = np.random.default_rng(2)
    for scale in (1.0, 1e30, 1e300):
        means = rng.normal(size=(3, 4)) * scale
        params = Params(np.ones(3) / 3, means, np.ones((3, 4)), np.ones((3, 4)))
        centre = params.centre()
        assert_allclose(centre, means.mean(axis=0), rtol=1e-7)
        if scale < 1e38:
            assert_array_equal(centre.astype(np.float32), centre)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_span_several_tiles(covariance_type, dtype):
    """A thread's block of rows crosses several tiles and ends in a partial
    one (the tests above use blocks smaller than one tile): statistics,
    log-likelihood and per-row densities against scipy and brute force."""
    if not _kernels.available():
        pytest.skip("numba is not installed")
    from gmmkit._kernels_impl import tile_rows

    rng = np.random.RandomState(3)
    model = get_model(covariance_type)
    k, d = 3, 6
    rows = tile_rows(dtype, d, covariance_type == "full")
    n = 2 * (2 * rows + rows // 3)  # per thread: two tiles and a third of one
    params = _params(model, k, d, rng, 5.0)
    X = (params.means[rng.randint(k, size=n)] + rng.normal(size=(n, d))).astype(dtype)
    w = rng.uniform(0.5, 2, size=n)
    source = ArraySource if dtype == np.float64 else Float32Rows
    stats = estep_stats(source(X, w, n), model, params)
    want_n, s1, s2, ll, logp = _oracle(X.astype(np.float64), w, model, params)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    _close(stats.n, want_n, rtol)
    _close(stats.s1, s1, 10 * rtol)
    _close(stats.s2, s2, rtol)
    assert_allclose(stats.loglik, ll, rtol=rtol / 10)
    [(_, log_norm, labels)] = list(score_rows(source(X, None, n), model, params))
    assert_allclose(log_norm, logsumexp(logp, axis=1), rtol=rtol / 10)
    assert np.mean(labels == logp.argmax(axis=1)) > 0.999


@pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")
def test_compiled_exp_is_accurate_inside_fast_math_loops():
    """The kernels' own exp is compiled into loops with re-association on
    (numba passes the caller's fast-math flags to its callees); its range
    reduction must survive that: relative error a few ulp near 0, ~1e-13 near
    the underflow limit, and exact zeros below it (float32 rows: ~1e-7 and
    ~1e-5, in float32)."""
    from gmmkit import _kernels_impl as impl

    rng = np.random.RandomState(0)
    k, b = 7, impl.tile_rows(np.float32)
    lp = np.concatenate([-rng.exponential(3.0, 5 * b), -rng.uniform(0, 800, 2 * b)])
    lp = lp.reshape(k, b)
    lp[0] = 0.0  # every row's maximum is 0, so exp(lp - max) = exp(lp)
    # (dtype, |v| below which ~ulp accuracy, its rtol, underflow limit, rtol
    # down to it): float32 rows are computed in float32 and compared with the
    # float64 exp of the same float32 inputs
    cases = [(np.float64, 30, 2e-15, 708.5, 5e-14), (np.float32, 20, 3e-7, 87, 2e-5)]
    for dtype, near, rtol_near, limit, rtol_far in cases:
        x = lp.astype(dtype)
        expected = np.exp(x.astype(np.float64))
        work = x.copy()
        top, best, total = (np.empty(b, dtype) for _ in range(3))
        buffers = (
            np.empty(b),
            np.empty(b),
            np.empty(b, dtype=np.int64),
            np.empty(b, dtype=np.float32),
            np.empty(b, dtype=np.int32),
        )  # as _tile_buffers makes them
        impl._exp_normalise(work, b, top, best, total, buffers)
        assert work.dtype == dtype
        assert_array_equal(top, x.max(axis=0))
        assert_array_equal(best, x.argmax(axis=0))
        ok = x > -near
        assert_allclose(work[ok], expected[ok], rtol=rtol_near)
        ok = x > -(limit - 8.5)
        assert_allclose(work[ok], expected[ok], rtol=rtol_far)
        assert np.all(work[x < -limit] == 0.0)
        assert_allclose(total, expected.sum(axis=0), rtol=max(rtol_near, 1e-15))


@pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_log_is_accurate(dtype):
    """The kernels' vectorised log (of the per-row sums of the soft-max, in
    [1, K], but written for any positive float) against numpy's, in float64:
    a few ulp, exact at powers of two and 1, either side of sqrt(2)."""
    from gmmkit import _kernels_impl as impl

    rng = np.random.RandomState(1)
    tiny = np.finfo(dtype).tiny
    x = np.concatenate(
        [
            rng.uniform(1.0, 1000.0, 3000),
            np.exp(rng.uniform(np.log(tiny), -np.log(tiny), 3000)),
            [1.0, 2.0, 0.5, 1024.0, tiny, np.finfo(dtype).max],
            np.sqrt(2.0) * (1 + np.linspace(-1e-6, 1e-6, 21)),
        ]
    ).astype(dtype)
    m = len(x)
    out, fbuf, ibuf = np.empty(m), np.empty(m), np.empty(m, dtype=np.int64)
    impl._log_row(x, m, out, fbuf, ibuf)
    expected = np.log(x.astype(np.float64))
    assert_allclose(out, expected, rtol=4e-16, atol=1e-300)
    assert_array_equal(out[6000:6004], np.log([1.0, 2.0, 0.5, 1024.0]))


@pytest.mark.parametrize("covariance_type,d", [("full", 5), ("diag", 5), ("full", 40)])
def test_float32_statistics_are_about_the_exact_centres(path, covariance_type, d):
    """float32 rows far from the origin: the statistics are those of the
    float32 data about the float64 centres, to float32 precision (no bias
    from centres or shifts rounded to float32)."""
    rng = np.random.RandomState(d)
    model = get_model(covariance_type)
    params = _params(model, 3, d, rng, 1e4)
    X = params.means[rng.randint(3, size=900)] + rng.normal(size=(900, d))
    X32 = X.astype(np.float32)
    w = np.ones(len(X))
    stats = estep_stats(Float32Rows(X32, None, 300), model, params)
    n, s1, s2, ll, _ = _oracle(X32.astype(np.float64), w, model, params)
    # s1 ~ sqrt(n) sigma; a centre rounded to float32 (error ~1e4 * 6e-8)
    # would add n * 6e-4 ~ 0.2 to it
    assert np.abs(stats.s1 - s1).max() < 1e-4 * np.sqrt(n).max()
    assert_allclose(stats.n, n, rtol=1e-4)
    assert_allclose(stats.s2, s2, rtol=1e-3, atol=1e-3 * np.abs(s2).max())
    assert_allclose(stats.loglik, ll, rtol=1e-5)


def test_empty_chunks_are_skipped(path):
    rng = np.random.RandomState(0)
    model = get_model("full")
    params = _params(model, 3, 40, rng, 0.0)
    X = params.means[rng.randint(3, size=500)] + rng.normal(size=(500, 40))
    w = np.ones(len(X))
    whole = estep_stats([(0, X, w)], model, params)
    split = estep_stats(
        [(0, X[:200], w[:200]), (200, X[:0], w[:0]), (200, X[200:], w[200:])],
        model,
        params,
    )
    _close(split.s2, whole.s2)
    assert_allclose(split.loglik, whole.loglik, rtol=1e-12)
    rows = list(score_rows([(0, X[:0], w[:0]), (0, X, w)], model, params))
    assert rows[0][1].shape == (0,)
    assert rows[1][1].shape == (500,)


def test_far_components_take_the_exact_path(monkeypatch):
    """A tight component far from the common centre (moments about the shift
    would lose ~12 digits): the GEMM path must fall back to exact centring."""
    monkeypatch.setattr(_kernels, "_HAVE_NUMBA", False)
    rng = np.random.RandomState(0)
    model = get_model("full")
    d = 12
    means = np.zeros((2, d))
    means[1] = 1e4
    covs = np.stack([np.eye(d), 1e-4 * np.eye(d)])
    params = Params(
        np.array([0.5, 0.5]), means, covs, model.precisions_cholesky(covs, 0.0)
    )
    X = np.vstack([rng.normal(size=(300, d)), 1e4 + 1e-2 * rng.normal(size=(300, d))])
    w = np.ones(len(X))
    stats = estep_stats(ArraySource(X, w, 128), model, params)
    _, s1, s2, _, _ = _oracle(X, w, model, params)
    _close(stats.s1, s1, rtol=1e-9)
    assert_allclose(stats.s2[1], s2[1], rtol=1e-8, atol=1e-12 * np.abs(s2[1]).max())


def test_seeded_start_first_bound_matches_solve_oracle():
    """The first bound of a seeded start (covariances of reg_covar, Mahalanobis
    distances ~1e8) equals an oracle built from Cholesky solves."""
    rng = np.random.RandomState(1)
    X = np.vstack([rng.normal(size=(200, 3)) * [1, 10, 0.1] + c for c in (0, 30, 60)])
    kw = dict(init_params="k-means++", random_state=3, tol=0, max_iter=1)
    gm = GaussianMixture(3, **kw)
    with pytest.warns(Warning):
        gm.fit(X)
    start = GaussianMixture(3, **{**kw, "max_iter": 0}).fit(X)
    logp = []
    for j in range(3):
        chol = np.linalg.cholesky(start.covariances_[j])
        y = np.linalg.solve(chol, (X - start.means_[j]).T)
        logp.append(
            np.log(start.weights_[j])
            - 0.5 * (3 * np.log(2 * np.pi) + (y * y).sum(axis=0))
            - np.log(np.diag(chol)).sum()
        )
    oracle = logsumexp(np.array(logp).T, axis=1).mean()
    assert_allclose(gm.lower_bounds_[0], oracle, rtol=1e-12)


@pytest.mark.parametrize(
    "covariance_type,d", [("full", 16), ("diag", 40), ("full", 3), ("tied", 10)]
)
def test_float32_fit_matches_float64(covariance_type, d):
    rng = np.random.RandomState(d)
    centres = rng.normal(scale=3, size=(3, d))
    X = centres[rng.randint(3, size=3000)] + rng.normal(size=(3000, d)) + 50.0
    X32 = X.astype(np.float32)
    # tol 1e-6: in float32 the per-iteration bound carries rounding noise of
    # ~1e-7 per row, so much tighter tolerances may never be met (documented).
    # The final log-likelihood and predictions are computed in float64.
    kw = dict(covariance_type=covariance_type, random_state=0, tol=1e-6, max_iter=300)
    ref = GaussianMixture(3, **kw).fit(X32.astype(np.float64))
    fast = GaussianMixture(3, **kw).fit(X32)
    wide = GaussianMixture(3, dtype="float64", **kw).fit(X32)
    assert fast.converged_
    ll = ref.score(X32.astype(np.float64))
    assert_allclose(fast.score(X32.astype(np.float64)), ll, rtol=1e-5)
    # dtype="float64" widens every chunk: the float64 fit to rounding.
    assert_allclose(wide.score(X32.astype(np.float64)), ll, rtol=1e-12)
    assert_allclose(fast.means_, ref.means_, rtol=1e-3, atol=1e-3)


def _slow_data():
    rng = np.random.RandomState(0)
    return np.vstack(
        [
            rng.normal([0, 0], 1.0, size=(400, 2)),
            rng.normal([1.2, 0.5], 1.1, size=(400, 2)),
            rng.normal([2.0, -1.0], 0.8, size=(400, 2)),
        ]
    )


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_squarem_same_optimum_fewer_passes_monotone(covariance_type):
    X = _slow_data()
    kw = dict(
        covariance_type=covariance_type,
        random_state=1,
        tol=1e-10,
        max_iter=20000,
        init_params="random_from_data",
    )
    plain = GaussianMixture(3, **kw).fit(X)
    fast = GaussianMixture(3, accelerate="squarem", **kw).fit(X)
    assert plain.converged_ and fast.converged_
    assert fast.n_iter_ < plain.n_iter_
    assert_allclose(fast.score(X), plain.score(X), rtol=1e-7)
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)
    order = np.argsort(fast.means_[:, 0])
    ref = np.argsort(plain.means_[:, 0])
    assert_allclose(fast.means_[order], plain.means_[ref], atol=2e-3)


def test_squarem_bad_values_are_refused():
    X = _slow_data()
    with pytest.raises(InvalidParameterError, match="accelerate"):
        GaussianMixture(2, accelerate="anderson").fit(X)
    with pytest.raises(InvalidParameterError, match="VEV"):
        GaussianMixture(2, covariance_type="VEV", accelerate="squarem").fit(X)
    with pytest.raises(InvalidParameterError, match="prior"):
        GaussianMixture(2, prior="default", accelerate="squarem").fit(X)
    with pytest.raises(InvalidParameterError, match="dtype"):
        GaussianMixture(2, dtype="float16").fit(X)


@pytest.mark.parametrize("how", ["fit", "fit_predict", "partial_fit"])
@pytest.mark.parametrize("numba", [True, False])
def test_blas_is_single_threaded_while_fitting(monkeypatch, how, numba):
    """While gmmkit runs its own E-step threads, every BLAS call of the fit
    (the M-steps in between included) is limited to one thread, so that no
    BLAS thread spins on the cores the E-step needs; the limit is lifted
    afterwards."""
    from threadpoolctl import threadpool_info

    from gmmkit import _engine

    monkeypatch.setattr(_kernels, "_HAVE_NUMBA", numba and _kernels._HAVE_NUMBA)
    monkeypatch.setattr(_kernels, "numpy_threads", lambda: 2)

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    seen: list[set[int]] = []
    m_step = _engine.m_step

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return m_step(*args, **kwargs)

    monkeypatch.setattr(_engine, "m_step", spy)
    import gmmkit._online as online

    monkeypatch.setattr(online, "m_step", spy)
    X = np.random.default_rng(0).normal(size=(3000, 3))
    gm = GaussianMixture(2, random_state=0)
    getattr(gm, how)(X)
    assert seen and all(s == {1} for s in seen)
    assert blas_threads() == before


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_wide_diagonal_rows_take_the_kernels_with_smaller_tiles(covariance_type):
    """Diagonal models have no feature limit on the compiled path; rows this
    wide get tiles of fewer rows.  Statistics and log-likelihood against a
    brute-force numpy oracle."""
    if not _kernels.available():
        pytest.skip("numba is not installed")
    from gmmkit._kernels_impl import tile_rows

    d, k, n = 2500, 3, 450
    assert _kernels.applicable("diag", d) == "diag"
    assert tile_rows(np.float64, d) < tile_rows(np.float64, 64)
    rng = np.random.default_rng(7)
    model = get_model(covariance_type)
    means = rng.normal(scale=0.2, size=(k, d))
    var = rng.uniform(0.5, 2.0, size=(k, d) if model.name == "VVI" else k)
    params = Params(
        rng.dirichlet(np.ones(k)), means, var, model.precisions_cholesky(var, 0.0)
    )
    X = means[rng.integers(k, size=n)] + rng.normal(size=(n, d))
    w = rng.uniform(0.5, 1.5, size=n)
    stats = estep_stats(ArraySource(X, w, 200), model, params)
    v = np.broadcast_to(var if var.ndim == 2 else var[:, None], (k, d))
    logp = np.log(params.weights) - 0.5 * (
        (((X[:, None, :] - means) ** 2) / v).sum(axis=2)
        + np.log(2 * np.pi * v).sum(axis=1)
    )
    norm = logsumexp(logp, axis=1)
    r = w[:, None] * np.exp(logp - norm[:, None])
    _close(stats.n, r.sum(axis=0))
    _close(stats.s1, r.T @ X - r.sum(axis=0)[:, None] * means)
    sq = np.stack([r[:, j] @ (X - means[j]) ** 2 for j in range(k)])
    _close(stats.s2, sq)
    assert_allclose(stats.loglik, w @ norm, rtol=1e-11)


_BITS_SCRIPT = """
import sys
import numpy as np
from gmmkit import _kernels as kn
rng = np.random.default_rng(0)
n, d, k = 3000, 5, 3
X = rng.standard_normal((n, d))
w = rng.uniform(0.5, 1.5, n)
shift = X.mean(0).astype(np.float32).astype(np.float64)  # as Params.centre
means = rng.standard_normal((k, d)) * 0.5 - shift
P = np.triu(rng.standard_normal((k, d, d)) * 0.2) + np.eye(d)
prec = rng.uniform(0.5, 1.5, (k, d))
out = []
for dt in (np.float64, np.float32):
    Xt = X.astype(dt)
    for kind, f in (("full", P), ("diag", prec)):
        logc = kn.log_constants(kind, np.full(k, 1 / k), f, d)
        stats = kn.estep_chunk(kind, Xt, w, shift, means, f, logc)
        out += [np.asarray(a) for a in stats]
        out += list(kn.score_chunk(kind, Xt, shift, means, f, logc))
np.savez(sys.argv[1], *out)
"""


def test_kernels_give_the_same_bits_compiled_or_loaded_from_cache(tmp_path):
    """The process that compiles the kernels and a later one that loads them
    from numba's disk cache compute bit-identical statistics and scores."""
    import os
    import subprocess
    import sys

    if not _kernels.available():
        pytest.skip("numba is not installed")
    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    for name in ("compiled", "cached"):
        subprocess.run(
            [sys.executable, "-c", _BITS_SCRIPT, str(tmp_path / f"{name}.npz")],
            env=env, check=True, timeout=300,
        )  # fmt: skip
        assert any(cache.rglob("*.nbi"))  # the first run filled the cache
    fresh, cached = np.load(tmp_path / "compiled.npz"), np.load(tmp_path / "cached.npz")
    assert len(fresh.files) == 28
    for key in fresh.files:
        assert_array_equal(fresh[key], cached[key], err_msg=key)
