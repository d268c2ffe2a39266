"""Benchmark harness: gmmkit against scikit-learn, one command.

Run from the repository root::

    .venv/bin/python benchmarks/run.py            # full grid -> benchmarks/RESULTS.md
    .venv/bin/python benchmarks/run.py --quick    # small grid (a few minutes)

Every measurement runs in its own subprocess (one library per process), on
data generated from a fixed seed inside that process, from the same start
(``means_init``, ``weights_init``, ``precisions_init``) and for the same
number of EM iterations (``tol=0``).  Reported per cell:

* seconds per EM iteration: median over the repeats of (fit time /
  ``max_iter``); both libraries also do one final E-step inside ``fit``, so
  the number slightly over-counts both alike;
* the ratio scikit-learn / gmmkit (> 1 means gmmkit is faster);
* both final total log-likelihoods (``score(X) * n_samples``);
* both peak memories: the subprocess's peak resident set size during the
  first timed fit minus its resident size just before it (the input array,
  the interpreter and the libraries -- including numba's compiler, loaded by
  a warm-up fit on 2000 rows -- are already resident then; the kernel's
  peak counter is reset through ``/proc/self/clear_refs``);
* gmmkit's achieved GFLOP/s under the flop model below, against the matmul
  peak measured first (numpy GEMM, all cores).

Flop model per EM iteration (multiply and add counted separately): full
covariance ``n K (3 d^2 + 6 d)`` -- the Mahalanobis products ``2 n K d^2``,
the scatter matrices ``n K d^2`` (symmetric half, multiply-add), means and
the rest ``6 n K d``; diagonal ``8 n K d``.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the subprocesses'
environment (both together), so OpenBLAS picks its own kernels for the CPU.
That is for benchmarks only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20260101


# ---------------------------------------------------------------------------
# worker side (runs in a subprocess)
# ---------------------------------------------------------------------------
def _rss_bytes(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def make_data(n: int, d: int, k: int, dtype: str = "float64"):
    """Deterministic mixture data and a common start for both libraries."""
    import numpy as np

    rng = np.random.default_rng(SEED + 7919 * d + 104729 * k)
    centres = rng.normal(scale=4.0, size=(k, d))
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    labels = rng.integers(0, k, size=n)
    X = rng.standard_normal(size=(n, d), dtype=np.float64)
    X *= scales[labels]
    X += centres[labels]
    del labels
    X = np.ascontiguousarray(X, dtype=dtype)
    pick = rng.choice(n, size=k, replace=False)
    means = X[np.sort(pick)].astype(np.float64)
    var = X[: min(n, 100_000)].astype(np.float64).var(axis=0)
    weights = np.full(k, 1.0 / k)
    return X, means, weights, var


def _start(cov: str, k: int, d: int, var):
    import numpy as np

    if cov == "full":
        return np.repeat(np.diag(1.0 / var)[None], k, axis=0)
    if cov == "diag":
        return np.repeat((1.0 / var)[None], k, axis=0)
    raise ValueError(cov)


def fixed_start(args: argparse.Namespace, means, weights, prec, **extra) -> dict:
    """Estimator arguments for ``args.iters`` EM iterations (``tol=0``) of a
    ``args.k``-component ``args.cov`` model from the given start."""
    return dict(
        n_components=args.k,
        covariance_type=args.cov,
        tol=0.0,
        max_iter=args.iters,
        means_init=means,
        weights_init=weights,
        precisions_init=prec,
        **extra,
    )


def timed_fits(make, X, repeats: int):
    """``(seconds of each fit, peak memory of the first, the last estimator)``
    of ``repeats`` fits of ``make()`` on X; peak memory is the peak RSS during
    the fit minus the RSS before it (None where the peak cannot be reset)."""
    times, peak = [], None
    for rep in range(repeats):
        est = make()
        ok = _reset_peak() if rep == 0 else False
        base = _rss_bytes("VmRSS")
        t0 = time.perf_counter()
        est.fit(X)
        times.append(time.perf_counter() - t0)
        if rep == 0:
            peak = _rss_bytes("VmHWM") - base if ok else None
    return times, peak, est


def worker(args: argparse.Namespace) -> dict:

    X, means, weights, var = make_data(args.n, args.d, args.k, args.dtype)
    prec = _start(args.cov, args.k, args.d, var)
    if args.lib == "gmmkit":
        from gmmkit import GaussianMixture as GM

        extra = {"accelerate": args.accelerate} if args.accelerate else {}
    else:
        from sklearn.mixture import GaussianMixture as GM

        extra = {}
    kw = fixed_start(args, means, weights, prec, **extra)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Warm-up on a few rows: loads (or compiles) code once, so that the
        # memory and time measured below are those of the fit itself.
        GM(**{**kw, "max_iter": 1}).fit(X[: max(2000, 4 * args.k)])
        times, peak, gm = timed_fits(lambda: GM(**kw), X, args.repeats)
        ll = float(gm.score(X)) * args.n  # (every repeat: the same fit)
    return {
        "seconds": times,
        "per_iter": statistics.median(times) / args.iters,
        "loglik": ll,
        "peak_bytes": peak,
        "n_iter": int(gm.n_iter_),
    }


def worker_e2e(args: argparse.Namespace) -> dict:
    """Default settings to convergence (initialisation included)."""
    import warnings

    X, _, _, _ = make_data(args.n, args.d, args.k)
    if args.lib == "gmmkit":
        from gmmkit import GaussianMixture as GM
    else:
        from sklearn.mixture import GaussianMixture as GM
    kw: dict = {"n_components": args.k, "random_state": 0}
    if args.accelerate:
        kw["accelerate"] = args.accelerate
    if args.tol is not None:
        kw["tol"] = args.tol
    if args.max_iter is not None:
        kw["max_iter"] = args.max_iter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GM(**{**kw, "max_iter": 2}).fit(X[:2000])  # warm-up: load/compile code
        _reset_peak()
        base = _rss_bytes("VmRSS")
        t0 = time.perf_counter()
        gm = GM(**kw).fit(X)
        total = time.perf_counter() - t0
        peak = _rss_bytes("VmHWM") - base
        init_s = None
        if args.lib == "gmmkit":
            # Time the initialisation alone: the same fit with max_iter=0 does
            # the start plus one scoring pass.
            t0 = time.perf_counter()
            GM(**{**kw, "max_iter": 0}).fit(X)
            init_s = time.perf_counter() - t0
    return {
        "seconds": total,
        "n_iter": int(gm.n_iter_),
        "converged": bool(gm.converged_),
        "loglik": float(gm.score(X)) * args.n,
        "peak_bytes": peak,
        "init_seconds": init_s,
    }


def worker_select(args: argparse.Namespace) -> dict:
    import warnings

    import gmmkit

    X, _, _, _ = make_data(args.n, args.d, args.k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        gmmkit.select_model(X, n_components=range(1, args.k + 1))  # type: ignore[attr-defined]
        return {"seconds": time.perf_counter() - t0}


def worker_peak(args: argparse.Namespace) -> dict:
    """Matmul peak (GFLOP/s) of numpy's BLAS on all cores."""
    import numpy as np

    out = {}
    for dt in ("float64", "float32"):
        m = 2048
        a = np.random.default_rng(0).standard_normal((m, m)).astype(dt)
        b = a.T.copy()
        a @ b
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
        out[dt] = 2 * m**3 / best / 1e9
    return out


