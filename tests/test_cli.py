"""The gmmkit command line, through main(argv) and one real subprocess run."""

import os
import subprocess
import sys

import pytest

import gmmkit.demo
from gmmkit import FitError
from gmmkit.cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")


@pytest.mark.slow
def test_demo_prints_the_summary(tmp_path, capsys):
    out = tmp_path / "figures"
    assert main(["demo", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "converged after 89 iterations" in captured.out
    assert "final 2295.07166" in captured.out
    assert "lower is better" in captured.out
    assert "chosen K = 3" in captured.out
    assert (out / "03_em.gif").is_file()
    assert (out / "05_nll.png").is_file()


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["--version"]])
def test_help_and_version_exit_0(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "gmmkit" in out
    if "--help" in argv:
        assert "examples:" in out and "gmmkit demo" in out


@pytest.mark.parametrize(
    "argv",
    [[], ["demo", "--bogus"], ["no-such-command"], ["demo", "--out"]],
    ids=["no-command", "bad-option", "bad-command", "missing-value"],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gmmkit")
    assert "error:" in err


def test_unwritable_folder_exits_1_with_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["demo", "--out", str(blocker / "figures"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gmmkit demo: error: ")


def test_gmm_error_exits_1(monkeypatch, tmp_path, capsys):
    def fail(*args, **kwargs):
        raise FitError("EM cannot continue:\nsomething\nsingular")

    monkeypatch.setattr(gmmkit.demo, "run_demo", fail)
    assert main(["demo", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "gmmkit demo: error: EM cannot continue: something singular\n"


def test_missing_matplotlib_exits_1_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["demo", "--out", str(tmp_path)]) == 1
    assert "pip install 'gmmkit[plot]'" in capsys.readouterr().err


def test_interrupt_exits_130(monkeypatch, tmp_path, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gmmkit.demo, "run_demo", interrupt)
    assert main(["demo", "--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.slow
def test_python_dash_m_gmmkit_demo(tmp_path):
    out = tmp_path / "figures"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-m", "gmmkit", "demo", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "converged after 89 iterations" in done.stdout
    assert done.stderr == ""  # --quiet: no progress messages
    assert len(list(out.glob("*.png"))) == 8


# ---------------------------------------------------------------- data CLI
import io  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

import gmmkit  # noqa: E402


def three_blobs(seed=0):
    rng = np.random.RandomState(seed)
    return np.vstack(
        [
            rng.randn(60, 2) + [0.0, 0.0],
            rng.randn(50, 2) * 0.5 + [4.0, 4.0],
            rng.randn(40, 2) + [-4.0, 3.0],
        ]
    )


def write_csv(path, X, header=("x1", "x2"), text=True, sep=","):
    lines = []
    if header:
        lines.append(sep.join([*header, "species"] if text else header))
    for i, row in enumerate(X):
        cells = [repr(float(v)) for v in row]
        if text:
            cells.append(f"s{i % 3}")
        lines.append(sep.join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def csv_file(tmp_path):
    return write_csv(tmp_path / "data.csv", three_blobs())


def sk_fit(X, k=3, **kw):
    return SkGaussianMixture(k, random_state=0, **kw).fit(X)


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fit_then_predict_match_scikit_learn(tmp_path, csv_file, capsys):
    X = three_blobs()
    model = tmp_path / "model.gmm"
    code, out, err = run(["fit", csv_file, "-k", 3, "-o", model], capsys)
    assert code == 0, err
    assert err.strip() == (
        f"gmmkit: {csv_file}: leaving out text column 'species' (value 's0' on line "
        "2); choose columns with --columns."
    )
    assert "model written to" in out and model.is_file()
    sk = sk_fit(X)
    loaded = gmmkit.load(model)
    assert list(loaded.feature_names_in_) == ["x1", "x2"]
    np.testing.assert_allclose(loaded.means_, sk.means_, rtol=1e-8)
    code, out, err = run(["predict", model, csv_file], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "label"
    assert [int(v) for v in lines[1:]] == list(sk.predict(X))
    code, out, _ = run(["predict", model, csv_file, "--proba", "-q"], capsys)
    rows = [line.split(",") for line in out.splitlines()]
    assert rows[0] == ["p0", "p1", "p2"]
    np.testing.assert_allclose(
        np.array(rows[1:], dtype=float), sk.predict_proba(X), rtol=1e-6, atol=1e-12
    )


def test_fit_json_summary(tmp_path, csv_file, capsys):
    X = three_blobs()
    code, out, _ = run(["fit", csv_file, "-k", 3, "-t", "diag", "--json", "-q"], capsys)
    assert code == 0
    summary = json.loads(out)
    sk = sk_fit(X, covariance_type="diag")
    assert summary["n_samples"] == 150 and summary["feature_names"] == ["x1", "x2"]
    assert summary["covariance_model"] == "VVI"
    assert summary["bic"] == pytest.approx(sk.bic(X), rel=1e-9)
    np.testing.assert_allclose(summary["weights"], sk.weights_, rtol=1e-8)


def test_csv_on_stdin(monkeypatch, capsys, csv_file):
    monkeypatch.setattr(sys, "stdin", io.StringIO(csv_file.read_text()))
    code, out, err = run(["fit", "-", "-k", 3, "--json"], capsys)
    assert code == 0
    assert "<stdin>: leaving out text column 'species'" in err
    assert json.loads(out)["bic"] == pytest.approx(
        sk_fit(three_blobs()).bic(three_blobs()), rel=1e-9
    )


@pytest.mark.slow
def test_stdin_through_a_real_pipe(tmp_path, csv_file):
    model = tmp_path / "m.gmm"
    done = subprocess.run(
        [sys.executable, "-m", "gmmkit", "fit", "-", "-k", "2", "-o", str(model)],
        input=csv_file.read_text(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr  # no progress bar when not on a terminal
    assert done.stderr.count("\n") == 1  # only the text-column notice
    assert gmmkit.load(model).n_components == 2


def test_malformed_row_names_file_line_and_column(tmp_path, capsys):
    path = write_csv(tmp_path / "data.csv", three_blobs())
    lines = path.read_text().splitlines()
    lines[16] = "1.5,abc,s1"  # line 17 of the file
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run(["fit", path, "-k", 2], capsys)
    assert code == 1 and out == ""
    assert err == (
        f"gmmkit fit: error: {path} line 17, column 'x2': 'abc' is not a number.\n"
    )


@pytest.mark.parametrize(
    "line, message",
    [
        ("1.5,2.5", "line 9: 2 fields, expected 3 (as in the header on line 1)"),
        ("NA,2.5,s1", "line 9, column 'x1': missing value ('NA')"),
        ("1.5,inf,s1", "line 9, column 'x2': 'inf' is not a finite number"),
    ],
)
def test_other_bad_rows(tmp_path, capsys, line, message):
    path = write_csv(tmp_path / "d.csv", three_blobs())
    lines = path.read_text().splitlines()
    lines[8] = line
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run(["fit", path, "-k", 2], capsys)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1


def test_headerless_tsv_and_columns_by_index_and_name(tmp_path, capsys):
    X = three_blobs()
    tsv = write_csv(tmp_path / "d.tsv", X, header=None, text=False, sep="\t")
    code, out, _ = run(["fit", tsv, "-k", 3, "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["feature_names"] == ["x0", "x1"]
    assert summary["bic"] == pytest.approx(sk_fit(X).bic(X), rel=1e-9)
    wide = tmp_path / "wide.csv"
    noise = np.arange(len(X), dtype=float)[:, None]
    rows = ["a,b,c"] + [
        f"{n[0]},{float(r[0])!r},{float(r[1])!r}" for n, r in zip(noise, X)
    ]
    wide.write_text("\n".join(rows) + "\n")
    for cols in ("1,2", "b,c"):
        code, out, _ = run(["fit", wide, "-k", 3, "--json", "-c", cols], capsys)
        assert code == 0
        assert json.loads(out)["bic"] == pytest.approx(sk_fit(X).bic(X), rel=1e-9)
    code, _, err = run(["fit", wide, "-k", 3, "-c", "zz"], capsys)
    assert code == 1 and "no column named 'zz'; its columns are 'a', 'b', 'c'" in err
    code, _, err = run(["fit", wide, "-k", 3, "-c", "7"], capsys)
    assert code == 1 and "column index 7 is out of range" in err


def test_npy_and_parquet_inputs_and_outputs(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X = three_blobs()
    np.save(tmp_path / "d.npy", X)
    pd.DataFrame(X, columns=["x1", "x2"]).assign(kind="t").to_parquet(
        tmp_path / "d.parquet"
    )
    model = tmp_path / "m.gmm"
    assert run(["fit", tmp_path / "d.npy", "-k", 3, "-o", model, "-q"], capsys)[0] == 0
    out = tmp_path / "p.parquet"
    code, _, err = run(
        ["predict", model, tmp_path / "d.parquet", "--proba", "-o", out], capsys
    )
    assert code == 0
    assert "leaving out column 'kind'" in err
    proba = pd.read_parquet(out).to_numpy()
    np.testing.assert_allclose(proba, sk_fit(X).predict_proba(X), rtol=1e-6, atol=1e-12)


def test_missing_pyarrow_names_the_extra(tmp_path, monkeypatch, capsys):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, _, err = run(["fit", path, "-k", 2], capsys)
    assert code == 1 and "pip install 'gmmkit[data]'" in err


def test_score_info_sample(tmp_path, csv_file, capsys):
    X = three_blobs()
    model = tmp_path / "m.gmm"
    run(["fit", csv_file, "-k", 3, "-o", model, "-q"], capsys)
    sk = sk_fit(X)
    code, out, _ = run(["score", model, csv_file, "--json", "-q"], capsys)
    scored = json.loads(out)
    assert code == 0 and scored["n_samples"] == 150
    assert scored["log_likelihood"] == pytest.approx(sk.score(X) * 150, rel=1e-9)
    assert scored["aic"] == pytest.approx(sk.aic(X), rel=1e-9)
    code, out, _ = run(["info", model, "--json"], capsys)
    info = json.loads(out)
    assert info["file"]["training"]["n_samples"] == 150
    assert info["model"]["feature_names"] == ["x1", "x2"]
    code, out, _ = run(["sample", model, "-n", 500, "--seed", 1], capsys)
    rows = out.splitlines()
    assert rows[0] == "x1,x2,component" and len(rows) == 501
    drawn = np.array([r.split(",") for r in rows[1:]], dtype=float)
    counts = np.bincount(drawn[:, 2].astype(int), minlength=3)
    # multinomial counts: within 4 standard deviations of 500 * weights
    sd = np.sqrt(500 * sk.weights_ * (1 - sk.weights_))
    assert np.all(np.abs(counts - 500 * sk.weights_) < 4 * sd)
    assert run(["sample", model, "-n", 500, "--seed", 1], capsys)[1] == out


def test_predict_matches_columns_by_name(tmp_path, csv_file, capsys):
    X = three_blobs()
    model = tmp_path / "m.gmm"
    run(["fit", csv_file, "-k", 3, "-o", model, "-q"], capsys)
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(
        "x2,x1\n" + "".join(f"{float(b)!r},{float(a)!r}\n" for a, b in X)
    )
    code, out, _ = run(["predict", model, swapped], capsys)
    assert code == 0
    assert [int(v) for v in out.splitlines()[1:]] == list(sk_fit(X).predict(X))
    other = tmp_path / "other.csv"
    other.write_text("u,v\n1,2\n")
    code, _, err = run(["predict", model, other], capsys)
    assert code == 1 and "no numeric column named 'x1', 'x2'" in err


def test_bad_model_file_exits_1(tmp_path, csv_file, capsys):
    bad = tmp_path / "bad.gmm"
    bad.write_bytes(b"\x00" * 10)
    code, out, err = run(["predict", bad, csv_file], capsys)
    assert code == 1 and out == ""
    assert (
        err.startswith("gmmkit predict: error: ") and "not a valid gmmkit model" in err
    )


def test_progress_only_on_a_terminal(tmp_path, csv_file, capsys, monkeypatch):
    run(["fit", csv_file, "-k", 3], capsys)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, _, err = run(
        ["fit", csv_file, "-k", 3, "--tol", "0", "--max-iter", 5], capsys
    )
    assert code == 0
    assert "\rEM iteration 5: mean log-likelihood" in err
    assert "did not converge in 5 iterations" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["fit"],
        ["fit", "d.csv", "-k", "0"],
        ["fit", "d.csv", "--format", "xls"],
        ["predict", "m.gmm"],
        ["sample", "m.gmm", "-n", "x"],
        ["select", "d.csv", "-k", "3-x"],
        ["report", "d.csv"],
    ],
)
def test_more_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    ["fit", "select", "predict", "sample", "score", "info", "plot", "report", "demo"],
)
def test_every_command_has_help_with_examples(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"gmmkit {command}" in out and "examples:" in out


def test_select_table(tmp_path, csv_file, capsys):
    try:
        import gmmkit.selection  # noqa: F401
    except ImportError:
        code, _, err = run(["select", csv_file], capsys)
        assert code == 1 and "needs gmmkit.select_model" in err
        return
    code, out, err = run(
        ["select", csv_file, "-k", "1-3", "-t", "VVV,VII", "--json", "-j", 1, "-q"],
        capsys,
    )
    assert code == 0, err
    result = json.loads(out)
    rows = result["table"]
    assert len(rows) == 6
    X = three_blobs()
    full3 = next(
        r for r in rows if r["covariance_type"] == "VVV" and r["n_components"] == 3
    )
    # oracle: scikit-learn's BIC from several starts (same optimum)
    sk = SkGaussianMixture(3, n_init=5, random_state=0).fit(X)
    assert full3["bic"] == pytest.approx(sk.bic(X), rel=1e-4)


def test_plot_and_report_commands(tmp_path, csv_file, capsys):
    model = tmp_path / "m.gmm"
    run(["fit", csv_file, "-k", 3, "-o", model, "-q"], capsys)
    image = tmp_path / "p.png"
    assert run(["plot", model, csv_file, "-o", image, "-q"], capsys)[0] == 0
    from PIL import Image

    with Image.open(image) as im:
        assert im.size[0] > 300 and im.size[1] > 300
    html_path = tmp_path / "r.html"
    code, _, err = run(["report", csv_file, "-k", 3, "-o", html_path, "-q"], capsys)
    assert code == 0, err
    page = html_path.read_text()
    assert "<table" in page and page.count("data:image/png;base64,") == 3
    assert page.count("data:image/gif;base64,") == 1
