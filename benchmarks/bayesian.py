"""BayesianGaussianMixture: gmmkit against scikit-learn, seconds per iteration.

Run from the repository root on a quiet machine::

    .venv/bin/python benchmarks/bayesian.py            # 200,000 x 16, K = 16, full
    .venv/bin/python benchmarks/bayesian.py --quick    # 20,000 x 8, K = 4 (a check)

Each library runs in its own subprocess, on data generated from a fixed seed
inside that process, from the same start (``init_params="random_from_data"``
and the same ``random_state``: both draw the same rows, so both fits are the
same to rounding, which the script checks) and with ``tol=0``.  Seconds per
iteration are ``(t(max_iter=N) - t(max_iter=0)) / N``, medians over the
repeats: the prior's data pass and the start are left out of both.  gmmkit
runs a warm-up fit first (numba's kernels load from the on-disk cache).
The output is a markdown table on stdout (nothing is written).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings

SEED = 20260101


def _data(n: int, d: int, k: int):
    import numpy as np

    rng = np.random.default_rng(SEED)
    centres = rng.normal(0, 4, size=(k, d))
    labels = rng.integers(0, k, size=n)
    mix = rng.normal(size=(k, d, d)) / np.sqrt(d) + np.eye(d)
    X = centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(n, d)), mix[labels])
    return X


def worker(args: argparse.Namespace) -> dict:
    from sklearn.exceptions import ConvergenceWarning

    if args.lib == "gmmkit":
        from gmmkit import BayesianGaussianMixture
    else:
        from sklearn.mixture import BayesianGaussianMixture

    X = _data(args.n, args.d, args.k)
    kw = dict(
        n_components=args.k,
        covariance_type=args.covariance_type,
        init_params="random_from_data",
        random_state=0,
        tol=0.0,
    )
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.lib == "gmmkit":  # load the compiled kernels
        BayesianGaussianMixture(**{**kw, "max_iter": 2}).fit(X[:2000])

    def timed(max_iter: int):
        t0 = time.perf_counter()
        model = BayesianGaussianMixture(**{**kw, "max_iter": max_iter}).fit(X)
        return time.perf_counter() - t0, model

    per_iter = []
    model = None
    for _ in range(args.repeats):
        base, _ = timed(0)
        total, model = timed(args.iters)
        per_iter.append((total - base) / args.iters)
    assert model is not None
    return {
        "per_iter": statistics.median(per_iter),
        "lower_bound": float(model.lower_bound_),
        "weights": [float(w) for w in model.weights_],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small check run")
    ap.add_argument("--worker", choices=["gmmkit", "sklearn"], dest="lib")
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--covariance-type", default="full")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.quick:
        args.n, args.d, args.k, args.iters, args.repeats = 20_000, 8, 4, 3, 1
    if args.lib:
        print(json.dumps(worker(args)))
        return
    results = {}
    for lib in ("sklearn", "gmmkit"):
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            lib,
            *("--n", str(args.n), "--d", str(args.d), "--k", str(args.k)),
            *("--covariance-type", args.covariance_type),
            *("--iters", str(args.iters), "--repeats", str(args.repeats)),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        results[lib] = json.loads(out.stdout.strip().splitlines()[-1])
    sk, gk = results["sklearn"], results["gmmkit"]
    same = abs(sk["lower_bound"] - gk["lower_bound"]) <= 1e-6 * abs(sk["lower_bound"])
    print(
        f"| n x d | K | covariance | sklearn s/iter | gmmkit s/iter | speed-up | "
        f"same bound |\n|---|---|---|---|---|---|---|\n"
        f"| {args.n} x {args.d} | {args.k} | {args.covariance_type} | "
        f"{sk['per_iter']:.4f} | {gk['per_iter']:.4f} | "
        f"{sk['per_iter'] / gk['per_iter']:.1f}x | {same} |"
    )
    if not same:
        sys.exit(
            f"the fits differ: lower_bound_ {sk['lower_bound']!r} (scikit-learn) "
            f"against {gk['lower_bound']!r} (gmmkit)"
        )


if __name__ == "__main__":
    main()
