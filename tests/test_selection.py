"""gmmkit.select_model against R mclust's Mclust/mclustBIC.

The oracle is tests/mclust/hc_reference.json (tests/mclust/make_hc_reference.R,
mclust 6.0): ``Mclust(X)$BIC`` in mclust's sign (gmmkit's bic is its
negative), the chosen model, its log-likelihood, BIC and ICL.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import gmmkit
from gmmkit import GaussianMixture, InvalidParameterError, MissingDependencyError
from gmmkit.covariance import COVARIANCE_TYPES, get_model
from gmmkit.selection import default_covariance_types, select_model

pd = pytest.importorskip("pandas")

REF = json.loads((Path(__file__).parent / "mclust" / "hc_reference.json").read_text())
SETS = REF["datasets"]
RTOL = 1e-6

#: mclust's model names that gmmkit's registry knows (grows as models land).
REGISTERED = [m for m in SETS["iris"]["models"] if m in COVARIANCE_TYPES]


def data(name: str) -> np.ndarray:
    return np.array(SETS[name]["data"], dtype=np.float64)


def mclust_bic(name: str, model: str, k: int) -> float | None:
    value = SETS[name]["bic"][model][k - 1]
    return None if value is None else -value  # gmmkit's sign


#: Models whose M-step deliberately differs from mclust's (README, "Covariance
#: models"): mclust stops VVE's inner loop early, gmmkit reaches a better
#: optimum of the same M-step objective.
BETTER_THAN_MCLUST = {"VVE"}


def assert_table_matches(name: str, table) -> int:
    """Compare every row with mclust; return how many were compared."""
    compared = 0
    for row in table.itertuples():
        expected = mclust_bic(name, row.covariance_type, row.n_components)
        where = f"{name} {row.covariance_type} K={row.n_components}"
        if expected is None:  # mclust could not fit it: neither may we
            assert not np.isfinite(row.bic), f"{where}: mclust gives NA"
            continue
        assert row.error is None, f"{where}: {row.error}"
        if row.covariance_type in BETTER_THAN_MCLUST:
            # From the same start EM follows another path (to 1e-3 .. 8e-2
            # relative on iris): only "at least as good as mclust" is checked.
            assert row.bic <= expected * (1 + 1e-12), where
        else:
            np.testing.assert_allclose(row.bic, expected, rtol=RTOL, err_msg=where)
        compared += 1
    return compared


def test_registry_covers_at_least_the_four_core_models():
    assert {"VVV", "EEE", "VVI", "VII"} <= set(REGISTERED)


def test_sklearn_iris_is_the_iris_of_the_fixture():
    from sklearn.datasets import load_iris

    np.testing.assert_array_equal(load_iris().data, data("iris"))


@pytest.mark.parametrize("model", REGISTERED)
def test_iris_bic_equals_mclust(model):
    result = select_model(
        data("iris"), n_components=[1, 2, 3], covariance_types=[model]
    )
    fitted_by_mclust = [
        k for k in (1, 2, 3) if mclust_bic("iris", model, k) is not None
    ]
    assert assert_table_matches("iris", result.table) == len(fitted_by_mclust)
    assert len(result.table) == 3


def test_faithful_bic_table_and_choice_equal_mclust():
    core = ["VVV", "EEE", "VVI", "VII"]
    result = select_model(data("faithful"), covariance_types=core)
    assert len(result.table) == 4 * 9
    assert assert_table_matches("faithful", result.table) == 36
    best = SETS["faithful"]["best"]  # EEE with 3 components
    assert best["model"] in core
    assert result.best_params_ == {"covariance_type": best["model"], "n_components": 3}
    row = result.table.iloc[result.table["bic"].idxmin()]
    np.testing.assert_allclose(row.log_likelihood, best["loglik"], rtol=1e-9)
    np.testing.assert_allclose(row.bic, -best["bic"], rtol=1e-9)
    np.testing.assert_allclose(row.icl, -best["icl"], rtol=RTOL)
    assert row.n_parameters == best["df"]


@pytest.mark.skipif("VEV" not in COVARIANCE_TYPES, reason="VEV not registered yet")
def test_iris_picks_vev_with_two_components():
    # mclust: VEV, G = 2, loglik -215.726, BIC -561.728 (gmmkit: +561.728).
    from sklearn.datasets import load_iris

    X = load_iris().data
    models = ["VEV", "VVV", "EEV", "EEE", "VII"]
    result = select_model(X, n_components=[1, 2, 3], covariance_types=models)
    assert result.best_params_ == {"covariance_type": "VEV", "n_components": 2}
    best = result.best_
    assert (best.covariance_type, best.n_components) == ("VEV", 2)
    row = result.table.iloc[result.table["bic"].idxmin()]
    ref = SETS["iris"]["best"]
    np.testing.assert_allclose(row.log_likelihood, ref["loglik"], rtol=1e-9)
    np.testing.assert_allclose(row.bic, -ref["bic"], rtol=1e-9)
    np.testing.assert_allclose(row.icl, -ref["icl"], rtol=RTOL)
    assert round(row.log_likelihood, 3) == -215.726
    assert round(row.bic, 3) == 561.728


def test_long_data_with_mclusts_subset_equals_mclust():
    # 2500 rows: mclust clusters a subset of 2000 (given here as mclust drew
    # it), one M-step there, then EM on every row.
    entry = SETS["big"]
    subset = np.array(entry["subset"]) - 1
    result = select_model(
        data("big"),
        n_components=[1, 2, 3],
        covariance_types=["VVV", "EEE", "VVI", "VII"],
        subset=subset,
        n_jobs=1,
    )
    assert assert_table_matches("big", result.table) == 12


def test_wide_data_default_table_and_choice_equal_mclust():
    # No more rows than columns: mclust tries the six spherical and diagonal
    # models only, from the EII tree; several fits are NA (singular) there.
    X = data("wide")
    result = select_model(X)
    assert list(dict.fromkeys(result.table.covariance_type)) == SETS["wide"]["models"]
    assert assert_table_matches("wide", result.table) == sum(
        v is not None for m in SETS["wide"]["models"] for v in SETS["wide"]["bic"][m]
    )
    best = SETS["wide"]["best"]
    assert result.best_params_ == {
        "covariance_type": best["model"],
        "n_components": best["G"],
    }


def test_one_dimensional_default_table_and_choice_equal_mclust():
    # One feature: mclust's E and V models, started from quantile classes.
    result = select_model(data("oned"))
    assert list(dict.fromkeys(result.table.covariance_type)) == ["E", "V"]
    assert assert_table_matches("oned", result.table) == 18
    best = SETS["oned"]["best"]
    assert result.best_params_ == {"covariance_type": "V", "n_components": 3}
    assert (best["model"], best["G"]) == ("V", 3)
    row = result.table.iloc[result.table["bic"].idxmin()]
    np.testing.assert_allclose(row.log_likelihood, best["loglik"], rtol=1e-9)
    np.testing.assert_allclose(row.icl, -best["icl"], rtol=RTOL)


def test_table_columns_and_criteria_are_consistent():
    X = data("faithful")
    result = select_model(X, n_components=[1, 2, 3], covariance_types=["VVV", "VII"])
    table = result.table
    for column in (
        "covariance_type", "n_components", "log_likelihood", "n_parameters",
        "bic", "aic", "icl", "converged", "error",
    ):  # fmt: skip
        assert column in table.columns
    assert list(zip(table.covariance_type, table.n_components)) == [
        (m, k) for m in ("VVV", "VII") for k in (1, 2, 3)
    ]
    n = X.shape[0]
    for row in table.itertuples():
        gm = result.models_[(row.covariance_type, row.n_components)]
        assert row.n_parameters == gm.n_parameters()
        assert row.aic == pytest.approx(-2 * row.log_likelihood + 2 * row.n_parameters)
        assert row.bic == pytest.approx(
            -2 * row.log_likelihood + row.n_parameters * math.log(n)
        )
        # The reported log-likelihood is the fitted parameters' own.
        assert row.log_likelihood == pytest.approx(gm.score(X) * n, rel=1e-12)
        assert row.bic == pytest.approx(gm.bic(X), rel=1e-12)
        assert row.icl == pytest.approx(gm.icl(X), rel=1e-12)
        assert row.icl >= row.bic
        assert row.converged


def test_icl_is_bic_plus_twice_the_map_entropy_brute_force():
    X = data("gen3")
    gm = GaussianMixture(3, init_params="hc", random_state=0).fit(X)
    resp = gm.predict_proba(X)  # brute force: the full n x K matrix
    expected = gm.bic(X) - 2 * np.log(resp.max(axis=1)).sum()
    assert gm.icl(X) == pytest.approx(expected, rel=1e-12)
    assert gm.icl(X) > gm.bic(X)


def test_best_is_the_minimum_of_the_chosen_criterion():
    X = data("gen3")
    for criterion in ("bic", "aic", "icl"):
        result = select_model(
            X, n_components=[1, 2, 3, 4], covariance_types=["VVV", "VVI"],
            criterion=criterion,
        )  # fmt: skip
        table = result.table
        i = int(table[criterion].idxmin())
        assert result.best_params_ == {
            "covariance_type": table.covariance_type[i],
            "n_components": int(table.n_components[i]),
        }
        assert result.best_.n_components == table.n_components[i]


def test_failed_fit_is_a_row_not_an_exception():
    # Component 1 of the start lies on a line: VVV is singular there (mclust
    # gives NA), VII is fine; 60 components cannot start from 50 rows.
    rng = np.random.RandomState(0)
    t = rng.uniform(0, 1, 25)
    X = np.vstack([np.column_stack([t, 2 * t]), rng.normal(5, 1, size=(25, 2))])
    result = select_model(X, n_components=[2, 60], covariance_types=["VVV", "VII"])
    table = result.table.set_index(["covariance_type", "n_components"])
    assert table.loc[("VVV", 2), "error"] is not None
    assert math.isnan(table.loc[("VVV", 2), "bic"])
    assert table.loc[("VII", 2), "error"] is None
    assert "60 components" in table.loc[("VII", 60), "error"]
    assert result.best_params_ == {"covariance_type": "VII", "n_components": 2}


def test_parallel_fits_give_the_same_table():
    X = data("faithful")
    kw = dict(n_components=[1, 2, 3], covariance_types=["VVV", "EEE"])
    one = select_model(X, n_jobs=1, **kw).table
    two = select_model(X, n_jobs=2, **kw).table
    pd.testing.assert_frame_equal(one, two)


def test_default_models_follow_mclust():
    if all(m in COVARIANCE_TYPES for m in ("E", "V")):
        assert default_covariance_types(100, 1) == ("E", "V")
    wide = default_covariance_types(5, 10)
    assert wide and all(get_model(m).family in ("spherical", "diagonal") for m in wide)
    assert {"VII", "VVI"} <= set(wide)
    assert "VVV" not in wide
    assert {"VVV", "EEE", "VVI", "VII"} <= set(default_covariance_types(100, 3))


def test_plot_draws_one_line_per_model():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = select_model(
        data("faithful"), n_components=[1, 2, 3], covariance_types=["VVV", "VII"]
    )
    ax = result.plot()
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["VVV", "VII"]
    np.testing.assert_allclose(
        lines[0].get_ydata(), result.table.bic[:3].to_numpy(), rtol=1e-12
    )
    assert "lower is better" in ax.get_ylabel()
    plt.close("all")


def test_exported():
    assert gmmkit.select_model is select_model
    assert "select_model" in gmmkit.__all__


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"criterion": "likelihood"}, "criterion"),
        ({"n_components": [0, 1]}, "n_components"),
        ({"n_components": []}, "n_components"),
        ({"covariance_types": ["XYZ"]}, "covariance_type"),
        ({"covariance_types": []}, "covariance_types"),
        ({"subset": np.array([0, 1, 500])}, "subset"),
        ({"subset": 0}, "subset"),
    ],
)
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        select_model(data("iris"), **kwargs)


def test_missing_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"gmmkit\[data\]"):
        select_model(data("iris"), n_components=[1])
