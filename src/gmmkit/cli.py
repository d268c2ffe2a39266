"""The ``gmmkit`` command line.

``gmmkit COMMAND [options]``; also ``python -m gmmkit``.  Each command is a
subparser registered by one ``_add_<command>`` function that sets its handler
(``args.handler(args) -> int``), so new commands are added without touching
:func:`main`.  Data is read by :mod:`gmmkit._table` (CSV/TSV, Parquet, .npy,
any of them on stdin); fits, selections, summaries and progress are
:mod:`gmmkit.console`'s.

Exit codes: 0 success, 1 the work failed (bad data, a failed fit, an
unreadable model, an unwritable output; one line on stderr naming the file,
line and column where it applies), 2 usage error (one line), 130
interrupted.  :func:`main` turns every exception into one of these: no
traceback ever escapes it.

Start-up: this module imports only argparse, numpy and gmmkit's light
modules; each command imports what it uses when it runs, so ``--help``,
argument errors and ``gmmkit info`` load neither scikit-learn, numba,
pandas nor matplotlib.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import console
from ._atomic import atomic_write, check_writable
from ._errors import (
    GMMError,
    InvalidParameterError,
    ModelFileError,
    require,
)
from ._table import check_delimiter, check_output_suffix, parse_columns, quote
from ._version import __version__

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Longest error message printed (a huge cell or path is cut).
MAX_MESSAGE = 400

_RAW = argparse.RawDescriptionHelpFormatter
_WEIGHT_PRIORS = ("dirichlet_process", "dirichlet_distribution")

_EXAMPLES = """\
examples:
  gmmkit fit data.csv -k 3 -o model.gmm      fit 3 components, save the model
  gmmkit predict model.gmm data.csv          cluster labels, one per row
  gmmkit predict model.gmm data.csv --proba -o probs.csv
  gmmkit select data.csv                     BIC table over models and K
  gmmkit report data.csv -o report.html      one self-contained HTML report
  gmmkit fit holes.csv -k 2 --nan-policy marginalize -o model.gmm
  gmmkit impute model.gmm holes.csv -o filled.csv   blanks filled by the model
  cat data.csv | gmmkit fit - -k 2 --json    CSV on standard input
  gmmkit demo                                the EM walkthrough, figures in
                                             ./gmmkit-demo
  gmmkit COMMAND --help                      options of one command

Data: CSV/TSV (header detected; text columns left out with a notice; also
.gz), Parquet, .npy, or '-' for standard input.  Empty or NA cells are an
error unless --nan-policy marginalize (fit, select, report) reads them as
missing values.
Exit codes: 0 ok, 1 bad data or failed fit, 2 usage error.
"""

#: Image formats of ``gmmkit plot`` (matplotlib's Agg, PDF, SVG and PS backends).
IMAGE_SUFFIXES = (
    ".png",
    ".svg",
    ".svgz",
    ".pdf",
    ".eps",
    ".ps",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".webp",
)


class _UsageError(Exception):
    """A command-line argument is wrong (exit code 2)."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are raised (and printed on one line by main)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self.prog, message)


# ------------------------------------------------------- argument types
def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number; got {quote(text)}"
        ) from None


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more; got {value}")
    return value


def _seed(text: str) -> int:
    value = _integer(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to 2**32 - 1; got {value}"
        )
    return value


def _jobs(text: str) -> int:
    value = _integer(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(
            f"must be a number of parallel fits >= 1, or -1 for all cores; got {value}"
        )
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number; got {quote(text)}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {quote(text)}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0; got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more; got {text}")
    return value


def _dpi(text: str) -> float:
    value = _number(text)
    if not 1 <= value <= 2400:
        raise argparse.ArgumentTypeError(f"must be from 1 to 2400; got {text}")
    return value


def _delimiter(text: str) -> str:
    try:
        return str(check_delimiter(text))
    except InvalidParameterError:
        raise argparse.ArgumentTypeError(
            f"must be one character (e.g. ',', ';', or 'tab'); got {quote(text)}"
        ) from None


def _columns(text: str) -> list[str | int]:
    try:
        return parse_columns(text) or []
    except InvalidParameterError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated names or 0-based indices; got {quote(text)}"
        ) from None


