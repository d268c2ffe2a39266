"""bootstrap_lrt and bootstrap against R's mclust 6.0 (mclustBootstrapLRT,
MclustBootstrap) and against closed-form bootstrap answers.

The oracle is tests/mclust/bootstrap_reference.json
(tests/mclust/make_bootstrap_reference.R): the observed LRT statistics and
log-likelihoods (which must be mclust's to rounding), mclust's bootstrap
p-values and replicate statistics with 999 replications, and mclust's
bootstrap standard errors and percentile intervals with 999 replications.
Monte-Carlo quantities are compared with tolerances that follow from their
sampling error (binomial for p-values, the standard deviation's and the
quantile's for standard errors and interval ends), at four standard errors.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import NotFittedError

import gmmkit
from gmmkit import GaussianMixture, InvalidParameterError, bootstrap, bootstrap_lrt

REF = json.loads(
    (Path(__file__).parent / "mclust" / "bootstrap_reference.json").read_text()
)
LRT = REF["lrt"]
BOOT = REF["boot"]
#: gmmkit's method names for mclust's MclustBootstrap types
TYPES = {"nonparametric": "bs", "weighted": "wlbs", "parametric": "pb"}


def data(entry):
    return np.array(entry["data"], dtype=np.float64).reshape(entry["n"], -1)


# ------------------------------------------------------------------- the LRT
@pytest.mark.parametrize("name", sorted(LRT))
def test_lrt_observed_statistics_equal_mclust(name):
    entry = LRT[name]
    X = data(entry)
    top = len(entry["G"])
    table = bootstrap_lrt(X, entry["model"], top, n_bootstrap=1, random_state=0)
    assert table["n_components"].tolist() == entry["G"]
    np.testing.assert_allclose(table["lrt"], entry["obs"], rtol=1e-8, atol=1e-7)
    loglik = table.attrs["log_likelihood"]
    assert sorted(loglik) == list(range(1, top + 2))
    np.testing.assert_allclose(
        [loglik[k] for k in range(1, top + 2)],
        entry["loglik"][: top + 1],
        rtol=1e-10,
        atol=1e-8,
    )
    assert table.attrs["replicates"].shape == (1, top)
    assert table.attrs["covariance_type"] == entry["model"]


def assert_p_values_match(table, entry, n_bootstrap):
    """Each p-value within four binomial standard errors (of ours with
    ``n_bootstrap`` and mclust's with 999 replications) of mclust's, plus
    one step of our p-value's grid; and the replicates' distribution is
    mclust's by a two-sample Kolmogorov-Smirnov test."""
    ours = table.attrs["replicates"]
    for j, p_ref in enumerate(entry["p_value"]):
        p = max(p_ref, 1.0 / entry["nboot"])
        se = math.sqrt(p * (1 - p) * (1 / n_bootstrap + 1 / entry["nboot"]))
        assert abs(table["p_value"][j] - p_ref) <= 4 * se + 1 / (n_bootstrap + 1), (
            j,
            table["p_value"][j],
            p_ref,
        )
        assert np.isfinite(ours[:, j]).all()
        ks = stats.ks_2samp(ours[:, j], np.array(entry["boot"][j], dtype=float))
        assert ks.pvalue > 1e-3, (j, ks)


def test_lrt_p_values_within_monte_carlo_error_of_mclust():
    entry = LRT["acidity"]  # p-values 0.001, 0.004, 0.274 in mclust
    table = bootstrap_lrt(data(entry), "V", 3, n_bootstrap=100, random_state=1)
    assert_p_values_match(table, entry, 100)
    # nothing of 100 replicates reaches the first observed statistic
    assert table["p_value"][0] == pytest.approx(1 / 101)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["faithful", "iris", "gen3"])
def test_lrt_p_values_within_monte_carlo_error_of_mclust_slow(name):
    # faithful: 0.001, 0.576 (clearly large), 0.004; iris: 0.001, 0.001,
    # 0.094; gen3: all 0.001
    entry = LRT[name]
    table = bootstrap_lrt(
        data(entry), entry["model"], 3, n_bootstrap=150, random_state=2, n_jobs=2
    )
    assert_p_values_match(table, entry, 150)


