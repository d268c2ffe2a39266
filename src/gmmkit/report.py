"""The self-contained HTML report of a fit.

:func:`write_report` fits a mixture (or chooses one with
:func:`gmmkit.select_model`) and writes one HTML page (inline CSS, images as
base64 PNG/GIF, no script, no network) with the data summary, the model
selection table and plot, the chosen model's parameters, cluster sizes, the
plots and the EM history.  Progress goes through the estimator's and the
selection's public ``callback`` hooks; ``gmmkit report`` passes ones that
draw on the terminal.  :func:`components_html` (the notebook table) is
re-exported from :mod:`gmmkit._summary`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import plotting
from ._atomic import atomic_write, check_writable
from ._summary import components_html
from ._table import Table
from ._version import __version__
from .bayesian import BayesianGaussianMixture
from .mixture import GaussianMixture
from .selection import TABLE_COLUMNS, select_model

__all__ = ["components_html", "write_report"]

#: Features shown in the pairs plot of wider data.
PAIRS_MAX_FEATURES = 6


# ------------------------------------------------------------------ report
_CSS = """
:root{color-scheme:light;--fg:#1d232a;--muted:#5b6672;--line:#d7dde3;--bg:#fff;
--band:#f4f6f8;--accent:#2463a6}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .4em;
border-bottom:2px solid var(--line);padding-bottom:.2em}
h3{font-size:1.05em;margin:1em 0 .3em}
p.meta{color:var(--muted);margin:.2em 0 1em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.4em 0 1em;
border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;width:100%}
th,td{padding:4px 10px;text-align:right;white-space:nowrap;
border-bottom:1px solid var(--line)}
th{background:var(--band);position:sticky;top:0}
td:first-child,th:first-child{text-align:left}
tr.best td{background:#e6f0fb;font-weight:600}
caption{caption-side:top;text-align:left;padding:6px 10px;color:var(--muted)}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}
figure img{width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:.9em;margin-top:4px}
.notice{background:#fff8e1;border:1px solid #f0d58c;border-radius:6px;padding:6px 10px}
@media (max-width:600px){body{font-size:14px}main{padding:10px}
th,td{padding:3px 6px}}
"""


def _png(fig: Any, dpi: float = 100.0) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(b64: str, alt: str, caption: str, mime: str = "image/png") -> str:
    return (
        f'<figure><img src="data:{mime};base64,{b64}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table(
    header: list[str],
    rows: list[list[str]],
    caption: str = "",
    cls: str = "",
    row_classes: list[str] | None = None,
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        rc = row_classes[i] if row_classes else ""
        attr = f' class="{rc}"' if rc else ""
        body.append(
            f"<tr{attr}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<div class="scroll"><table{klass}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _fmt(value: Any, digits: int = 6) -> str:
    """Numbers as text with ``digits`` significant digits (blank for None/NaN)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{float(value):.{digits}g}"
    return str(value)


def _selection(
    X: np.ndarray,
    ks: list[int],
    types: list[str] | None,
    seed: Any,
    n_jobs: int | None,
    callback: Callable[[Any], None] | None,
    nan_policy: str = "raise",
) -> Any:
    """:func:`gmmkit.select_model` by BIC over ``ks`` and ``types``."""
    return select_model(
        X,
        list(ks),
        list(types) if types else None,
        "bic",
        random_state=seed,
        n_jobs=n_jobs,
        callback=callback,
        nan_policy=nan_policy,
    )


def _selection_plot(result: Any) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4))
    result.plot(ax=fig.subplots())
    return fig


def _data_section(table: Any) -> str:
    """The data's size, its missing values (if any) and each column's summary
    (of its observed values)."""
    X = table.X
    missing = np.isnan(X)
    n_missing = int(missing.sum())
    rows = []
    for j, name in enumerate(table.feature_names):
        col = X[~missing[:, j], j]
        if col.size == 0:  # (a fit refuses such a column)
            stats = [float("nan")] * 5
        else:
            spread = col.std(ddof=1) if col.size > 1 else 0.0
            stats = [col.mean(), spread, col.min(), np.median(col), col.max()]
        rows.append(
            [str(name), *[_fmt(v) for v in stats]]
            + ([str(int(missing[:, j].sum()))] if n_missing else [])
        )
    notices = "".join(
        f'<p class="notice">{html.escape(n)}</p>' for n in getattr(table, "notices", [])
    )
    holes = ""
    if n_missing:
        rows_with = int(missing.any(axis=1).sum())
        holes = (
            f'<p class="missing"><span class="n-missing">{n_missing}</span> of '
            f"{X.size} entries ({n_missing / X.size:.1%}) are missing, in "
            f"{rows_with} of {X.shape[0]} rows; the model is fitted to the "
            "observed values (nan_policy='marginalize': missing values are "
            "integrated out, not filled in), and the column summaries are of "
            "the observed values.</p>"
        )
    return (
        f"<p>{X.shape[0]} rows, {X.shape[1]} numeric columns from "
        f"<code>{html.escape(str(table.source))}</code>.</p>{holes}{notices}"
        + _table(
            ["column", "mean", "sd", "min", "median", "max"]
            + (["missing"] if n_missing else []),
            rows,
            cls="data-summary",
        )
    )


