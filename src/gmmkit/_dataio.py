"""Reading and writing the command line's tables, with located errors.

:func:`read_table` reads CSV/TSV (a header row detected or forced, columns
chosen by name or 0-based index, text columns left out with a notice),
Parquet (``pyarrow``, the ``data`` extra), ``.npy`` (no pickle) and CSV on
standard input (``-``).  Every problem is a :class:`gmmkit.DataError` whose
one-line message names the file and, where it applies, the line and column,
e.g. ``data.csv line 17, column 'x2': 'abc' is not a number``.

CSV is parsed with the standard library, so it needs no optional package.
:func:`write_table` writes labels/probabilities as CSV (or TSV) or Parquet,
chosen by the file's extension.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._atomic import atomic_write
from ._errors import DataError, require

__all__ = ["Table", "parse_columns", "read_table", "write_table"]

#: Cells read as missing values (an error: gmmkit needs complete rows).
_MISSING = {"", "na", "nan", "null", "none", "n/a", "-"}
#: How many data rows decide whether a column holds numbers or text.
_SNIFF_ROWS = 20


@dataclass
class Table:
    """Numeric data read from a file.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    feature_names : list of str
        The header's names, or ``x0, x1, ...`` when the file has none.
    has_names : bool
        Whether ``feature_names`` came from the file (a header or Parquet).
    source : str
        How to name the input in messages (``"-"`` reads as ``<stdin>``).
    notices : list of str
        Things the user should be told (e.g. text columns left out).
    """

    X: np.ndarray
    feature_names: list[str]
    has_names: bool
    source: str
    notices: list[str] = field(default_factory=list)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_missing(text: str) -> bool:
    return text.strip().lower() in _MISSING


def parse_columns(spec: str | None) -> list[str | int] | None:
    """``"a,b"`` -> ``["a", "b"]``; ``"0,2"`` -> ``[0, 2]`` (0-based)."""
    if spec is None:
        return None
    out: list[str | int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            raise DataError(f"--columns {spec!r} has an empty entry.")
        out.append(int(part) if part.lstrip("-").isdigit() else part)
    return out


def _format(path: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    if path == "-":
        return "csv"
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".npy":
        return "npy"
    if suffix in (".tsv", ".tab"):
        return "tsv"
    return "csv"


def read_table(
    path: str | os.PathLike[str],
    columns: Sequence[str | int] | None = None,
    *,
    header: bool | None = None,
    delimiter: str | None = None,
    fmt: str | None = None,
    stdin: TextIO | None = None,
) -> Table:
    """Read numeric data from ``path`` (``"-"``: CSV on standard input).

    Parameters
    ----------
    path : str or path
        ``.csv``/``.txt`` (comma), ``.tsv``/``.tab`` (tab), ``.parquet``,
        ``.npy``, or ``"-"``.
    columns : list of str or int, optional
        Columns to use, by header name or 0-based index; default all numeric
        columns (text columns are left out with a notice).
    header : bool or None
        Whether the first row of a CSV is a header; ``None`` detects it.
    delimiter : str, optional
        Field separator of a CSV; default from the extension, or sniffed.
    fmt : {"csv", "tsv", "parquet", "npy"}, optional
        Force a format instead of going by the extension.
    stdin : text stream, optional
        Used for ``"-"`` (default ``sys.stdin``).
    """
    name = str(path)
    kind = _format(name, fmt)
    if name != "-":
        p = Path(name)
        if not p.exists():
            raise DataError(f"{name}: no such file.")
        if p.is_dir():
            raise DataError(f"{name} is a folder, not a data file.")
    if kind == "npy":
        return _read_npy(name, columns)
    if kind == "parquet":
        return _read_parquet(name, columns)
    if name == "-":
        text = (stdin or sys.stdin).read()
        label = "<stdin>"
    else:
        try:
            text = Path(name).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{name} is not a UTF-8 text file (byte {exc.start}); is it a binary "
                "file? Give .npy or .parquet files their extension."
            ) from None
        label = name
    if delimiter is None and kind == "tsv":
        delimiter = "\t"
    return _read_csv(text, label, columns, header, delimiter)


# --------------------------------------------------------------------- CSV
def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _detect_header(first: list[str], rest: list[list[str]]) -> bool:
    """A header when a first-row cell is text above a column of numbers, or
    every first-row cell is text (and some column below holds numbers)."""

    def numeric_below(j: int) -> bool:
        vals = [r[j] for r in rest if j < len(r) and not _is_missing(r[j])]
        return bool(vals) and all(_is_number(v) for v in vals)

    texts = [not _is_number(c) and not _is_missing(c) for c in first]
    if any(t and numeric_below(j) for j, t in enumerate(texts)):
        return True
    if rest and all(texts):
        # all text on top: a header unless the rows below are all text too
        return any(numeric_below(j) for j in range(len(first)))
    return False


def _read_csv(
    text: str,
    label: str,
    columns: Sequence[str | int] | None,
    header: bool | None,
    delimiter: str | None,
) -> Table:
    lines = text.splitlines()
    first_content = next((ln for ln in lines if ln.strip()), None)
    if first_content is None:
        raise DataError(f"{label} is empty: no rows of data.")
    delim = delimiter or _sniff_delimiter(first_content)
    reader = csv.reader(io.StringIO(text), delimiter=delim, skipinitialspace=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            rows.append((reader.line_num, [c.strip() for c in row]))
    except csv.Error as exc:
        raise DataError(f"{label} line {reader.line_num}: {exc}.") from None
    sample = [r for _, r in rows[1 : 1 + _SNIFF_ROWS]]
    has_header = _detect_header(rows[0][1], sample) if header is None else header
    if has_header:
        header_line, names = rows[0]
        data = rows[1:]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise DataError(
                f"{label} line {header_line}: the header names column {dup!r} twice."
            )
    else:
        header_line = 0
        names = [f"x{j}" for j in range(len(rows[0][1]))]
        data = rows
    if not data:
        raise DataError(f"{label} has a header but no rows of data.")
    width = len(names)
    origin = f"the header on line {header_line}" if has_header else "the first row"
    for line, row in data:
        if len(row) != width:
            raise DataError(
                f"{label} line {line}: {len(row)} fields, expected {width} (as in "
                f"{origin}). Check the delimiter ({delim!r}) and quoting."
            )
    notices: list[str] = []
    # A column is text when most of its first non-missing values are not
    # numbers (so one bad cell in a numeric column is an error, not a notice).
    text_cols: dict[int, tuple[int, str]] = {}
    for j in range(width):
        seen = [
            (ln, r[j]) for ln, r in data[: 4 * _SNIFF_ROWS] if not _is_missing(r[j])
        ]
        seen = seen[:_SNIFF_ROWS]
        words = [(ln, v) for ln, v in seen if not _is_number(v)]
        if words and 2 * len(words) > len(seen):
            text_cols[j] = words[0]
    chosen = _choose(names, columns, label, has_header)
    if columns is None:
        for j in sorted(text_cols):
            line, value = text_cols[j]
            notices.append(
                f"{label}: leaving out text column {names[j]!r} (value {value!r} on "
                f"line {line}); choose columns with --columns."
            )
        chosen = [j for j in chosen if j not in text_cols]
        if not chosen:
            raise DataError(f"{label} has no numeric columns.")
    X = np.empty((len(data), len(chosen)))
    for i, (line, row) in enumerate(data):
        for c, j in enumerate(chosen):
            cell = row[j]
            try:
                number = float(cell)
            except ValueError:
                if _is_missing(cell):
                    raise DataError(
                        f"{label} line {line}, column {names[j]!r}: missing value "
                        f"({cell!r}); gmmkit needs complete rows - remove or impute "
                        "it."
                    ) from None
                raise DataError(
                    f"{label} line {line}, column {names[j]!r}: {cell!r} is not a "
                    "number."
                ) from None
            if not math.isfinite(number):
                raise DataError(
                    f"{label} line {line}, column {names[j]!r}: {cell!r} is not a "
                    "finite number."
                )
            X[i, c] = number
    return Table(X, [names[j] for j in chosen], has_header, label, notices)


def _choose(
    names: list[str], columns: Sequence[str | int] | None, label: str, named: bool
) -> list[int]:
    if columns is None:
        return list(range(len(names)))
    out = []
    for col in columns:
        if isinstance(col, int):
            if not 0 <= col < len(names):
                raise DataError(
                    f"{label}: column index {col} is out of range; the file has "
                    f"{len(names)} columns, numbered 0 to {len(names) - 1}."
                )
            out.append(col)
        elif col in names:
            out.append(names.index(col))
        else:
            where = (
                f"its columns are {', '.join(map(repr, names))}"
                if named
                else "it has no header row, so choose columns by 0-based index"
            )
            raise DataError(f"{label}: no column named {col!r}; {where}.")
    return out


# ------------------------------------------------------------ npy, parquet
def _read_npy(name: str, columns: Sequence[str | int] | None) -> Table:
    try:
        arr = np.load(name, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{name}: cannot read it as .npy ({exc}).") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{name}: not a valid .npy file ({exc}).") from None
    if isinstance(arr, np.lib.npyio.NpzFile):
        arr.close()
        raise DataError(f"{name} is an .npz archive; save one array with np.save.")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name} holds {arr.dtype} values, not numbers.")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"{name} holds a {arr.ndim}-D array; expected 2-D.")
    names = [f"x{j}" for j in range(arr.shape[1])]
    idx = _choose(names, columns, name, named=False)
    X = np.asarray(arr[:, idx], dtype=np.float64)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = bad[0]
        raise DataError(
            f"{name} row {i}, column {idx[j]}: {X[i, j]} is not a finite number."
        )
    return Table(X, [names[j] for j in idx], False, name)


def _read_parquet(name: str, columns: Sequence[str | int] | None) -> Table:
    pq = require("pyarrow.parquet", "data", "Reading Parquet files")
    try:
        table = pq.read_table(name)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds
        raise DataError(f"{name}: not a readable Parquet file ({exc}).") from None
    names = [str(n) for n in table.column_names]
    import pyarrow.types as pat

    numeric = [
        pat.is_integer(t) or pat.is_floating(t) or pat.is_boolean(t)
        for t in table.schema.types
    ]
    notices = []
    if columns is None:
        chosen = [j for j in range(len(names)) if numeric[j]]
        for j in range(len(names)):
            if not numeric[j]:
                notices.append(
                    f"{name}: leaving out column {names[j]!r} of type "
                    f"{table.schema.types[j]}; choose columns with --columns."
                )
        if not chosen:
            raise DataError(f"{name} has no numeric columns.")
    else:
        chosen = _choose(names, columns, name, named=True)
        for j in chosen:
            if not numeric[j]:
                raise DataError(
                    f"{name}, column {names[j]!r}: type {table.schema.types[j]} is "
                    "not numeric."
                )
    X = np.empty((table.num_rows, len(chosen)))
    for c, j in enumerate(chosen):
        col = table.column(j)
        if col.null_count:
            mask = np.asarray(col.is_null().to_numpy(zero_copy_only=False))
            row = int(np.argmax(mask))
            raise DataError(
                f"{name} row {row}, column {names[j]!r}: missing value (null); "
                "gmmkit needs complete rows - remove or impute it."
            )
        X[:, c] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        bad = np.nonzero(~np.isfinite(X[:, c]))[0]
        if bad.size:
            raise DataError(
                f"{name} row {bad[0]}, column {names[j]!r}: {X[bad[0], c]} is not "
                "a finite number."
            )
    return Table(X, [names[j] for j in chosen], True, name, notices)


# ------------------------------------------------------------------ output
def write_table(
    path: str | os.PathLike[str] | None,
    columns: dict[str, np.ndarray],
    *,
    stdout: TextIO | None = None,
) -> None:
    """Write named columns as CSV (stdout when ``path`` is None or ``"-"``),
    TSV (``.tsv``) or Parquet (``.parquet``), atomically for files."""
    names = list(columns)
    if path is None or str(path) == "-":
        _write_delimited(stdout or sys.stdout, names, columns, ",")
        return
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        pa = require("pyarrow", "data", "Writing Parquet files")
        pq = require("pyarrow.parquet", "data", "Writing Parquet files")
        table = pa.table({n: np.asarray(v) for n, v in columns.items()})
        _atomic(path, lambda tmp: pq.write_table(table, tmp), binary=True)
        return
    delim = "\t" if suffix in (".tsv", ".tab") else ","

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            _write_delimited(handle, names, columns, delim)

    _atomic(path, write, binary=False)


def _write_delimited(
    handle: TextIO, names: list[str], columns: dict[str, np.ndarray], delim: str
) -> None:
    writer = csv.writer(handle, delimiter=delim, lineterminator="\n")
    writer.writerow(names)
    arrays = [np.asarray(columns[n]) for n in names]
    for i in range(len(arrays[0]) if arrays else 0):
        writer.writerow(
            [repr(float(a[i])) if a.dtype.kind == "f" else str(a[i]) for a in arrays]
        )


def _atomic(path: Path, write: Any, binary: bool) -> None:
    atomic_write(path, write)
