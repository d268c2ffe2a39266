"""HTML views of a fitted mixture: the notebook table and the full report.

:func:`components_html` is the table a fitted :class:`GaussianMixture` adds to
scikit-learn's HTML display in Jupyter.  :func:`write_report` writes one
self-contained HTML page (inline CSS, images as base64 PNG, no script, no
network) with the data summary, the model selection table and plot, the
chosen model's parameters, cluster sizes, the plots and the EM history.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

__all__ = ["components_html", "write_report"]


def _num(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}"


def _cov_summary(gmm: Any) -> list[str]:
    """One short description of each component's covariance."""
    from .plotting import dense_covariances

    out = []
    for cov in dense_covariances(gmm):
        if cov.shape[0] == 1:
            out.append(f"var {_num(cov[0, 0])}")
            continue
        sd = np.sqrt(np.diag(cov))
        if np.allclose(cov, np.diag(np.diag(cov))):
            out.append("sd " + ", ".join(_num(s) for s in sd))
        else:
            corr = cov / np.outer(sd, sd)
            off = np.abs(corr[np.triu_indices(cov.shape[0], 1)])
            out.append(
                "sd "
                + ", ".join(_num(s, 3) for s in sd)
                + f"; max |corr| {_num(float(off.max()), 3)}"
            )
    return out


def components_html(gmm: Any) -> str:
    """A small HTML table of a fitted mixture's components.

    One row per component: weight, mean and a covariance summary (standard
    deviations, and the largest absolute correlation when the covariance is
    not diagonal).  Used by ``GaussianMixture._repr_html_`` in notebooks.
    """
    means = np.asarray(gmm.means_)
    weights = np.asarray(gmm.weights_)
    names = getattr(gmm, "feature_names_in_", None)
    header = ", ".join(html.escape(str(n)) for n in names) if names is not None else ""
    rows = []
    for k, (w, mu, cov) in enumerate(zip(weights, means, _cov_summary(gmm))):
        mean = ", ".join(_num(float(m)) for m in mu)
        rows.append(
            f"<tr><td>{k}</td><td>{_num(float(w))}</td><td>[{mean}]</td>"
            f"<td>{html.escape(cov)}</td></tr>"
        )
    model = gmm._model() if hasattr(gmm, "_model") else None
    kind = f"{gmm.covariance_type}" + (f" ({model.name})" if model else "")
    status = "converged" if getattr(gmm, "converged_", False) else "not converged"
    caption = (
        f"{len(weights)} components, covariance {html.escape(kind)}, "
        f"{means.shape[1]} features; {status} after "
        f"{getattr(gmm, 'n_iter_', '?')} iterations"
    )
    mean_head = f"mean ({header})" if header else "mean"
    return (
        '<div class="gmmkit-components" style="overflow-x:auto">'
        f'<table style="border-collapse:collapse"><caption>{caption}</caption>'
        f"<thead><tr><th>component</th><th>weight</th><th>{mean_head}</th>"
        "<th>covariance</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


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
    import base64
    import io

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
    fit_params: dict[str, Any],
    progress: Any,
    n_jobs: int | None = None,
) -> tuple[list[dict[str, Any]], Any, str, Any]:
    """Rows of the selection table, the best model, how it was done, the
    select_model result (or None)."""
    try:
        from .selection import select_model  # noqa: F401

        available = True
    except ImportError:
        available = False
    if available:
        from .cli import run_selection

        if progress is not None:
            progress.update(f"model selection over K in {ks} ...")
        try:
            result = run_selection(
                X, ks, types, "bic", fit_params.get("random_state", 0), n_jobs
            )
        finally:
            if progress is not None:
                progress.close()
        frame = result.table
        rows = frame.to_dict("records")
        return rows, result.best_, "gmmkit.select_model (BIC, lower is better)", result
    # Without select_model: a plain BIC grid over the scikit-learn models.
    from .cli import _fit_model

    rows = []
    best = None
    for ct in types or ["full", "tied", "diag", "spherical"]:
        for k in ks:
            params = {**fit_params, "n_components": k, "covariance_type": ct}
            label = f"{ct} K={k}: "
            try:
                gm = _fit_model(X, params, progress, label)
            except Exception as exc:  # noqa: BLE001 - a failed cell is a row
                rows.append(
                    {"covariance_type": ct, "n_components": k, "error": str(exc)}
                )
                continue
            bic = float(gm.bic(X))
            rows.append(
                {
                    "covariance_type": ct,
                    "n_components": k,
                    "log_likelihood": float(gm.log_likelihood_history_[-1]),
                    "n_parameters": gm.n_parameters(),
                    "bic": bic,
                    "aic": float(gm.aic(X)),
                    "converged": bool(gm.converged_),
                    "error": "",
                }
            )
            if best is None or bic < best[0]:
                best = (bic, gm)
    if best is None:
        from ._errors import FitError

        raise FitError("every model of the selection grid failed to fit.")
    return rows, best[1], "BIC grid over K and covariance type (lower is better)", None


