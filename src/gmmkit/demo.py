"""The gmmkit demo: the classic "GMM by EM" notebook, reproduced with gmmkit.

:func:`run_demo` draws 600 points from a known three-component mixture in the
plane (seed 42), fits a three-component mixture by EM one iteration at a
time from the notebook's starting point, stops where the notebook stops
(|change in total negative log-likelihood| < 1e-6, after 89 iterations),
then clusters the data, samples from the fit and chooses the number of
components by BIC.  It writes the figures to a folder and returns the
numbers in a :class:`DemoResult`; :func:`format_summary` renders them as
text (``gmmkit demo`` prints it).

The figures are drawn on bare :class:`matplotlib.figure.Figure` objects, not
through pyplot, so the demo needs no GUI backend and leaves pyplot's state
(backend, open figures) alone, e.g. inside a notebook.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

from ._errors import require
from .mixture import GaussianMixture
from .plotting import (
    Snapshot,
    animate_em,
    dense_covariances,
    plot_components,
    plot_criterion,
    plot_density,
    plot_mixture,
    plot_nll,
    plot_uncertainty,
)

__all__ = ["DemoResult", "format_summary", "run_demo"]

logger = logging.getLogger("gmmkit")

#: The generating mixture of the notebook.
TRUE_MEANS = np.array([[1.2, 0.4], [-4.4, 1.0], [4.1, -0.3]])
TRUE_COVARIANCES = np.array(
    [
        [[0.8, -0.4], [-0.4, 1.0]],
        [[1.2, -0.8], [-0.8, 1.0]],
        [[1.2, 0.6], [0.6, 3.0]],
    ]
)
TRUE_WEIGHTS = np.array([0.3, 0.2, 0.5])
SEED = 42
N_PER_COMPONENT = 200
#: The notebook stops when the total negative log-likelihood changes by less.
NLL_TOL = 1e-6
#: The notebook's ``for em_iter in range(100)``.
MAX_EM_ITER = 100
#: Iterations the notebook marks on its NLL curve (plus the final one).
NLL_MARKS = (0, 1, 9)
#: Iterations shown in the grid of EM snapshots (plus the final one).
GRID_ITERATIONS = (0, 1, 3, 9, 30)
SELECTION_KS = tuple(range(1, 7))
SELECTION_N_INIT = 3
N_DRAWS = 600

_DPI = 110


@dataclass
class DemoResult:
    """What :func:`run_demo` computed and wrote.

    Fitted parameters are listed in the order of the true components: fitted
    component ``order[k]`` is the one matched to true component ``k`` (by
    nearest means, one-to-one).
    """

    out_dir: Path
    #: (3, 2) starting means drawn from the seeded stream.
    initial_means: np.ndarray
    #: EM iterations until |change in total NLL| < 1e-6.
    n_iter: int
    converged: bool
    #: Total negative log-likelihood of the start and after each iteration.
    nll: list[float]
    final_nll: float
    true_weights: np.ndarray
    true_means: np.ndarray
    true_covariances: np.ndarray
    fitted_weights: np.ndarray
    fitted_means: np.ndarray
    fitted_covariances: np.ndarray
    #: Fitted component matched to each true component.
    order: np.ndarray
    #: Points given to each (true-ordered) component by ``predict``.
    label_counts: list[int]
    #: Share of points whose predicted component is the one that generated them.
    label_agreement: float
    #: Points whose most probable component has ``P(k|x) < 0.9``.
    n_uncertain: int
    ks: list[int]
    #: BIC per K (scikit-learn's sign: lower is better).
    bic: list[float]
    #: AIC per K (lower is better).
    aic: list[float]
    #: argmin of BIC.
    chosen_k: int
    files: list[Path]
    elapsed_seconds: float
    data: np.ndarray = field(repr=False)
    snapshots: list[Snapshot] = field(repr=False)


# ------------------------------------------------------------------ the steps
def _make_data(rng: np.random.RandomState) -> np.ndarray:
    """600 rows, 200 per component in order, as the notebook draws them."""
    return np.vstack(
        [
            rng.multivariate_normal(TRUE_MEANS[k], TRUE_COVARIANCES[k], N_PER_COMPONENT)
            for k in range(len(TRUE_WEIGHTS))
        ]
    )


def _notebook_em(
    X: np.ndarray, initial_means: np.ndarray
) -> tuple[GaussianMixture, list[float], list[Snapshot], bool]:
    """EM one iteration per ``fit`` call, with the notebook's start and stop."""
    k, d = initial_means.shape
    weights0 = np.full(k, 1.0 / k)
    covs0 = np.repeat(np.eye(d)[None], k, axis=0)
    gmm = GaussianMixture(
        k,
        covariance_type="full",
        reg_covar=0.0,
        tol=0.0,
        max_iter=1,
        warm_start=True,
        weights_init=weights0,
        means_init=initial_means,
        precisions_init=covs0,  # identity: its own inverse
    )
    nll: list[float] = []
    snapshots: list[Snapshot] = []
    converged = False
    for it in range(1, MAX_EM_ITER + 1):
        # One iteration per call never "converges" by gmmkit's own test
        # (tol=0); the notebook's test on the total NLL is applied below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(X)
        history = gmm.log_likelihood_history_
        if it == 1:
            nll.append(-float(history[0]))
            snapshots.append(
                Snapshot(0, weights0, initial_means.copy(), covs0, history[0])
            )
        nll.append(-float(history[-1]))
        snapshots.append(Snapshot.from_model(gmm, it))
        if abs(nll[it] - nll[it - 1]) < NLL_TOL:
            converged = True
            break
    return gmm, nll, snapshots, converged