def _parameters_section(gm: Any, names: list[str]) -> str:
    covs = plotting.dense_covariances(gm)
    parts = [
        _table(
            ["component", "weight", *[f"mean {n}" for n in names]],
            [
                [str(k), _fmt(w), *[_fmt(v) for v in mu]]
                for k, (w, mu) in enumerate(zip(gm.weights_, gm.means_))
            ],
            caption="weights and means",
            cls="parameters",
        )
    ]
    for k, cov in enumerate(covs):
        parts.append(
            _table(
                ["", *names],
                [[n, *[_fmt(v) for v in row]] for n, row in zip(names, cov)],
                caption=f"covariance of component {k}",
                cls=f"covariance component-{k}",
            )
        )
    return "".join(parts)


def _drawn(X: np.ndarray, features: int) -> tuple[np.ndarray, str]:
    """The rows of X observed on its first ``features`` features (only those
    can be drawn there) and a note saying how many were left out."""
    keep = ~np.isnan(X[:, :features]).any(axis=1)
    left = int(X.shape[0] - keep.sum())
    note = f" ({left} rows with a missing value there are not drawn.)" if left else ""
    return X[keep], note


def _plots(gm: Any, X: np.ndarray, names: list[str]) -> list[str]:
    from matplotlib.figure import Figure

    d = X.shape[1]
    X, note = _drawn(X, min(d, PAIRS_MAX_FEATURES))
    out = []
    if X.shape[0] == 0:
        out.append(f'<p class="notice">No rows to draw.{note}</p>')
    elif d == 1:
        fig = Figure(figsize=(6.4, 4.4))
        plotting.plot_1d(gm, X, ax=fig.subplots())
        out.append(
            _figure_html(
                _png(fig),
                "histogram with the mixture",
                "Histogram with the mixture density (black) and its "
                "weighted components (dashed)." + note,
            )
        )
    elif d == 2:
        fig = Figure(figsize=(6.4, 5.0))
        ax = plotting.plot_mixture(gm, X, ax=fig.subplots())
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        out.append(
            _figure_html(
                _png(fig),
                "clusters with ellipses",
                "Rows coloured by cluster, 1/2/3-sigma ellipses of "
                "each component and contours of the mixture density." + note,
            )
        )
        fig = Figure(figsize=(6.4, 5.0))
        plotting.plot_uncertainty(gm, X, ax=fig.subplots())
        out.append(
            _figure_html(
                _png(fig),
                "classification uncertainty",
                "Classification uncertainty 1 - max_k P(k | x): "
                "larger and brighter points are less certain." + note,
            )
        )
    else:
        shown = min(d, PAIRS_MAX_FEATURES)
        fig = Figure(figsize=(2.2 * shown, 2.2 * shown))
        axes = fig.subplots(shown, shown, squeeze=False)
        # the marginal of the fitted model on the first features; points
        # coloured by the fitted model's labels (computed on every feature)
        plotting.plot_pairs(
            gm,
            X,
            axes=axes,
            labels=gm.predict(X),
            feature_names=names,
            features=list(range(shown)),
        )
        first = "" if shown == d else f" (first {shown} of {d} features)"
        out.append(
            _figure_html(
                _png(fig, dpi=80),
                "pairs plot",
                "Pairs plot: clusters and 1/2-sigma ellipses of every "
                f"pair of features, marginal densities{first}." + note,
            )
        )
    fig = Figure(figsize=(6.4, 4.2))
    history, what = _history(gm)
    title = f"Negative {what} per {_iterations(gm)[:-1]}"
    plotting.plot_nll(-history, ax=fig.subplots(), title=title)
    out.append(_figure_html(_png(fig), title[0].lower() + title[1:], f"{title}."))
    return out


def _history(gm: Any) -> tuple[np.ndarray, str]:
    """The fit's objective per iteration and its name: the log-likelihood of
    EM, the bound of variational Bayes (scikit-learn's ``lower_bounds_``)."""
    if isinstance(gm, BayesianGaussianMixture):
        return np.ravel(np.asarray(gm.lower_bounds_, dtype=np.float64)), "lower bound"
    return np.asarray(gm.log_likelihood_history_), "log-likelihood"


def _iterations(gm: Any) -> str:
    bayesian = isinstance(gm, BayesianGaussianMixture)
    return "variational iterations" if bayesian else "EM iterations"


