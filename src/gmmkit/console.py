"""Application code of the command line: fits and selections with progress,
summaries, model-file facts, the report command.

The ``gmmkit`` commands (:mod:`gmmkit.cli`) parse arguments and call this
module; it calls the public API (``GaussianMixture(callback=...)``,
``select_model(callback=...)``, :func:`gmmkit.report.write_report`).

Progress is one line on stderr, redrawn in place, and only when stderr is a
terminal; nothing is written otherwise (pipes, files, ``--quiet``).

Start-up: importing this module loads only numpy and gmmkit's leaf modules.
The estimator, model selection and the report (which load scikit-learn,
scipy, pandas and matplotlib) are imported by the functions that use them,
so that ``gmmkit info``, ``--help`` and argument errors stay fast; those
imports go down the layers, never up.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ModelFileError

__all__ = [
    "_Progress",
    "_fit_model",
    "_format_summary",
    "_summary",
    "criteria",
    "file_summary",
    "make_report",
    "notice",
    "run_selection",
]


def notice(text: str) -> None:
    """A message for the user on stderr (``gmmkit: ...``)."""
    print(f"gmmkit: {text}", file=sys.stderr)


class _Progress:
    """A one-line progress display on stderr, shown only on a terminal.

    ``update(text)`` redraws the line, ``close()`` erases it.  ``fit_callback`` and
    ``selection_callback`` give the callbacks of ``GaussianMixture`` and
    ``select_model`` that draw into it, or None when nothing is shown.
    """

    def __init__(self, enabled: bool, stream: Any = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        try:
            tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            tty = False
        self.enabled = enabled and tty
        self._width = 0

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        pad = max(self._width - len(text), 0)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def fit_callback(
        self, label: str = "", bayesian: bool = False
    ) -> Callable[[Any], None] | None:
        """``callback`` for ``GaussianMixture`` (or ``BayesianGaussianMixture``
        when ``bayesian``): one line per iteration."""
        if not self.enabled:
            return None
        what = "variational iteration" if bayesian else "EM iteration"
        value = "lower bound" if bayesian else "mean log-likelihood"

        def on_iteration(p: Any) -> None:
            start = f"start {p.init + 1}, " if p.init else ""
            self.update(
                f"{label}{start}{what} {p.n_iter}: {value} "
                f"{p.lower_bound:.6f} (change {p.change:.2e})"
            )

        return on_iteration

    def selection_callback(self) -> Callable[[Any], None] | None:
        """``callback`` for ``select_model``: one line per finished grid cell."""
        if not self.enabled:
            return None

        def on_cell(c: Any) -> None:
            result = (
                f"failed: {c.error}"
                if c.error
                else f"BIC {c.bic:.4f}"
                if c.bic is not None
                else "done"
            )
            self.update(
                f"model selection {c.done}/{c.total}: {c.covariance_type} "
                f"K={c.n_components} {result}"[:160]
            )

        return on_cell


@contextlib.contextmanager
def no_name_warnings() -> Iterator[None]:
    """Silence scikit-learn's feature-name warnings (tables are matched by
    name before they reach the model)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names.*")
        yield


def _fit_model(
    X: Any,
    params: dict[str, Any],
    progress: _Progress,
    label: str = "",
    bayesian: bool = False,
) -> Any:
    """Fit one GaussianMixture (a BayesianGaussianMixture when ``bayesian``),
    showing the iterations on a terminal."""
    from sklearn.exceptions import ConvergenceWarning

    from .bayesian import BayesianGaussianMixture
    from .mixture import GaussianMixture

    estimator = BayesianGaussianMixture if bayesian else GaussianMixture
    gm = estimator(**params, callback=progress.fit_callback(label, bayesian))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            gm.fit(X)
    finally:
        progress.close()
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(
                w.message, w.category, w.filename, w.lineno, source=w.source
            )
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notice(
            f"{label}EM did not converge in {gm.max_iter} iterations; try a larger "
            "--max-iter or --tol, or more --n-init."
        )
    gm.callback = None  # a saved model holds no function
    return gm