def _selection_plot(rows: list[dict[str, Any]], result: Any, best: Any) -> Any:
    from matplotlib.figure import Figure

    from .plotting import plot_criterion

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    if result is not None and hasattr(result, "plot"):
        result.plot(ax=ax)
        return fig
    ks = sorted({int(r["n_components"]) for r in rows})
    curves = {}
    for ct in dict.fromkeys(r["covariance_type"] for r in rows):
        by_k = {
            int(r["n_components"]): r.get("bic", np.nan)
            for r in rows
            if r["covariance_type"] == ct
        }
        curves[str(ct)] = [
            float("nan") if by_k.get(k) is None else float(by_k[k]) for k in ks
        ]
    plot_criterion(ks, curves, ax=ax, best=best.n_components, title="BIC by model")
    ax.set_ylabel("BIC (lower is better)")
    return fig


def _data_section(table: Any) -> str:
    X = table.X
    rows = []
    for j, name in enumerate(table.feature_names):
        col = X[:, j]
        rows.append(
            [
                str(name),
                _fmt(col.mean()),
                _fmt(col.std(ddof=1) if len(col) > 1 else 0.0),
                _fmt(col.min()),
                _fmt(np.median(col)),
                _fmt(col.max()),
            ]
        )
    notices = "".join(
        f'<p class="notice">{html.escape(n)}</p>' for n in getattr(table, "notices", [])
    )
    return (
        f"<p>{X.shape[0]} rows, {X.shape[1]} numeric columns from "
        f"<code>{html.escape(str(table.source))}</code>.</p>{notices}"
        + _table(
            ["column", "mean", "sd", "min", "median", "max"],
            rows,
            cls="data-summary",
        )
    )


def _parameters_section(gm: Any, names: list[str]) -> str:
    from .plotting import dense_covariances

    covs = dense_covariances(gm)
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


def _plots(gm: Any, X: np.ndarray, names: list[str]) -> list[str]:
    from matplotlib.figure import Figure

    from . import plotting

    d = X.shape[1]
    out = []
    if d == 1:
        fig = Figure(figsize=(6.4, 4.4))
        plotting.plot_1d(gm, X, ax=fig.subplots())
        out.append(
            _figure_html(
                _png(fig),
                "histogram with the mixture",
                "Histogram with the mixture density (black) and its "
                "weighted components (dashed).",
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
                "each component and contours of the mixture density.",
            )
        )
        fig = Figure(figsize=(6.4, 5.0))
        plotting.plot_uncertainty(gm, X, ax=fig.subplots())
        out.append(
            _figure_html(
                _png(fig),
                "classification uncertainty",
                "Classification uncertainty 1 - max_k P(k | x): "
                "larger and brighter points are less certain.",
            )
        )
    else:
        shown = min(d, 6)
        fig = Figure(figsize=(2.2 * shown, 2.2 * shown))
        axes = fig.subplots(shown, shown, squeeze=False)
        sub = _submodel(gm, shown) if shown < d else gm
        plotting.plot_pairs(sub, X[:, :shown], axes=axes, feature_names=names[:shown])
        note = "" if shown == d else f" (first {shown} of {d} features)"
        out.append(
            _figure_html(
                _png(fig, dpi=80),
                "pairs plot",
                "Pairs plot: clusters and 1/2-sigma ellipses of every "
                f"pair of features, marginal densities{note}.",
            )
        )
    fig = Figure(figsize=(6.4, 4.2))
    plotting.plot_nll(-np.asarray(gm.log_likelihood_history_), ax=fig.subplots())
    out.append(
        _figure_html(
            _png(fig),
            "negative log-likelihood per EM iteration",
            "Negative log-likelihood per EM iteration (log scale).",
        )
    )
    return out