def _table_output(text: str) -> str:
    try:
        check_output_suffix(text)
    except InvalidParameterError as exc:
        raise argparse.ArgumentTypeError(
            str(exc).split(": ", 1)[-1].rstrip(".")
        ) from None
    return text


def _image_output(text: str) -> str:
    suffix = Path(text).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"cannot draw {quote(suffix or text)} images; use one of "
            f"{', '.join(IMAGE_SUFFIXES)}"
        )
    return text


def _covariance_type(text: str) -> str:
    # imported when -t is given: the registry loads scipy
    from .covariance import COVARIANCE_TYPES

    if text not in COVARIANCE_TYPES:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(COVARIANCE_TYPES)}; got {quote(text)}"
        )
    return text


def _covariance_types(text: str) -> list[str]:
    return [_covariance_type(t.strip()) for t in text.split(",")]


def _init_method(text: str) -> str:
    from ._init import INIT_METHODS

    if text not in INIT_METHODS:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(INIT_METHODS)}; got {quote(text)}"
        )
    return text


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
            f"expected numbers of components like 1-9 or 2,3,5; got {quote(text)}"
        ) from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(
            f"numbers of components must be >= 1; got {quote(text)}"
        )
    if len(out) > 1000:
        raise argparse.ArgumentTypeError(f"at most 1000 numbers; got {len(out)}")
    return out


# ------------------------------------------------------- shared options
def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data options")
    group.add_argument(
        "--columns",
        "-c",
        metavar="COLS",
        type=_columns,
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
        type=_delimiter,
        help="CSV field separator, one character or 'tab' (default: tab for .tsv, "
        "else sniffed among tab ; , |)",
    )
    group.add_argument(
        "--format",
        dest="fmt",
        choices=("csv", "tsv", "parquet", "npy"),
        help="data format (default: from the extension; on stdin from the first "
        "bytes, else CSV)",
    )


def _add_nan_policy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nan-policy",
        choices=("raise", "marginalize"),
        default="raise",
        help="raise: an empty/NA cell is an error (default); marginalize: such "
        "cells are missing values, fitted exactly by EM on the observed values "
        "(saved with the model: predict, score and impute then accept them too)",
    )


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress or notices on stderr (errors are still reported)",
    )


def _add_table_output(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=_table_output,
        help=f"write {what} to FILE (.csv, .tsv or .parquet) instead of stdout",
    )


def _add_fit_options(parser: argparse.ArgumentParser, with_k: bool = True) -> None:
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
        type=_covariance_type,
        default=None,
        metavar="TYPE",
        help="covariance model: full, tied, diag, spherical or an mclust code "
        "(EII, VII, EEI, ..., VVV; E, V in 1-D) (default: full)",
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
        type=_non_negative_int,
        default=100,
        metavar="N",
        help="EM iterations at most (default: %(default)s)",
    )
    group.add_argument(
        "--tol",
        type=_non_negative_float,
        default=1e-3,
        help="stop when the mean log-likelihood changes less (default: %(default)s)",
    )
    group.add_argument(
        "--reg-covar",
        type=_non_negative_float,
        default=1e-6,
        metavar="EPS",
        help="added to covariance diagonals (default: %(default)s)",
    )
    group.add_argument(
        "--init",
        type=_init_method,
        default=None,
        metavar="METHOD",
        help="how starts are chosen: kmeans, k-means++, random, random_from_data "
        "or hc (default: kmeans)",
    )
    group.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="random seed, for reproducible fits (default: %(default)s)",
    )


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="parallel fits in the selection, or -1 for all cores (default: "
        "select_model's; 1 is often faster on small data)",
    )


