"""The command line with missing values: --nan-policy marginalize (fit,
select), predict/score with a marginalising model, and gmmkit impute."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gmmkit import GaussianMixture, load, select_model
from gmmkit.cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


def holes(n=160, seed=0, rate=0.15):
    rng = np.random.RandomState(seed)
    half = n // 2
    X = np.vstack(
        [rng.randn(half, 3), rng.randn(n - half, 3) @ np.diag([1, 2, 0.5]) + 4.0]
    )
    Xm = X.copy()
    Xm[rng.rand(*X.shape) < rate] = np.nan
    empty = np.isnan(Xm).all(axis=1)
    Xm[empty, 0] = X[empty, 0]
    return X, Xm


def write_csv(path, Xm, blank="", with_text=True):
    lines = ["a,b,c" + (",name" if with_text else "")]
    for i, row in enumerate(Xm):
        cells = [blank if np.isnan(v) else repr(float(v)) for v in row]
        if with_text:
            cells.append(f"r{i}")
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(*argv):
    return main([str(a) for a in argv])


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("missing_cli")
    X, Xm = holes()
    csv = write_csv(folder / "h.csv", Xm)
    na = write_csv(folder / "na.csv", Xm, blank="NA", with_text=False)
    frame = pd.DataFrame(Xm, columns=["a", "b", "c"])
    frame.to_parquet(folder / "h.parquet")
    np.save(folder / "h.npy", Xm)
    return folder, X, Xm, csv, na


def test_default_refuses_blank_cells_and_names_the_option(data, capsys):
    folder, _, _, csv, _ = data
    code, _, err = run(["fit", csv, "-k", "2", "-q"], capsys)
    assert code == 1
    assert "missing value ('')" in err and "--nan-policy marginalize" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("name", ["h.csv", "na.csv", "h.parquet", "h.npy"])
def test_fit_marginalize_equals_the_library(data, capsys, name):
    folder, _, Xm, _, _ = data
    out = folder / f"{name}.gmm"
    code, text, err = run(
        [
            "fit",
            folder / name,
            "-k",
            "2",
            "--nan-policy",
            "marginalize",
            "-o",
            out,
            "--json",
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    ref = GaussianMixture(
        2, nan_policy="marginalize", random_state=0, reg_covar=1e-6
    ).fit(Xm)
    gm = load(out)
    assert gm.nan_policy == "marginalize"
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-10)
    summary = json.loads(text)
    np.testing.assert_allclose(
        summary["log_likelihood"], ref.score(Xm) * len(Xm), rtol=1e-10
    )


def test_predict_score_and_impute_with_a_marginalising_model(data, capsys, tmp_path):
    folder, X, Xm, csv, _ = data
    model = tmp_path / "m.gmm"
    assert cli("fit", csv, "-k", "2", "--nan-policy", "marginalize", "-o", model) == 0
    capsys.readouterr()
    gm = load(model)
    Xm = pd.DataFrame(Xm, columns=["a", "b", "c"])  # the model's names
    code, out, err = run(["predict", model, csv, "-q"], capsys)
    assert code == 0, err
    labels = np.array([int(v) for v in out.split()[1:]])
    np.testing.assert_array_equal(labels, gm.predict(Xm))
    code, out, err = run(["score", model, csv, "--json", "-q"], capsys)
    assert code == 0, err
    np.testing.assert_allclose(
        json.loads(out)["log_likelihood"], gm.score(Xm) * len(Xm), rtol=1e-10
    )
    for name in ("filled.csv", "filled.tsv", "filled.parquet"):
        target = tmp_path / name
        code, _, err = run(["impute", model, csv, "-o", target], capsys)
        assert code == 0, err
        assert "missing values in" in err
        got = (
            pd.read_parquet(target)
            if name.endswith("parquet")
            else pd.read_csv(target, sep="\t" if name.endswith("tsv") else ",")
        )
        assert list(got.columns) == ["a", "b", "c"]
        np.testing.assert_allclose(got.to_numpy(), gm.impute(Xm), rtol=1e-12)
    # imputation beats the column means on data with known truth
    filled = gm.impute(Xm)
    column = Xm.fillna(Xm.mean()).to_numpy()
    miss = np.isnan(Xm.to_numpy())
    assert np.mean((filled - X)[miss] ** 2) < np.mean((column - X)[miss] ** 2)
    # stdout, sample, seed
    code, out, err = run(
        ["impute", model, csv, "--method", "sample", "--seed", "5", "-q"], capsys
    )
    assert code == 0 and err == ""
    again = run(
        ["impute", model, csv, "--method", "sample", "--seed", "5", "-q"], capsys
    )
    assert again[1] == out
    drawn = np.loadtxt(out.splitlines()[1:], delimiter=",")
    np.testing.assert_allclose(drawn, gm.impute(Xm, method="sample", random_state=5))


def test_impute_with_a_complete_data_model_and_refusals(data, capsys, tmp_path):
    folder, X, Xm, csv, _ = data
    complete = tmp_path / "c.csv"
    write_csv(complete, X, with_text=False)
    model = tmp_path / "c.gmm"
    assert cli("fit", complete, "-k", "2", "-o", model, "-q") == 0
    capsys.readouterr()
    # a model fitted with nan_policy="raise" still imputes
    code, out, err = run(["impute", model, csv, "-q"], capsys)
    assert code == 0, err
    assert not np.isnan(np.loadtxt(out.splitlines()[1:], delimiter=",")).any()
    # ... but predict with it keeps refusing blank cells
    code, _, err = run(["predict", model, csv, "-q"], capsys)
    assert code == 1 and "missing value" in err
    # a row with no observed value is named
    bad = Xm.copy()
    bad[4] = np.nan
    path = write_csv(tmp_path / "bad.csv", bad, with_text=False)
    code, _, err = run(["impute", model, path, "-q"], capsys)
    assert code == 1 and "row 4 has no observed value" in err
    code, _, err = run(
        ["fit", path, "-k", "2", "--nan-policy", "marginalize", "-q"], capsys
    )
    assert code == 1 and "row 4 has no observed value" in err
    assert len(err.splitlines()) == 1
    # infinities stay errors
    inf = tmp_path / "inf.csv"
    inf.write_text("a,b,c\n1,,3\n4,inf,6\n7,8,9\n", encoding="utf-8")
    code, _, err = run(["fit", inf, "--nan-policy", "marginalize", "-q"], capsys)
    assert code == 1 and "'inf' is not a finite number" in err


def test_select_marginalize_equals_the_library(data, capsys, tmp_path):
    folder, _, Xm, csv, _ = data
    best = tmp_path / "best.gmm"
    code, out, err = run(
        [
            "select",
            csv,
            "-k",
            "1-3",
            "-t",
            "VVV,EII",
            "-j",
            "1",
            "--nan-policy",
            "marginalize",
            "--json",
            "-q",
            "-o",
            best,
        ],
        capsys,
    )
    assert code == 0, err
    ref = select_model(
        Xm,
        [1, 2, 3],
        ["VVV", "EII"],
        random_state=0,
        n_jobs=1,
        nan_policy="marginalize",
    )
    got = json.loads(out)
    assert got["best"] == ref.best_params_
    table = pd.DataFrame(got["table"]).sort_values(["covariance_type", "n_components"])
    expect = ref.table.sort_values(["covariance_type", "n_components"])
    np.testing.assert_allclose(table["bic"], expect["bic"], rtol=1e-10)
    assert load(best).nan_policy == "marginalize"
    code, _, err = run(["select", csv, "-k", "1-2", "-t", "VVV", "-q"], capsys)
    assert code == 1 and "--nan-policy marginalize" in err


def test_streamed_fit_with_missing_values(data, capsys, tmp_path):
    folder, _, Xm, csv, _ = data
    ref = GaussianMixture(
        2, nan_policy="marginalize", random_state=0, reg_covar=1e-6
    ).fit(Xm)
    for name in ("h.npy", "h.parquet"):
        out = tmp_path / f"{name}.gmm"
        code, _, err = run(
            ["fit", folder / name, "-k", "2", "--chunk-size", "40"]
            + ["--nan-policy", "marginalize", "-o", out, "-q"],
            capsys,
        )
        assert code == 0, err
        np.testing.assert_allclose(load(out).means_, ref.means_, rtol=1e-6)
    code, _, err = run(
        ["fit", csv, "-k", "2", "--chunk-size", "40", "--nan-policy", "marginalize"],
        capsys,
    )
    assert code == 1 and "convert the CSV to Parquet" in err
    assert len(err.splitlines()) == 1
