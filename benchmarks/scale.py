"""Scale benchmarks: out-of-core .npy, Dask LocalCluster, online EM.

One command::

    python benchmarks/scale.py                      # 2 GB .npy, Dask at 1e6 rows
    python benchmarks/scale.py --npy-gb 8 --dask-rows 10000000   # the record run

It writes (or replaces) a dated section in ``benchmarks/RESULTS_SCALE.md``:

1. **Memory-mapped .npy**: a fit streaming a file of ``--npy-gb`` GB from
   ``np.load(path, mmap_mode="r")`` with the peak VmRSS / RssAnon / RssFile of
   the process (sampled every 20 ms by a thread reading /proc/self/status),
   and the time per EM pass against the in-memory path on the first
   ``--inmem-gb`` GB of the same rows loaded into RAM (rows per second).
2. **Dask**: a fit on a ``distributed.LocalCluster`` (2 worker processes, 1
   thread each) of ``--dask-rows`` rows generated on the workers, throughput
   per EM pass against the in-memory fit of the same rows, and the largest
   relative difference of the parameters (same start).
3. **Online EM**: ``partial_fit`` over 5,000-row batches (one pass) against
   the batch fit: held-out mean log-likelihood and time.

All fits start from the same explicit parameters (so every path runs the same
EM iterations) and run a fixed number of iterations (``tol=0``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

K, D = 5, 10
HERE = Path(__file__).resolve().parent


# ------------------------------------------------------------------ helpers
def _status_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(rest.split()[0])
    return out


class PeakMemory:
    """Peak VmRSS / RssAnon / RssFile (MB) while the context is open."""

    def __init__(self, every: float = 0.02) -> None:
        self.every = every
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, value in _status_kb().items():
                self.peak[key] = max(self.peak.get(key, 0), value)
            time.sleep(self.every)

    def __enter__(self) -> PeakMemory:
        self.before = _status_kb()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mb(self, key: str) -> float:
        return self.peak.get(key, 0) / 1024


def true_mixture(seed: int = 0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 3, size=(K, D))
    factors = rng.normal(0, 0.3, size=(K, D, D)) + np.eye(D)
    weights = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    return weights, means, factors


def draw(n: int, seed: int) -> np.ndarray:
    weights, means, factors = true_mixture()
    rng = np.random.default_rng(seed)
    labels = rng.choice(K, size=n, p=weights)
    z = rng.standard_normal((n, D))
    return means[labels] + np.einsum("nd,nde->ne", z, factors[labels])


def start_params(covariance_type: str = "full") -> dict:
    weights, means, _ = true_mixture()
    rng = np.random.default_rng(1)
    return dict(
        weights_init=np.full(K, 1 / K),
        means_init=means + rng.normal(0, 1.0, size=means.shape),
        precisions_init=np.tile(np.eye(D), (K, 1, 1)),
        covariance_type=covariance_type,
    )


def fit_timed(X, max_iter: int, **kw):
    from sklearn.exceptions import ConvergenceWarning

    from gmmkit import GaussianMixture

    gm = GaussianMixture(K, tol=0.0, max_iter=max_iter, **start_params(), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        gm.fit(X)
        elapsed = time.perf_counter() - t0
    passes = gm.n_iter_ + 1  # EM iterations + the final log-likelihood pass
    return gm, elapsed / passes


# ------------------------------------------------------------------- parts
def bench_npy(gb: float, inmem_gb: float, max_iter: int, workdir: str) -> list[str]:
    rows = int(gb * 2**30 / (8 * D))
    path = Path(workdir) / f"gmmkit-scale-{rows}x{D}.npy"
    t0 = time.perf_counter()
    if not path.exists():
        out = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float64, shape=(rows, D)
        )
        step = 1_000_000
        for i, start in enumerate(range(0, rows, step)):
            stop = min(start + step, rows)
            out[start:stop] = draw(stop - start, seed=100 + i)
            out.flush()
        del out
    write_s = time.perf_counter() - t0
    size_gb = path.stat().st_size / 2**30

    fit_timed(draw(20_000, seed=5), 1)  # warm-up: imports, compiled kernels
    mm = np.load(path, mmap_mode="r")
    with PeakMemory() as peak:
        gm_mm, per_pass_mm = fit_timed(mm, max_iter)
    del mm

    in_rows = min(rows, int(inmem_gb * 2**30 / (8 * D)))
    X = np.array(np.load(path, mmap_mode="r")[:in_rows])
    _, per_pass_mem = fit_timed(X, max_iter)
    del X
    thr_mm = rows / per_pass_mm
    thr_mem = in_rows / per_pass_mem
    return [
        "### Memory-mapped .npy",
        "",
        f"- file: {rows:,} x {D} float64 = {size_gb:.2f} GiB "
        f"(written in {write_s:.0f} s; K={K}, full covariances, "
        f"{max_iter} EM iterations + final pass, explicit start)",
        f"- peak during the streamed fit: RssAnon **{peak.mb('RssAnon'):.0f} MB**, "
        f"RssFile {peak.mb('RssFile'):.0f} MB, VmRSS {peak.mb('VmRSS'):.0f} MB "
        f"(before the fit: RssAnon {peak.before['RssAnon'] / 1024:.0f} MB)",
        f"- time per pass: memmap {per_pass_mm:.2f} s "
        f"({thr_mm / 1e6:.2f} M rows/s); in memory on the first {in_rows:,} rows "
        f"{per_pass_mem:.2f} s ({thr_mem / 1e6:.2f} M rows/s); "
        f"memmap throughput = **{100 * thr_mm / thr_mem:.0f}%** of in-memory",
        "",
    ]


def _dask_block(block_info=None):
    info = block_info[None]
    (start, stop), _ = info["array-location"]
    return draw(stop - start, seed=1000 + info["chunk-location"][0])


def bench_dask(n_rows: int, chunk: int, max_iter: int) -> list[str]:
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    chunks = da.core.normalize_chunks((chunk, D), (n_rows, D))
    lines = ["### Dask LocalCluster (2 worker processes, 1 thread each)", ""]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        )
        client = Client(cluster)
    try:
        dX = da.map_blocks(_dask_block, chunks=chunks, dtype=np.float64)
        dX = client.persist(dX)
        wait(dX)
        # warm-up: imports and kernels compiled on the workers
        fit_timed(dX[: 2 * chunk], 1)
        gm_dask, per_pass_dask = fit_timed(dX, max_iter)
        X = dX.compute()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            cluster.close()
    fit_timed(X[: 2 * chunk], 1)  # warm-up in this process too
    gm_mem, per_pass_mem = fit_timed(X, max_iter)
    diff = max(
        float(np.max(np.abs(getattr(gm_dask, a) - getattr(gm_mem, a))))
        / float(np.max(np.abs(getattr(gm_mem, a))))
        for a in ("weights_", "means_", "covariances_")
    )
    ratio = per_pass_mem / per_pass_dask
    lines += [
        f"- {n_rows:,} x {D} rows in blocks of {chunk:,}, K={K} full, "
        f"{max_iter} EM iterations + final pass, same explicit start",
        f"- time per pass: Dask {per_pass_dask:.2f} s, in memory "
        f"{per_pass_mem:.2f} s; Dask throughput = **{100 * ratio:.0f}%** of "
        "in-memory (target >= 70% at 1e7 rows)",
        f"- largest relative parameter difference Dask vs in-memory: {diff:.1e}",
        "",
    ]
    return lines


def bench_online(n_train: int, batch: int) -> list[str]:
    from sklearn.exceptions import ConvergenceWarning

    from gmmkit import GaussianMixture

    train, test = draw(n_train, seed=7), draw(50_000, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        full = GaussianMixture(K, random_state=0).fit(train)
        t_full = time.perf_counter() - t0
        t0 = time.perf_counter()
        online = GaussianMixture(K, random_state=0)
        for start in range(0, n_train, batch):
            online.partial_fit(train[start : start + batch])
        t_online = time.perf_counter() - t0
    ll_full, ll_online = full.score(test), online.score(test)
    gap = (ll_online - ll_full) / abs(ll_full)
    return [
        "### Online EM (partial_fit)",
        "",
        f"- {n_train:,} training rows in {n_train // batch} batches of {batch:,} "
        f"(one pass, step size (t + 2)^-0.6), K={K}, d={D}; held-out 50,000 rows",
        f"- held-out mean log-likelihood: batch fit {ll_full:.4f} "
        f"({full.n_iter_} iterations, {t_full:.1f} s), partial_fit "
        f"{ll_online:.4f} ({t_online:.1f} s): relative gap **{100 * gap:+.3f}%**",
        "",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--npy-gb", type=float, default=2.0, help="size of the .npy")
    p.add_argument("--inmem-gb", type=float, default=1.0, help="in-memory subset")
    p.add_argument("--dask-rows", type=float, default=1e6, help="1e7 for the record")
    p.add_argument("--dask-chunk", type=int, default=250_000)
    p.add_argument("--max-iter", type=int, default=3)
    p.add_argument("--online-rows", type=int, default=200_000)
    p.add_argument("--skip", nargs="*", default=[], choices=["npy", "dask", "online"])
    p.add_argument("--workdir", default=tempfile.gettempdir())
    p.add_argument("--keep-file", action="store_true", help="keep the .npy")
    p.add_argument("--out", default=str(HERE / "RESULTS_SCALE.md"))
    args = p.parse_args()

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    command = "python benchmarks/scale.py " + " ".join(sys.argv[1:])
    lines = [
        f"## {stamp}",
        "",
        f"`{command.strip()}` on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{mem_gb:.0f} GiB RAM, Python {platform.python_version()}, "
        f"NumPy {np.__version__}",
        "",
    ]
    if "npy" not in args.skip:
        lines += bench_npy(args.npy_gb, args.inmem_gb, args.max_iter, args.workdir)
        print("\n".join(lines), flush=True)
        if not args.keep_file:
            for f in Path(args.workdir).glob("gmmkit-scale-*.npy"):
                f.unlink()
    if "dask" not in args.skip:
        lines += bench_dask(int(args.dask_rows), args.dask_chunk, args.max_iter)
        print("\n".join(lines[-5:]), flush=True)
    if "online" not in args.skip:
        lines += bench_online(args.online_rows, 5000)
        print("\n".join(lines[-5:]), flush=True)

    out = Path(args.out)
    header = "# Scale benchmarks (benchmarks/scale.py)\n\n"
    old = out.read_text() if out.exists() else header
    if not old.startswith("# "):
        old = header + old
    out.write_text(old.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")
    print(f"appended to {out}")


if __name__ == "__main__":
    main()