def test_lrt_sequential_stops_at_the_first_non_significant_test():
    entry = LRT["oned_sequential"]  # mclust: 1 vs 2 p = 0.001, 2 vs 3 p = 0.338
    table = bootstrap_lrt(data(entry), "E", n_bootstrap=40, random_state=3)
    assert table["n_components"].tolist() == entry["G"] == [1, 2]
    assert table["p_value"][0] == pytest.approx(1 / 41)
    assert table["p_value"][1] > 0.05
    np.testing.assert_allclose(table["lrt"], entry["obs"], rtol=1e-8)
    assert table.attrs["replicates"].shape == (40, 2)


def test_lrt_p_value_is_the_share_of_replicates_at_least_the_statistic():
    entry = LRT["acidity"]
    table = bootstrap_lrt(data(entry), "V", 2, n_bootstrap=12, random_state=4)
    reps = table.attrs["replicates"]
    for j in range(2):
        expected = (1 + np.sum(reps[:, j] >= table["lrt"][j])) / 13
        assert table["p_value"][j] == pytest.approx(expected)


def test_lrt_is_deterministic_whatever_n_jobs():
    X = data(LRT["acidity"])
    one = bootstrap_lrt(X, "V", 1, n_bootstrap=6, random_state=5, n_jobs=1)
    two = bootstrap_lrt(X, "V", 1, n_bootstrap=6, random_state=5, n_jobs=2)
    np.testing.assert_array_equal(one.attrs["replicates"], two.attrs["replicates"])
    assert one.equals(two)
    other = bootstrap_lrt(X, "V", 1, n_bootstrap=6, random_state=6)
    assert not np.array_equal(one.attrs["replicates"], other.attrs["replicates"])
    # a test's replicates do not depend on how many tests there are
    longer = bootstrap_lrt(X, "V", 2, n_bootstrap=6, random_state=5)
    np.testing.assert_array_equal(
        longer.attrs["replicates"][:, 0], one.attrs["replicates"][:, 0]
    )


