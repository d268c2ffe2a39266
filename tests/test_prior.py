"""MAP-EM with mclust's conjugate prior, against R mclust 6.0.

The reference numbers come from ``tests/mclust/make_prior_reference.R`` (R's
mclust ``defaultPrior``, ``mstep``, ``me``, ``estep`` and ``mclustBIC`` with
``prior = priorControl(...)``), stored in ``tests/mclust/prior_reference.json``.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from gmmkit import COVARIANCE_TYPES, ConjugatePrior, GaussianMixture, select_model
from gmmkit._errors import DataError, InvalidParameterError
from gmmkit._prior import PRIOR_MODELS, resolve_prior

REF = json.loads(
    (pathlib.Path(__file__).parent / "mclust" / "prior_reference.json").read_text()
)
DATA = {
    name: np.array(values, dtype=np.float64).reshape(len(values), -1)
    for name, values in REF["data"].items()
}
SKLEARN_NAME = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}
#: The models whose M-step iterates (mclust stops its inner loop at
#: sqrt(machine epsilon), gmmkit much later), compared less tightly.
ITERATIVE = {"VEI", "VEV"}


def _case_id(case: dict) -> str:
    return f"{case['data']}-{case['model']}-G{case['G']}"


def _covariance_type(model: str) -> str:
    """mclust's name when gmmkit has it, else scikit-learn's alias."""
    if model in COVARIANCE_TYPES:
        return model
    if model in SKLEARN_NAME:
        return SKLEARN_NAME[model]
    pytest.skip(f"covariance model {model} is not in gmmkit yet")


def _dense(gmm: GaussianMixture) -> np.ndarray:
    k, d = gmm.means_.shape
    return np.asarray(gmm._model().dense(gmm.covariances_, k, d))


def _rtol(model: str, tight: float) -> float:
    return 1e-7 if model in ITERATIVE else tight


def _check_params(gmm: GaussianMixture, ref: dict, rtol: float) -> None:
    scale = np.abs(np.array(ref["covariances"])).max()
    np.testing.assert_allclose(gmm.weights_, ref["weights"], rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(gmm.means_, ref["means"], rtol=rtol, atol=0)
    np.testing.assert_allclose(
        _dense(gmm), ref["covariances"], rtol=rtol, atol=rtol * scale
    )


# ----------------------------------------------------------- hyperparameters
@pytest.mark.parametrize("case", REF["cases"], ids=_case_id)
def test_default_prior_equals_mclust_defaultPrior(case):
    X = DATA[case["data"]]
    n, d = X.shape
    resolved = resolve_prior(
        ConjugatePrior(), case["model"], [(0, X, np.ones(n))], case["G"], d
    )
    expected = case["default_prior"]
    assert resolved.shrinkage == expected["shrinkage"] == 0.01
    assert resolved.dof == expected["dof"] == d + 2
    np.testing.assert_allclose(resolved.mean, expected["mean"], rtol=1e-13)
    np.testing.assert_allclose(
        np.asarray(resolved.scale), np.asarray(expected["scale"]), rtol=1e-12
    )


def test_default_prior_chunked_and_weighted_data():
    """Data moments add up over chunks; an integer weight repeats a row."""
    X = DATA["iris"]
    w = np.arange(len(X)) % 3 + 0.0
    chunks = [(s, X[s : s + 40], w[s : s + 40]) for s in range(0, len(X), 40)]
    resolved = resolve_prior(ConjugatePrior(), "VVV", chunks, 2, 4)
    Xr = np.repeat(X, w.astype(int), axis=0)
    np.testing.assert_allclose(resolved.mean, Xr.mean(axis=0), rtol=1e-13)
    fac = (1 / 2) ** (2 / 4)
    np.testing.assert_allclose(resolved.scale, fac * np.cov(Xr.T), rtol=1e-12)


@pytest.mark.parametrize("case", REF["wide_prior"], ids=lambda c: c["model"])
def test_default_prior_with_fewer_rows_than_features(case):
    """mclust's defaultPrior takes only the variances when n_samples <= d."""
    X = np.array(REF["wide"], dtype=np.float64)
    n, d = X.shape
    resolved = resolve_prior(
        ConjugatePrior(), case["model"], [(0, X, np.ones(n))], case["G"], d
    )
    assert resolved.dof == case["dof"]
    np.testing.assert_allclose(resolved.mean, case["mean"], rtol=1e-13)
    np.testing.assert_allclose(
        np.asarray(resolved.scale), np.asarray(case["scale"]), rtol=1e-12
    )


