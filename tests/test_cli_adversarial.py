"""The command line tried as a hostile user would: every subcommand with bad
arguments, bad paths and bad files exits with the documented code and one
short line on stderr, never a traceback (issue 21)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import gmmkit.console
from gmmkit.cli import main

pytest.importorskip("pyarrow")

#: The longest stderr line a failure may print.
SHORT = 500


def blobs(n=120, d=2, seed=0):
    rng = np.random.RandomState(seed)
    half = n // 2
    return np.vstack([rng.randn(half, d), rng.randn(n - half, d) + 5.0])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A data file and a model fitted to it."""
    folder = tmp_path_factory.mktemp("adversarial")
    data = folder / "d.csv"
    X = blobs()
    data.write_text(
        "x1,x2\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()), encoding="utf-8"
    )
    model = folder / "m.gmm"
    assert main(["fit", str(data), "-k", "2", "-o", str(model), "-q"]) == 0
    return folder, data, model


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line(err, start=None):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert len(lines[0]) < SHORT, lines[0]
    assert "Traceback" not in err
    if start is not None:
        assert lines[0].startswith(start), lines[0]


USAGE = [
    [],
    ["no-such-command"],
    ["fit"],
    ["fit", "{d}", "-k", "0"],
    ["fit", "{d}", "-k", "two"],
    ["fit", "{d}", "--delimiter", ";;"],
    ["fit", "{d}", "--delimiter", ""],
    ["fit", "{d}", "--seed", "-1"],
    ["fit", "{d}", "--seed", "99999999999"],
    ["fit", "{d}", "--tol", "-1"],
    ["fit", "{d}", "--tol", "nan"],
    ["fit", "{d}", "--reg-covar", "x"],
    ["fit", "{d}", "--max-iter", "-3"],
    ["fit", "{d}", "--n-init", "0"],
    ["fit", "{d}", "-t", "bogus"],
    ["fit", "{d}", "--init", "magic"],
    ["fit", "{d}", "-c", "x1,,x2"],
    ["fit", "{d}", "-c", "0,0"],
    ["fit", "{d}", "-c", "x1,0"],
    ["fit", "{d}", "--format", "xls"],
    ["fit", "{d}", "--chunk-size", "0"],
    ["fit", "{d}", "--header", "--no-header"],
    ["fit", "{d}", "--nan-policy", "omit"],
    ["fit", "{d}", "--nan-policy"],
    ["select"],
    ["select", "{d}", "-j", "0"],
    ["select", "{d}", "-j", "-5"],
    ["select", "{d}", "--seed", "-1"],
    ["select", "{d}", "-k", "0-3"],
    ["select", "{d}", "-k", "3-x"],
    ["select", "{d}", "-t", "VVV,nope"],
    ["select", "{d}", "--criterion", "hqic"],
    ["select", "{d}", "--nan-policy", "drop"],
    ["predict", "{m}"],
    ["predict", "{m}", "{d}", "-o", "p.xlsx"],
    ["predict", "{m}", "{d}", "--bogus"],
    ["impute"],
    ["impute", "{m}"],
    ["impute", "{m}", "{d}", "--method", "median"],
    ["impute", "{m}", "{d}", "--seed", "-1"],
    ["impute", "{m}", "{d}", "--seed", "x"],
    ["impute", "{m}", "{d}", "-o", "p.xlsx"],
    ["impute", "{m}", "{d}", "--bogus"],
    ["sample", "{m}", "--seed", "-1"],
    ["sample", "{m}", "-n", "0"],
    ["sample", "{m}", "-n", "x"],
    ["sample", "{m}", "-o", "draws.json"],
    ["score", "{m}"],
    ["score", "{m}", "{d}", "-o", "x.doc"],
    ["score", "{m}", "{d}", "--per-row", "--json"],
    ["info"],
    ["info", "{m}", "--bogus"],
    ["plot", "{m}", "{d}"],
    ["plot", "{m}", "{d}", "-o", "x.bmp"],
    ["plot", "{m}", "{d}", "-o", "x"],
    ["plot", "{m}", "{d}", "-o", "x.png", "--dpi", "-5"],
    ["plot", "{m}", "{d}", "-o", "x.png", "--dpi", "inf"],
    ["plot", "{m}", "{d}", "-o", "x.png", "--kind", "pie"],
    ["report", "{d}"],
    ["report", "{d}", "-o", "r.html", "-j", "0"],
    ["report", "{d}", "-o", "r.html", "--ks", "x"],
    ["report", "{d}", "-o", "r.html", "--covariance-types", "VVV,zzz"],
    ["report", "{d}", "-o", "r.html", "-k", "-2"],
    ["demo", "--bogus"],
    ["demo", "--out"],
]