def run_selection(
    X: np.ndarray,
    ks: Sequence[int],
    types: Sequence[str] | None,
    criterion: str = "bic",
    seed: int = 0,
    n_jobs: int | None = None,
    progress: _Progress | None = None,
    nan_policy: str = "raise",
) -> Any:
    """:func:`gmmkit.select_model` over ``ks`` and ``types``, with progress."""
    from .selection import select_model

    callback = None if progress is None else progress.selection_callback()
    if progress is not None:
        progress.update(f"model selection over K in {list(ks)} ...")
    try:
        return select_model(
            X,
            list(ks),
            list(types) if types else None,
            criterion,
            random_state=seed,
            n_jobs=n_jobs,
            callback=callback,
            nan_policy=nan_policy,
        )
    finally:
        if progress is not None:
            progress.close()


# --------------------------------------------------------------- summaries
def _summary(model: Any, X: np.ndarray | None, names: list[str] | None) -> dict:
    """A fitted model's numbers as a dict (JSON-able after conversion)."""
    out: dict[str, Any] = {
        "n_components": int(model.n_components),
        "covariance_type": str(model.covariance_type),
        "covariance_model": model._model().name,
        "n_features": int(model.n_features_in_),
        "feature_names": names,
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "n_parameters": int(model.n_parameters()),
        "weights": model.weights_,
        "means": model.means_,
        "covariances": model.covariances_,
    }
    if hasattr(model, "elbo_"):  # a BayesianGaussianMixture
        out.update(_bayesian_summary(model))
        if X is not None:
            with no_name_warnings():
                log_p = model.score_samples(X, predictive=True)
            out["n_samples"] = int(X.shape[0])
            out["predictive_log_likelihood"] = float(np.sum(log_p))
        return out
    if X is not None:
        with no_name_warnings():
            mean = float(model.score(X))  # one pass over the rows
        out.update(criteria(mean * X.shape[0], out["n_parameters"], X.shape[0]))
    return out


def _bayesian_summary(model: Any) -> dict[str, Any]:
    """What a variational fit adds to the summary."""
    return {
        "bayesian": True,
        "weight_concentration_prior_type": str(model.weight_concentration_prior_type),
        "n_effective_components": int(model.n_effective_components_),
        "elbo": float(model.elbo_),
        "lower_bound": float(np.ravel(model.lower_bound_)[0]),
    }


def score_rows(model: Any, X: np.ndarray) -> np.ndarray:
    """``log p(x)`` of each row (``gmmkit score --per-row``): for a Bayesian
    mixture the posterior predictive density (``score_samples(X,
    predictive=True)``), else the mixture's density."""
    with no_name_warnings():
        if hasattr(model, "elbo_"):  # a BayesianGaussianMixture
            return np.asarray(model.score_samples(X, predictive=True))
        return np.asarray(model.score_samples(X))


def score_summary(model: Any, X: np.ndarray) -> dict[str, Any]:
    """What ``gmmkit score`` reports of a model on X: total and mean
    log-likelihood with BIC and AIC, or for a Bayesian mixture the posterior
    predictive log-likelihood (BIC and AIC count the parameters of a
    point estimate and mean nothing for a variational posterior; compare
    variational fits by their held-out predictive log-likelihood or
    ``elbo_``)."""
    n = int(X.shape[0])
    if hasattr(model, "elbo_"):
        total = float(np.sum(score_rows(model, X)))
        return {
            "n_samples": n,
            "predictive_log_likelihood": total,
            "mean_predictive_log_likelihood": total / n,
        }
    with no_name_warnings():
        mean = float(model.score(X))
    crit = criteria(mean * n, model.n_parameters(), n)
    return {
        "n_samples": n,
        "log_likelihood": crit["log_likelihood"],
        "mean_log_likelihood": mean,
        "bic": crit["bic"],
        "aic": crit["aic"],
    }


