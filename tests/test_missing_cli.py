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
    # CSV: empty cells read as NaN by the streaming reader too
    out = tmp_path / "csv.gmm"
    code, _, err = run(
        ["fit", csv, "-k", "2", "--chunk-size", "40", "--nan-policy", "marginalize"]
        + ["-o", out, "-q"],
        capsys,
    )
    assert code == 0, err
    np.testing.assert_allclose(load(out).means_, ref.means_, rtol=1e-6)
    # ... and still an error naming the cell without --nan-policy marginalize
    code, _, err = run(["fit", csv, "-k", "2", "--chunk-size", "40", "-q"], capsys)
    assert code == 1 and "missing value" in err and "--nan-policy marginalize" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("blank", ["", "NA"])
def test_streamed_csv_source_marginalises_like_memory(tmp_path, blank):
    from gmmkit.sources import CSVSource

    _, Xm = holes(n=600, seed=3, rate=0.2)
    path = write_csv(tmp_path / "holes.csv", Xm, blank=blank, with_text=False)
    # the same start (a streamed source's k-means start samples other rows)
    kw = dict(
        nan_policy="marginalize", tol=1e-8, means_init=[[0.0] * 3, [4.0] * 3],
        weights_init=[0.5, 0.5], precisions_init=np.stack([np.eye(3)] * 2),
    )  # fmt: skip
    ref = GaussianMixture(2, **kw).fit(Xm)
    # small blocks: the rows come in several chunks
    source = CSVSource(path, block_bytes=2048)
    assert sum(1 for _ in source.marginalizing()) > 3
    got = GaussianMixture(2, **kw).fit(source)
    np.testing.assert_allclose(got.means_, ref.means_, rtol=1e-9)
    np.testing.assert_allclose(got.covariances_, ref.covariances_, rtol=1e-9)
    np.testing.assert_allclose(
        got.log_likelihood_history_, ref.log_likelihood_history_, rtol=1e-10
    )
    np.testing.assert_allclose(got.score_samples(source), ref.score_samples(Xm))
    with pytest.raises(Exception, match="missing value"):
        GaussianMixture(2, random_state=0).fit(CSVSource(path, block_bytes=2048))
    assert ref.n_iter_ > 5


def test_report_with_missing_values(data, capsys, tmp_path):
    from test_report import Cells

    pytest.importorskip("matplotlib")
    _, _, Xm, csv, _ = data
    page_path = tmp_path / "holes.html"
    code, _, err = run(
        ["report", csv, "-k", "2", "--nan-policy", "marginalize", "-o", page_path]
        + ["-q"],
        capsys,
    )
    assert code == 0, err
    page = page_path.read_text()
    cells = Cells()
    cells.feed(page)
    n_missing = int(np.isnan(Xm).sum())
    assert n_missing > 0
    assert f'<span class="n-missing">{n_missing}</span> of {Xm.size} entries' in page
    rows_with = int(np.isnan(Xm).any(axis=1).sum())
    assert f"in {rows_with} of {len(Xm)} rows" in page
    summary = cells.tables["data-summary"]
    assert summary[0][-1] == "missing"
    assert [int(r[-1]) for r in summary[1:]] == list(np.isnan(Xm).sum(axis=0))
    # the column summaries are of the observed values
    np.testing.assert_allclose(
        [float(r[1]) for r in summary[1:]], np.nanmean(Xm, axis=0), rtol=1e-5
    )
    # oracle: the fit of the same data with nan_policy="marginalize"
    ref = GaussianMixture(2, nan_policy="marginalize", random_state=0).fit(Xm)
    history = cells.tables["history"]
    assert float(history[-1][1]) == pytest.approx(ref.score(Xm) * len(Xm), rel=1e-9)
    assert "rows with a missing value there are not drawn" in page
    # the default policy refuses the empty cells, naming one
    code, _, err = run(["report", csv, "-k", "2", "-o", tmp_path / "x.html"], capsys)
    assert code == 1 and "missing value" in err and "--nan-policy" in err
    assert not (tmp_path / "x.html").exists()


def test_report_with_missing_values_selection_and_two_features(tmp_path):
    from test_report import Cells

    pytest.importorskip("matplotlib")
    from gmmkit.report import write_report

    _, Xm = holes(n=200, seed=5, rate=0.15)
    X2 = Xm[:, :2].copy()
    X2[np.isnan(X2).all(axis=1), 0] = 0.5
    # two features: the clusters, uncertainty and EM animation draw the
    # complete rows
    path = write_report(
        X2, tmp_path / "two.html", n_components=2,
        fit_params={"nan_policy": "marginalize"},
    )  # fmt: skip
    page = path.read_text()
    assert page.count("data:image/gif;base64,") == 1
    left = int(np.isnan(X2).any(axis=1).sum())
    assert f"({left} rows with a missing value there are not drawn.)" in page
    # the selection marginalises too: the table equals select_model's
    path = write_report(
        Xm, tmp_path / "sel.html", ks=[1, 2], covariance_types=["VVV", "EII"],
        n_jobs=1, fit_params={"nan_policy": "marginalize"},
    )  # fmt: skip
    cells = Cells()
    cells.feed(path.read_text())
    table = cells.tables["selection"]
    header, rows = table[0], table[1:]
    ref = select_model(
        Xm, [1, 2], ["VVV", "EII"], random_state=0, n_jobs=1, nan_policy="marginalize"
    )
    assert sorted(float(r[header.index("bic")]) for r in rows) == pytest.approx(
        sorted(ref.table["bic"]), rel=1e-5  # (the page shows 6 digits)
    )
