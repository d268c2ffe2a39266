"""Missing values: an EM iteration with NaN marginalised against complete data.

Run from the repository root::

    .venv/bin/python benchmarks/missing.py            # 1e5 x 16, K = 8, full, 20% MCAR
    .venv/bin/python benchmarks/missing.py --quick    # 2e4 rows (checks the harness)

The data are :func:`run.make_data`'s mixture (fixed seed); a copy has each
entry missing completely at random with probability ``--rate`` (NaN; a row
left without any value keeps its first one).  Two fits from the same start
(``means_init``, ``weights_init``, ``precisions_init`` as in ``run.py``) for
the same number of EM iterations (``tol=0``), each in its own subprocess:

* ``complete``: ``GaussianMixture(nan_policy="raise")`` on the data without
  holes;
* ``marginalize``: ``GaussianMixture(nan_policy="marginalize")`` on the data
  with holes.

Reported, as ``run.py`` measures them: seconds per EM iteration (median over
the repeats of fit time / ``max_iter``; both fits also do their final
scoring pass inside ``fit``), the ratio marginalize / complete (the target
is at most 3), and peak memory (the subprocess's peak RSS during the first
timed fit minus its RSS just before it, after a warm-up fit that loads and
compiles the code).  Prints a markdown table; nothing is written to
``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (benchmarks/run.py: data, start, memory helpers)


def holes(X, rate: float):
    """A copy of X with each entry NaN with probability ``rate`` (fixed seed);
    every row keeps at least one value."""
    import numpy as np

    rng = np.random.default_rng(run.SEED + 1)
    out = X.copy()
    out[rng.random(X.shape) < rate] = np.nan
    empty = np.isnan(out).all(axis=1)
    out[empty, 0] = X[empty, 0]
    return out


def worker(args: argparse.Namespace) -> dict:
    from gmmkit import GaussianMixture

    X, means, weights, var = run.make_data(args.n, args.d, args.k)
    policy = "marginalize" if args.policy == "marginalize" else "raise"
    if policy == "marginalize":
        X = holes(X, args.rate)
    prec = run._start(args.cov, args.k, args.d, var)
    kw = run.fixed_start(args, means, weights, prec, nan_policy=policy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # warm-up on a few rows: loads (or compiles) the code once
        GaussianMixture(**{**kw, "max_iter": 1}).fit(X[: max(2000, 4 * args.k)])
        times, peak, gm = run.timed_fits(
            lambda: GaussianMixture(**kw), X, args.repeats
        )
    return {
        "per_iter": statistics.median(times) / args.iters,
        "peak_bytes": peak,
        "loglik": float(gm.score(X)) * args.n,
    }


HEADER = (
    "| rows | d | K | cov | missing | complete s/iter | marginalize s/iter "
    "| ratio | complete MiB | marginalize MiB |\n"
    "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2e4 rows, 3 iterations")
    ap.add_argument("--worker", choices=["fit"])
    ap.add_argument("--policy", default="raise")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--cov", default="full")
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.quick:
        args.n, args.iters, args.repeats = 20_000, 3, 2
    cell = dict(n=args.n, d=args.d, k=args.k, cov=args.cov, rate=args.rate,
                iters=args.iters, repeats=args.repeats)  # fmt: skip
    res = {
        policy: run._spawn("fit", script=__file__, policy=policy, **cell)
        for policy in ("raise", "marginalize")
    }
    a, b = res["raise"], res["marginalize"]
    print(HEADER)
    print(
        f"| {args.n:.0e} | {args.d} | {args.k} | {args.cov} | {args.rate:.0%} "
        f"| {a['per_iter']:.4f} | {b['per_iter']:.4f} "
        f"| {b['per_iter'] / a['per_iter']:.1f} "
        f"| {run._mb(a['peak_bytes'])} | {run._mb(b['peak_bytes'])} |"
    )


if __name__ == "__main__":
    main()