@pytest.mark.parametrize("argv", USAGE, ids=lambda a: " ".join(a) or "nothing")
def test_usage_errors_exit_2_with_one_line(argv, files, capsys, monkeypatch):
    folder, data, model = files
    monkeypatch.chdir(folder)
    argv = [a.format(d=data, m=model) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2, err
    assert out == ""
    assert_one_line(err)
    assert "error:" in err
    assert not (folder / "p.xlsx").exists() and not (folder / "x.bmp").exists()


FAILURES = [
    (["fit", "{f}/nope.csv"], "no such file"),
    (["fit", "{f}"], "is a folder"),
    (["fit", "{d}", "-o", "{f}/nofolder/m.gmm"], "nofolder"),
    (["fit", "{d}", "-o", "{f}"], "is a folder"),
    (["predict", "{f}/nope.gmm", "{d}"], "does not exist"),
    (["predict", "{d}", "{d}"], "not a valid gmmkit model"),
    (["predict", "{m}", "{d}", "-o", "{f}/nofolder/p.csv"], "nofolder"),
    (["impute", "{f}/nope.gmm", "{d}"], "does not exist"),
    (["impute", "{d}", "{d}"], "not a valid gmmkit model"),
    (["impute", "{m}", "{f}/nope.csv"], "no such file"),
    (["impute", "{m}", "{d}", "-o", "{f}/nofolder/p.csv"], "nofolder"),
    (["info", "{d}"], "not a valid gmmkit model"),
    (["info", "{f}"], "is a folder"),
    (["sample", "{d}"], "not a valid gmmkit model"),
    (["score", "{m}", "{f}/nope.csv"], "no such file"),
    (["select", "{d}", "-o", "{f}/nofolder/m.gmm"], "nofolder"),
    (["plot", "{m}", "{d}", "-o", "{f}/nofolder/x.png"], "nofolder"),
    (["report", "{d}", "-o", "{f}/nofolder/r.html"], "nofolder"),
    (["fit", "{d}", "-c", "zz"], "no column named 'zz'"),
    (["fit", "{d}", "--format", "npy"], "is not a .npy file"),
    (["fit", "{d}", "--format", "parquet"], "not a readable Parquet file"),
]


@pytest.mark.parametrize("argv, words", FAILURES, ids=lambda a: " ".join(a))
def test_failures_exit_1_with_one_line_naming_no_temporary_file(
    argv, words, files, capsys, monkeypatch
):
    folder, data, model = files
    argv = [a.format(d=data, m=model, f=folder) for a in argv]
    # nothing expensive may start before an output path is checked
    monkeypatch.setattr(gmmkit.console, "_fit_model", _never)
    monkeypatch.setattr(gmmkit.console, "run_selection", _never)
    code, out, err = run(argv, capsys)
    assert code == 1, err
    assert out == ""
    assert_one_line(err, f"gmmkit {argv[0]}: error: ")
    assert words in err
    assert ".tmp" not in err


def _never(*args, **kwargs):
    raise AssertionError("started work before checking the output path")


def test_unexpected_exception_is_one_line_internal_error(files, capsys, monkeypatch):
    _, data, _ = files

    def boom(*args, **kwargs):
        raise RuntimeError("something\nunexpected")

    monkeypatch.setattr(gmmkit.console, "_fit_model", boom)
    code, out, err = run(["fit", data, "-k", 2], capsys)
    assert code == 1 and out == ""
    assert_one_line(err, "gmmkit fit: internal error: RuntimeError: something")
    assert "report" in err


@pytest.mark.parametrize(
    "exc, code, words",
    [
        (MemoryError(), 1, "out of memory"),
        (PermissionError(13, "Permission denied", "/x/y"), 1, "/x/y"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_other_exceptions_in_one_place(files, capsys, monkeypatch, exc, code, words):
    _, data, _ = files

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(gmmkit.console, "_fit_model", fail)
    got, _, err = run(["fit", data, "-k", 2], capsys)
    assert got == code
    assert_one_line(err)
    assert words in err


def test_enormous_messages_are_cut(files, capsys, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("x,y\n" + "1,2\n" * 40 + "3," + "7" * 10 + "q" * 100_000 + "\n")
    code, _, err = run(["fit", path], capsys)
    assert code == 1
    assert_one_line(err)
    assert "line 42, column 'y'" in err and "(100010 characters)" in err


def test_predict_refuses_xlsx_and_writes_nothing(files, capsys, tmp_path):
    _, data, model = files
    code, _, err = run(["predict", model, data, "-o", tmp_path / "p.xlsx"], capsys)
    assert code == 2
    assert ".csv, .txt, .tsv, .tab, .parquet, .pq" in err
    assert not (tmp_path / "p.xlsx").exists()


def test_score_output_without_per_row_writes_the_summary(files, capsys, tmp_path):
    _, data, model = files
    out = tmp_path / "s.csv"
    code, stdout, _ = run(["score", model, data, "-o", out], capsys)
    assert code == 0 and stdout == ""
    lines = out.read_text().splitlines()
    assert lines[0] == "n_samples,log_likelihood,mean_log_likelihood,bic,aic"
    _, printed, _ = run(["score", model, data, "--json"], capsys)
    want = json.loads(printed)
    got = dict(zip(lines[0].split(","), map(float, lines[1].split(","))))
    assert got == pytest.approx(want, rel=1e-12)


def test_plot_fails_before_drawing(files, capsys, monkeypatch):
    import gmmkit.plotting

    folder, data, model = files
    monkeypatch.setattr(gmmkit.plotting, "plot_mixture", _never)
    code, _, err = run(["plot", model, data, "-o", folder / "no" / "x.png"], capsys)
    assert code == 1 and "x.png" in err and ".tmp" not in err


def test_fit_to_unwritable_path_names_the_given_path(files, capsys):
    folder, data, _ = files
    target = folder / "nofolder" / "m.gmm"
    code, _, err = run(["fit", data, "-k", 2, "-o", target], capsys)
    assert code == 1
    assert str(target) in err and ".tmp" not in err


def test_stdin_bom_and_utf8_via_main(files, capsys, monkeypatch):
    import io

    class Stdin:
        def __init__(self, data):
            self.buffer = io.BytesIO(data)

    X = blobs()
    text = "x1,x2\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist())
    monkeypatch.setattr(sys, "stdin", Stdin(b"\xef\xbb\xbf" + text.encode()))
    code, out, _ = run(["fit", "-", "-k", 2, "--json", "-q"], capsys)
    assert code == 0 and json.loads(out)["feature_names"] == ["x1", "x2"]
    monkeypatch.setattr(sys, "stdin", Stdin(text.encode() + b"1,\xff\n"))
    code, out, err = run(["fit", "-", "-k", 2], capsys)
    assert code == 1
    assert_one_line(err, "gmmkit fit: error: <stdin> line 122: byte 0xff is not UTF-8")


@pytest.mark.slow
def test_report_on_seven_features_colours_by_fitted_labels(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    X = blobs(90, 7)
    path = tmp_path / "wide.csv"
    names = [f"f{j}" for j in range(7)]
    path.write_text(
        ",".join(names)
        + "\n"
        + "".join(",".join(map(repr, r)) + "\n" for r in X.tolist())
    )
    out = tmp_path / "r.html"
    code, _, err = run(["report", path, "-k", 2, "-o", out, "-q"], capsys)
    assert code == 0, err
    page = out.read_text()
    assert "first 6 of 7 features" in page


@pytest.mark.slow
def test_non_utf8_stdin_in_a_real_process_with_pythonioencoding(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "gmmkit", "fit", "-", "-k", "1"],
        input=b"\xef\xbb\xbfx,y\n1,2\n3,4\n5,\xe9\n",
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    err = done.stderr.decode()
    assert_one_line(err, "gmmkit fit: error: <stdin> line 4: byte 0xe9 is not UTF-8")


#: Modules that the light commands must not load.
HEAVY = ("sklearn", "numba", "pandas", "matplotlib")


@pytest.mark.slow
def test_help_info_and_usage_errors_do_not_import_heavy_modules(files):
    _, _, model = files
    script = f"""
import contextlib, io, json, sys
import gmmkit.cli
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    codes = [
        gmmkit.cli.main(["--help"]),
        gmmkit.cli.main(["fit", "--help"]),
        gmmkit.cli.main(["info", {str(model)!r}]),
        gmmkit.cli.main(["info", {str(model)!r}, "--json"]),
        gmmkit.cli.main(["fit", "d.csv", "-k", "0"]),
        gmmkit.cli.main(["predict", "m.gmm", "d.csv", "-o", "p.xlsx"]),
    ]
print(json.dumps([codes, sorted(m for m in {HEAVY!r} if m in sys.modules)]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    codes, loaded = json.loads(done.stdout.splitlines()[-1])
    assert codes == [0, 0, 0, 0, 2, 2]
    assert loaded == []


def test_selection_progress_on_a_terminal_only(files, capsys, monkeypatch):
    _, data, _ = files
    argv = ["select", data, "-k", "1-2", "-t", "VVV,VII", "-j", 1]
    code, _, err = run(argv, capsys)
    assert code == 0 and err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, _, err = run(argv, capsys)
    assert code == 0
    assert "\rmodel selection 4/4: " in err and "K=" in err
    assert err.endswith("\r")  # the line is erased at the end


def _with_recorded_n_parameters(model, target, recorded=True):
    """A copy of a model file whose metadata records n_parameters (in
    ``training``), or, with ``recorded=False``, does not record it at all (as
    files written before format version 2)."""
    with np.load(model, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    meta = json.loads(members["__gmmkit__"].tobytes().decode("utf-8"))
    meta.pop("n_parameters", None)
    meta.setdefault("training", {}).pop("n_parameters", None)
    if recorded:
        meta["training"]["n_parameters"] = 11
    members["__gmmkit__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(target, "wb") as handle:
        np.savez(handle, **members)
    return target


def test_info_matches_the_loaded_model(files, capsys, tmp_path):
    import gmmkit

    _, _, model = files
    code, out, _ = run(["info", model, "--json"], capsys)
    assert code == 0
    info = json.loads(out)["model"]
    gm = gmmkit.load(model)
    assert info["n_parameters"] == gm.n_parameters() == 11
    assert info["covariance_model"] == "VVV" and info["n_iter"] == gm.n_iter_
    np.testing.assert_array_equal(info["means"], gm.means_)
    np.testing.assert_array_equal(info["covariances"], gm.covariances_)
    for recorded in (True, False):
        copy = _with_recorded_n_parameters(model, tmp_path / "r.gmm", recorded)
        code, out, _ = run(["info", copy, "--json"], capsys)
        assert json.loads(out)["model"]["n_parameters"] == 11


@pytest.mark.slow
@pytest.mark.parametrize("recorded", [False, True], ids=["plain", "recorded"])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_info_loads_no_scipy(files, tmp_path, recorded, as_json):
    """Text info never needs the covariance models; --json needs them only
    for files that do not record n_parameters."""
    _, _, model = files
    model = _with_recorded_n_parameters(model, tmp_path / "r.gmm", recorded)
    argv = ["info", str(model)] + (["--json"] if as_json else [])
    script = (
        "import contextlib, io, sys, gmmkit.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = gmmkit.cli.main({argv!r})\n"
        "print(code, 'scipy' in sys.modules, 'sklearn' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    scipy = as_json and not recorded
    assert done.stdout.split() == ["0", str(scipy), "False"], done.stderr