def _add_bayesian_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("variational Bayes")
    group.add_argument(
        "--bayesian",
        action="store_true",
        help="fit a variational Bayesian mixture (BayesianGaussianMixture, "
        "scikit-learn's model): -k is an upper bound, the prior leaves the "
        "components the data do not need practically empty; covariance full, "
        "tied, diag or spherical",
    )
    group.add_argument(
        "--weight-prior",
        choices=_WEIGHT_PRIORS,
        default=None,
        help="prior of the weights with --bayesian (default: dirichlet_process)",
    )
    group.add_argument(
        "--weight-concentration",
        type=_positive_float,
        default=None,
        metavar="ALPHA",
        help="its concentration with --bayesian; smaller leaves more components "
        "empty (default: 1/K)",
    )


def _fit_params(args: argparse.Namespace) -> dict[str, Any]:
    """The estimator's parameters: GaussianMixture's, or with ``--bayesian``
    BayesianGaussianMixture's."""
    bayesian = getattr(args, "bayesian", False)
    weight_options = getattr(args, "weight_prior", None) or getattr(
        args, "weight_concentration", None
    )
    if weight_options and not bayesian:
        raise InvalidParameterError(
            "--weight-prior and --weight-concentration need --bayesian."
        )
    nan_policy = getattr(args, "nan_policy", "raise")
    params = {
        "n_components": getattr(args, "n_components", None) or 1,
        "covariance_type": args.covariance_type or "full",
        "n_init": args.n_init,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "reg_covar": args.reg_covar,
        "init_params": args.init or "kmeans",
        "random_state": args.seed,
    }
    if not bayesian:
        return {**params, "nan_policy": nan_policy}
    if nan_policy != "raise":
        raise InvalidParameterError(
            "--bayesian fits complete rows only; drop --nan-policy marginalize or "
            "fill the missing values first (gmmkit impute)."
        )
    return {
        **params,
        "weight_concentration_prior_type": args.weight_prior or "dirichlet_process",
        "weight_concentration_prior": args.weight_concentration,
    }


# ---------------------------------------------------------- helpers
def _read(args: argparse.Namespace, missing: bool | None = None) -> Any:
    """The table DATA; empty/NA cells are NaN when ``missing`` (default:
    with ``--nan-policy marginalize``), else an error."""
    from ._table import read_table

    if missing is None:
        missing = getattr(args, "nan_policy", "raise") == "marginalize"
    table = read_table(
        args.data,
        args.columns,
        header=args.header,
        delimiter=args.delimiter,
        fmt=args.fmt,
        missing=missing,
    )
    if not getattr(args, "quiet", False):
        for text in table.notices:
            console.notice(text)
    return table


def _writable(path: str | None, error: type[GMMError] | None = None) -> None:
    """Fail at once (before reading or fitting) when ``path`` cannot be written."""
    if path is not None and path != "-":
        if error is None:
            check_writable(path)
        else:
            check_writable(path, error)


def _load_model(path: str) -> Any:
    from .persistence import load

    return load(path)


def _model_and_data(
    args: argparse.Namespace, missing: bool | None = None
) -> tuple[Any, Any, np.ndarray]:
    """The saved model MODEL, the table DATA, and its columns for the model.

    Empty/NA cells of DATA are missing values (NaN) when ``missing``, by
    default when the model was fitted with ``nan_policy="marginalize"``."""
    model = _load_model(args.model)
    if missing is None:
        missing = getattr(model, "nan_policy", "raise") == "marginalize"
    table = _read(args, missing)
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
                f"{', '.join(quote(str(n)) for n in missing[:10])}; the model was "
                f"fitted on columns {', '.join(quote(str(n)) for n in names[:10])}. "
                "Choose columns with --columns."
            )
        X = X[:, [table.feature_names.index(n) for n in names]]
    if X.shape[1] != model.n_features_in_:
        raise GMMError(
            f"{table.source} gives {X.shape[1]} columns "
            f"({', '.join(quote(n) for n in table.feature_names[:10])}), but the "
            f"model was fitted on {model.n_features_in_}. Choose columns with "
            "--columns."
        )
    return X


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=_json_default, allow_nan=False))


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
    _add_bayesian_options(parser)
    _add_nan_policy(parser)
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
    _writable(args.output, ModelFileError)
    if args.chunk_size is not None or args.scheduler is not None:
        return _run_fit_scaled(args)
    params = _fit_params(args)
    table = _read(args)
    gm = console._fit_model(
        table.X, params, console._Progress(not args.quiet), bayesian=args.bayesian
    )
    if table.has_names:
        gm.feature_names_in_ = np.asarray(table.feature_names, dtype=object)
    summary = console._summary(gm, table.X, table.feature_names)
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
        print(console._format_summary(summary))
        if args.output:
            print(f"model written to {args.output}")
    return EXIT_OK


