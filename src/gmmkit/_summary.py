"""The table of components a fitted mixture shows in Jupyter.

:func:`components_html` is appended to scikit-learn's HTML display of a
fitted :class:`gmmkit.GaussianMixture` (``_repr_html_``) and reused by the
HTML report.
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
    k, d = np.shape(gmm.means_)
    out = []
    for cov in gmm._model().dense(np.asarray(gmm.covariances_), k, d):
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
    kind = f"{gmm.covariance_type} ({gmm._model().name})"
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