def format_score(out: dict[str, Any]) -> str:
    """The text of ``gmmkit score`` for :func:`score_summary`'s numbers."""
    if "predictive_log_likelihood" in out:
        return (
            f"{out['n_samples']} rows: posterior predictive log-likelihood "
            f"{out['predictive_log_likelihood']:.6f} (mean "
            f"{out['mean_predictive_log_likelihood']:.6f}; higher is better; a "
            "variational fit has no BIC or AIC)"
        )
    return (
        f"{out['n_samples']} rows: log-likelihood {out['log_likelihood']:.6f} "
        f"(mean {out['mean_log_likelihood']:.6f}), BIC {out['bic']:.4f}, AIC "
        f"{out['aic']:.4f} (lower is better)"
    )


def criteria(log_likelihood: float, n_parameters: int, n_samples: int) -> dict:
    """``n_samples``, ``log_likelihood``, ``bic`` and ``aic`` (scikit-learn's
    sign: lower is better) from a total log-likelihood, so that the
    summaries need one pass over the data, not one per criterion."""
    from ._stats import information_criteria

    bic, aic, _ = information_criteria(log_likelihood, n_parameters, n_samples)
    return {
        "n_samples": int(n_samples),
        "log_likelihood": float(log_likelihood),
        "bic": float(bic),
        "aic": float(aic),
    }


def _format_summary(s: dict[str, Any]) -> str:
    """The text of ``gmmkit fit`` and ``gmmkit info``."""
    lines = [
        f"{s['n_components']} components, covariance {s['covariance_type']} "
        f"({s['covariance_model']}), {s['n_features']} features"
        + (f", {s['n_samples']} rows" if "n_samples" in s else ""),
        f"{'converged' if s['converged'] else 'did NOT converge'} after "
        f"{s['n_iter']} {'variational' if s.get('bayesian') else 'EM'} iterations",
    ]
    if s.get("bayesian"):
        lines.append(
            f"variational Bayes ({s['weight_concentration_prior_type']} prior): "
            f"{s['n_effective_components']} effective components (expected "
            f"weight above 1e-3); evidence lower bound {s['elbo']:.6f}"
        )
    if "predictive_log_likelihood" in s:
        lines.append(
            f"posterior predictive log-likelihood {s['predictive_log_likelihood']:.6f}"
        )
    if "log_likelihood" in s:
        lines.append(
            f"log-likelihood {s['log_likelihood']:.6f}  BIC {s['bic']:.4f}  "
            f"AIC {s['aic']:.4f}  ({s['n_parameters']} parameters; lower is better)"
        )
    names = s["feature_names"] or [f"x{j}" for j in range(s["n_features"])]
    lines.append("component  weight    mean (" + ", ".join(names) + ")")
    for k, (w, m) in enumerate(zip(s["weights"], s["means"])):
        lines.append(
            f"{k:>9}  {w:<8.4f}  " + "  ".join(f"{v:.6g}" for v in np.ravel(m))
        )
    return "\n".join(lines)


