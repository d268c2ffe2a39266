"""The ``gmmkit`` command line.

``gmmkit COMMAND [options]``; also ``python -m gmmkit``.  Each command is a
subparser registered by one ``_add_<command>`` function that sets its handler
(``args.handler(args) -> int``), so new commands are added without touching
:func:`main`.  Data is read by :mod:`gmmkit._dataio` (CSV/TSV, Parquet, .npy,
CSV on stdin), models by :mod:`gmmkit._io`.

Exit codes: 0 success, 1 the work failed (bad data, a failed fit, an
unreadable model; one line on stderr naming the file, line and column where
it applies), 2 usage error (argparse's own message), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import GMMError, InvalidParameterError
from ._version import __version__

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_RAW = argparse.RawDescriptionHelpFormatter

_EXAMPLES = """\
examples:
  gmmkit fit data.csv -k 3 -o model.gmm      fit 3 components, save the model
  gmmkit predict model.gmm data.csv          cluster labels, one per row
  gmmkit predict model.gmm data.csv --proba -o probs.csv
  gmmkit select data.csv                     BIC table over models and K
  gmmkit report data.csv -o report.html      one self-contained HTML report
  cat data.csv | gmmkit fit - -k 2 --json    CSV on standard input
  gmmkit demo                                the EM walkthrough, figures in
                                             ./gmmkit-demo
  gmmkit COMMAND --help                      options of one command

Data: CSV/TSV (header detected; text columns left out with a notice),
Parquet (needs pip install 'gmmkit[data]'), .npy, or '-' for CSV on stdin.
Exit codes: 0 ok, 1 bad data or failed fit, 2 usage error.
"""


# ------------------------------------------------------------------ helpers
class _Progress:
    """A one-line progress display on stderr, shown only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._width = 0

    def update(self, text: str) -> None:
        if self.enabled:
            pad = max(self._width - len(text), 0)
            sys.stderr.write("\r" + text + " " * pad)
            sys.stderr.flush()
            self._width = len(text)

    def close(self) -> None:
        if self.enabled and self._width:
            sys.stderr.write("\r" + " " * self._width + "\r")
            sys.stderr.flush()
            self._width = 0


def _notice(text: str) -> None:
    print(f"gmmkit: {text}", file=sys.stderr)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data options")
    group.add_argument(
        "--columns",
        "-c",
        metavar="COLS",
        help="comma-separated column names or 0-based indices (default: every "
        "numeric column)",
    )
    header = group.add_mutually_exclusive_group()
    header.add_argument(
        "--header",
        dest="header",
        action="store_const",
        const=True,
        default=None,
        help="the first CSV row is a header (default: detected)",
    )
    header.add_argument(
        "--no-header",
        dest="header",
        action="store_const",
        const=False,
        help="the first CSV row is data",
    )
    group.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="CSV field separator (default: tab for .tsv, else sniffed: , ; or tab)",
    )
    group.add_argument(
        "--format",
        dest="fmt",
        choices=("csv", "tsv", "parquet", "npy"),
        help="data format (default: from the extension; '-' is CSV)",
    )


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress or notices on stderr (errors are still reported)",
    )


def _read(args: argparse.Namespace, path: str | None = None) -> Any:
    from ._dataio import parse_columns, read_table

    delimiter = args.delimiter
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    table = read_table(
        path if path is not None else args.data,
        parse_columns(args.columns),
        header=args.header,
        delimiter=delimiter,
        fmt=args.fmt,
    )
    if not getattr(args, "quiet", False):
        for text in table.notices:
            _notice(text)
    return table


def _model_and_data(args: argparse.Namespace) -> tuple[Any, Any, np.ndarray]:
    """The saved model MODEL, the table DATA, and its columns for the model."""
    model = _load_model(args.model)
    table = _read(args)
    return model, table, _model_columns(model, table, args)


