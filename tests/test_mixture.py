"""GaussianMixture against independent oracles: scikit-learn from the same
start, a plain two-pass EM (tests/oracle.py), scipy.stats densities."""

import logging
import zlib

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import oracle
from gmmkit import GaussianMixture

TYPES = ["full", "tied", "diag", "spherical"]
ATTRS = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


def make_data(name):
    """Named test data sets; values are multiples of 2**-20, so adding an
    offset up to 2**30 is exact and translated data are truly the same data."""
    return np.round(_raw_data(name) * 2**20) / 2**20


def _raw_data(name):
    rng = np.random.RandomState(zlib.crc32(name.encode()))
    if name == "blobs3d":
        return np.vstack(
            [
                rng.randn(200, 3),
                rng.randn(150, 3) * 0.5 + [4, 4, 0],
                rng.randn(100, 3) * [1, 2, 0.3] + [-3, 5, 2],
            ]
        )
    if name == "aniso5d":
        A = rng.randn(5, 5)
        return np.vstack(
            [
                rng.randn(300, 5) @ A,
                rng.randn(200, 5) @ A.T * 0.3 + 6,
                rng.randn(100, 5),
            ]
        )
    if name == "overlap2d":
        return np.vstack([rng.randn(250, 2), rng.randn(250, 2) * [2, 0.5] + [1, 0.5]])
    if name == "offset":
        # Off the origin, mixed scales. scikit-learn's raw-moment formulas lose
        # (offset/spread)**2 digits, so parity with it is only tested this near;
        # far offsets are tested against the oracle below.
        return _raw_data("blobs3d") * [1, 10, 0.1] + [40.0, -25.0, 8.0]
    raise KeyError(name)


DATASETS = ["blobs3d", "aniso5d", "overlap2d", "offset"]


def fixed_start(X, k, covariance_type, seed=0):
    """A start that neither library chose: random rows, pooled covariance."""
    rng = np.random.RandomState(seed)
    means = X[rng.choice(len(X), k, replace=False)] + 0.1 * X.std(axis=0)
    weights = np.full(k, 1.0 / k)
    cov = np.cov(X.T) + 0.1 * np.eye(X.shape[1])
    prec = np.linalg.inv(cov)
    precisions = {
        "full": np.repeat(prec[None], k, axis=0),
        "tied": prec,
        "diag": np.repeat(1.0 / np.diag(cov)[None], k, axis=0),
        "spherical": np.full(k, 1.0 / np.diag(cov).mean()),
    }[covariance_type]
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def assert_same_fit(ours, theirs, X, rtol=1e-9):
    for attr in ATTRS:
        a, b = getattr(ours, attr), getattr(theirs, attr)
        assert a.shape == b.shape, attr
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=attr)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    # The first bound of a seeded start (variances of reg_covar) is a sum of
    # Mahalanobis distances ~1e7 that scikit-learn's expanded quadratic form
    # only gets to ~1e-6 (gmmkit's matches a solve-based oracle to ~1e-15, see
    # tests/test_speed_paths.py); every later one agrees to rtol.
    assert_allclose(ours.lower_bounds_[0], theirs.lower_bounds_[0], rtol=1e-5)
    assert_allclose(ours.lower_bounds_[1:], theirs.lower_bounds_[1:], rtol=rtol)
    assert_allclose(ours.bic(X), theirs.bic(X), rtol=rtol)
    assert_allclose(ours.aic(X), theirs.aic(X), rtol=rtol)
    assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=rtol)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_start_same_fit_as_sklearn(covariance_type, dataset):
    X = make_data(dataset)
    start = fixed_start(X, 3, covariance_type)
    kw = dict(covariance_type=covariance_type, tol=1e-6, max_iter=500, **start)
    ours = GaussianMixture(3, **kw).fit(X)
    theirs = SkGaussianMixture(3, **kw).fit(X)
    assert ours.n_iter_ > 3  # a real run, not a trivial one
    assert_same_fit(ours, theirs, X)


