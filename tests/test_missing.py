"""Missing values marginalised exactly (nan_policy="marginalize"), imputation
and the imputer, against independent oracles written here."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from gmmkit import DataError, GaussianMixture, GaussianMixtureImputer

EPS_GUARD = 10 * np.finfo(np.float64).eps


# ------------------------------------------------------------------ oracle
def gj_em_step(X, weights, means, covs, reg_covar):
    """One EM iteration of Ghahramani & Jordan (1994), row by row, with
    explicit inverses: returns the new (weights, means, covs) and the
    observed-data log-likelihood of the entering parameters."""
    n, d = X.shape
    k = len(weights)
    resp = np.zeros((n, k))
    filled = np.zeros((n, k, d))
    cond = np.zeros((n, k, d, d))
    loglik = 0.0
    for i in range(n):
        o = ~np.isnan(X[i])
        m = ~o
        logp = np.empty(k)
        for j in range(k):
            s = covs[j]
            s_oo_inv = np.linalg.inv(s[np.ix_(o, o)])
            logp[j] = np.log(weights[j]) + multivariate_normal(
                means[j, o], s[np.ix_(o, o)]
            ).logpdf(X[i, o])
            xh = X[i].copy()
            gain = s[np.ix_(m, o)] @ s_oo_inv
            xh[m] = means[j, m] + gain @ (X[i, o] - means[j, o])
            filled[i, j] = xh
            cond[i, j][np.ix_(m, m)] = s[np.ix_(m, m)] - gain @ s[np.ix_(o, m)]
        total = logsumexp(logp)
        loglik += total
        resp[i] = np.exp(logp - total)
    nk = resp.sum(axis=0) + EPS_GUARD
    new_w = nk / nk.sum()
    new_means = np.einsum("nk,nkd->kd", resp, filled) / nk[:, None]
    new_covs = np.empty((k, d, d))
    for j in range(k):
        diff = filled[:, j] - new_means[j]
        scatter = (resp[:, j, None] * diff).T @ diff
        scatter += np.einsum("n,nab->ab", resp[:, j], cond[:, j])
        new_covs[j] = scatter / nk[j] + reg_covar * np.eye(d)
    return new_w, new_means, new_covs, loglik


def gj_em(X, weights, means, covs, reg_covar, n_iter):
    history = []
    for _ in range(n_iter):
        weights, means, covs, ll = gj_em_step(X, weights, means, covs, reg_covar)
        history.append(ll)
    return weights, means, covs, history


def observed_log_density(X, weights, means, covs):
    """log sum_k pi_k N(x_o | mu_ko, Sigma_koo) row by row with scipy."""
    out = np.empty(X.shape[0])
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        out[i] = logsumexp(
            [
                np.log(w) + multivariate_normal(mu[o], s[np.ix_(o, o)]).logpdf(x[o])
                for w, mu, s in zip(weights, means, covs)
            ]
        )
    return out


def oracle_conditional_mean(X, weights, means, covs):
    out = X.copy()
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        m = ~o
        if not m.any():
            continue
        logp = np.array(
            [
                np.log(w) + multivariate_normal(mu[o], s[np.ix_(o, o)]).logpdf(x[o])
                for w, mu, s in zip(weights, means, covs)
            ]
        )
        post = np.exp(logp - logsumexp(logp))
        out[i, m] = sum(
            p
            * (mu[m] + s[np.ix_(m, o)] @ np.linalg.solve(s[np.ix_(o, o)], x[o] - mu[o]))
            for p, mu, s in zip(post, means, covs)
        )
    return out


# -------------------------------------------------------------------- data
def make_data(n=400, d=4, rate=0.2, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d))
    X = np.vstack(
        [
            rng.normal(size=(n // 2, d)) @ a,
            rng.normal(size=(n - n // 2, d)) @ a.T * 0.7 + 4.0,
        ]
    )
    Xm = X.copy()
    Xm[rng.uniform(size=X.shape) < rate] = np.nan
    empty = np.isnan(Xm).all(axis=1)
    Xm[empty, 0] = X[empty, 0]
    return X, Xm


def start(d, k=2, seed=1):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 2 + np.linspace(0, 4, k)[:, None]
    covs = np.stack([np.eye(d) * (1.0 + j) for j in range(k)])
    weights = np.full(k, 1.0 / k)
    return weights, means, covs


def fit_from(X, weights, means, covs, max_iter, **kw):
    gm = GaussianMixture(
        len(weights),
        weights_init=weights,
        means_init=means,
        precisions_init=np.linalg.inv(covs),
        max_iter=max_iter,
        tol=0.0,
        reg_covar=1e-6,
        nan_policy="marginalize",
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gm.fit(X)


# ------------------------------------------------------------------- tests
@pytest.mark.parametrize("n_iter", [1, 25])
def test_parity_with_row_by_row_ghahramani_jordan_em(n_iter):
    _, Xm = make_data(n=200)
    w0, m0, c0 = start(Xm.shape[1])
    w, m, c, history = gj_em(Xm, w0, m0, c0, 1e-6, n_iter)
    gm = fit_from(Xm, w0, m0, c0, n_iter)
    np.testing.assert_allclose(gm.weights_, w, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gm.means_, m, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(gm.covariances_, c, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(gm.log_likelihood_history_[:-1], history, rtol=1e-10)


def test_parity_with_weights_and_chunks():
    # integer sample weights count rows that many times; any chunking
    _, Xm = make_data(n=120, seed=3)
    sw = np.random.default_rng(4).integers(1, 4, size=Xm.shape[0])
    w0, m0, c0 = start(Xm.shape[1])
    w, m, c, _ = gj_em(np.repeat(Xm, sw, axis=0), w0, m0, c0, 1e-6, 5)
    gm = fit_from(Xm, w0, m0, c0, 5, chunk_size=17)
    gm.set_params(chunk_size=17)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(Xm, sample_weight=sw)
    np.testing.assert_allclose(gm.means_, m, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(gm.covariances_, c, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(gm.weights_, w, rtol=1e-8)


@pytest.mark.parametrize(
    "covariance_type",
    ["full", "tied", "diag", "spherical", "EII", "VEI", "EEV", "VEV", "EVE", "VVE"],
)
def test_observed_loglik_never_decreases(covariance_type):
    _, Xm = make_data(n=300, rate=0.25, seed=5)
    gm = GaussianMixture(
        3,
        covariance_type=covariance_type,
        nan_policy="marginalize",
        tol=1e-10,
        max_iter=60,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(Xm)
    h = gm.log_likelihood_history_
    assert np.all(np.diff(h) >= -1e-9 * np.abs(h[1:])), np.diff(h).min()
    # the last entry is the observed-data log-likelihood of the fitted model
    np.testing.assert_allclose(gm.score_samples(Xm).sum(), h[-1], rtol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "VEV"])
def test_complete_data_fit_equals_nan_policy_raise(covariance_type):
    X, _ = make_data(n=300)
    kw = dict(covariance_type=covariance_type, random_state=0, tol=1e-6)
    a = GaussianMixture(2, **kw).fit(X)
    b = GaussianMixture(2, nan_policy="marginalize", **kw).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)
    np.testing.assert_array_equal(a.log_likelihood_history_, b.log_likelihood_history_)


def test_scores_are_observed_marginal_densities():
    _, Xm = make_data(n=300, seed=7)
    gm = GaussianMixture(2, nan_policy="marginalize", random_state=0).fit(Xm)
    want = observed_log_density(Xm, gm.weights_, gm.means_, gm.covariances_)
    np.testing.assert_allclose(gm.score_samples(Xm), want, rtol=1e-10)
    np.testing.assert_allclose(gm.score(Xm), want.mean(), rtol=1e-10)
    p = gm.predict_proba(Xm)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(gm.predict(Xm), p.argmax(axis=1))
    n_par = gm.n_parameters()
    np.testing.assert_allclose(
        gm.bic(Xm), -2 * want.sum() + n_par * np.log(len(Xm)), rtol=1e-10
    )
    np.testing.assert_allclose(gm.aic(Xm), -2 * want.sum() + 2 * n_par, rtol=1e-10)
    assert gm.icl(Xm) >= gm.bic(Xm)


def test_impute_mean_matches_oracle_conditional_means():
    X, Xm = make_data(n=200, seed=8)
    gm = GaussianMixture(2, nan_policy="marginalize", random_state=0).fit(Xm)
    got = gm.impute(Xm)
    want = oracle_conditional_mean(Xm, gm.weights_, gm.means_, gm.covariances_)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    observed = ~np.isnan(Xm)
    np.testing.assert_array_equal(got[observed], Xm[observed])
    # better than column means on data with known truth
    col = np.where(np.isnan(Xm), np.nanmean(Xm, axis=0), Xm)
    missing = ~observed
    assert np.mean((got - X)[missing] ** 2) < 0.8 * np.mean((col - X)[missing] ** 2)


def test_impute_sample_has_the_conditional_moments():
    # one row, many draws: the draws' mean and covariance are the
    # conditional mixture's (statistical tolerance)
    _, Xm = make_data(n=300, seed=9)
    gm = GaussianMixture(1, nan_policy="marginalize", random_state=0).fit(Xm)
    row = np.array([[0.5, np.nan, np.nan, -0.2]])
    draws = gm.impute(np.repeat(row, 20000, axis=0), method="sample", random_state=0)
    mean = gm.impute(row)[0]
    s = gm.covariances_[0]
    o, m = np.array([0, 3]), np.array([1, 2])
    cond = s[np.ix_(m, m)] - s[np.ix_(m, o)] @ np.linalg.solve(
        s[np.ix_(o, o)], s[np.ix_(o, m)]
    )
    se = np.sqrt(np.diag(cond) / 20000)
    assert np.all(np.abs(draws[:, m].mean(axis=0) - mean[m]) < 5 * se)
    np.testing.assert_allclose(np.cov(draws[:, m].T), cond, rtol=0.05, atol=0.02)
    np.testing.assert_array_equal(draws[:, o], np.repeat(row[:, o], 20000, axis=0))


def test_marginalised_em_beats_mean_imputation_and_listwise_deletion():
    rng = np.random.default_rng(11)
    d = 4
    true_means = np.array([[0.0, 0, 0, 0], [3.0, 3, -2, 1]])
    a = rng.normal(size=(d, d)) * 0.6
    true_covs = np.stack([a @ a.T + 0.5 * np.eye(d), np.eye(d) * 0.8 + 0.3])
    n = 3000
    labels = rng.uniform(size=n) < 0.5
    X = np.where(
        labels[:, None],
        rng.multivariate_normal(true_means[0], true_covs[0], n),
        rng.multivariate_normal(true_means[1], true_covs[1], n),
    )
    Xm = X.copy()
    Xm[rng.uniform(size=X.shape) < 0.3] = np.nan
    Xm[np.isnan(Xm).all(axis=1), 0] = X[np.isnan(Xm).all(axis=1), 0]

    def error(gm):
        order = np.argsort(gm.means_[:, 0])
        return np.linalg.norm(gm.means_[order] - true_means) + np.linalg.norm(
            gm.covariances_[order] - true_covs
        )

    kw = dict(random_state=0, tol=1e-6, max_iter=500)
    marg = GaussianMixture(2, nan_policy="marginalize", **kw).fit(Xm)
    filled = GaussianMixture(2, **kw).fit(np.where(np.isnan(Xm), np.nanmean(Xm, 0), Xm))
    listwise = GaussianMixture(2, **kw).fit(Xm[~np.isnan(Xm).any(axis=1)])
    assert error(marg) < error(filled)
    assert error(marg) < error(listwise)


def test_row_without_observed_value_is_named():
    _, Xm = make_data(n=50)
    Xm[17] = np.nan
    with pytest.raises(DataError, match="row 17 has no observed value"):
        GaussianMixture(2, nan_policy="marginalize").fit(Xm)
    gm = GaussianMixture(2, nan_policy="marginalize", random_state=0)
    gm.fit(np.delete(Xm, 17, axis=0))
    with pytest.raises(DataError, match="row 17 has no observed value"):
        gm.score_samples(Xm)
    with pytest.raises(DataError, match="row 17 has no observed value"):
        gm.impute(Xm)


def test_nan_policy_raise_message_and_choices():
    _, Xm = make_data(n=50)
    with pytest.raises(DataError, match=r"NaN at row .*nan_policy='marginalize'"):
        GaussianMixture(2).fit(Xm)
    gm = GaussianMixture(2, random_state=0).fit(np.nan_to_num(Xm))
    with pytest.raises(DataError, match="nan_policy='marginalize'"):
        gm.score_samples(Xm)
    with pytest.raises(ValueError, match="nan_policy"):
        GaussianMixture(2, nan_policy="omit").fit(Xm)
    inf = np.nan_to_num(Xm)
    inf[3, 1] = np.inf
    with pytest.raises(DataError, match="inf at row 3, column 1"):
        GaussianMixture(2, nan_policy="marginalize").fit(inf)


def test_streamed_and_online_sources_marginalise(tmp_path):
    _, Xm = make_data(n=300, seed=12)
    w0, m0, c0 = start(Xm.shape[1])
    ref = fit_from(Xm, w0, m0, c0, 5)
    path = tmp_path / "x.npy"
    np.save(path, Xm)
    mm = np.load(path, mmap_mode="r")
    streamed = fit_from(mm, w0, m0, c0, 5, chunk_size=64)
    np.testing.assert_allclose(streamed.means_, ref.means_, rtol=1e-10)
    np.testing.assert_allclose(streamed.covariances_, ref.covariances_, rtol=1e-10)
    np.testing.assert_allclose(
        streamed.score_samples(mm), ref.score_samples(Xm), rtol=1e-10
    )
    online = GaussianMixture(2, nan_policy="marginalize", random_state=0)
    for part in np.array_split(Xm, 3):
        online.partial_fit(part)
    assert np.isfinite(online.score(Xm))
    mini = GaussianMixture(2, nan_policy="marginalize", batch_size=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mini.fit(Xm)
    assert np.isfinite(mini.score(Xm))


def test_float32_and_prior_and_squarem():
    _, Xm = make_data(n=300, seed=13)
    ref = GaussianMixture(2, nan_policy="marginalize", random_state=0).fit(Xm)
    f32 = GaussianMixture(2, nan_policy="marginalize", random_state=0).fit(
        Xm.astype(np.float32)
    )
    np.testing.assert_allclose(f32.means_, ref.means_, rtol=1e-4, atol=1e-4)
    GaussianMixture(2, nan_policy="marginalize", prior="default", random_state=0).fit(
        Xm
    )
    sq = GaussianMixture(
        2, nan_policy="marginalize", accelerate="squarem", random_state=0
    ).fit(Xm)
    assert sq.score(Xm) >= ref.score(Xm) - 1e-3


def test_imputer_in_pipeline_and_pandas_output():
    X, Xm = make_data(n=300, seed=14)
    df = pd.DataFrame(Xm, columns=["a", "b", "c", "d"])
    imp = GaussianMixtureImputer(2, random_state=0).set_output(transform="pandas")
    out = imp.fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a", "b", "c", "d"]
    assert not out.isna().any().any()
    np.testing.assert_array_equal(imp.get_feature_names_out(), ["a", "b", "c", "d"])
    np.testing.assert_allclose(out.to_numpy(), imp.mixture_.impute(df))
    y = X[:, 0] + X[:, 1]
    pipe = make_pipeline(GaussianMixtureImputer(2, random_state=0), LinearRegression())
    pipe.fit(Xm, y)
    assert pipe.score(Xm, y) > 0.5
    assert GaussianMixtureImputer().__sklearn_tags__().input_tags.allow_nan


def test_dask_array_marginalises_like_numpy():
    da = pytest.importorskip("dask.array")
    _, Xm = make_data(n=300, seed=15)
    w0, m0, c0 = start(Xm.shape[1])
    ref = fit_from(Xm, w0, m0, c0, 4)
    dX = da.from_array(Xm, chunks=(70, 4))
    got = fit_from(dX, w0, m0, c0, 4)
    np.testing.assert_allclose(got.means_, ref.means_, rtol=1e-10)
    np.testing.assert_allclose(got.covariances_, ref.covariances_, rtol=1e-10)
    np.testing.assert_allclose(
        np.asarray(got.score_samples(dX)), ref.score_samples(Xm), rtol=1e-10
    )
    np.testing.assert_array_equal(np.asarray(got.predict(dX)), ref.predict(Xm))
    fitted = GaussianMixture(2, nan_policy="marginalize", random_state=0).fit(dX)
    assert np.isfinite(fitted.score(Xm))


@pytest.mark.parametrize(
    "n, d, k, rate, covariance_type, tile_values",
    [
        (400, 5, 3, 0.3, "full", None),
        # few incomplete rows: they are split from the complete ones
        (3000, 5, 2, 0.02, "full", None),
        # several threads' blocks, weights, a diagonal-moment model
        (6000, 7, 4, 0.4, "diag", None),
        # wide rows with many missing values: tiles cut short by the factor cap
        (700, 24, 3, 0.6, "full", 2048),
        (500, 9, 2, 0.5, "tied", 512),
    ],
)
def test_compiled_and_pattern_paths_agree(
    monkeypatch, n, d, k, rate, covariance_type, tile_values
):
    from gmmkit import _kernels, _kernels_nan, _missing

    if not _kernels.available():
        pytest.skip("numba is not available: there is no compiled path")
    if tile_values is not None:
        monkeypatch.setattr(_kernels_nan, "TILE_VALUES", tile_values)
    _, Xm = make_data(n=n, d=d, rate=rate, seed=16)
    gm = GaussianMixture(
        k, covariance_type=covariance_type, nan_policy="marginalize",
        random_state=0, max_iter=5, tol=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(Xm)
    model, params = gm._model(), gm._fitted_params()
    w = np.random.default_rng(3).uniform(0.0, 2.0, n)
    w[::11] = 0.0
    chunks = [(0, Xm, w)]
    chunks32 = [(0, Xm.astype(np.float32), w)]
    a = _missing.estep_stats(chunks, model, params)
    a32 = _missing.estep_stats(chunks32, model, params)
    lp = _missing.observed_log_prob(Xm, model, params)
    scores = list(_missing.score_rows(chunks, model, params))
    no_labels = list(_missing.score_rows(chunks, model, params, labels=False))
    monkeypatch.setattr(_kernels, "available", lambda: False)
    b = _missing.estep_stats(chunks, model, params)
    lp_b = _missing.observed_log_prob(Xm, model, params)
    ((_, log_norm, labels),) = _missing.score_rows(chunks, model, params)
    np.testing.assert_allclose(scores[0][1], log_norm, rtol=1e-12)
    np.testing.assert_array_equal(scores[0][2], labels)
    np.testing.assert_allclose(no_labels[0][1], log_norm, rtol=1e-12)
    assert no_labels[0][2] is None
    # (the oracle: scipy's densities of the observed coordinates)
    np.testing.assert_allclose(
        log_norm,
        observed_log_density(
            Xm, params.weights, params.means, _missing.dense_covariances(model, params)
        ),
        rtol=1e-9,
    )
    # float32 rows: marginalised rows are computed from the float32 values
    # in float64 on both paths; complete rows take the float32 kernel
    b32 = _missing.estep_stats(chunks32, model, params)
    for got, ref, rtol in ((a, b, 1e-10), (a32, b32, 1e-5)):
        for name in ("n", "s1", "s2"):
            np.testing.assert_allclose(
                getattr(got, name), getattr(ref, name), rtol=rtol, atol=1e-9
            )
        np.testing.assert_allclose(got.loglik, ref.loglik, rtol=rtol)
        assert got.weight == pytest.approx(ref.weight, rel=1e-12)
        assert got.rows == ref.rows == n
    np.testing.assert_allclose(lp, lp_b, rtol=1e-11, atol=1e-9)


# ------------------------------------------------------- select_model
def iris_with_holes(rate=0.1, seed=0):
    from sklearn.datasets import load_iris

    X = load_iris().data
    rng = np.random.RandomState(seed)
    Xm = X.copy()
    Xm[rng.rand(*X.shape) < rate] = np.nan
    empty = np.isnan(Xm).all(axis=1)
    Xm[empty, 0] = X[empty, 0]  # every row keeps an observed value
    return X, Xm


def test_select_model_marginalize_on_complete_data_is_raise():
    from gmmkit import select_model

    X, _ = iris_with_holes()
    a = select_model(X, n_jobs=1)
    b = select_model(X, n_jobs=1, nan_policy="marginalize")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.best_params_ == b.best_params_


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_select_model_with_missing_values_picks_the_complete_data_model(seed):
    from gmmkit import select_model

    X, Xm = iris_with_holes(seed=seed)
    complete = select_model(X, n_jobs=1)
    holes = select_model(Xm, n_jobs=1, nan_policy="marginalize")
    assert holes.best_params_ == complete.best_params_ == {
        "covariance_type": "VEV",
        "n_components": 2,
    }
    best = holes.best_
    assert best.nan_policy == "marginalize"
    row = holes.table[
        (holes.table.covariance_type == "VEV") & (holes.table.n_components == 2)
    ].iloc[0]
    n = Xm.shape[0]
    # the criteria are the observed data's
    np.testing.assert_allclose(row.log_likelihood, best.score(Xm) * n, rtol=1e-10)
    np.testing.assert_allclose(
        row.bic, -2 * row.log_likelihood + row.n_parameters * np.log(n), rtol=1e-12
    )
    entropy = np.log(best.predict_proba(Xm).max(axis=1)).sum()
    np.testing.assert_allclose(row.icl, row.bic - 2 * entropy, rtol=1e-10)
    assert np.isfinite(holes.table.bic).sum() > len(holes.table) // 2


def test_select_model_missing_values_with_subset_and_workers():
    from gmmkit import select_model

    _, Xm = iris_with_holes(seed=3)
    kw = dict(
        n_components=[1, 2, 3],
        covariance_types=["VVV", "EII"],
        nan_policy="marginalize",
        subset=80,
        random_state=0,
    )
    one = select_model(Xm, n_jobs=1, **kw)
    two = select_model(Xm, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert np.isfinite(one.table.bic).all()


def test_select_model_nan_errors():
    from gmmkit import InvalidParameterError, select_model

    _, Xm = iris_with_holes()
    with pytest.raises(DataError, match=r"NaN at row .*nan_policy='marginalize'"):
        select_model(Xm, n_components=[1])
    Xm[7] = np.nan
    with pytest.raises(DataError, match="row 7 has no observed value"):
        select_model(Xm, n_components=[1], nan_policy="marginalize")
    with pytest.raises(InvalidParameterError, match="'nan_policy' parameter of sel"):
        select_model(Xm, n_components=[1], nan_policy="omit")
    inf = np.ones((10, 2))
    inf[3, 1] = np.inf
    with pytest.raises(DataError, match="row 3"):
        select_model(inf, n_components=[1], nan_policy="marginalize")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_extreme_units_give_the_same_fit():
    """Data in units of 1e-45 (variances ~1e-90, precisions ~1e90): the
    missing-value kernel's log-determinants of 4+ missing coordinates must
    not leave float64's range; the fit is the unit fit, its log-likelihood
    shifted by -log(1e-45) per observed entry."""
    rng = np.random.RandomState(3)
    X = np.vstack([rng.randn(150, 6), rng.randn(150, 6) * 0.7 + 3.0])
    X[rng.rand(*X.shape) < 0.55] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    assert (np.isnan(X).sum(axis=1) >= 4).sum() > 50
    scale = 1e-45
    kw = dict(
        covariance_type="full",
        nan_policy="marginalize",
        reg_covar=0.0,
        max_iter=5,
        tol=0.0,
        init_params="random",
        random_state=0,
    )
    a = GaussianMixture(2, **kw).fit(X)
    b = GaussianMixture(2, **kw).fit(X * scale)
    shift = -np.log(scale) * np.count_nonzero(~np.isnan(X))
    np.testing.assert_allclose(
        b.log_likelihood_history_, a.log_likelihood_history_ + shift, rtol=1e-10
    )
    np.testing.assert_allclose(b.means_, a.means_ * scale, rtol=1e-8)