def _model_columns(model: Any, table: Any, args: argparse.Namespace) -> np.ndarray:
    """The table's columns in the order the model was fitted on."""
    names = getattr(model, "feature_names_in_", None)
    X = table.X
    if names is not None and table.has_names and args.columns is None:
        missing = [n for n in names if n not in table.feature_names]
        if missing:
            raise GMMError(
                f"{table.source} has no numeric column named "
                f"{', '.join(map(repr, missing))}; the model was fitted on columns "
                f"{', '.join(map(repr, names))}. Choose columns with --columns."
            )
        X = X[:, [table.feature_names.index(n) for n in names]]
    if X.shape[1] != model.n_features_in_:
        raise GMMError(
            f"{table.source} gives {X.shape[1]} columns "
            f"({', '.join(table.feature_names)}), but the model was fitted on "
            f"{model.n_features_in_}. Choose columns with --columns."
        )
    return X


def _load_model(path: str) -> Any:
    from .persistence import load

    return load(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=_json_default, allow_nan=False))


def _fit_model(
    X: np.ndarray, params: dict[str, Any], progress: _Progress, label: str = ""
) -> Any:
    """Fit one GaussianMixture, showing EM iterations on a terminal."""
    from sklearn.exceptions import ConvergenceWarning

    from .mixture import GaussianMixture

    def on_iteration(step: Any) -> None:
        progress.update(
            f"{label}EM iteration {step.n_iter}: mean log-likelihood "
            f"{step.lower_bound:.6f} (change {step.change:.2e})"
        )

    gm = GaussianMixture(**params, callback=on_iteration if progress.enabled else None)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            gm.fit(X)
    finally:
        gm.set_params(callback=None)
        progress.close()
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        _notice(
            f"{label}EM did not converge in {gm.max_iter} iterations; try a larger "
            "--max-iter or --tol, or more --n-init."
        )
    return gm


def _fit_params(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "n_components": args.n_components,
        "covariance_type": args.covariance_type,
        "n_init": args.n_init,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "reg_covar": args.reg_covar,
        "init_params": args.init,
        "random_state": args.seed,
    }


def _summary(model: Any, X: np.ndarray | None, names: list[str] | None) -> dict:
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
    if X is not None:
        with _no_name_warning_ctx():
            out["n_samples"] = int(X.shape[0])
            out["log_likelihood"] = float(model.score(X) * X.shape[0])
            out["bic"] = float(model.bic(X))
            out["aic"] = float(model.aic(X))
    return out


class _no_name_warning_ctx:
    def __enter__(self) -> None:
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.filterwarnings("ignore", message=".*feature names.*")

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def _format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"{s['n_components']} components, covariance {s['covariance_type']} "
        f"({s['covariance_model']}), {s['n_features']} features"
        + (f", {s['n_samples']} rows" if "n_samples" in s else ""),
        f"{'converged' if s['converged'] else 'did NOT converge'} after "
        f"{s['n_iter']} EM iterations",
    ]
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