def _match(true_means: np.ndarray, fitted_means: np.ndarray) -> np.ndarray:
    """Fitted index for each true component, one-to-one, nearest means."""
    cost = np.linalg.norm(true_means[:, None, :] - fitted_means[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]


def _select(X: np.ndarray) -> tuple[list[float], list[float]]:
    bic, aic = [], []
    for k in SELECTION_KS:
        model = GaussianMixture(k, random_state=0, n_init=SELECTION_N_INIT).fit(X)
        bic.append(float(model.bic(X)))
        aic.append(float(model.aic(X)))
    return bic, aic


# -------------------------------------------------------------------- figures
def _figure(figsize: tuple[float, float] = (6.4, 5.0), **kwargs: Any) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained", **kwargs)


def _save(fig: Any, out_dir: Path, name: str, files: list[Path]) -> None:
    path = out_dir / name
    fig.savefig(path, dpi=_DPI)
    files.append(path)
    logger.info("wrote %s", path)


def _limits(ax: Any, X: np.ndarray) -> None:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.06 * (hi - lo)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])


def _write_figures(
    out_dir: Path,
    X: np.ndarray,
    gmm: GaussianMixture,
    nll: list[float],
    snapshots: list[Snapshot],
    bic: list[float],
    aic: list[float],
    chosen_k: int,
) -> list[Path]:
    files: list[Path] = []
    n_iter = len(nll) - 1

    fig = _figure()
    ax = fig.add_subplot()
    plot_components(
        TRUE_MEANS,
        TRUE_COVARIANCES,
        TRUE_WEIGHTS,
        X,
        ax=ax,
        title=f"Data ({len(X)} points) and the true mixture components",
    )
    _save(fig, out_dir, "01_data_true_components.png", files)

    shown = [*GRID_ITERATIONS, n_iter]
    fig = _figure((12.0, 7.0))
    axes = fig.subplots(2, 3)
    for ax, it in zip(axes.ravel(), shown, strict=True):
        snap = snapshots[it]
        plot_components(
            snap.means,
            snap.covariances,
            snap.weights,
            X,
            ax=ax,
            legend=False,
            title=f"{'start' if it == 0 else f'iteration {it}'}   (NLL {nll[it]:.1f})",
        )
        _limits(ax, X)
    fig.suptitle(
        f"EM from the notebook's start: component densities until convergence "
        f"(iteration {n_iter})"
    )
    _save(fig, out_dir, "02_em_iterations.png", files)

    gif = animate_em(snapshots, X, out_dir / "03_em.gif", fps=10)
    files.append(gif)
    logger.info("wrote %s (%d frames)", gif, len(snapshots))

    fig = _figure()
    ax = fig.add_subplot()
    plot_density(
        gmm,
        X,
        ax=ax,
        levels=12,
        colorbar=True,
        title=f"Fitted mixture density after {n_iter} EM iterations",
    )
    _save(fig, out_dir, "04_mixture_density.png", files)

    fig = _figure((6.4, 4.4))
    ax = fig.add_subplot()
    plot_nll(np.negative(nll), ax=ax, mark=[*NLL_MARKS, n_iter])
    _save(fig, out_dir, "05_nll.png", files)

    fig = _figure((6.4, 4.4))
    ax = fig.add_subplot()
    plot_criterion(list(SELECTION_KS), {"BIC": bic, "AIC": aic}, ax=ax, best=chosen_k)
    _save(fig, out_dir, "06_bic_aic.png", files)

    draws, _ = gmm.sample(N_DRAWS, random_state=0)
    fig = _figure((11.0, 4.8))
    left, right = fig.subplots(1, 2, sharex=True, sharey=True)
    left.scatter(X[:, 0], X[:, 1], s=10, color="black", alpha=0.4, linewidths=0)
    left.set_title(f"Data ({len(X)} points) and the fit's 2$\\sigma$ ellipses")
    right.scatter(
        draws[:, 0], draws[:, 1], s=10, color="tab:purple", alpha=0.5, linewidths=0
    )
    right.set_title(f"{N_DRAWS} samples drawn from the fitted mixture")
    for ax in (left, right):
        plot_mixture(
            gmm, ax=ax, n_std=(2,), density=False, legend=False, title=ax.get_title()
        )
        _limits(ax, np.vstack([X, draws]))
    right.set_ylabel("")
    _save(fig, out_dir, "07_samples.png", files)

    fig = _figure()
    ax = fig.add_subplot()
    plot_mixture(
        gmm,
        X,
        ax=ax,
        title=r"Clusters (predict) with 1, 2, 3$\sigma$ ellipses and $p(x)$",
    )
    _save(fig, out_dir, "08_clusters.png", files)

    fig = _figure()
    ax = fig.add_subplot()
    plot_uncertainty(gmm, X, ax=ax)
    _save(fig, out_dir, "09_uncertainty.png", files)
    return files