def _run_fit_scaled(args: argparse.Namespace) -> int:
    """``gmmkit fit`` without loading DATA: streamed, or on a Dask cluster."""
    from .sources import scaled_input

    if args.data == "-":
        raise GMMError(
            "--chunk-size/--scheduler read a file (.npy, .parquet or .csv), not "
            "stdin; save the data to a file first."
        )
    columns = None
    if args.columns:
        columns = [str(c) for c in args.columns]
    params = _fit_params(args)
    params["chunk_size"] = args.chunk_size
    with scaled_input(args.data, columns, args.chunk_size, args.scheduler) as X:
        gm = console._fit_model(
            X, params, console._Progress(not args.quiet), bayesian=args.bayesian
        )
    if columns:
        gm.feature_names_in_ = np.asarray(columns, dtype=object)
    summary = console._summary(gm, None, columns)
    if args.bayesian:
        summary.update(n_samples=int(gm.n_samples_fit_), data=str(args.data))
        return _finish_fit(args, gm, summary)
    summary.update(
        console.criteria(
            float(gm.log_likelihood_history_[-1]),
            summary["n_parameters"],
            int(gm.n_samples_fit_),
        ),
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
    _add_table_output(parser, "the labels")
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    from ._table import write_table

    _writable(args.output)
    model, table, X = _model_and_data(args)
    with console.no_name_warnings():
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
        "of every row.  For a Bayesian model (fit --bayesian) the log-likelihood "
        "is the posterior predictive one (a mixture of Student-t densities) and "
        "there is no BIC or AIC (they mean nothing for a variational fit).  With "
        "-o the numbers go to FILE as a table (one row, or one row per data row "
        "with --per-row).",
        epilog="examples:\n  gmmkit score model.gmm test.csv\n"
        "  gmmkit score model.gmm test.csv --json\n"
        "  gmmkit score model.gmm test.csv -o score.csv\n"
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
    _add_table_output(parser, "the scores")
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_score)


def _run_score(args: argparse.Namespace) -> int:
    from ._table import write_table

    if args.per_row and args.json:
        raise InvalidParameterError(
            "--json prints a summary; --per-row writes one value per row. Use one."
        )
    _writable(args.output)
    model, table, X = _model_and_data(args)
    if args.per_row:
        write_table(args.output, {"log_density": console.score_rows(model, X)})
        return EXIT_OK
    out = console.score_summary(model, X)
    if args.output is not None:
        write_table(args.output, {k: np.asarray([v]) for k, v in out.items()})
        if not args.json:
            return EXIT_OK
    if args.json:
        _print_json(out)
    else:
        print(console.format_score(out))
    return EXIT_OK


# ------------------------------------------------------------------- impute
def _add_impute(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "impute",
        help="fill the missing values of a data file with a saved model",
        description="Write DATA's columns (those the model was fitted on, in "
        "its order) with every empty/NA cell replaced under the mixture in "
        "MODEL: by the conditional mean E[x_missing | x_observed] (--method "
        "mean) or a draw from p(x_missing | x_observed) (--method sample). "
        "Observed values are written unchanged; a row with no observed value "
        "is an error.  Best with a model fitted by 'gmmkit fit "
        "--nan-policy marginalize' on the same data.",
        epilog="examples:\n"
        "  gmmkit fit holes.csv -k 3 --nan-policy marginalize -o model.gmm\n"
        "  gmmkit impute model.gmm holes.csv -o filled.csv\n"
        "  gmmkit impute model.gmm holes.parquet --method sample --seed 1 "
        "-o draw.parquet\n",
        formatter_class=_RAW,
    )
    parser.add_argument("model", metavar="MODEL", help="model file (gmmkit fit -o)")
    parser.add_argument("data", metavar="DATA", help="data file, or - for stdin")
    parser.add_argument(
        "--method",
        choices=("mean", "sample"),
        default="mean",
        help="conditional mean, or one draw from the conditional distribution "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="random seed of --method sample (default: %(default)s)",
    )
    _add_table_output(parser, "the completed data")
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_impute)


