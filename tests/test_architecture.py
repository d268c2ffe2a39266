"""The layering rule of ARCHITECTURE.md, checked by import-linter.

The contracts live in pyproject.toml ([tool.importlinter]): gmmkit's modules
form layers with one direction of dependency (imports inside functions
count: import-linter reads every import statement), and no package has an
import cycle among its modules.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "gmmkit"


def test_import_contracts_hold():
    # In a subprocess: import-linter reconfigures logging, which the other
    # tests (caplog) rely on.
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(sys.argv[1], no_cache=True))",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of gmmkit-internal imports inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and (
                inner.level > 0 or (inner.module or "").startswith("gmmkit")
            ):
                found.append((inner.lineno, "." * inner.level + (inner.module or "")))
    return found


#: Modules whose function-level imports of gmmkit modules stand for heavy
#: dependencies: the command line and its application layer load the
#: estimator (scikit-learn, numba) only for the subcommands that fit or
#: score, and _kernels loads its numba implementation (_kernels_impl) only
#: when a compiled kernel is first used.
LAZY_BY_DESIGN = {"cli.py", "console.py", "_kernels.py"}


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name not in LAZY_BY_DESIGN),
    ids=lambda p: os.fspath(p.relative_to(PACKAGE)),
)
def test_no_function_level_imports_of_gmmkit_modules(path):
    """Function-level imports are for optional or heavy third-party
    dependencies only; gmmkit's own modules are imported at the top, where
    the layering contract sees the structure at a glance."""
    assert _function_level_imports(path) == []