def _em_animation(gm: Any, X: np.ndarray, params: dict[str, Any]) -> str | None:
    """A GIF (base64) of EM from a k-means start, for two-feature data.

    EM is replayed one iteration at a time (``warm_start``) with the chosen
    model's K and covariance type; at most 60 iterations are shown.
    """
    if X.shape[1] != 2:
        return None
    replay = GaussianMixture(
        gm.n_components,
        covariance_type=gm.covariance_type,
        reg_covar=params.get("reg_covar", 1e-6),
        init_params=params.get("init_params", "kmeans"),
        random_state=params.get("random_state", 0),
        nan_policy=params.get("nan_policy", "raise"),
        max_iter=0,
    )
    tol = params.get("tol", 1e-3)
    snapshots = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        replay.fit(X)
        snapshots.append(plotting.Snapshot.from_model(replay, 0))
        replay.set_params(warm_start=True, max_iter=1)
        previous = replay.log_likelihood_history_[-1]
        for iteration in range(1, 61):
            replay.fit(X)
            snapshots.append(plotting.Snapshot.from_model(replay, iteration))
            current = replay.log_likelihood_history_[-1]
            if abs(current - previous) < tol * len(X):
                break
            previous = current
    drawn, _ = _drawn(X, 2)
    if drawn.shape[0] == 0:
        return None
    with tempfile.TemporaryDirectory(prefix="gmmkit-report-") as folder:
        gif = Path(folder) / "em.gif"
        plotting.animate_em(snapshots, drawn, gif, fps=6.0)
        return base64.b64encode(gif.read_bytes()).decode("ascii")