# ---------------------------------------------------------------------- fit
_FIT_EXAMPLES = """\
examples:
  gmmkit fit data.csv -k 3 -o model.gmm
  gmmkit fit data.csv -k 4 -t diag --columns x1,x3 -o model.gmm --json
  gmmkit fit data.parquet -k 2 --n-init 5 --seed 1 -o model.gmm
  cat data.csv | gmmkit fit - -k 2
  gmmkit fit big.npy -k 5 --chunk-size 100000 -o model.gmm   (larger than memory)
  gmmkit fit big.parquet -k 5 --scheduler tcp://10.0.0.1:8786 -o model.gmm
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number; got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def _add_fit_options(parser: argparse.ArgumentParser, with_k: bool = True) -> None:
    from ._init import INIT_METHODS
    from .covariance import COVARIANCE_TYPES

    group = parser.add_argument_group("model options")
    if with_k:
        group.add_argument(
            "-k",
            "--n-components",
            type=_positive_int,
            default=1,
            metavar="K",
            help="number of components (default: %(default)s)",
        )
    group.add_argument(
        "-t",
        "--covariance-type",
        default="full",
        choices=COVARIANCE_TYPES,
        metavar="TYPE",
        help="covariance model: " + ", ".join(COVARIANCE_TYPES) + " (default: full)",
    )
    group.add_argument(
        "--n-init",
        type=_positive_int,
        default=1,
        metavar="N",
        help="starts; the best is kept (default: %(default)s)",
    )
    group.add_argument(
        "--max-iter",
        type=int,
        default=100,
        metavar="N",
        help="EM iterations at most (default: %(default)s)",
    )
    group.add_argument(
        "--tol",
        type=float,
        default=1e-3,
        help="stop when the mean log-likelihood changes less (default: %(default)s)",
    )
    group.add_argument(
        "--reg-covar",
        type=float,
        default=1e-6,
        metavar="EPS",
        help="added to covariance diagonals (default: %(default)s)",
    )
    group.add_argument(
        "--init",
        default="kmeans",
        choices=INIT_METHODS,
        help="how starts are chosen (default: %(default)s)",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed, for reproducible fits (default: %(default)s)",
    )


def _add_fit(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit a mixture to a data file and save it",
        description="Fit a Gaussian mixture by EM to DATA, print a summary and "
        "save the model (a versioned .npz file; load it in Python with "
        "gmmkit.load).",
        epilog=_FIT_EXAMPLES,
        formatter_class=_RAW,
    )
    parser.add_argument("data", metavar="DATA", help="data file, or - for stdin")
    parser.add_argument("-o", "--output", metavar="MODEL", help="model file to write")
    parser.add_argument("--json", action="store_true", help="summary as JSON")
    _add_fit_options(parser)
    _add_data_options(parser)
    _add_scale_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_fit)


def _add_scale_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data larger than memory")
    group.add_argument(
        "--chunk-size",
        type=_positive_int,
        metavar="N",
        help="stream DATA from disk N rows at a time instead of loading it "
        "(.npy memory-mapped, .parquet/.csv read in batches; --columns takes "
        "names); memory stays about N x K x d",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fit on a Dask cluster (e.g. tcp://10.0.0.1:8786): the workers "
        "read DATA (.npy/.parquet/.csv, a path they can all see) in blocks of "
        "--chunk-size rows; needs the 'dask' extra",
    )


def _run_fit(args: argparse.Namespace) -> int:
    if args.chunk_size is not None or args.scheduler is not None:
        return _run_fit_scaled(args)
    table = _read(args)
    gm = _fit_model(table.X, _fit_params(args), _Progress(not args.quiet))
    if table.has_names:
        gm.feature_names_in_ = np.asarray(table.feature_names, dtype=object)
    summary = _summary(gm, table.X, table.feature_names)
    summary["data"] = table.source
    return _finish_fit(args, gm, summary)


def _finish_fit(args: argparse.Namespace, gm: Any, summary: dict) -> int:
    """Save the model if asked, then print the summary (text or JSON)."""
    if args.output:
        gm.save(args.output)
        summary["model"] = str(args.output)
    if args.json:
        _print_json(summary)
    else:
        print(_format_summary(summary))
        if args.output:
            print(f"model written to {args.output}")
    return EXIT_OK


def _run_fit_scaled(args: argparse.Namespace) -> int:
    """``gmmkit fit`` without loading DATA: streamed, or on a Dask cluster."""
    import math

    from .sources import scaled_input

    if args.data == "-":
        raise GMMError(
            "--chunk-size/--scheduler read a file (.npy, .parquet or .csv), not "
            "stdin; save the data to a file first."
        )
    columns = None
    if args.columns:
        columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    params = _fit_params(args)
    params["chunk_size"] = args.chunk_size
    with scaled_input(args.data, columns, args.chunk_size, args.scheduler) as X:
        gm = _fit_model(X, params, _Progress(not args.quiet))
    if columns:
        gm.feature_names_in_ = np.asarray(columns, dtype=object)
    summary = _summary(gm, None, columns)
    n = int(gm.n_samples_fit_)
    log_l = float(gm.log_likelihood_history_[-1])
    p = gm.n_parameters()
    summary.update(
        n_samples=n,
        log_likelihood=log_l,
        bic=-2 * log_l + p * math.log(n),
        aic=-2 * log_l + 2 * p,
        data=str(args.data),
    )
    return _finish_fit(args, gm, summary)


# ------------------------------------------------------------------ predict
_PREDICT_EXAMPLES = """\
examples:
  gmmkit predict model.gmm data.csv                  labels to stdout (CSV)
  gmmkit predict model.gmm data.csv --proba          P(component | row)
  gmmkit predict model.gmm data.csv -o labels.parquet
  cat new.csv | gmmkit predict model.gmm -

