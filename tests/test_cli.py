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