def file_summary(
    path: str, with_parameters: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metadata, summary)`` of a model file, read without building the
    estimator (so without scikit-learn): what ``gmmkit info`` prints.

    The file is validated as far as the summary needs: a readable gmmkit
    archive, the fitted arrays present, and weights and means of matching
    shapes.  ``with_parameters=False`` leaves ``n_parameters`` out of the
    summary unless the file records it (counting them imports the covariance
    models, and scipy with them; the text of ``gmmkit info`` does not show it).
    """
    from ._io import decode, fail, read_members, read_metadata_of

    p = Path(path)
    members = read_members(p)
    meta = read_metadata_of(p, members)
    attrs = meta["attributes"]
    values: dict[str, Any] = {}
    for name in ("weights_", "means_", "covariances_", "converged_", "n_iter_"):
        if name not in attrs:
            raise fail(p, f"the fitted attribute {name!r} is missing.")
        values[name] = decode(attrs[name], members, p, f"attribute {name!r}")
    weights = np.asarray(values["weights_"])
    means = np.asarray(values["means_"])
    if (
        weights.ndim != 1
        or means.ndim != 2
        or means.shape[0] != weights.shape[0]
        or means.dtype.kind != "f"
    ):
        raise fail(p, "weights_ and means_ do not describe the same components.")
    k, d = means.shape
    cov = meta.get("covariance_type")
    if not isinstance(cov, dict):
        raise ModelFileError(
            f"{p} is not a valid gmmkit model file: no covariance type."
        )
    names = meta.get("feature_names")
    # Files that record the number spare importing the covariance models
    # (and scipy with them): ``gmmkit info`` stays a fast command.
    training = meta.get("training")
    training = training if isinstance(training, dict) else {}
    n_parameters = meta.get("n_parameters", training.get("n_parameters"))
    if not isinstance(n_parameters, int) or isinstance(n_parameters, bool):
        n_parameters = (
            _n_parameters(str(cov.get("fitted")), k, d, p) if with_parameters else None
        )
    summary = {
        "n_components": int(k),
        "covariance_type": str(cov.get("fitted")),
        "covariance_model": str(cov.get("mclust")),
        "n_features": int(d),
        "feature_names": names if isinstance(names, list) else None,
        "converged": bool(values["converged_"]),
        "n_iter": int(values["n_iter_"]),
        "n_parameters": n_parameters,
        "weights": weights,
        "means": means,
        "covariances": np.asarray(values["covariances_"]),
    }
    if meta.get("kind") == "BayesianGaussianMixture":
        extra = {
            name: decode(attrs[name], members, p, f"attribute {name!r}")
            for name in ("elbo_", "n_effective_components_", "lower_bound_")
            if name in attrs
        }
        weight_type = meta["params"].get("weight_concentration_prior_type", {})
        if len(extra) == 3 and isinstance(weight_type, dict):
            summary.update(
                bayesian=True,
                weight_concentration_prior_type=str(weight_type.get("v")),
                n_effective_components=int(extra["n_effective_components_"]),
                elbo=float(extra["elbo_"]),
                lower_bound=float(np.ravel(extra["lower_bound_"])[0]),
            )
    return meta, summary


def _n_parameters(covariance_type: str, k: int, d: int, path: Path) -> int:
    """Free parameters of a mixture (files that do not record the number)."""
    from .covariance import get_model

    try:
        model = get_model(covariance_type)
    except ValueError:
        raise ModelFileError(
            f"{path} is not a valid gmmkit model file: covariance type "
            f"{covariance_type!r} is not known to this gmmkit."
        ) from None
    return int(model.n_cov_parameters(k, d) + k * d + k - 1)


# ------------------------------------------------------------------ report
def make_report(
    table: Any,
    path: str,
    *,
    n_components: int | None,
    ks: Sequence[int],
    covariance_types: Sequence[str] | None,
    fit_params: dict[str, Any],
    title: str | None,
    n_jobs: int | None,
    progress: _Progress,
    bayesian: bool = False,
) -> Path:
    """``gmmkit report``: :func:`gmmkit.report.write_report` with progress and
    a notice when the chosen model did not converge."""
    from .report import write_report

    try:
        out = write_report(
            table,
            path,
            n_components=n_components,
            ks=ks,
            covariance_types=covariance_types,
            fit_params=fit_params,
            title=title,
            n_jobs=n_jobs,
            fit_callback=progress.fit_callback(bayesian=bayesian),
            selection_callback=progress.selection_callback(),
            bayesian=bayesian,
        )
    finally:
        progress.close()
    return Path(out)