SEEDED = [
    (ct, init)
    for ct in TYPES
    for init in ["kmeans", "k-means++", "random", "random_from_data"]
    # see test_tied_seeded_start_is_translation_equivariant
    if not (ct == "tied" and init in ("k-means++", "random_from_data"))
]


@pytest.mark.parametrize(("covariance_type", "init_params"), SEEDED)
def test_same_random_state_same_fit_as_sklearn(covariance_type, init_params):
    X = make_data("blobs3d")
    kw = dict(
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=3,
        tol=1e-6,
        max_iter=500,
        n_init=2,
    )
    assert_same_fit(
        GaussianMixture(3, **kw).fit(X), SkGaussianMixture(3, **kw).fit(X), X
    )


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_seeded_start_on_repeated_rows_matches_sklearn(init_params):
    """More components than distinct points: k-means++ picks a row twice and
    both components start from it, as in scikit-learn."""
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 30, axis=0)
    kw = dict(init_params=init_params, random_state=0, max_iter=0)
    ours = GaussianMixture(4, **kw).fit(X)
    ref = SkGaussianMixture(4, **kw).fit(X)
    assert_allclose(ours.means_, ref.means_, rtol=1e-9, atol=1e-12)
    assert_allclose(ours.weights_, ref.weights_, rtol=1e-9)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_tied_seeded_start_is_translation_equivariant(init_params):
    """Seeded starts give each component one row. scikit-learn's tied start
    then adds the raw second moments of all other rows, so it changes when the
    data are translated; gmmkit's start (the seeds' own scatter) does not."""
    X = make_data("blobs3d")
    kw = dict(
        covariance_type="tied", init_params=init_params, random_state=0, max_iter=0
    )
    a = GaussianMixture(3, **kw).fit(X)
    b = GaussianMixture(3, **kw).fit(X + 100.0)
    assert_allclose(b.covariances_, a.covariances_, rtol=1e-9, atol=1e-15)
    s_a = SkGaussianMixture(3, **kw).fit(X)
    s_b = SkGaussianMixture(3, **kw).fit(X + 100.0)
    assert not np.allclose(s_a.precisions_, s_b.precisions_, rtol=1e-3)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_matches_plain_em_oracle(covariance_type, offset):
    """Exactly n iterations agree with the two-pass oracle, also 1e6 away.

    The oracle always runs on the data at the origin, where it is exact (at
    1e6 scipy's densities themselves drift by ~1e-9); the offset data are the
    exactly translated twin (see make_data)."""
    X = make_data("blobs3d")
    start = fixed_start(X, 3, covariance_type)
    ours = GaussianMixture(
        3,
        covariance_type=covariance_type,
        tol=0,
        max_iter=15,
        **{**start, "means_init": start["means_init"] + offset},
    )
    with pytest.warns(ConvergenceWarning):
        ours.fit(X + offset)
    prec = start["precisions_init"]
    cov0 = (
        1.0 / prec if covariance_type in ("diag", "spherical") else np.linalg.inv(prec)
    )
    w, m, c, hist = oracle.em(
        X,
        start["weights_init"],
        start["means_init"],
        cov0,
        covariance_type,
        n_iter=15,
        reg_covar=1e-6,
    )
    assert_allclose(ours.weights_, w, rtol=1e-9)
    assert_allclose(ours.means_ - offset, m, atol=1e-9)
    assert_allclose(ours.covariances_, c, rtol=1e-9)
    assert_allclose(ours.log_likelihood_history_, hist, rtol=1e-11)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_translation_far_from_origin_changes_nothing(covariance_type):
    X = make_data("aniso5d")
    kw = dict(covariance_type=covariance_type, random_state=0, tol=1e-8, max_iter=300)
    near = GaussianMixture(3, **kw).fit(X)
    far = GaussianMixture(3, **kw).fit(X + 1e7)
    assert far.n_iter_ == near.n_iter_
    # Means stored 1e7 away are quantised to 2e-9 (one unit in the last
    # place), and each iteration starts from them: that, not the arithmetic,
    # bounds the agreement. scikit-learn's raw moments lose everything here.
    assert_allclose(far.means_ - 1e7, near.means_, atol=2e-8)
    assert_allclose(far.covariances_, near.covariances_, rtol=2e-8, atol=1e-10)
    assert_allclose(far.weights_, near.weights_, rtol=1e-9)
    assert_allclose(
        far.log_likelihood_history_, near.log_likelihood_history_, rtol=1e-11
    )


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X = make_data("blobs3d")
    rng = np.random.RandomState(1)
    sw = rng.randint(0, 4, size=len(X))  # zeros included: rows left out
    start = fixed_start(X, 3, covariance_type)
    kw = dict(covariance_type=covariance_type, tol=1e-8, max_iter=300, **start)
    weighted = GaussianMixture(3, **kw).fit(X, sample_weight=sw)
    repeated = GaussianMixture(3, **kw).fit(np.repeat(X, sw, axis=0))
    for attr in ATTRS:
        assert_allclose(
            getattr(weighted, attr), getattr(repeated, attr), rtol=1e-9, err_msg=attr
        )
    assert weighted.n_iter_ == repeated.n_iter_
    assert_allclose(weighted.lower_bound_, repeated.lower_bound_, rtol=1e-10)
    assert_allclose(
        weighted.log_likelihood_history_, repeated.log_likelihood_history_, rtol=1e-10
    )