# ------------------------------------------------------------------- the demo
@contextmanager
def _progress(enabled: bool) -> Iterator[None]:
    """Show gmmkit's INFO messages on stderr for the duration, if asked to."""
    if not enabled:
        yield
        return
    handler = None
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("gmmkit: %(message)s"))
        logger.addHandler(handler)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)
        if handler is not None:
            logger.removeHandler(handler)


def run_demo(
    out_dir: str | Path = "gmmkit-demo", *, show_progress: bool = False
) -> DemoResult:
    """Reproduce the GMM-by-EM notebook with gmmkit and write its figures.

    Parameters
    ----------
    out_dir : str or path, default="gmmkit-demo"
        Folder for the figures (created if needed; files in it are replaced).
    show_progress : bool, default=False
        Log each step to stderr (through the ``"gmmkit"`` logger).

    Returns
    -------
    DemoResult

    Raises
    ------
    MissingDependencyError
        Without matplotlib or pillow (``pip install 'gmmkit[plot]'``).
    OSError
        If the folder or a file cannot be written.
    """
    require("matplotlib", "plot", "The demo")
    require("PIL", "plot", "The demo")
    start = time.perf_counter()
    out = Path(out_dir)
    with _progress(show_progress):
        out.mkdir(parents=True, exist_ok=True)
        # One legacy stream, as np.random.seed(42) in the notebook: the data
        # first, then the starting means.
        rng = np.random.RandomState(SEED)
        X = _make_data(rng)
        initial_means = np.array([rng.normal(size=(2,)) for _ in range(3)])
        logger.info("drew %d points; running EM from the notebook's start", len(X))

        gmm, nll, snapshots, converged = _notebook_em(X, initial_means)
        n_iter = len(nll) - 1
        logger.info(
            "EM %s after %d iterations, NLL %.6f",
            "converged" if converged else "stopped",
            n_iter,
            nll[-1],
        )

        order = _match(TRUE_MEANS, gmm.means_)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        labels = rank[gmm.predict(X)]
        proba = gmm.predict_proba(X)
        truth = np.repeat(np.arange(len(TRUE_WEIGHTS)), N_PER_COMPONENT)

        logger.info(
            "fitting K = %d..%d for BIC and AIC", SELECTION_KS[0], SELECTION_KS[-1]
        )
        bic, aic = _select(X)
        chosen_k = SELECTION_KS[int(np.argmin(bic))]

        logger.info("writing figures to %s", out)
        files = _write_figures(out, X, gmm, nll, snapshots, bic, aic, chosen_k)

    return DemoResult(
        out_dir=out,
        initial_means=initial_means,
        n_iter=n_iter,
        converged=converged,
        nll=nll,
        final_nll=nll[-1],
        true_weights=TRUE_WEIGHTS.copy(),
        true_means=TRUE_MEANS.copy(),
        true_covariances=TRUE_COVARIANCES.copy(),
        fitted_weights=np.asarray(gmm.weights_)[order],
        fitted_means=np.asarray(gmm.means_)[order],
        fitted_covariances=dense_covariances(gmm)[order],
        order=order,
        label_counts=np.bincount(labels, minlength=len(order)).tolist(),
        label_agreement=float(np.mean(labels == truth)),
        n_uncertain=int(np.sum(proba.max(axis=1) < 0.9)),
        ks=list(SELECTION_KS),
        bic=bic,
        aic=aic,
        chosen_k=chosen_k,
        files=files,
        elapsed_seconds=time.perf_counter() - start,
        data=X,
        snapshots=snapshots,
    )