def _run_impute(args: argparse.Namespace) -> int:
    from ._table import write_table

    _writable(args.output)
    model, table, X = _model_and_data(args, missing=True)
    names = getattr(model, "feature_names_in_", None)
    if names is None or not table.has_names or args.columns is not None:
        names = table.feature_names
    with console.no_name_warnings():
        filled = model.impute(X, method=args.method, random_state=args.seed)
    if not args.quiet:
        console.notice(
            f"{int(np.isnan(X).sum())} missing values in "
            f"{int(np.isnan(X).any(axis=1).sum())} of {X.shape[0]} rows filled "
            f"({args.method})"
        )
    write_table(args.output, {str(n): filled[:, j] for j, n in enumerate(names)})
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
    parser.add_argument(
        "--seed", type=_seed, default=0, help="random seed (default: %(default)s)"
    )
    _add_table_output(parser, "the rows")
    parser.set_defaults(handler=_run_sample)


def _run_sample(args: argparse.Namespace) -> int:
    from ._table import write_table

    _writable(args.output)
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
    meta, summary = console.file_summary(args.model, with_parameters=args.json)
    if args.json:
        _print_json({"file": meta, "model": summary})
        return EXIT_OK
    t = meta.get("training") or {}
    print(
        f"{args.model}: gmmkit model file, format version {meta['format_version']}, "
        f"written by gmmkit {meta.get('gmmkit_version')} on {meta.get('created')}"
    )
    print(f"trained on {t.get('n_samples')} rows")
    print(console._format_summary(summary))
    return EXIT_OK


# ------------------------------------------------------------------- select
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
        default=list(range(1, 10)),
        metavar="KS",
        help="numbers of components, e.g. 1-9 or 2,4,8 (default: 1-9)",
    )
    parser.add_argument(
        "-t",
        "--covariance-types",
        type=_covariance_types,
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
    parser.add_argument(
        "--seed", type=_seed, default=0, help="random seed (default: %(default)s)"
    )
    _add_jobs(parser)
    parser.add_argument("--json", action="store_true", help="output as JSON")
    _add_nan_policy(parser)
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_select)


def _run_select(args: argparse.Namespace) -> int:
    _writable(args.output, ModelFileError)
    table = _read(args)
    result = console.run_selection(
        table.X,
        args.n_components,
        args.covariance_types,
        args.criterion,
        args.seed,
        args.jobs,
        console._Progress(not args.quiet),
        nan_policy=args.nan_policy,
    )
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
        type=_image_output,
        help="image file; the extension picks the format ("
        + ", ".join(IMAGE_SUFFIXES)
        + ")",
    )
    parser.add_argument("--kind", choices=_PLOT_KINDS, default="auto")
    parser.add_argument(
        "--dpi", type=_dpi, default=110.0, help="resolution (default: %(default)s)"
    )
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_plot)