# ---------------------------------------------------------------------------
# driver side
# ---------------------------------------------------------------------------
def _env() -> dict:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def _spawn(mode: str, timeout: float = 900, script: str = __file__, **kw) -> dict:
    """Run ``script --worker mode --key value ...`` in a fresh process; its
    last line of output is the JSON result."""
    cmd = [sys.executable, script, "--worker", mode]
    for key, val in kw.items():
        if val is not None:
            cmd += [f"--{key.replace('_', '-')}", str(val)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=_env(), timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def flops(n: int, d: int, k: int, cov: str) -> float:
    if cov == "full":
        return n * k * (3.0 * d * d + 6.0 * d)
    return n * k * 8.0 * d


def _machine() -> dict:
    info = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
            if line.startswith("CPU(s):"):
                info["cpus"] = line.split(":", 1)[1].strip()
            if line.startswith("Flags:"):  # the widest vector unit numba can use
                flags = set(line.split(":", 1)[1].split())
                wide = [f for f in ("avx512f", "avx2", "sse4_2") if f in flags]
                info["simd"] = wide[0] if wide else "none of avx512f/avx2"
            if line.startswith("L2 cache:") or line.startswith("L3 cache:"):
                info[line.split(":")[0]] = line.split(":", 1)[1].strip()
    except OSError:
        info["cpu"] = platform.processor()
    code = (
        "import json, numpy, scipy, sklearn, gmmkit, threadpoolctl\n"
        "v = {m.__name__: m.__version__ for m in (numpy, scipy, sklearn, gmmkit)}\n"
        "try:\n import numba; v['numba'] = numba.__version__\n"
        "except ImportError: v['numba'] = 'not installed'\n"
        "v['python'] = __import__('platform').python_version()\n"
        "v['blas'] = [{k: i.get(k) for k in ('internal_api', 'version', "
        "'num_threads', 'threading_layer', 'architecture')} for i in "
        "threadpoolctl.threadpool_info()]\n"
        "print(json.dumps(v))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env()
    )
    info.update(json.loads(out.stdout))
    return info


def _mb(b) -> str:
    return "n/a" if b is None else f"{b / 2**20:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grid")
    ap.add_argument(
        "--smoke", action="store_true", help="one tiny cell (checks the harness)"
    )
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--worker", choices=["fit", "e2e", "select", "peak"])
    ap.add_argument("--lib", default="gmmkit")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--cov", default="full")
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--accelerate", default=None)
    ap.add_argument("--tol", type=float, default=None)
    ap.add_argument("--max-iter", type=int, default=None)
    args = ap.parse_args()
    if args.worker:
        fn = {"fit": worker, "e2e": worker_e2e, "select": worker_select,
              "peak": worker_peak}[args.worker]
        print(json.dumps(fn(args)))
        return
    run_all(args)