# -------------------------------------------------------------------- summary
def _vector(v: Sequence[float]) -> str:
    return "(" + ", ".join(f"{x:6.3f}" for x in v) + ")"


def _matrix(m: np.ndarray) -> str:
    return "[" + "; ".join(" ".join(f"{x:6.3f}" for x in row) for row in m) + "]"


def format_summary(result: DemoResult) -> str:
    """The demo's numbers as plain text (what ``gmmkit demo`` prints)."""
    lines = [
        f"gmmkit demo: {len(result.data)} points from a 3-component Gaussian mixture "
        f"in 2-D (seed {SEED})",
        "",
        "EM from the notebook's start (equal weights, identity covariances)",
        "  initial means: " + ", ".join(_vector(m) for m in result.initial_means),
        f"  {'converged' if result.converged else 'stopped'} after {result.n_iter} "
        f"iterations (|change in total NLL| < {NLL_TOL:g})",
        f"  negative log-likelihood: start {result.nll[0]:.4f}, "
        f"final {result.final_nll:.6f}",
        "",
        "Recovered vs true parameters (fitted components matched to the true ones",
        "by nearest mean):",
        f"  {'k':>2}  {'':6}  {'weight':>6}  {'mean':>16}  "
        f"{'covariance [s11 s12; s21 s22]':>30}",
    ]
    r = result
    for k in range(len(r.true_weights)):
        for name, w, m, c in (
            ("true", r.true_weights, r.true_means, r.true_covariances),
            ("fitted", r.fitted_weights, r.fitted_means, r.fitted_covariances),
        ):
            lines.append(
                f"  {k if name == 'true' else '':>2}  {name:6}  {w[k]:6.3f}  "
                f"{_vector(m[k]):>16}  {_matrix(c[k]):>30}"
            )
    counts = ", ".join(str(c) for c in r.label_counts)
    lines += [
        "  (the notebook draws 200 points from every component, so the data's mixing",
        "  proportions are 1/3 each, whatever the true weights say)",
        "",
        f"Clustering (predict): {counts} points per component; "
        f"{100 * r.label_agreement:.1f}% of the",
        "  points are assigned to the component that generated them; "
        f"{r.n_uncertain} of {len(r.data)} have",
        "  max_k P(k|x) < 0.9 (predict_proba)",
        "",
        "Model selection (BIC and AIC, lower is better):",
        f"  {'K':>2}  {'BIC':>10}  {'AIC':>10}",
    ]
    for k, b, a in zip(result.ks, result.bic, result.aic, strict=True):
        mark = "  <- chosen" if k == result.chosen_k else ""
        lines.append(f"  {k:>2}  {b:10.2f}  {a:10.2f}{mark}")
    lines += [
        f"  chosen K = {result.chosen_k} (minimum BIC)",
        "",
        f"Figures written to {result.out_dir}:",
        *(f"  {p.name}" for p in result.files),
        f"Done in {result.elapsed_seconds:.1f} s.",
    ]
    return "\n".join(lines)