@pytest.mark.parametrize("covariance_type", TYPES)
def test_fractional_weights_match_oracle(covariance_type):
    X = make_data("overlap2d")
    sw = np.random.RandomState(2).uniform(0, 3, size=len(X))
    start = fixed_start(X, 2, covariance_type)
    kw = dict(covariance_type=covariance_type, tol=0, max_iter=10, reg_covar=0.0)
    with pytest.warns(ConvergenceWarning):
        ours = GaussianMixture(2, **kw, **start).fit(X, sample_weight=sw)
    # One M-step of the oracle from our own responsibilities after 9 steps
    nine = GaussianMixture(2, **{**kw, "max_iter": 9}, **start)
    with pytest.warns(ConvergenceWarning):
        nine.fit(X, sample_weight=sw)
    w, m, c = oracle.m_step(X, nine.predict_proba(X), sw, covariance_type, 0.0)
    assert_allclose(ours.weights_, w, rtol=1e-9)
    assert_allclose(ours.means_, m, rtol=1e-9)
    assert_allclose(ours.covariances_, c, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_resp_init_starts_with_one_m_step(covariance_type):
    X = make_data("aniso5d")
    rng = np.random.RandomState(5)
    resp = rng.dirichlet(np.ones(3), size=len(X))
    gm = GaussianMixture(3, covariance_type=covariance_type, resp_init=resp, max_iter=0)
    gm.fit(X)
    w, m, c = oracle.m_step(X, resp, np.ones(len(X)), covariance_type, 1e-6)
    # scikit-learn's first weights are n_k / n (its n_k carry a 10*eps guard)
    assert_allclose(gm.weights_, w, rtol=1e-12)
    assert_allclose(gm.means_, m, rtol=1e-10)
    assert_allclose(gm.covariances_, c, rtol=1e-10)
    assert gm.n_iter_ == 0 and gm.log_likelihood_history_.shape == (1,)
    assert gm.lower_bound_ == -np.inf  # no convergence check ran (as scikit-learn)


def test_max_iter_zero_keeps_the_start():
    X = make_data("blobs3d")
    start = fixed_start(X, 3, "full")
    gm = GaussianMixture(3, max_iter=0, **start).fit(X)
    assert_allclose(gm.means_, start["means_init"], rtol=0)
    assert_allclose(gm.precisions_, start["precisions_init"], rtol=1e-12)
    assert_allclose(
        gm.covariances_, np.linalg.inv(start["precisions_init"]), rtol=1e-10
    )
    assert gm.n_iter_ == 0
    assert_allclose(gm.log_likelihood_history_, [gm.score(X) * len(X)], rtol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_history_is_the_log_likelihood_per_iteration(covariance_type):
    X = make_data("overlap2d")
    gm = GaussianMixture(
        2,
        covariance_type=covariance_type,
        reg_covar=0.0,
        tol=1e-10,
        max_iter=1000,
        random_state=0,
        init_params="random",
    ).fit(X)
    hist = gm.log_likelihood_history_
    assert hist.shape == (gm.n_iter_ + 1,)
    assert_allclose(hist[:-1] / len(X), gm.lower_bounds_, rtol=1e-12)
    assert_allclose(hist[-1], gm.score(X) * len(X), rtol=1e-12)
    # EM never decreases the likelihood (exact M-steps when reg_covar=0)
    assert np.all(np.diff(hist) >= -1e-9 * np.abs(hist[1:]))
    assert hist[-1] > hist[0]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 449, 450, 10_000])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_chunked_fit_equals_one_chunk(covariance_type, chunk_size):
    X = make_data("blobs3d")  # 450 rows
    kw = dict(covariance_type=covariance_type, random_state=0, tol=1e-9, max_iter=300)
    whole = GaussianMixture(3, chunk_size=len(X), **kw).fit(X)
    parts = GaussianMixture(3, chunk_size=chunk_size, **kw).fit(X)
    assert parts.n_iter_ == whole.n_iter_
    for attr in ATTRS:
        assert_allclose(getattr(parts, attr), getattr(whole, attr), rtol=1e-10)
    assert_allclose(parts.predict_proba(X), whole.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_score_samples_equals_scipy_mixture_density(covariance_type):
    X = make_data("aniso5d")
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    covs = oracle.dense(gm.covariances_, covariance_type, 3, X.shape[1])
    dens = sum(
        w * multivariate_normal(m, c).pdf(X)
        for w, m, c in zip(gm.weights_, gm.means_, covs)
    )
    assert_allclose(gm.score_samples(X), np.log(dens), rtol=1e-10)
    proba = (
        np.column_stack(
            [
                w * multivariate_normal(m, c).pdf(X)
                for w, m, c in zip(gm.weights_, gm.means_, covs)
            ]
        )
        / dens[:, None]
    )
    assert_allclose(gm.predict_proba(X), proba, atol=1e-10)
    assert_array_equal(gm.predict(X), proba.argmax(axis=1))


def test_fit_predict_equals_fit_then_predict():
    X = make_data("overlap2d")
    kw = dict(random_state=4, max_iter=3, tol=0)
    with pytest.warns(ConvergenceWarning):
        a = GaussianMixture(2, **kw).fit_predict(X)
    with pytest.warns(ConvergenceWarning):
        b = GaussianMixture(2, **kw).fit(X).predict(X)
    assert_array_equal(a, b)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_sample_follows_the_mixture(covariance_type):
    X = make_data("blobs3d")
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    n = 60_000
    S, labels = gm.sample(n, random_state=1)
    assert S.shape == (n, 3) and labels.shape == (n,)
    counts = np.bincount(labels, minlength=3)
    # multinomial counts: 5 standard deviations
    sd = np.sqrt(n * gm.weights_ * (1 - gm.weights_))
    assert np.all(np.abs(counts - n * gm.weights_) < 5 * sd)
    covs = oracle.dense(gm.covariances_, covariance_type, 3, 3)
    for k in range(3):
        part = S[labels == k]
        se = np.sqrt(np.diag(covs[k]) / len(part))
        assert np.all(np.abs(part.mean(axis=0) - gm.means_[k]) < 5 * se)
        assert_allclose(np.cov(part.T), covs[k], atol=0.06 * np.abs(covs[k]).max())
    again, _ = gm.sample(n, random_state=1)
    assert_array_equal(S, again)


def test_n_parameters_bic_aic_by_hand():
    X = make_data("aniso5d")
    n, d, k = X.shape[0], X.shape[1], 3
    expected = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }
    for ct, cov_params in expected.items():
        gm = GaussianMixture(k, covariance_type=ct, random_state=0).fit(X)
        p = cov_params + k * d + k - 1
        assert gm.n_parameters() == p
        ll = gm.score_samples(X).sum()
        assert_allclose(gm.bic(X), -2 * ll + p * np.log(n), rtol=1e-12)
        assert_allclose(gm.aic(X), -2 * ll + 2 * p, rtol=1e-12)