def _cell_plan(n, d, k, cov, quick):
    """(iterations, repeats) for a cell, or a reason to skip scikit-learn."""
    if quick:
        return 5, 3
    return (5, 3) if n <= 100_000 else (3, 3)


def run_all(args: argparse.Namespace) -> None:
    t_start = time.perf_counter()
    machine = _machine()
    peak = _spawn("peak")
    print(f"matmul peak: {peak}", flush=True)
    if args.smoke:
        grid_n, grid_d, grid_k = [20_000], [2], [3]
    elif args.quick:
        grid_n, grid_d, grid_k = [100_000], [2, 16], [3, 16]
    else:
        grid_n, grid_d, grid_k = [100_000, 1_000_000], [2, 16, 64], [3, 16, 64]
    rows = []
    sk_rate: dict = {}  # (d, k, cov) -> sklearn seconds per iteration per row
    for n in grid_n:
        for d in grid_d:
            for k in grid_k:
                for cov in ("full", "diag"):
                    iters, reps = _cell_plan(n, d, k, cov, args.quick)
                    row = {"n": n, "d": d, "k": k, "cov": cov, "iters": iters}
                    # every measured cell: the median of >= 3 fits
                    g = _spawn("fit", lib="gmmkit", n=n, d=d, k=k, cov=cov,
                               iters=iters, repeats=reps)
                    row["gmmkit"] = g
                    est = sk_rate.get((d, k, cov))
                    if est is not None:
                        run_s = est * n * (iters + 1)
                        if run_s > 180:
                            row["skip"] = (
                                f"scikit-learn skipped: estimated {run_s:.0f} s per "
                                f"fit of {iters} iterations (from n=1e5)"
                            )
                    if "skip" not in row:
                        s = _spawn("fit", lib="sklearn", n=n, d=d, k=k, cov=cov,
                                   iters=iters, repeats=reps)
                        row["sklearn"] = s
                        sk_rate[(d, k, cov)] = s["per_iter"] / n
                    row["gflops"] = flops(n, d, k, cov) / g["per_iter"] / 1e9
                    rows.append(row)
                    _print_row(row)
    f32 = run_float32(rows, grid_n[-1])
    e2e = run_e2e(20_000 if args.smoke else 200_000 if args.quick else 1_000_000)
    elapsed = time.perf_counter() - t_start
    write_results(args, machine, peak, rows, f32, e2e, elapsed)