def write_report(
    table: Any,
    path: Any,
    *,
    n_components: int | None = None,
    ks: Any = (1, 2, 3, 4, 5, 6),
    covariance_types: Any = None,
    fit_params: dict[str, Any] | None = None,
    title: str | None = None,
    n_jobs: int | None = None,
    fit_callback: Callable[[Any], None] | None = None,
    selection_callback: Callable[[Any], None] | None = None,
    bayesian: bool = False,
) -> Path:
    """Fit ``table.X`` and write a self-contained HTML report to ``path``.

    Parameters
    ----------
    table : gmmkit._table.Table or array-like of shape (n_samples, n_features)
        The data (an array's columns are named ``x0, x1, ...``).
    path : str or path
        The HTML file, written atomically.
    n_components : int, optional
        Fit this K with ``fit_params["covariance_type"]``; default: choose the
        covariance model and K by BIC with :func:`gmmkit.select_model`.
    ks : sequence of int, default=(1, ..., 6)
        Numbers of components the selection tries.
    covariance_types : sequence of str, optional
        Covariance models the selection tries (default: select_model's).
    fit_params : dict, optional
        GaussianMixture parameters (``random_state``, ``n_init``, ...); the
        selection uses ``random_state`` only.
    title : str, optional
    n_jobs : int, optional
        Parallel fits of :func:`gmmkit.select_model` (default: its own).
    fit_callback : callable, optional
        ``callback`` of the fit (with ``n_components``): receives a
        :class:`gmmkit.FitProgress` after each EM iteration.
    selection_callback : callable, optional
        ``callback`` of the selection: receives a
        :class:`gmmkit.SelectionProgress` after each grid cell.
    bayesian : bool, default=False
        Fit a :class:`gmmkit.BayesianGaussianMixture` (``fit_params`` are its
        parameters) with ``n_components`` (default: the largest of ``ks``)
        as an upper bound instead of choosing K by BIC; the page shows its
        effective components, the evidence lower bound and the bound per
        iteration.

    Returns
    -------
    path : pathlib.Path
    """
    path = check_writable(path)  # before the fits and the drawing
    if not isinstance(table, Table):
        X = np.asarray(table, dtype=np.float64)
        X = X[:, None] if X.ndim == 1 else X
        table = Table(X, [f"x{j}" for j in range(X.shape[1])], False, "array")
    X = table.X
    names = [str(n) for n in table.feature_names]
    params = {"random_state": 0, **(fit_params or {})}
    params.pop("n_components", None)
    sections = []
    rows: list[dict[str, Any]] = []
    result = None
    bic = None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names.*")
        if bayesian:
            warnings.simplefilter("ignore", ConvergenceWarning)
            k = n_components or max(int(v) for v in ks)
            gm = BayesianGaussianMixture(k, **params, callback=fit_callback)
            gm.fit(X)
            gm.callback = None
        elif n_components is None:
            result = _selection(
                X,
                list(ks),
                covariance_types,
                params["random_state"],
                n_jobs,
                selection_callback,
                params.get("nan_policy", "raise"),
            )
            rows = result.table.to_dict("records")
            gm = result.best_
        else:
            # the page says whether EM converged; no warning needed
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm = GaussianMixture(n_components, **params, callback=fit_callback)
            gm.fit(X)
            gm.callback = None
        labels = gm.predict(X)
        resp = gm.predict_proba(X)
        if not bayesian:
            bic = float(gm.bic(X))

    sections.append(("Data", _data_section(table)))
    if result is not None:
        how = "gmmkit.select_model (BIC, lower is better)"
        cols = [c for c in TABLE_COLUMNS if c != "n_iter" and any(c in r for r in rows)]
        chosen = (str(gm.covariance_type), int(gm.n_components))
        order = sorted(
            range(len(rows)),
            key=lambda i: (
                not np.isfinite(float(rows[i].get("bic") or np.nan)),
                float(rows[i].get("bic") or 0.0)
                if np.isfinite(float(rows[i].get("bic") or np.nan))
                else 0.0,
            ),
        )
        body = [[_fmt(rows[i].get(c)) for c in cols] for i in order]
        classes = [
            "best"
            if (
                str(rows[i].get("covariance_type")),
                int(rows[i].get("n_components", -1)),
            )
            == chosen
            else ""
            for i in order
        ]
        fig = _selection_plot(result)
        sections.append(
            (
                "Model selection",
                f"<p>{html.escape(how)}; chosen: <b>{html.escape(chosen[0])}</b> with "
                f"<b>K = {chosen[1]}</b> (highlighted).</p>"
                + _table(cols, body, cls="selection", row_classes=classes)
                + '<div class="figs">'
                + _figure_html(
                    _png(fig),
                    "criterion against K",
                    "BIC against the number of components, one line per "
                    "covariance model (lower is better).",
                )
                + "</div>",
            )
        )
    model = gm._model()
    if bic is None:  # variational Bayes
        fit_text = (
            f'evidence lower bound <span class="elbo">{_fmt(gm.elbo_, 10)}</span>; '
            f'<b class="effective">{gm.n_effective_components_}</b> effective '
            "components (expected weight above 1e-3) under the "
            f"{html.escape(str(gm.weight_concentration_prior_type))} prior"
        )
    else:
        fit_text = (
            "log-likelihood "
            f'<span class="loglik">{_fmt(gm.log_likelihood_history_[-1], 10)}</span>, '
            f'BIC <span class="bic">{_fmt(bic, 10)}</span> '
            f"({gm.n_parameters()} parameters)"
        )
    sections.append(
        (
            "Chosen model",
            f"<p>{gm.n_components} components, covariance <b>"
            f"{html.escape(str(gm.covariance_type))}</b> (mclust {model.name}); "
            f"{'converged' if gm.converged_ else 'did not converge'} after "
            f"{gm.n_iter_} {_iterations(gm)}; {fit_text}.</p>"
            + _parameters_section(gm, names),
        )
    )
    counts = np.bincount(labels, minlength=gm.n_components)
    soft = resp.sum(axis=0)
    sections.append(
        (
            "Cluster sizes",
            _table(
                [
                    "component",
                    "rows (hard labels)",
                    "share",
                    "expected rows (sum of P)",
                ],
                [
                    [str(k), str(int(c)), f"{c / len(labels):.1%}", _fmt(s, 6)]
                    for k, (c, s) in enumerate(zip(counts, soft))
                ],
                cls="sizes",
            ),
        )
    )
    figs = _plots(gm, X, names)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names.*")
        gif = None if bayesian else _em_animation(gm, X, params)
    if gif is not None:
        figs.append(
            _figure_html(
                gif,
                "animation of the EM iterations",
                f"EM iteration by iteration from a k-means start (K = "
                f"{gm.n_components}, {gm.covariance_type}), 1 and 2 sigma ellipses.",
                mime="image/gif",
            )
        )
    sections.append(("Plots", '<div class="figs">' + "".join(figs) + "</div>"))
    history, what = _history(gm)
    hist_rows = [
        [str(i), _fmt(v, 12), "" if i == 0 else _fmt(v - history[i - 1], 4)]
        for i, v in enumerate(history)
    ]
    sections.append(
        (
            "EM history" if bic is not None else "Iterations",
            _table(["iteration", what, "change"], hist_rows, cls="history"),
        )
    )

    title = title or f"gmmkit report: {table.source}"
    created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    main_html = "".join(
        f'<section id="{html.escape(h.lower().replace(" ", "-"))}"><h2>'
        f"{html.escape(h)}</h2>{content}</section>"
        for h, content in sections
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>"
        f'<p class="meta">Gaussian mixture fitted by gmmkit {__version__} on '
        f"{created}.</p>{main_html}</main></body></html>\n"
    )

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(page)

    return atomic_write(path, write)
