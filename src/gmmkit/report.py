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

__all__ = ["components_html"]


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
            out.append("sd " + ", ".join(_num(s, 3) for s in sd))
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