def run_float32(
    rows: list[dict], n: int, rounds: int = 5, repeats: int = 3
) -> list[dict]:
    """gmmkit on float32 input (computed in float32) against float64, for the
    cells of the largest n with d >= 16 and K = 16 (or the largest K of the
    grid).

    Both precisions are timed anew here, in alternating processes (float64,
    float32, float64, ...; ``rounds`` of each, ``repeats`` fits in each
    process, its median taken).  The speed-up is the median over rounds of
    each round's float64 / float32 ratio: on a shared machine whose speed
    drifts by +-20% over minutes, a ratio of two timings taken minutes apart
    says more about the drift than about float32, and a single fit of
    0.1 s can meet a burst of another tenant's work.
    """
    ks = sorted({r["k"] for r in rows if r["n"] == n})
    k = 16 if 16 in ks else ks[-1]
    out = []
    for r in rows:
        if r["n"] != n or r["d"] < 16 or r["k"] != k:
            continue
        runs: dict[str, list[dict]] = {"float64": [], "float32": []}
        for _ in range(rounds):
            for dt in runs:
                runs[dt].append(
                    _spawn("fit", lib="gmmkit", n=n, d=r["d"], k=k, cov=r["cov"],
                           iters=r["iters"], repeats=repeats, dtype=dt)
                )  # fmt: skip
        f64, f32 = (
            {**g[-1], "per_iter": statistics.median(x["per_iter"] for x in g)}
            for g in runs.values()
        )
        paired = [a["per_iter"] / b["per_iter"] for a, b in zip(*runs.values())]
        out.append({**{key: r[key] for key in ("n", "d", "k", "cov", "iters")},
                    "f64": f64, "f32": f32, "paired": paired,
                    "speedup": statistics.median(paired),
                    "gflops": flops(n, r["d"], k, r["cov"]) / f32["per_iter"] / 1e9})
        print(f"float32 n={n:.0e} d={r['d']} k={k} {r['cov']}: "
              f"{f64['per_iter']:.4f}s -> {f32['per_iter']:.4f}s, speed-up "
              f"{out[-1]['speedup']:.2f} ({_span(paired, '{:.2f}')})", flush=True)
    return out