def test_float32_input_is_not_copied_whole_and_fits_like_float64():
    X = make_data("blobs3d")
    a = GaussianMixture(3, random_state=0).fit(X)
    b = GaussianMixture(3, random_state=0).fit(X.astype(np.float32))
    assert_allclose(b.means_, a.means_, rtol=1e-5, atol=1e-5)
    assert_allclose(b.score(X), a.score(X), rtol=1e-6)
    # fit's final pass reads float32 rows in float32; score is float64
    X32 = X.astype(np.float32)
    final = b.log_likelihood_history_[-1]
    assert_allclose(final, b.score(X32) * len(X), rtol=1e-6)
    assert final != b.score(X32) * len(X)  # computed apart, not copied


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X = make_data("overlap2d")
    df = pd.DataFrame(X, columns=["height", "width"])
    gm = GaussianMixture(2, random_state=0).fit(df)
    assert_array_equal(gm.feature_names_in_, ["height", "width"])
    labels = gm.predict(df)
    # scikit-learn warns when a model fitted with names sees none, and vice versa
    with pytest.warns(UserWarning, match="feature names"):
        assert_array_equal(gm.predict(X), labels)
    renamed = df.rename(columns={"width": "depth"})
    with pytest.raises(ValueError, match="feature names"):
        gm.predict(renamed)