Columns are matched by the names the model was fitted on when DATA has a
header; otherwise DATA must have exactly the model's number of columns.
"""


def _add_predict(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="cluster labels (or probabilities) of each row",
        description="Label each row of DATA with its most probable component "
        "(or, with --proba, the probability of every component).",
        epilog=_PREDICT_EXAMPLES,
        formatter_class=_RAW,
    )
    parser.add_argument("model", metavar="MODEL", help="model file (gmmkit fit -o)")
    parser.add_argument("data", metavar="DATA", help="data file, or - for stdin")
    parser.add_argument(
        "--proba",
        action="store_true",
        help="write probabilities, one column per component",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE (.csv, .tsv or .parquet) instead of stdout",
    )
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    from ._dataio import write_table

    model, table, X = _model_and_data(args)
    with _no_name_warning_ctx():
        if args.proba:
            proba = model.predict_proba(X)
            columns = {f"p{k}": proba[:, k] for k in range(proba.shape[1])}
        else:
            columns = {"label": model.predict(X)}
    write_table(args.output, columns)
    return EXIT_OK


# -------------------------------------------------------------------- score
def _add_score(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "score",
        help="log-likelihood, BIC and AIC of a model on data",
        description="Evaluate a saved model on DATA: total and mean "
        "log-likelihood, BIC and AIC (lower is better); with --per-row, log p(x) "
        "of every row.",
        epilog="examples:\n  gmmkit score model.gmm test.csv\n"
        "  gmmkit score model.gmm test.csv --json\n"
        "  gmmkit score model.gmm test.csv --per-row -o logp.csv\n",
        formatter_class=_RAW,
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("data", metavar="DATA")
    parser.add_argument("--json", action="store_true", help="output as JSON")
    parser.add_argument(
        "--per-row",
        action="store_true",
        help="write log p(x) of each row instead of a summary",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="with --per-row: write to FILE"
    )
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_score)


def _run_score(args: argparse.Namespace) -> int:
    from ._dataio import write_table

    model, table, X = _model_and_data(args)
    with _no_name_warning_ctx():
        if args.per_row:
            write_table(args.output, {"log_density": model.score_samples(X)})
            return EXIT_OK
        mean = float(model.score(X))
        out = {
            "n_samples": int(X.shape[0]),
            "log_likelihood": mean * X.shape[0],
            "mean_log_likelihood": mean,
            "bic": float(model.bic(X)),
            "aic": float(model.aic(X)),
        }
    if args.json:
        _print_json(out)
    else:
        print(
            f"{out['n_samples']} rows: log-likelihood {out['log_likelihood']:.6f} "
            f"(mean {mean:.6f}), BIC {out['bic']:.4f}, AIC {out['aic']:.4f} "
            "(lower is better)"
        )
    return EXIT_OK


# ------------------------------------------------------------------- sample
def _add_sample(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="draw rows from a saved model",
        description="Draw N rows from the mixture in MODEL; the last column is "
        "the component each row came from.",
        epilog="examples:\n  gmmkit sample model.gmm -n 1000 -o draws.csv\n"
        "  gmmkit sample model.gmm -n 5 --seed 3\n",
        formatter_class=_RAW,
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument(
        "-n",
        "--n-samples",
        type=_positive_int,
        default=100,
        metavar="N",
        help="rows to draw (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE (.csv, .tsv, .parquet) instead of stdout",
    )
    parser.set_defaults(handler=_run_sample)


def _run_sample(args: argparse.Namespace) -> int:
    from ._dataio import write_table

    if args.n_samples < 1:
        raise InvalidParameterError(
            f"-n/--n-samples must be at least 1; got {args.n_samples}."
        )
    model = _load_model(args.model)
    X, labels = model.sample(args.n_samples, random_state=args.seed)
    names = getattr(model, "feature_names_in_", None)
    names = (
        [str(n) for n in names]
        if names is not None
        else [f"x{j}" for j in range(X.shape[1])]
    )
    columns: dict[str, np.ndarray] = {n: X[:, j] for j, n in enumerate(names)}
    columns["component"] = labels
    write_table(args.output, columns)
    return EXIT_OK


# --------------------------------------------------------------------- info
def _add_info(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "info",
        help="what a model file holds",
        description="Print a saved model's type, parameters, feature names, "
        "gmmkit version and training summary.",
        epilog="examples:\n  gmmkit info model.gmm\n  gmmkit info model.gmm --json\n",
        formatter_class=_RAW,
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--json", action="store_true", help="output as JSON")
    parser.set_defaults(handler=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    from ._io import read_metadata

    meta = read_metadata(args.model)
    model = _load_model(args.model)
    names = getattr(model, "feature_names_in_", None)
    summary = _summary(model, None, None if names is None else list(names))
    if args.json:
        _print_json({"file": meta, "model": summary})
        return EXIT_OK
    t = meta.get("training", {})
    print(
        f"{args.model}: gmmkit model file, format version {meta['format_version']}, "
        f"written by gmmkit {meta.get('gmmkit_version')} on {meta.get('created')}"
    )
    print(f"trained on {t.get('n_samples')} rows")
    print(_format_summary(summary))
    return EXIT_OK


# ------------------------------------------------------------------- select
def _parse_ks(text: str) -> list[int]:
    """``"1-9"``, ``"2,3,5"`` or ``"4"`` -> list of ints."""
    out: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers of components like 1-9 or 2,3,5; got {text!r}"
        ) from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"numbers of components must be >= 1: {text}")
    return out


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="parallel fits in the selection (default: select_model's, all cores; "
        "1 is often faster on small data)",
    )


def _add_select(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "select",
        help="choose the covariance model and K by BIC",
        description="Fit every covariance model for each number of components "
        "and print the table of BIC (lower is better), AIC and ICL, best first. "
        "Uses gmmkit.select_model.",
        epilog="examples:\n  gmmkit select data.csv\n"
        "  gmmkit select data.csv -k 1-6 -t VVV,EEE --json\n"
        "  gmmkit select data.csv -o best.gmm\n",
        formatter_class=_RAW,
    )
    parser.add_argument("data", metavar="DATA")
    parser.add_argument(
        "-k",
        "--n-components",
        type=_parse_ks,
        default="1-9",
        metavar="KS",
        help="numbers of components, e.g. 1-9 or 2,4,8 (default: 1-9)",
    )
    parser.add_argument(
        "-t",
        "--covariance-types",
        metavar="TYPES",
        help="comma-separated covariance models (default: all)",
    )
    parser.add_argument(
        "--criterion",
        default="bic",
        choices=("bic", "aic", "icl"),
        help="criterion to rank by (default: %(default)s)",
    )
    parser.add_argument(
        "-o", "--output", metavar="MODEL", help="save the best model to MODEL"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    _add_jobs(parser)
    parser.add_argument("--json", action="store_true", help="output as JSON")
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_select)


def _select_model_function() -> Callable[..., Any]:
    try:
        from .selection import select_model
    except ImportError:
        raise GMMError(
            "model selection needs gmmkit.select_model, which this gmmkit does not "
            "have yet; fit single models with 'gmmkit fit DATA -k K -t TYPE'."
        ) from None
    return select_model


def run_selection(
    X: np.ndarray,
    ks: Sequence[int],
    types: Sequence[str] | None,
    criterion: str = "bic",
    seed: int = 0,
    n_jobs: int | None = None,
) -> Any:
    """Call :func:`gmmkit.select_model` (shared by ``select`` and ``report``)."""
    select_model = _select_model_function()
    kwargs: dict[str, Any] = {"n_components": list(ks), "criterion": criterion}
    if types:
        kwargs["covariance_types"] = list(types)
    import inspect

    accepted = inspect.signature(select_model).parameters
    if "random_state" in accepted:
        kwargs["random_state"] = seed
    if n_jobs is not None and "n_jobs" in accepted:
        kwargs["n_jobs"] = n_jobs
    return select_model(X, **kwargs)


def _run_select(args: argparse.Namespace) -> int:
    select_model = _select_model_function()  # fail before reading the data
    del select_model
    table = _read(args)
    types = args.covariance_types.split(",") if args.covariance_types else None
    progress = _Progress(not args.quiet)
    progress.update(f"fitting models for K in {args.n_components} ...")
    try:
        result = run_selection(
            table.X, args.n_components, types, args.criterion, args.seed, args.jobs
        )
    finally:
        progress.close()
    frame = result.table
    if args.criterion in getattr(frame, "columns", ()):
        frame = frame.sort_values(args.criterion, na_position="last", kind="stable")
    if args.output:
        best = result.best_
        if table.has_names:
            best.feature_names_in_ = np.asarray(table.feature_names, dtype=object)
        best.save(args.output)
    if args.json:
        _print_json(
            {
                "table": json.loads(frame.to_json(orient="records")),
                "best": {
                    k: _json_default(v) if isinstance(v, np.generic) else v
                    for k, v in dict(result.best_params_).items()
                },
            }
        )
    else:
        print(frame.to_string(index=False))
        print(f"best: {dict(result.best_params_)}")
        if args.output:
            print(f"best model written to {args.output}")
    return EXIT_OK


# --------------------------------------------------------------------- plot
_PLOT_KINDS = ("auto", "mixture", "pairs", "1d", "uncertainty", "density", "nll")


def _add_plot(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="draw a saved model over data (PNG, SVG, PDF)",
        description="Draw MODEL over DATA into an image file. Kinds: mixture "
        "(2-D: clusters, 1-3 sigma ellipses, density contours), pairs (any "
        "dimension), 1d (histogram with the mixture and its components), "
        "uncertainty (2-D), density (2-D), nll (the EM history); auto picks by the "
        "number of features. Needs pip install 'gmmkit[plot]'.",
        epilog="examples:\n  gmmkit plot model.gmm data.csv -o clusters.png\n"
        "  gmmkit plot model.gmm data.csv --kind pairs -o pairs.svg\n",
        formatter_class=_RAW,
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("data", metavar="DATA")
    parser.add_argument(
        "-o",
        "--output",
        metavar="IMAGE",
        required=True,
        help="image file; the extension picks the format",
    )
    parser.add_argument("--kind", choices=_PLOT_KINDS, default="auto")
    parser.add_argument("--dpi", type=float, default=110.0)
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_plot)


def _run_plot(args: argparse.Namespace) -> int:
    from ._errors import require

    require("matplotlib", "plot", "gmmkit plot")
    from matplotlib.figure import Figure

    from . import plotting

    model, table, X = _model_and_data(args)
    d = X.shape[1]
    kind = args.kind
    if kind == "auto":
        kind = "1d" if d == 1 else "mixture" if d == 2 else "pairs"
    with _no_name_warning_ctx():
        if kind == "pairs":
            fig = Figure(figsize=(2.4 * d, 2.4 * d))
            axes = fig.subplots(d, d, squeeze=False)
            plotting.plot_pairs(model, X, axes=axes, feature_names=table.feature_names)
        else:
            fig = Figure(figsize=(6.4, 5.0))
            ax = fig.subplots()
            if kind == "mixture":
                plotting.plot_mixture(model, X, ax=ax)
            elif kind == "1d":
                plotting.plot_1d(model, X, ax=ax)
            elif kind == "uncertainty":
                plotting.plot_uncertainty(model, X, ax=ax)
            elif kind == "density":
                plotting.plot_density(model, X, ax=ax)
            else:
                plotting.plot_nll(-np.asarray(model.log_likelihood_history_), ax=ax)
    fig.savefig(args.output, dpi=args.dpi, bbox_inches="tight")
    if not args.quiet:
        _notice(f"{kind} plot written to {args.output}")
    return EXIT_OK


# ------------------------------------------------------------------- report
def _add_report(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="one self-contained HTML report of a fit",
        description="Fit DATA and write one self-contained HTML page (no network "
        "needed to open it): data summary, model selection table and plot, the "
        "chosen model's parameters, cluster sizes, plots and the EM history. "
        "With -k the model is fitted with that K (and -t); otherwise K and the "
        "covariance model are chosen by BIC. Needs pip install 'gmmkit[plot]'.",
        epilog="examples:\n  gmmkit report data.csv -o report.html\n"
        "  gmmkit report data.csv -k 3 -t full -o report.html\n",
        formatter_class=_RAW,
    )
    parser.add_argument("data", metavar="DATA")
    parser.add_argument("-o", "--output", metavar="HTML", required=True)
    parser.add_argument(
        "-k",
        "--n-components",
        type=_positive_int,
        default=None,
        metavar="K",
        help="fit this K instead of choosing it",
    )
    parser.add_argument(
        "--ks",
        type=_parse_ks,
        default="1-6",
        metavar="KS",
        help="Ks tried by the selection (default: 1-6)",
    )
    parser.add_argument(
        "--covariance-types",
        metavar="TYPES",
        help="models tried by the selection (default: all)",
    )
    parser.add_argument("--title", default=None, help="report title")
    _add_jobs(parser)
    _add_fit_options(parser, with_k=False)
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from ._errors import require

    require("matplotlib", "plot", "gmmkit report")
    from .report import write_report

    table = _read(args)
    params = _fit_params(argparse.Namespace(**{**vars(args), "n_components": 1}))
    progress = _Progress(not args.quiet)
    types = args.covariance_types.split(",") if args.covariance_types else None
    path = write_report(
        table,
        args.output,
        n_components=args.n_components,
        ks=args.ks,
        covariance_types=types,
        fit_params=params,
        title=args.title,
        progress=progress,
        n_jobs=args.jobs,
    )
    if not args.quiet:
        _notice(f"report written to {path}")
    return EXIT_OK


# --------------------------------------------------------------------- demo
_DEMO_DESCRIPTION = """\
Reproduce the "Gaussian mixture models by EM" notebook with gmmkit: draw 600
points from a known 3-component mixture in 2-D (seed 42), run EM from the
notebook's start until the total negative log-likelihood changes by less than
1e-6 (89 iterations), cluster the data, sample from the fit and choose the
number of components by BIC (lower is better).  Prints a summary and writes
PNG figures and an animated GIF of the EM iterations.  Needs the 'plot'
extra: pip install 'gmmkit[plot]'.
"""

_DEMO_EXAMPLES = """\
examples:
  gmmkit demo
  gmmkit demo --out /tmp/gmm-figures
