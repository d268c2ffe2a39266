"""Small data: ``gmmkit.select_model(X)`` against R's ``Mclust(X)``, and a
grid of 36 scikit-learn-style fits against scikit-learn.

Run from the repository root (R and mclust are benchmark tools only:
``apt-get install r-base-core r-cran-mclust``)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        .venv/bin/python benchmarks/r_compare.py            # -> RESULTS.md
    .venv/bin/python benchmarks/r_compare.py --no-write     # print only

Data sets are those R ships (``datasets``: iris, faithful; ``mclust``:
diabetes, banknote, thyroid, wreath), written once by R to CSV so that both
sides read the same numbers (label columns dropped).  Each side runs in its
own process: one warm-up call, then the median of ``--repeats`` timed calls
of the defaults (``select_model(X)`` / ``Mclust(X)``), reporting the model
each chose.  The scikit-learn grid fits the four covariance types x
K = 1..9 with each library's defaults (k-means start, ``n_init=1``) on
``--grid-rows`` rows of each data set (repeated rows with a little noise
when a set is smaller), in one process per library, median of repeats.

The section "Small data against R's Mclust and scikit-learn" of
``benchmarks/RESULTS.md`` is replaced (other sections are kept).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Small data against R's Mclust and scikit-learn"

DATASETS = {
    # name: R expression giving a numeric data frame
    "iris": "iris[, 1:4]",
    "faithful": "faithful",
    "diabetes": "{data(diabetes, package='mclust'); diabetes[, -1]}",
    "banknote": "{data(banknote, package='mclust'); banknote[, -1]}",
    "thyroid": "{data(thyroid, package='mclust'); thyroid[, -1]}",
    "wreath": "{data(wreath, package='mclust'); wreath}",
}

R_TIMER = r"""
suppressMessages(library(mclust))
args <- commandArgs(TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
reps <- as.integer(args[2])
invisible(Mclust(X, verbose = FALSE))  # warm-up
times <- numeric(reps)
for (r in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  m <- Mclust(X, verbose = FALSE)
  times[r] <- proc.time()[["elapsed"]] - t0
}
cat(sprintf('{"seconds": %.6f, "model": "%s", "k": %d, "bic": %.6f, "times": [%s]}\n',
            median(times), m$modelName, m$G, m$bic,
            paste(sprintf("%.6f", times), collapse = ",")))
"""

PY_TIMER = r"""
import json, sys, time, warnings
import numpy as np
import gmmkit
X = np.loadtxt(sys.argv[1], delimiter=",")
reps = int(sys.argv[2])
warnings.simplefilter("ignore")
gmmkit.select_model(X)  # warm-up (numba compilation, imports)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    res = gmmkit.select_model(X)
    times.append(time.perf_counter() - t0)
best = res.best_params_
row = res.table[(res.table.covariance_type == best["covariance_type"])
                & (res.table.n_components == best["n_components"])].iloc[0]
print(json.dumps({"seconds": float(np.median(times)),
                  "model": best["covariance_type"], "k": best["n_components"],
                  "bic": -float(row.bic), "times": times}))
"""

GRID_TIMER = r"""
import json, sys, time, warnings
import numpy as np
lib, path, rows, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if lib == "gmmkit":
    from gmmkit import GaussianMixture
else:
    from sklearn.mixture import GaussianMixture
X0 = np.loadtxt(path, delimiter=",")
rng = np.random.RandomState(0)
idx = rng.choice(len(X0), size=rows, replace=rows > len(X0))
X = X0[idx] + (1e-3 * X0.std(axis=0)) * rng.standard_normal((rows, X0.shape[1]))
warnings.simplefilter("ignore")
def grid():
    for cov in ("full", "tied", "diag", "spherical"):
        for k in range(1, 10):
            GaussianMixture(n_components=k, covariance_type=cov,
                            random_state=0).fit(X)
grid()  # warm-up
times = []
for _ in range(reps):
    t0 = time.perf_counter(); grid(); times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": float(np.median(times)), "times": times}))
"""


def _run(cmd: list[str]) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _versions() -> str:
    import numpy
    import sklearn

    import gmmkit

    r = subprocess.run(
        [
            "Rscript",
            "-e",
            'cat(R.version.string, "mclust", format(packageVersion("mclust")))',
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (
        f"gmmkit {gmmkit.__version__}, numpy {numpy.__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}; {r}"
    )


def _load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--grid-rows", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gmmkit-rcompare-"))
    paths = {}
    for name in args.datasets:
        path = tmp / f"{name}.csv"
        subprocess.run(
            [
                "Rscript",
                "-e",
                f"X <- {DATASETS[name]}; write.table(as.matrix(X), '{path}', "
                "sep=',', row.names=FALSE, col.names=FALSE)",
            ],
            check=True,
            capture_output=True,
        )
        paths[name] = path
    r_script = tmp / "timer.R"
    r_script.write_text(R_TIMER)
    py = sys.executable

    rows = []
    loads = [_load()]
    for name, path in paths.items():
        lines_of = path.read_text().splitlines()
        n, d = len(lines_of), len(lines_of[0].split(","))
        g = _run([py, "-c", PY_TIMER, str(path), str(args.repeats)])
        r = _run(["Rscript", str(r_script), str(path), str(args.repeats)])
        loads.append(_load())
        rows.append((name, n, d, g, r))
        print(
            f"{name:9s} {n}x{d}: gmmkit {g['seconds']:.3f} s ({g['model']},{g['k']}) "
            f"R {r['seconds']:.3f} s ({r['model']},{r['k']})  "
            f"ratio {g['seconds'] / r['seconds']:.2f}",
            flush=True,
        )

    grid_rows = []
    for name, path in paths.items():
        for m in args.grid_rows:
            g = _run([py, "-c", GRID_TIMER, "gmmkit", str(path), str(m), "3"])
            s = _run([py, "-c", GRID_TIMER, "sklearn", str(path), str(m), "3"])
            loads.append(_load())
            grid_rows.append((name, m, g, s))
            print(
                f"grid {name:9s} {m:5d} rows: gmmkit {g['seconds']:.3f} s  "
                f"sklearn {s['seconds']:.3f} s  "
                f"ratio {s['seconds'] / g['seconds']:.2f}",
                flush=True,
            )

    lines = [
        SECTION,
        "",
        f"`benchmarks/r_compare.py`, {datetime.date.today().isoformat()}, "
        f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}); "
        f"{_versions()}. OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset. 1-minute "
        f"load average during the run: {min(loads):.2f}-{max(loads):.2f}. "
        f"Median of {args.repeats} after a warm-up, one process per side.",
        "",
        "| data | rows x features | `select_model(X)` s | `Mclust(X)` s | "
        "gmmkit / R | gmmkit's choice | mclust's choice | same |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, n, d, g, r in rows:
        same = g["model"] == r["model"] and g["k"] == r["k"]
        lines.append(
            f"| {name} | {n} x {d} | {g['seconds']:.3f} | {r['seconds']:.3f} | "
            f"{g['seconds'] / r['seconds']:.2f} | {g['model']}, {g['k']} | "
            f"{r['model']}, {r['k']} | {'yes' if same else 'NO'} |"
        )
    lines += [
        "",
        "36 fits (full, tied, diag, spherical x K = 1..9, defaults, k-means "
        "start, random_state=0) on rows drawn from each data set:",
        "",
        "| data | rows | gmmkit s | scikit-learn s | scikit-learn / gmmkit |",
        "|---|---|---|---|---|",
    ]
    for name, m, g, s in grid_rows:
        lines.append(
            f"| {name} | {m} | {g['seconds']:.3f} | {s['seconds']:.3f} | "
            f"{s['seconds'] / g['seconds']:.2f} |"
        )
    section = "\n".join(lines) + "\n"
    print(section)
    if args.no_write:
        return
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if SECTION in text:
        head, _, rest = text.partition(SECTION)
        tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