def run_e2e(n: int) -> list[dict]:
    out = []
    d, k = 16, 16
    for lib, acc in (("sklearn", None), ("gmmkit", None)):
        r = _spawn("e2e", lib=lib, n=n, d=d, k=k, accelerate=acc)
        r.update(lib=lib, what=f"default fit, n={n:.0e}, d={d}, K={k}")
        out.append(r)
        print(r, flush=True)
    # A slowly converging fit (heavily overlapping components) to a tight
    # tolerance: plain EM against SQUAREM.
    for acc in (None, "squarem"):
        try:
            r = _spawn("e2e", lib="gmmkit", n=n // 10, d=2, k=8, accelerate=acc,
                       tol=1e-8, max_iter=5000)
        except RuntimeError as exc:
            r = {"error": str(exc).splitlines()[-1]}
        r.update(lib="gmmkit", what=f"tol=1e-8, n={n // 10:.0e}, d=2, K=8, "
                 f"accelerate={acc}")
        out.append(r)
        print(r, flush=True)
    try:
        import gmmkit

        has_select = hasattr(gmmkit, "select_model")
    except ImportError:
        has_select = False
    if has_select:
        try:
            r = _spawn("select", n=n // 10, d=4, k=6)
            r.update(lib="gmmkit", what=f"select_model, n={n // 10:.0e}, d=4, K=1..6")
        except RuntimeError as exc:
            r = {"lib": "gmmkit", "what": "select_model", "error": str(exc)[-300:]}
        out.append(r)
        print(r, flush=True)
    return out


def _print_row(row: dict) -> None:
    g, s = row["gmmkit"], row.get("sklearn")
    ratio = "" if s is None else f"x{s['per_iter'] / g['per_iter']:.1f}"
    print(
        f"n={row['n']:.0e} d={row['d']} k={row['k']} {row['cov']}: gmmkit "
        f"{g['per_iter']:.4f}s sk {s['per_iter'] if s else float('nan'):.4f}s "
        f"{ratio} {row.get('skip', '')}",
        flush=True,
    )


def write_results(args, machine, peak, rows, f32, e2e, elapsed) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Produced by `.venv/bin/python benchmarks/run.py"
        f"{' --quick' if args.quick else ' --smoke' if args.smoke else ''}`"
        f" in {elapsed / 60:.1f} minutes. See the docstring of `benchmarks/run.py` for",
        "what is measured and how.",
        "",
        f"- date: {machine['date']}",
        f"- CPU: {machine.get('cpu')} ({machine.get('cpus')} logical CPUs; widest "
        f"SIMD: {machine.get('simd')}; L2 {machine.get('L2 cache')}, "
        f"L3 {machine.get('L3 cache')})",
        f"- python {machine['python']}, numpy {machine['numpy']}, scipy "
        f"{machine['scipy']}, scikit-learn {machine['sklearn']}, gmmkit "
        f"{machine['gmmkit']}, numba {machine['numba']}",
        f"- BLAS (threadpoolctl): {json.dumps(machine['blas'])}",
        f"- matmul peak (numpy GEMM 2048^2, all cores): float64 "
        f"{peak['float64']:.1f} GFLOP/s, float32 {peak['float32']:.1f} GFLOP/s",
        "",
        "## Per EM iteration, same start, same iterations (tol=0)",
        "",
        "Seconds per iteration are medians over repeats; `ratio` = scikit-learn / "
        "gmmkit; memory = peak RSS of the fit minus RSS before it (MiB); "
        "log-likelihoods are totals after the fit.",
        "",
        "| n | d | K | cov | iters | gmmkit s/iter | sklearn s/iter | ratio | "
        "gmmkit GFLOP/s (% peak) | gmmkit LL | sklearn LL | rel. diff | "
        "gmmkit MiB | sklearn MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        g, s = r["gmmkit"], r.get("sklearn")
        pct = 100 * r["gflops"] / peak["float64"]
        if s is None:
            sk = ["skipped", "", "", "", ""]
        else:
            rel = abs(g["loglik"] - s["loglik"]) / abs(s["loglik"])
            sk = [
                f"{s['per_iter']:.4f}",
                f"{s['per_iter'] / g['per_iter']:.1f}",
                f"{s['loglik']:.6e}",
                f"{rel:.1e}",
                _mb(s["peak_bytes"]),
            ]
        lines.append(
            f"| {r['n']:.0e} | {r['d']} | {r['k']} | {r['cov']} | {r['iters']} | "
            f"{g['per_iter']:.4f} | "
            f"{sk[0]} | {sk[1]} | {r['gflops']:.1f} "
            f"({pct:.0f}%) | {g['loglik']:.6e} | {sk[2]} | {sk[3]} | "
            f"{_mb(g['peak_bytes'])} | {sk[4]} |"
        )
    skipped = [r for r in rows if "skip" in r]
    if skipped:
        lines += ["", "Skipped:"]
        lines += [f"- n={r['n']:.0e} d={r['d']} K={r['k']} {r['cov']}: {r['skip']}"
                  for r in skipped]
    lines += [
        "",
        "## float32 input (gmmkit, computed in float32) against float64",
        "",
        "Same cells as above, both precisions timed again here in alternating "
        "processes (5 rounds of one float64 and one float32 process, 3 fits "
        "in each, medians; see `run_float32`); s/iter: medians over the "
        "rounds; `speed-up`: the median over rounds of each round's "
        "float64 s/iter / float32 s/iter (in brackets: the rounds' range); "
        "GFLOP/s against the float32 matmul peak; log-likelihoods of the "
        "fitted models on each run's own data (the float32 run's data are the "
        "float64 data rounded to float32).",
        "",
        "| n | d | K | cov | float64 s/iter | float32 s/iter | speed-up | "
        "GFLOP/s (% f32 peak) | float64 LL | float32 LL | rel. diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in f32:
        a, b = r["f64"], r["f32"]
        rel = abs(a["loglik"] - b["loglik"]) / abs(a["loglik"])
        lines.append(
            f"| {r['n']:.0e} | {r['d']} | {r['k']} | {r['cov']} | "
            f"{a['per_iter']:.4f} | {b['per_iter']:.4f} | "
            f"{r['speedup']:.2f} ({_span(r['paired'], '{:.2f}')}) | "
            f"{r['gflops']:.1f} "
            f"({100 * r['gflops'] / peak['float32']:.0f}%) | {a['loglik']:.6e} | "
            f"{b['loglik']:.6e} | {rel:.1e} |"
        )
    lines += [
        "",
        "## End to end",
        "",
        "| what | library | seconds | init alone (max_iter=0 fit) | iterations | "
        "converged | log-likelihood | peak MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in e2e:
        if "error" in r:
            lines.append(f"| {r['what']} | {r['lib']} | error: {r['error']} |||||")
            continue
        init = r.get("init_seconds")
        lines.append(
            f"| {r['what']} | {r['lib']} | {r['seconds']:.2f} | "
            f"{'' if init is None else f'{init:.2f}'} | {r.get('n_iter', '')} | "
            f"{r.get('converged', '')} | "
            f"{r['loglik']:.6e} | {_mb(r.get('peak_bytes'))} |"
            if "loglik" in r
            else f"| {r['what']} | {r['lib']} | {r['seconds']:.2f} |||||"
        )
    lines += targets(rows, f32, e2e, peak)
    lines.append("")
    text = "\n".join(lines)
    # keep the small-data section that benchmarks/r_compare.py writes
    out = Path(args.out)
    kept = "## Small data against R's Mclust and scikit-learn"
    old = out.read_text() if out.exists() else ""
    if kept in old:
        rest = old[old.index(kept) :]
        end = rest.find("\n## ", 1)
        text = text.rstrip("\n") + "\n\n" + (rest if end < 0 else rest[: end + 1])
    out.write_text(text)
    print(f"wrote {args.out}")


def _span(values: list[float], fmt: str = "{:.1f}") -> str:
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}–{fmt.format(hi)}"


def targets(rows: list[dict], f32: list[dict], e2e: list[dict], peak: dict) -> list:
    """The targets of issue 4, read off the tables above."""
    paired = [r for r in rows if r.get("sklearn")]

    def ratio(r: dict) -> float:
        return r["sklearn"]["per_iter"] / r["gmmkit"]["per_iter"]

    def rel(r: dict) -> float:
        return abs(r["gmmkit"]["loglik"] - r["sklearn"]["loglik"]) / abs(
            r["sklearn"]["loglik"]
        )

    out = [
        "",
        "## Against the targets of issue 4 (computed from the tables above)",
        "",
        "| target | measured | met? |",
        "|---|---|---|",
    ]
    for d, goal in ((2, 10), (16, 5), (64, 3)):
        rs = [ratio(r) for r in paired if r["d"] == d]
        if rs:
            worst = min((r for r in paired if r["d"] == d), key=ratio)
            out.append(
                f"| >= {goal}x scikit-learn per iteration at d = {d} | {_span(rs)}x "
                f"(slowest: n={worst['n']:.0e}, K={worst['k']}, {worst['cov']}) | "
                f"{'yes' if min(rs) >= goal else 'no'} |"
            )
    if paired:
        slowest = min(ratio(r) for r in paired)
        out.append(f"| never slower | slowest cell {slowest:.1f}x | "
                   f"{'yes' if slowest > 1 else 'no'} |")
        worst_ll = max(rel(r) for r in paired)
        out.append(f"| same log-likelihood (1e-6 relative) | largest difference "
                   f"{worst_ll:.1e} | {'yes' if worst_ll <= 1e-6 else 'no'} |")
    full64 = [100 * r["gflops"] / peak["float64"] for r in rows
              if r["d"] == 64 and r["cov"] == "full"]
    if full64:
        span = _span(full64, "{:.0f}")
        out.append(f"| >= 50% of matmul peak at d = 64, full | {span}% of "
                   f"{peak['float64']:.1f} GFLOP/s | "
                   f"{'yes' if min(full64) >= 50 else 'no'} |")
    sp = [r["speedup"] for r in f32]
    if sp:
        rels = [abs(r["f64"]["loglik"] - r["f32"]["loglik"]) / abs(r["f64"]["loglik"])
                for r in f32]
        out.append(f"| float32 >= 1.7x float64 at d >= 16 | {_span(sp, '{:.2f}')}x "
                   f"(log-likelihood within {max(rels):.1e}) | "
                   f"{'yes' if min(sp) >= 1.7 else 'no'} |")
    mem = [r for r in rows if (r["n"], r["d"], r["k"]) == (1_000_000, 16, 16)]
    for r in mem:
        if r["gmmkit"]["peak_bytes"] is not None:
            mib = r["gmmkit"]["peak_bytes"] / 2**20
            out.append(f"| fit memory <= 200 MB at 1e6 x 16, K = 16 ({r['cov']}) | "
                       f"{mib:.0f} MiB | {'yes' if mib <= 200 else 'no'} |")
    by = {(r["lib"], r["what"]): r for r in e2e if "seconds" in r}
    defaults = [w for (lib, w) in by if lib == "sklearn" and w.startswith("default")]
    for what in defaults:
        g, s = by.get(("gmmkit", what)), by[("sklearn", what)]
        if g is not None and "loglik" in g:
            x = s["seconds"] / g["seconds"]
            better = g["loglik"] >= s["loglik"] - 1e-9 * abs(s["loglik"])
            out.append(f"| end-to-end {what} >= 5x, log-likelihood at least as good | "
                       f"{g['seconds']:.2f} s vs {s['seconds']:.2f} s = {x:.1f}x; "
                       f"LL {g['loglik']:.6e} vs {s['loglik']:.6e} | "
                       f"{'yes' if x >= 5 and better else 'no'} |")
    acc = [r for r in e2e if r.get("what", "").startswith("tol=") and "n_iter" in r]
    if len(acc) == 2:
        plain, sq = acc
        out.append(f"| SQUAREM: fewer passes to the same tolerance | {sq['n_iter']} vs "
                   f"{plain['n_iter']} passes, {sq['seconds']:.2f} s vs "
                   f"{plain['seconds']:.2f} s | "
                   f"{'yes' if sq['n_iter'] < plain['n_iter'] else 'no'} |")
    return out


if __name__ == "__main__":
    main()