"""


def _add_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="fit the classic 3-component example and write figures",
        description=_DEMO_DESCRIPTION,
        epilog=_DEMO_EXAMPLES,
        formatter_class=_RAW,
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="DIR",
        type=Path,
        default=Path("gmmkit-demo"),
        help="folder for the figures, created if needed (default: %(default)s)",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress messages on stderr (the summary is still printed)",
    )
    parser.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from ._errors import require

    # The demo draws on bare Figures; Agg also keeps any later pyplot use in
    # this process off GUI backends.
    require("matplotlib", "plot", "gmmkit demo").use("Agg")
    from .demo import format_summary, run_demo

    result = run_demo(args.out, show_progress=not args.quiet)
    print(format_summary(result))
    return EXIT_OK


#: One function per command, each adding its subparser.
_COMMANDS: tuple[Callable[[Any], None], ...] = (
    _add_fit,
    _add_select,
    _add_predict,
    _add_sample,
    _add_score,
    _add_info,
    _add_plot,
    _add_report,
    _add_demo,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gmmkit``, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="gmmkit",
        description="Gaussian mixture models: fit, cluster, choose K, draw.",
        epilog=_EXAMPLES,
        formatter_class=_RAW,
    )
    parser.add_argument("--version", action="version", version=f"gmmkit {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", required=True
    )
    for add in _COMMANDS:
        add(subparsers)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gmmkit`` with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    exit_code : int
        0 success (also for ``--help`` and ``--version``), 1 the command
        failed (bad data, a failed fit, an unreadable model, or an OS error
        such as an unwritable folder; one line on stderr), 2 usage error,
        130 interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2)
        code = exc.code
        return (
            code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
        )
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("gmmkit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. gmmkit predict ... | head
        return EXIT_OK
    except (GMMError, OSError) as exc:
        print(f"gmmkit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