def test_fitted_prior_attribute():
    X = DATA["faithful"]
    gmm = GaussianMixture(2, prior="default", random_state=0).fit(X)
    assert isinstance(gmm.prior_, ConjugatePrior)
    np.testing.assert_allclose(gmm.prior_.mean, X.mean(axis=0), rtol=1e-13)
    assert gmm.prior_.dof == 4.0
    assert GaussianMixture(2, random_state=0).fit(X).prior_ is None


# --------------------------------------------------------------- one M-step
#: With the default prior mclust's stand-alone mstep uses other MAP formulas
#: than its EM for these (and, with shrinkage 0, for more models);
#: gmmkit reproduces the EM's M-step (reference "me1": me with itmax = 1).
MSTEP_DIFFERS = {"EII", "EEI", "EVI", "EEV"}


def _check_mstep_is_me_step(case: dict) -> None:
    """Document (on the reference data) where mstep and me's M-step differ."""
    same = np.allclose(
        case["mstep"]["covariances"], case["me1"]["covariances"], rtol=1e-13, atol=0
    ) and np.allclose(case["mstep"]["means"], case["me1"]["means"], rtol=1e-13)
    assert same == (case["model"] not in MSTEP_DIFFERS)


@pytest.mark.parametrize("case", REF["cases"], ids=_case_id)
def test_map_mstep_equals_mclust(case):
    """One MAP M-step from fixed soft responsibilities."""
    X = DATA[case["data"]]
    z = np.array(REF["z"][case["z"]]["z_soft"])
    gmm = GaussianMixture(
        case["G"],
        covariance_type=_covariance_type(case["model"]),
        prior="default",
        reg_covar=0.0,
        resp_init=z,
        max_iter=0,
    ).fit(X)
    _check_params(gmm, case["me1"], _rtol(case["model"], 1e-10))
    _check_mstep_is_me_step(case)


def _explicit_id(case: dict) -> str:
    return f"{case['model']}-shrinkage{case['shrinkage']}-dof{case['dof']}"


@pytest.mark.parametrize("case", REF["explicit"] + REF["explicit_1d"], ids=_explicit_id)
def test_map_mstep_explicit_hyperparameters(case):
    """Explicit hyperparameters, with and without a prior on the means."""
    X = DATA[case["data"]]
    z = REF["explicit_z" if X.shape[1] > 1 else "explicit_1d_z"]
    prior = ConjugatePrior(
        shrinkage=case["shrinkage"],
        mean=case["mean"],
        dof=case["dof"],
        scale=case["scale"],
    )
    gmm = GaussianMixture(
        case["G"],
        covariance_type=_covariance_type(case["model"]),
        prior=prior,
        reg_covar=0.0,
        resp_init=np.array(z),
        max_iter=0,
    ).fit(X)
    _check_params(gmm, case["me1"], _rtol(case["model"], 1e-10))


def test_dict_prior_equals_dataclass():
    X = DATA["iris"]
    z = np.array(REF["explicit_z"])
    fits = [
        GaussianMixture(3, prior=p, resp_init=z, max_iter=0).fit(X)
        for p in ({"shrinkage": 0.3, "dof": 8}, ConjugatePrior(shrinkage=0.3, dof=8))
    ]
    np.testing.assert_array_equal(fits[0].covariances_, fits[1].covariances_)
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)
    plain = GaussianMixture(3, resp_init=z, max_iter=0).fit(X)
    assert not np.allclose(plain.covariances_, fits[0].covariances_, rtol=1e-3)