def test_warm_start_continues_where_it_stopped():
    X = make_data("overlap2d")
    start = fixed_start(X, 2, "full")
    one = GaussianMixture(2, tol=0, max_iter=20, **start)
    with pytest.warns(ConvergenceWarning):
        one.fit(X)
    two = GaussianMixture(2, tol=0, max_iter=10, warm_start=True, **start)
    with pytest.warns(ConvergenceWarning):
        two.fit(X)
    with pytest.warns(ConvergenceWarning):
        two.fit(X)
    for attr in ATTRS:
        assert_allclose(getattr(two, attr), getattr(one, attr), rtol=1e-12)
    assert_allclose(
        two.log_likelihood_history_, one.log_likelihood_history_[10:], rtol=1e-12
    )


def test_n_init_keeps_the_best_initialisation():
    X = make_data("aniso5d")
    best = GaussianMixture(4, n_init=5, random_state=0, init_params="random").fit(X)
    # n_init draws its starts from one stream: five single fits sharing that
    # stream see the same five starts
    bounds = []
    rs = np.random.RandomState(0)
    for _ in range(5):
        gm = GaussianMixture(4, random_state=rs, init_params="random").fit(X)
        bounds.append(gm.lower_bound_)
    assert_allclose(best.lower_bound_, max(bounds), rtol=1e-12)


def test_n_init_keeps_the_first_of_bounds_tied_within_rounding(monkeypatch):
    """Two starts that reach the same optimum give bounds that differ only
    by the order of the sums; the first is kept, whichever is higher by an
    ulp, and a clearly better later start still wins."""
    import gmmkit._fit as fit_module
    from gmmkit._fit import run_em as real_run_em

    X = make_data("blobs3d")
    calls, nudge = [], {"step": 0.0}

    def nudged(*args, **kwargs):
        result = real_run_em(*args, **kwargs)
        calls.append(result)
        # the second start's bound: an ulp (or clearly) above the first's
        if len(calls) == 2:
            above = np.nextafter(calls[0].lower_bound, 0)
            result.lower_bound = float(above + nudge["step"])
        return result

    monkeypatch.setattr(fit_module, "run_em", nudged)
    for step, second_kept in [(0.0, False), (1e-6, True)]:
        calls.clear()
        nudge["step"] = step
        kw = dict(init_params="random_from_data", n_init=2, random_state=1)
        gm = GaussianMixture(3, **kw).fit(X)
        kept = calls[1] if second_kept else calls[0]
        assert gm.lower_bound_ == kept.lower_bound
        assert_array_equal(gm.means_, kept.params.means)


def test_verbose_logs_progress(caplog):
    X = make_data("overlap2d")
    with caplog.at_level(logging.INFO, logger="gmmkit"):
        GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(X)
    text = caplog.text
    assert "initialisation 0" in text and "iteration 1:" in text and "converged" in text