def _em_animation(gm: Any, X: np.ndarray, params: dict[str, Any]) -> str | None:
    """A GIF (base64) of EM from a k-means start, for two-feature data.

    EM is replayed one iteration at a time (``warm_start``) with the chosen
    model's K and covariance type; at most 60 iterations are shown.
    """
    import tempfile
    import warnings
    from pathlib import Path

    from sklearn.exceptions import ConvergenceWarning

    from .mixture import GaussianMixture
    from .plotting import Snapshot, animate_em

    if X.shape[1] != 2:
        return None
    replay = GaussianMixture(
        gm.n_components,
        covariance_type=gm.covariance_type,
        reg_covar=params.get("reg_covar", 1e-6),
        init_params=params.get("init_params", "kmeans"),
        random_state=params.get("random_state", 0),
        max_iter=0,
    )
    tol = params.get("tol", 1e-3)
    snapshots = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        replay.fit(X)
        snapshots.append(Snapshot.from_model(replay, 0))
        replay.set_params(warm_start=True, max_iter=1)
        previous = replay.log_likelihood_history_[-1]
        for iteration in range(1, 61):
            replay.fit(X)
            snapshots.append(Snapshot.from_model(replay, iteration))
            current = replay.log_likelihood_history_[-1]
            if abs(current - previous) < tol * len(X):
                break
            previous = current
    with tempfile.TemporaryDirectory(prefix="gmmkit-report-") as folder:
        gif = Path(folder) / "em.gif"
        animate_em(snapshots, X, gif, fps=6.0)
        import base64

        return base64.b64encode(gif.read_bytes()).decode("ascii")


def _submodel(gm: Any, d: int) -> Any:
    """The mixture's marginal on the first ``d`` features (dense covariances)."""
    from types import SimpleNamespace

    from .plotting import dense_covariances

    cov = dense_covariances(gm)[:, :d, :d]
    return SimpleNamespace(
        weights_=gm.weights_,
        means_=gm.means_[:, :d],
        covariances_=cov,
        covariance_type="full",
        n_features_in_=d,
    )


def write_report(
    table: Any,
    path: Any,
    *,
    n_components: int | None = None,
    ks: Any = (1, 2, 3, 4, 5, 6),
    covariance_types: Any = None,
    fit_params: dict[str, Any] | None = None,
    title: str | None = None,
    progress: Any = None,
    n_jobs: int | None = None,
) -> Any:
    """Fit ``table.X`` and write a self-contained HTML report to ``path``.

    Parameters
    ----------
    table : gmmkit._dataio.Table or ndarray
        The data (an array is named ``x0, x1, ...``).
    path : str or path
        The HTML file, written atomically.
    n_components : int, optional
        Fit this K with ``fit_params["covariance_type"]``; default: choose the
        model and K by BIC (with :func:`gmmkit.select_model` when available).
    ks, covariance_types : what the selection tries.
    fit_params : dict
        GaussianMixture parameters (seed, n_init, ...).
    title : str, optional
    progress : object with ``update(text)`` and ``close()``, optional
    n_jobs : int, optional
        Parallel fits of :func:`gmmkit.select_model` (default: its own).

    Returns
    -------
    path : pathlib.Path
    """
    import datetime as dt
    import warnings

    from ._atomic import atomic_write
    from ._dataio import Table
    from ._version import __version__

    if not isinstance(table, Table):
        X = np.asarray(table, dtype=np.float64)
        X = X[:, None] if X.ndim == 1 else X
        table = Table(X, [f"x{j}" for j in range(X.shape[1])], False, "array")
    if progress is None:
        from .cli import _Progress

        progress = _Progress(False)
    X = table.X
    names = [str(n) for n in table.feature_names]
    params = {"random_state": 0, **(fit_params or {})}
    params.pop("n_components", None)
    sections = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names.*")
        if n_components is None:
            rows, gm, how, result = _selection(
                X, list(ks), covariance_types, params, progress, n_jobs
            )
        else:
            from .cli import _fit_model

            gm = _fit_model(X, {**params, "n_components": n_components}, progress)
            rows, how, result = [], "", None
        labels = gm.predict(X)
        resp = gm.predict_proba(X)
        bic = float(gm.bic(X))

    sections.append(("Data", _data_section(table)))
    if rows:
        from .selection import TABLE_COLUMNS

        cols = [
            c for c in TABLE_COLUMNS if c != "n_iter" and any(c in r for r in rows)
        ]
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
        fig = _selection_plot(rows, result, gm)
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
    sections.append(
        (
            "Chosen model",
            f"<p>{gm.n_components} components, covariance <b>"
            f"{html.escape(str(gm.covariance_type))}</b> (mclust {model.name}); "
            f"{'converged' if gm.converged_ else 'did not converge'} after "
            f"{gm.n_iter_} EM iterations; log-likelihood "
            f'<span class="loglik">{_fmt(gm.log_likelihood_history_[-1], 10)}</span>, '
            f'BIC <span class="bic">{_fmt(bic, 10)}</span> '
            f"({gm.n_parameters()} parameters).</p>" + _parameters_section(gm, names),
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
        gif = _em_animation(gm, X, params)
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
    history = np.asarray(gm.log_likelihood_history_)
    hist_rows = [
        [str(i), _fmt(v, 12), "" if i == 0 else _fmt(v - history[i - 1], 4)]
        for i, v in enumerate(history)
    ]
    sections.append(
        (
            "EM history",
            _table(["iteration", "log-likelihood", "change"], hist_rows, cls="history"),
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