# --------------------------------------------------------------------- EM
def _me_fit(X, model, G, z, iterations, prior="default"):
    # mclust's me: `iterations` M-steps (the first from z); gmmkit: one M-step
    # from resp_init, then one per iteration.
    gmm = GaussianMixture(
        G,
        covariance_type=_covariance_type(model),
        prior=prior,
        reg_covar=0.0,
        resp_init=z,
        max_iter=iterations - 1,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gmm.fit(X)


@pytest.mark.parametrize("case", REF["cases"], ids=_case_id)
def test_map_em_equals_mclust_me(case):
    """EM from mclust's start: same parameters, log-likelihood, df and BIC."""
    X = DATA[case["data"]]
    me = case["me"]
    # mclust reports the log-likelihood of the data, not the log-posterior
    assert me["loglik"] == pytest.approx(me["estep_loglik"], rel=1e-12)
    gmm = _me_fit(
        X,
        case["model"],
        case["G"],
        np.array(REF["z"][case["z"]]["z_start"]),
        me["iterations"],
    )
    rtol = _rtol(case["model"], 1e-9)
    assert gmm.log_likelihood_history_[-1] == pytest.approx(me["loglik"], rel=rtol)
    _check_params(gmm, me, rtol=max(rtol, 1e-8))
    assert gmm.n_parameters() == me["df"]
    # mclust's BIC is 2 loglik - df log n; gmmkit's has scikit-learn's sign
    assert gmm.bic(X) == pytest.approx(-me["bic"], rel=rtol)


def _table_id(row: dict) -> str:
    return f"{row['data']}-{row['model']}-G{row['G']}"


@pytest.mark.parametrize("row", REF["tables"], ids=_table_id)
def test_bic_with_prior_equals_mclustBIC(row):
    X = DATA[row["data"]]
    gmm = _me_fit(
        X, row["model"], row["G"], np.array(row["z_start"]), row["iterations"]
    )
    assert gmm.log_likelihood_history_[-1] == pytest.approx(row["loglik"], rel=1e-9)
    assert gmm.bic(X) == pytest.approx(-row["bic"], rel=1e-9)


def test_supported_models_are_mclusts():
    assert set(PRIOR_MODELS) == set(REF["prior_models"])
    for model, refused in REF["refused"].items():
        assert refused and model not in PRIOR_MODELS


# ------------------------------------------------------------- properties
def test_prior_is_a_parameter_and_clones():
    prior = ConjugatePrior(shrinkage=0.1, mean=[1.0, 2.0])
    gmm = GaussianMixture(2, prior=prior)
    assert gmm.get_params()["prior"] is prior
    assert clone(gmm).get_params()["prior"] == prior
    assert GaussianMixture().get_params()["prior"] is None


def test_heavy_prior_pulls_means_to_prior_mean():
    X = DATA["faithful"]
    target = np.array([3.0, 70.0])
    gmm = GaussianMixture(
        2, prior={"shrinkage": 1e9, "mean": target}, random_state=0
    ).fit(X)
    np.testing.assert_allclose(gmm.means_, np.tile(target, (2, 1)), rtol=1e-6)


def test_zero_shrinkage_keeps_ml_means():
    X = DATA["iris"]
    z = np.array(REF["explicit_z"])
    gmm = GaussianMixture(3, prior={"shrinkage": 0}, resp_init=z, max_iter=0).fit(X)
    np.testing.assert_allclose(gmm.means_, (z.T @ X) / z.sum(0)[:, None], rtol=1e-12)


def test_prior_rescues_a_singular_component():
    """Without a prior a component on one repeated point is singular."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(50, 2)), np.tile([5.0, 5.0], (5, 1))])
    z = np.zeros((55, 2))
    z[:50, 0] = 1
    z[50:, 1] = 1
    gmm = GaussianMixture(
        2, prior="default", reg_covar=0.0, resp_init=z, max_iter=5
    ).fit(X)
    assert np.all(np.linalg.eigvalsh(gmm.covariances_) > 0)


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("prior", "match"),
    [
        ("defualt", "did you mean 'default'"),
        (3, "must be None, 'default', a dict or a gmmkit.ConjugatePrior"),
        ({"shrink": 0.1}, r"unknown key\(s\) \['shrink'\]"),
        ({"shrinkage": -1}, r"shrinkage must be a finite number >= 0; got -1"),
        ({"shrinkage": np.nan}, "shrinkage must be a finite number"),
        ({"dof": 0}, r"dof must be a finite number > 0; got 0"),
        ({"dof": "4"}, "dof must be a finite number > 0"),
        ({"mean": [1.0, 2.0, 3.0]}, r"mean must have shape \(2,\).*got shape \(3,\)"),
        ({"mean": [1.0, np.inf]}, "mean must be finite; got inf for feature 1"),
        ({"mean": ["a", "b"]}, r"mean must be a numeric array of shape \(2,\)"),
        ({"scale": -1.0}, "scale must be a finite number > 0"),
        ({"scale": np.eye(3)}, r"\(2, 2\) matrix.*got shape \(3, 3\)"),
        ({"scale": [[1.0, 0.5], [0.0, 1.0]]}, "scale must be a symmetric matrix"),
        ({"scale": [[1.0, 2.0], [2.0, 1.0]]}, "scale must be positive definite"),
    ],
)
def test_bad_prior_raises_clear_error(prior, match):
    X = DATA["faithful"]
    with pytest.raises(InvalidParameterError, match=match):
        GaussianMixture(2, prior=prior).fit(X)


def test_matrix_scale_for_a_diagonal_model_is_refused():
    with pytest.raises(InvalidParameterError, match="single positive number.*'VVI'"):
        GaussianMixture(2, covariance_type="diag", prior={"scale": np.eye(2)}).fit(
            DATA["faithful"]
        )


@pytest.mark.parametrize("model", ["EVE", "VEE", "VVE", "EVV"])
def test_models_without_a_map_step_are_refused(model):
    X = DATA["faithful"]
    with pytest.raises(InvalidParameterError, match="no MAP M-step for EVE, VEE"):
        resolve_prior(ConjugatePrior(), model, [(0, X, np.ones(len(X)))], 2, 2)
    if model in COVARIANCE_TYPES:
        with pytest.raises(InvalidParameterError, match=f"{model!r}"):
            GaussianMixture(2, covariance_type=model, prior="default").fit(X)


def test_default_prior_needs_more_than_one_row():
    X = np.array([[1.0, 2.0]])
    with pytest.raises(DataError, match="total sample weight above 1; got 1"):
        resolve_prior(ConjugatePrior(), "VVV", [(0, X, np.ones(1))], 1, 2)


def test_prior_is_refused_by_stepwise_em():
    X = DATA["faithful"]
    with pytest.raises(InvalidParameterError, match="not available with batch_size"):
        GaussianMixture(2, prior="default", batch_size=50).fit(X)
    with pytest.raises(InvalidParameterError, match="partial_fit does not support"):
        GaussianMixture(2, prior="default").partial_fit(X)


def test_prior_with_streamed_chunks_equals_in_memory():
    """The default prior's data moments and the MAP fit do not depend on chunking."""
    X = DATA["iris"]
    z = np.array(REF["z"]["iris3"]["z_start"])
    fits = [
        GaussianMixture(
            3, prior="default", resp_init=z, max_iter=5, chunk_size=c, tol=0.0
        )
        for c in (None, 7)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for gmm in fits:
            gmm.fit(X)
    np.testing.assert_allclose(fits[0].prior_.scale, fits[1].prior_.scale, rtol=1e-13)
    np.testing.assert_allclose(
        fits[0].covariances_, fits[1].covariances_, rtol=1e-10, atol=0
    )


@pytest.mark.parametrize("data", ["iris", "faithful"])
def test_select_model_with_prior_equals_mclustBIC(data):
    """select_model(prior="default") reproduces mclustBIC(prior = priorControl())."""
    pytest.importorskip("pandas")
    X = DATA[data]
    result = select_model(
        X,
        n_components=[2, 3],
        covariance_types=["VVV", "EEE", "VII"],
        prior="default",
        n_jobs=1,
    )
    table = result.table.set_index(["covariance_type", "n_components"])
    rows = [r for r in REF["tables"] if r["data"] == data]
    assert len(rows) == 6
    for row in rows:
        got = table.loc[(row["model"], row["G"])]
        assert got["n_parameters"] == row["df"]
        assert got["bic"] == pytest.approx(-row["bic"], rel=1e-8)
    assert result.best_.prior_ is not None


def test_select_model_prior_rows_for_models_without_prior():
    pytest.importorskip("pandas")
    X = DATA["faithful"]
    result = select_model(
        X, n_components=[2], covariance_types=["VVV", "EVE"], prior="default", n_jobs=1
    )
    table = result.table.set_index("covariance_type")
    assert np.isfinite(table.loc["VVV", "bic"])
    assert np.isnan(table.loc["EVE", "bic"])
    assert (
        "prior is not available for covariance_type 'EVE'" in table.loc["EVE", "error"]
    )
    with pytest.raises(InvalidParameterError, match="did you mean 'default'"):
        select_model(X, n_components=[2], prior="defualt")


def test_select_model_with_prior_reproduces_mclust_grid():
    """Every model and G = 1..4 on iris, and the choice, as mclustBIC / Mclust."""
    pytest.importorskip("pandas")
    grid = REF["bic_grid"]
    X = DATA[grid["data"]]
    result = select_model(X, n_components=grid["G"], prior="default", n_jobs=1)
    table = result.table.set_index(["covariance_type", "n_components"])
    for i, g in enumerate(grid["G"]):
        for j, model in enumerate(grid["models"]):
            expected = grid["bic"][i][j]
            if expected == "NA":  # mclust: EM emptied a component
                continue
            got = table.loc[(model, g), "bic"]
            assert got == pytest.approx(-expected, rel=1e-7), (model, g)
    for model in ("EVE", "VEE", "VVE", "EVV"):  # no prior in mclust
        assert table.loc[(model, 2), "error"] is not None
    best = grid["best"]
    assert result.best_params_ == {
        "covariance_type": best["model"],
        "n_components": best["G"],
    }
    bic = float(table.loc[(best["model"], best["G"]), "bic"])
    assert bic == pytest.approx(-best["bic"], rel=1e-8)