# -------------------------------------------------------- standard errors
def fitted_like_mclust(entry):
    """select_model's fit of the model mclust bootstrapped, its components in
    mclust's order (matched by means), checked equal to mclust's fit."""
    X = data(entry)
    gm = gmmkit.select_model(X, [entry["G"]], [entry["model"]]).best_
    ref_means = np.array(entry["mean"], dtype=float).reshape(entry["d"], -1).T
    cost = ((gm.means_[:, None, :] - ref_means[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    order = rows[np.argsort(cols)]  # ours for each of mclust's components
    assert gm.log_likelihood_history_[-1] == pytest.approx(entry["loglik"], rel=1e-9)
    # mclust's Mclust reports the parameters one M-step after those whose
    # log-likelihood passed its stopping test; select_model's multivariate
    # fits are those, its one-dimensional ones the step before (on acidity's
    # flat likelihood that step moves them by ~3e-4)
    if entry["d"] == 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            step = GaussianMixture(
                entry["G"],
                covariance_type=entry["model"],
                weights_init=gm.weights_,
                means_init=gm.means_,
                precisions_init=gm.precisions_,
                max_iter=1,
                tol=0.0,
                reg_covar=0.0,
            ).fit(X)
    else:
        step = gm
    np.testing.assert_allclose(step.means_[order], ref_means, rtol=1e-6)
    np.testing.assert_allclose(step.weights_[order], entry["pro"], rtol=1e-6)
    return X, gm, order


def kurtosis_factor(values):
    """``sqrt((kurtosis - 1) / 4)``: the relative standard error of a
    sample standard deviation is this over ``sqrt(replicates)``."""
    kurt = stats.kurtosis(values, axis=0, fisher=False, nan_policy="omit")
    return np.sqrt(np.maximum(np.asarray(kurt) - 1.0, 0.5) / 4.0)


@pytest.mark.parametrize("name", sorted(BOOT))
@pytest.mark.parametrize("method", sorted(TYPES))
def test_bootstrap_standard_errors_match_mclust(name, method):
    entry = BOOT[name]
    X, gm, order = fitted_like_mclust(entry)
    n_boot = 300
    result = bootstrap(gm, X, n_boot, method, random_state=7)
    ref = entry[TYPES[method]]
    assert result.method == method and result.n_bootstrap == n_boot
    assert result.n_failed == 0 == ref["nonfit"]
    d, k = entry["d"], entry["G"]
    se = result.standard_errors
    reps = result.replicates
    expected = {
        "weights": (np.array(ref["se_pro"]), reps["weights"][:, order]),
        "means": (
            np.array(ref["se_mean"]).reshape(d, k).T,
            reps["means"][:, order],
        ),
        "covariances": (
            np.array(ref["se_variance"]).reshape(d, d, k).transpose(2, 0, 1),
            reps["covariances"][:, order],
        ),
    }
    for param, (se_ref, ours) in expected.items():
        got = np.std(ours, axis=0, ddof=1)
        np.testing.assert_allclose(se[param][order], got)
        rel = kurtosis_factor(ours) * math.sqrt(1 / n_boot + 1 / entry["nboot"])
        bad = np.abs(got - se_ref) > 4 * rel * se_ref
        assert not bad.any(), (param, got[bad], se_ref[bad])
    # percentile intervals of the means: a 2.5% quantile of a normal sample
    # has standard error ~2.7 sd / sqrt(replicates)
    ci = result.intervals(0.95)["means"][:, order]
    ci_ref = np.array(ref["ci_mean"]).reshape(2, d, k).transpose(0, 2, 1)
    se_ref = expected["means"][0]
    tol = 4 * 2.7 * se_ref * math.sqrt(1 / n_boot + 1 / entry["nboot"])
    assert (np.abs(ci - ci_ref) <= tol).all(), (ci, ci_ref)


def test_bootstrap_methods_differ_where_mclust_says_they_do():
    # acidity, V with 2 components: mclust's nonparametric SE of the weights
    # is 0.084, the parametric one 0.055
    entry = BOOT["acidity"]
    X, gm, _ = fitted_like_mclust(entry)
    bs = bootstrap(gm, X, 300, "nonparametric", random_state=8)
    pb = bootstrap(gm, X, 300, "parametric", random_state=8)
    assert bs.standard_errors["weights"][0] > 1.25 * pb.standard_errors["weights"][0]


def single_gaussian(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.multivariate_normal([1.0, -2.0], [[2.0, 0.6], [0.6, 0.5]], size=n)
    gm = GaussianMixture(1, covariance_type="full", reg_covar=0.0).fit(X)
    return X, gm


def test_parametric_bootstrap_of_one_gaussian_is_its_sampling_distribution():
    # the MLE mean of n rows from N(mu, S) has sd sqrt(S_jj / n), the MLE
    # variance S_jj (n - 1) / n has sd S_jj sqrt(2 (n - 1)) / n
    X, gm = single_gaussian()
    n, B = X.shape[0], 400
    result = bootstrap(gm, X, B, "parametric", random_state=9)
    S = np.diag(gm.covariances_[0])
    rel = 4 * math.sqrt(1 / (2 * B))
    np.testing.assert_allclose(
        result.standard_errors["means"][0], np.sqrt(S / n), rtol=rel
    )
    np.testing.assert_allclose(
        np.diag(result.standard_errors["covariances"][0]),
        S * math.sqrt(2 * (n - 1)) / n,
        rtol=rel * 1.2,
    )
    assert result.standard_errors["weights"][0] == 0.0
    # the replicates' means average to the model's (no bias)
    mean_err = np.abs(result.replicates["means"][:, 0].mean(axis=0) - gm.means_[0])
    assert (mean_err <= 4 * np.sqrt(S / n / B)).all()


@pytest.mark.parametrize(
    ("method", "denominator"), [("nonparametric", 0), ("weighted", 1)]
)
def test_resampling_bootstrap_of_one_gaussians_mean(method, denominator):
    # resampling rows: the mean's bootstrap variance is exactly var(X) / n
    # (population variance); uniform Dirichlet weights: var(X) / (n + 1)
    X, gm = single_gaussian(seed=1)
    n, B = X.shape[0], 400
    result = bootstrap(gm, X, B, method, random_state=10)
    expected = np.sqrt(X.var(axis=0) / (n + denominator))
    np.testing.assert_allclose(
        result.standard_errors["means"][0], expected, rtol=4 * math.sqrt(1 / (2 * B))
    )


def test_replicates_keep_the_fitted_components_order():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal([0, 0], 1, (150, 2)), rng.normal([6, 1], 0.7, (100, 2))])
    gm = gmmkit.select_model(X, [2], ["VVV"]).best_
    for method in TYPES:
        result = bootstrap(gm, X, 50, method, random_state=11)
        shift = np.abs(result.replicates["means"] - gm.means_).max()
        assert shift < 1.0, method  # components 6 apart never swap


def test_bootstrap_is_deterministic_whatever_n_jobs():
    X, gm = single_gaussian(n=80, seed=3)
    one = bootstrap(gm, X, 10, "weighted", random_state=12, n_jobs=1)
    two = bootstrap(gm, X, 10, "weighted", random_state=12, n_jobs=2)
    for name in one.replicates:
        np.testing.assert_array_equal(one.replicates[name], two.replicates[name])
    other = bootstrap(gm, X, 10, "weighted", random_state=13)
    assert not np.array_equal(one.replicates["means"], other.replicates["means"])


def test_summary_table_lists_every_parameter():
    X, gm = single_gaussian(n=60, seed=4)
    result = bootstrap(gm, X, 30, "nonparametric", random_state=14)
    table = result.summary(0.9)
    assert list(table.columns) == [
        "parameter",
        "index",
        "estimate",
        "std_error",
        "lower",
        "upper",
    ]
    assert len(table) == 1 + 2 + 4
    row = table[(table["parameter"] == "means") & (table["index"] == (0, 1))].iloc[0]
    assert row["estimate"] == gm.means_[0, 1]
    assert row["std_error"] == result.standard_errors["means"][0, 1]
    reps = result.replicates["means"][:, 0, 1]
    assert row["lower"] == pytest.approx(np.quantile(reps, 0.05))
    assert row["upper"] == pytest.approx(np.quantile(reps, 0.95))


def test_tied_and_diagonal_covariances_keep_their_shape():
    X, _ = single_gaussian(n=120, seed=5)
    X = np.vstack([X, X + [8.0, 0.0]])
    for cov, shape in [("tied", (2, 2)), ("diag", (2, 2)), ("spherical", (2,))]:
        gm = GaussianMixture(2, covariance_type=cov, random_state=0).fit(X)
        result = bootstrap(gm, X, 5, "parametric", random_state=0)
        assert result.standard_errors["covariances"].shape == shape
        assert result.replicates["covariances"].shape == (5, *shape)


# ------------------------------------------------------------- bad input
def test_bad_input_is_named():
    X, gm = single_gaussian(n=50)
    with pytest.raises(InvalidParameterError, match="method"):
        bootstrap(gm, X, 5, "jackknife")
    with pytest.raises(InvalidParameterError, match="n_bootstrap"):
        bootstrap(gm, X, 0)
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        bootstrap(gm, X, 5, n_jobs=0)
    with pytest.raises(InvalidParameterError, match="random_state"):
        bootstrap(gm, X, 5, random_state="seed")
    with pytest.raises(InvalidParameterError, match="fitted gmmkit.GaussianMixture"):
        bootstrap("model", X, 5)
    with pytest.raises(NotFittedError):
        bootstrap(GaussianMixture(), X, 5)
    with pytest.raises(ValueError, match="features"):
        bootstrap(gm, X[:, :1], 5)
    with pytest.raises(InvalidParameterError, match="level"):
        bootstrap(gm, X, 3).intervals(1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noisy = GaussianMixture(
            1, noise_init=np.arange(50) < 3, convergence="mclust", reg_covar=0.0
        ).fit(X)
    with pytest.raises(InvalidParameterError, match="noise"):
        bootstrap(noisy, X, 5)
    with pytest.raises(InvalidParameterError, match="max_components"):
        bootstrap_lrt(X, "VVV", 0)
    with pytest.raises(InvalidParameterError, match="level"):
        bootstrap_lrt(X, "VVV", level=1.0)
    with pytest.raises(InvalidParameterError, match="covariance_type"):
        bootstrap_lrt(X, 3)
    with pytest.raises(InvalidParameterError, match="XYZ"):
        bootstrap_lrt(X, "XYZ", 1)
    with pytest.raises(gmmkit.DataError):
        bootstrap_lrt(np.array([[1.0, np.nan], [2.0, 3.0]]), "VVV", 1)
