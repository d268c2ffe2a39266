"""Gaussian mixture regression at scale: predict (with std) and sample_y on
many query rows, against gmr's predict on the same parameters.

One command::

    python benchmarks/regression.py                   # 1e6 queries
    python benchmarks/regression.py --queries 10000000 --components 20

It prints a small Markdown table (paste it into ``benchmarks/RESULTS.md``):
seconds per call and queries per second for ``predict``, ``predict(...,
return_std=True)``, ``predict`` with 10% of the inputs missing and
``sample_y`` (one draw per row), and gmr 2.0.3's ``GMM.predict`` on the
same parameters (on at most 1e5 rows, scaled up), plus the largest difference
between the two predictions.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gmmkit import GaussianMixtureRegressor


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--components", type=int, default=10)
    parser.add_argument("--inputs", type=int, default=3)
    parser.add_argument("--targets", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    p, t = args.inputs, args.targets
    X = rng.uniform(-3, 3, size=(20_000, p))
    W = rng.normal(size=(p, t))
    Y = np.sin(X @ W) + 0.1 * rng.normal(size=(20_000, t))
    reg = GaussianMixtureRegressor(args.components, random_state=args.seed).fit(X, Y)
    Q = rng.uniform(-3, 3, size=(args.queries, p))
    Q_missing = Q.copy()
    Q_missing[rng.random(Q.shape) < 0.1] = np.nan

    rows = []
    for label, fn in (
        ("predict", lambda: reg.predict(Q)),
        ("predict, return_std", lambda: reg.predict(Q, return_std=True)),
        ("predict, 10% inputs NaN", lambda: reg.predict(Q_missing)),
        ("sample_y, 1 draw", lambda: reg.sample_y(Q, 1, random_state=0)),
    ):
        seconds, _ = _timed(fn)
        rows.append((label, seconds, args.queries / seconds))

    diff = float("nan")
    try:
        from gmr import GMM
    except ImportError:
        GMM = None
    if GMM is not None:
        gm = reg.mixture_
        gmr = GMM(gm.n_components, gm.weights_, gm.means_, gm.covariances_)
        n_gmr = min(args.queries, 100_000)
        seconds, want = _timed(lambda: gmr.predict(np.arange(p), Q[:n_gmr]))
        rows.append((f"gmr 2.0.3 predict ({n_gmr} rows)", seconds, n_gmr / seconds))
        diff = float(np.abs(reg.predict(Q[:n_gmr]) - want).max())

    print(
        f"{args.queries} queries, {p} inputs, {t} targets, "
        f"{args.components} components (full)\n"
    )
    print("| call | seconds | queries/s |")
    print("|---|---:|---:|")
    for label, seconds, rate in rows:
        print(f"| {label} | {seconds:.3f} | {rate:,.0f} |")
    print(f"\nlargest |gmmkit - gmr| prediction difference: {diff:.2e}")


if __name__ == "__main__":
    main()
