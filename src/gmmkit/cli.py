"""The ``gmmkit`` command line.

``gmmkit COMMAND [options]``; also ``python -m gmmkit``.  Each command is a
subparser registered by one ``_add_<command>`` function that sets its handler
(``args.handler(args) -> int``), so new commands (fit, predict, select, ...)
are added without touching :func:`main`.

Exit codes: 0 success, 1 the work failed (one line on stderr), 2 usage error
(argparse's own message), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._errors import GMMError

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_EXAMPLES = """\
examples:
  gmmkit demo                      fit the classic 3-component example by EM and
                                   write its figures to ./gmmkit-demo
  gmmkit demo --out figs --quiet   figures into ./figs, no progress messages
  gmmkit demo --help               options of one command
"""

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
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
_COMMANDS: tuple[Callable[[Any], None], ...] = (_add_demo,)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gmmkit``, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="gmmkit",
        description="Gaussian mixture models: fit, cluster, choose K, draw.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        failed (a gmmkit error or an OS error such as an unwritable folder;
        one line on stderr), 2 usage error, 130 interrupted.
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
    except (GMMError, OSError) as exc:
        print(f"gmmkit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