def _run_plot(args: argparse.Namespace) -> int:
    _writable(args.output)  # before reading and drawing
    require("matplotlib", "plot", "gmmkit plot")
    from matplotlib.figure import Figure

    from . import plotting

    model, table, X = _model_and_data(args)
    d = X.shape[1]
    kind = args.kind
    if kind == "auto":
        kind = "1d" if d == 1 else "mixture" if d == 2 else "pairs"
    with console.no_name_warnings():
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
    image_format = Path(args.output).suffix.lstrip(".").lower()
    atomic_write(
        args.output,
        lambda tmp: fig.savefig(
            tmp, dpi=args.dpi, bbox_inches="tight", format=image_format
        ),
    )
    if not args.quiet:
        console.notice(f"{kind} plot written to {args.output}")
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
        "  gmmkit report data.csv -k 3 -t full -o report.html\n"
        "  gmmkit report holes.csv --nan-policy marginalize -o report.html\n",
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
        default=list(range(1, 7)),
        metavar="KS",
        help="Ks tried by the selection (default: 1-6)",
    )
    parser.add_argument(
        "--covariance-types",
        type=_covariance_types,
        metavar="TYPES",
        help="models tried by the selection (default: all)",
    )
    parser.add_argument("--title", default=None, help="report title")
    _add_jobs(parser)
    _add_nan_policy(parser)
    _add_fit_options(parser, with_k=False)
    _add_bayesian_options(parser)
    _add_data_options(parser)
    _add_quiet(parser)
    parser.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    _writable(args.output)
    require("matplotlib", "plot", "gmmkit report")
    params = _fit_params(args)
    params.pop("n_components")
    table = _read(args)
    path = console.make_report(
        table,
        args.output,
        n_components=args.n_components,
        ks=args.ks,
        covariance_types=args.covariance_types,
        fit_params=params,
        title=args.title,
        n_jobs=args.jobs,
        progress=console._Progress(not args.quiet),
        bayesian=args.bayesian,
    )
    if not args.quiet:
        console.notice(f"report written to {path}")
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
    # The demo draws on bare Figures; Agg also keeps any later pyplot use in
    # this process off GUI backends.
    require("matplotlib", "plot", "gmmkit demo").use("Agg")
    from . import demo

    result = demo.run_demo(args.out, show_progress=not args.quiet)
    print(demo.format_summary(result))
    return EXIT_OK


#: One function per command, each adding its subparser.
_COMMANDS: tuple[Callable[[Any], None], ...] = (
    _add_fit,
    _add_select,
    _add_predict,
    _add_impute,
    _add_sample,
    _add_score,
    _add_info,
    _add_plot,
    _add_report,
    _add_demo,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gmmkit``, with one subparser per command."""
    parser = _Parser(
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


# ----------------------------------------------------------------- errors
def _one_line(text: str) -> str:
    """``text`` on one line, at most MAX_MESSAGE characters."""
    text = " ".join(str(text).split())
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 30].rstrip() + f" ... ({len(text)} characters)"
    return text


def _os_error(exc: OSError) -> str:
    if exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}."
    return str(exc) or type(exc).__name__


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings on one line each, as notices (not Python's two-line form)."""
    console.notice(f"warning: {_one_line(str(message))}")


def _quiet_stdout() -> None:
    """After a broken pipe: send what is left of stdout to /dev/null, so that
    Python's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _usage_line(exc: _UsageError) -> str:
    return _one_line(f"usage: {exc.prog} ... error: {exc} (see '{exc.prog} --help')")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gmmkit`` with ``argv`` (default: ``sys.argv[1:]``).

    Every outcome is an exit code and, for errors, one line on stderr; no
    exception or traceback escapes.

    Returns
    -------
    exit_code : int
        0 success (also for ``--help`` and ``--version``), 1 the command
        failed (bad data, a failed fit, an unreadable model, or an OS error
        such as an unwritable folder; also an internal error, reported as
        one), 2 usage error, 130 interrupted.
    """
    command = "gmmkit"
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except _UsageError as exc:
            print(_usage_line(exc), file=sys.stderr)
            return EXIT_USAGE
        except SystemExit as exc:  # --help / --version
            code = exc.code
            return code if isinstance(code, int) else EXIT_OK
        command = f"gmmkit {args.command}"
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.handler(args))
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. gmmkit predict ... | head
        _quiet_stdout()
        return EXIT_OK
    except InvalidParameterError as exc:
        print(f"{command}: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except GMMError as exc:
        print(f"{command}: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"{command}: error: {_one_line(_os_error(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except MemoryError:
        hint = (
            "; try --chunk-size to stream the data" if command == "gmmkit fit" else ""
        )
        print(f"{command}: error: out of memory{hint}.", file=sys.stderr)
        return EXIT_FAILED
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the one place that catches all
        text = _one_line(f"{type(exc).__name__}: {exc}")
        print(
            f"{command}: internal error: {text} (this is a bug in gmmkit; please "
            "report it with the command that caused it)",
            file=sys.stderr,
        )
        return EXIT_FAILED
