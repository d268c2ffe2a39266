"""Data sources: where the engine's chunks of rows come from.

Every source is a :class:`DataSource`.  It is re-iterable: each pass over the
data calls ``iter(source)`` and receives ``(first_row, X_chunk, w_chunk)``
tuples with ``X_chunk`` of shape (rows, n_features) and ``w_chunk`` the
matching sample weights.  Besides iteration, the protocol has the four
operations the engine needs, each with a default that runs here, chunk by
chunk; a backend that computes elsewhere (Dask, :mod:`gmmkit._dask`)
overrides them:

``estep(model, params)``
    the E-step's additive statistics of all rows;
``map_reduce_stats(stats_of)``
    the sum of ``stats_of(X_chunk, w_chunk)`` over all chunks;
``sample_rows(size, random_state)``
    rows drawn for a sampled start;
``final_pass(model, params, want_labels)``
    the log-likelihood of fitted parameters (and labels).

and two policies: ``with_chunk_size(n)`` (rows per chunk, unless the source
fixes its own) and ``for_em()`` (the source EM reads under the estimator's
``dtype="auto"``: float32 rows kept as float32).  A new backend subclasses
:class:`DataSource`, implements ``n_samples``, ``n_features`` and
``__iter__``, and overrides what it computes elsewhere.
"""

from __future__ import annotations

import copy
import logging
import mmap
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np

from . import _kernels, _missing
from ._errors import DataError, require
from ._stats import Params, SuffStats, check_loglik, estep_stats, score_rows
from ._table import CSVFile
from ._validation import check_finite
from .covariance import CovarianceModel

logger = logging.getLogger("gmmkit")

#: Working memory (bytes) that one chunk's per-component arrays may take when
#: ``chunk_size`` is left to gmmkit.
_CHUNK_BYTES = 16 * 2**20


def auto_chunk_size(
    n_components: int, n_features: int, moments: str | None = None
) -> int:
    """Rows per chunk so that a chunk's work arrays stay near 16 MiB (64 MiB
    where the compiled kernels serve the model).

    On the numpy/BLAS path those are (rows, K, d) arrays, with at least 2048
    rows so that each core's share of a chunk still makes efficient matrix
    products when K * d is large (measured: ~12% faster per core at d = K =
    64 than 512-row chunks, for ~50 MiB more work memory).  Where the
    compiled kernels serve the model (``moments`` given, see
    :func:`gmmkit._kernels.applicable`) they need no per-component arrays,
    only the chunk itself and (rows, K) outputs, and the fixed cost of each
    chunk (threads, argument checks) calls for large chunks, up to 64 MiB:
    at d = 64, K = 16 a float32 E-step ran 2x faster with 32768-row chunks
    than with 2048-row ones, and whole fits (1e6 rows, both precisions)
    ~7% faster with 65536-row chunks than with 26214-row ones (ad-hoc
    timings, medians of 6 alternating runs).
    """
    d = max(n_features, 1)
    if moments is not None and _kernels.applicable(moments, d) is not None:
        budget, per_row = 4 * _CHUNK_BYTES, 8 * (d + n_components)
    else:
        budget, per_row = _CHUNK_BYTES, 8 * n_components * d + 8 * 3 * d
    return int(min(65536, max(2048, budget // per_row)))


class DataSource(ABC):
    """The protocol every data source implements (see the module docstring)."""

    #: Sample weights of the rows (None: every row counts once).
    sample_weight: np.ndarray | None = None
    #: How the source is named in error messages.
    description: str = "the data"
    #: Names of the columns, where the source knows them (None otherwise).
    feature_names: list[str] | None = None
    #: NaN entries are missing values, marginalised by the E-step and the
    #: scores (``nan_policy="marginalize"``); False: NaN is an error.
    marginalize: bool = False

    @property
    @abstractmethod
    def n_samples(self) -> int:
        """Number of rows."""

    @property
    @abstractmethod
    def n_features(self) -> int:
        """Number of columns."""

    @abstractmethod
    def __iter__(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """One pass: ``(first_row, X_chunk, w_chunk)`` per chunk."""

    def with_chunk_size(self, chunk_size: int) -> DataSource:
        """This source reading ``chunk_size`` rows per chunk (where it lets
        the estimator choose; sources with their own blocks ignore it)."""
        return self

    def for_em(self) -> DataSource:
        """The source EM reads under ``dtype="auto"`` (float32 rows stay
        float32); by default the rows as they are."""
        return self

    def marginalizing(self) -> DataSource:
        """A copy of this source whose NaN entries are missing values
        (``nan_policy="marginalize"``)."""
        out = copy.copy(self)
        out.marginalize = True
        return out

    def estep(self, model: CovarianceModel, params: Params) -> SuffStats:
        """The E-step's statistics of all rows under ``params``."""
        if self.marginalize:
            return _missing.estep_stats(self, model, params)
        return estep_stats(self, model, params)

    def small_array(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(X, w)``: the rows and weights when they are one small float64
        array in memory without missing values (NaN, under
        ``nan_policy="marginalize"``), which
        :func:`gmmkit._engine.dense_em` runs EM on whole; else None."""
        return None

    def map_reduce_stats(
        self, stats_of: Callable[[np.ndarray, np.ndarray], SuffStats]
    ) -> SuffStats:
        """The sum of ``stats_of(X_chunk, w_chunk)`` over every chunk."""
        total: SuffStats | None = None
        for _, X, w in self:
            part = stats_of(X, w)
            total = part if total is None else total + part
        if total is None:
            raise DataError(f"{self.description} holds no rows.")
        return total

    def sample_rows(self, size: int, random_state: np.random.RandomState) -> np.ndarray:
        """``size`` rows drawn in one pass (weighted by ``sample_weight``)."""
        X, _, _ = reservoir_sample(self, size, random_state)
        return X.astype(np.float64, copy=False)

    def final_pass(
        self, model: CovarianceModel, params: Params, want_labels: bool
    ) -> tuple[float, np.ndarray | None]:
        """Total log-likelihood of ``params`` (and each row's label if asked)."""
        scorer = _missing.score_rows if self.marginalize else score_rows
        scores = scorer(self, model, params, want_labels)
        return total_and_labels(self, scores, want_labels)


def total_and_labels(
    source: DataSource,
    scores: Iterable[tuple[int, np.ndarray, np.ndarray | None]],
    want_labels: bool,
) -> tuple[float, np.ndarray | None]:
    """The (weighted) total of per-row log-densities and, if asked, the
    labels, from ``(start, log p(x), labels or None)`` per chunk of
    ``source`` (a final pass)."""
    total = 0.0
    labels = np.empty(source.n_samples, dtype=np.intp) if want_labels else None
    weights = source.sample_weight
    for start, log_norm, best in scores:
        stop = start + log_norm.shape[0]
        if weights is None:
            total += float(log_norm.sum())
        else:
            w = weights[start:stop]
            keep = w > 0
            total += float(w[keep] @ log_norm[keep])
        if labels is not None and best is not None:
            labels[start:stop] = best
    check_loglik(total)
    return total, labels


class ArraySource(DataSource):
    """Chunks of an in-memory (or memory-mapped) 2-D array.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        float32 or float64; each chunk is converted to float64 on the fly,
        so no float64 copy of the whole array is made.
    sample_weight : ndarray of shape (n_samples,) or None
    chunk_size : int
        Rows per chunk.
    """

    #: dtype every chunk is converted to (``None``: the array's own).
    chunk_dtype: type | None = np.float64

    def __init__(
        self, X: np.ndarray, sample_weight: np.ndarray | None, chunk_size: int
    ) -> None:
        self.X = X
        self.sample_weight = sample_weight
        self.chunk_size = int(chunk_size)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def with_chunk_size(self, chunk_size: int) -> ArraySource:
        out = copy.copy(self)
        out.chunk_size = int(chunk_size)
        return out

    def for_em(self) -> ArraySource:
        """float32 arrays are read as float32 (see :class:`Float32Rows`)."""
        if self.X.dtype == np.float32 and type(self) is ArraySource:
            out = Float32Rows(self.X, self.sample_weight, self.chunk_size)
            out.marginalize = self.marginalize
            return out
        return self

    def small_array(self) -> tuple[np.ndarray, np.ndarray] | None:
        X = self.X
        if (
            type(X) is not np.ndarray
            or not _kernels.small_chunk(X)
            or not X.flags.c_contiguous
            or (self.marginalize and np.isnan(X).any())
        ):
            return None
        w = self.sample_weight
        w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
        return X, np.ascontiguousarray(w)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        n = self.n_samples
        step = self.chunk_size
        for start in range(0, n, step):
            stop = min(start + step, n)
            X = np.asarray(self.X[start:stop], dtype=self.chunk_dtype)
            if self.sample_weight is None:
                w = np.ones(stop - start)
            else:
                w = np.asarray(self.sample_weight[start:stop], dtype=np.float64)
            yield start, X, w


def observed_means(source: DataSource) -> np.ndarray:
    """Weighted mean of each column's observed (non-NaN) values, one pass.

    A row with no observed value, or a column with none (of positive
    weight), is a DataError naming it.
    """
    d = source.n_features
    sums, counts = np.zeros(d), np.zeros(d)
    for start, X, w in source:
        mask = np.isnan(X)
        rows = np.nonzero(mask.any(axis=1))[0]
        if rows.size:
            _missing.check_observed(mask[rows], rows, start)
        sums += w @ np.where(mask, 0.0, X)
        counts += w @ ~mask
    empty = np.nonzero(~(counts > 0))[0]
    if empty.size:
        raise DataError(
            f"column {int(empty[0])} of {source.description} has no observed value "
            "(every row is NaN there, or has weight 0); "
            "nan_policy='marginalize' needs some observed values in every column. "
            "Drop that column."
        )
    return sums / counts


class MeanFilled(DataSource):
    """The rows of a source with every NaN replaced by its column's observed
    mean: what the starts of ``nan_policy="marginalize"`` are computed from
    (k-means and the first M-step on mean-imputed rows; EM itself then
    reads the rows with their missing values).
    """

    def __init__(self, source: DataSource, means: np.ndarray) -> None:
        self.source = source
        self.means = np.asarray(means, dtype=np.float64)
        self.sample_weight = source.sample_weight
        self.description = source.description
        self.feature_names = source.feature_names

    @property
    def n_samples(self) -> int:
        return self.source.n_samples

    @property
    def n_features(self) -> int:
        return self.source.n_features

    def with_chunk_size(self, chunk_size: int) -> MeanFilled:
        return MeanFilled(self.source.with_chunk_size(chunk_size), self.means)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for start, X, w in self.source:
            mask = np.isnan(X)
            yield start, (np.where(mask, self.means, X) if mask.any() else X), w


def mean_filled(source: DataSource) -> DataSource:
    """``source`` (which may hold NaN) with each NaN replaced by its
    column's observed mean; an in-memory array becomes a filled in-memory
    array, so the starts take the same path as for complete arrays."""
    means = observed_means(source)
    if type(source) in (ArraySource, Float32Rows):
        assert isinstance(source, ArraySource)
        X = np.asarray(source.X)
        filled = np.where(np.isnan(X), means, X)
        return ArraySource(filled, source.sample_weight, source.chunk_size)
    return MeanFilled(source, means)


class Float32Rows(ArraySource):
    """The chunks of an in-memory float32 array, yielded without widening.

    :func:`gmmkit._stats.estep_stats` computes densities of float32 chunks in
    float32 (and accumulates the statistics in float64), so EM over float32
    data moves half the bytes.
    """

    chunk_dtype = None  # keep the array's own dtype


# --------------------------------------------------------------------------
# Streaming sources: data that is never held in memory as a whole.
#
# Each pass reads the data once, chunk by chunk; every chunk is converted to
# float64 (float32 may stay float32 for EM, see ``keep_float32``) and checked
# (shape, NaN/inf, magnitude) as it is read, with errors naming the global row
# number.  They carry no sample weights.
# --------------------------------------------------------------------------

#: Rows drawn (in one pass) for the initialisation of a streamed fit, and for
#: in-memory arrays longer than :data:`SAMPLED_INIT_THRESHOLD`.
INIT_SAMPLE_SIZE = 100_000

#: In-memory arrays with more rows than this start from a sample (k-means on
#: ``INIT_SAMPLE_SIZE`` rows, refined by one pass over all rows); smaller ones
#: use the exact scikit-learn-compatible start on all rows.
SAMPLED_INIT_THRESHOLD = 200_000


def _data_error(message: str) -> Exception:
    return DataError(message)


def check_chunk(
    raw: object,
    start: int,
    n_features: int | None,
    what: str,
    keep_float32: bool = False,
    allow_nan: bool = False,
) -> np.ndarray:
    """Convert one chunk to a finite 2-D array or raise a located error.

    The chunk becomes float64, except that with ``keep_float32`` a float32
    chunk stays float32.  With ``allow_nan`` NaN entries pass (missing
    values under ``nan_policy="marginalize"``); infinities never do.

    Parameters
    ----------
    raw : array-like
        The chunk as read.
    start : int
        Global row number of its first row (used in messages).
    n_features : int or None
        Expected number of columns (None: not known yet).
    what : str
        How the data source is named in messages.
    """
    keep = keep_float32 and getattr(raw, "dtype", None) == np.float32
    try:
        X = np.asarray(raw, dtype=np.float32 if keep else np.float64)
    except (TypeError, ValueError) as exc:
        raise _data_error(
            f"{what}: the chunk starting at row {start} could not be read as "
            f"numbers ({exc}). Every column must hold numbers; drop or encode "
            "the others (e.g. pass columns=[...])."
        ) from None
    if X.ndim == 1 and n_features == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise _data_error(
            f"{what}: every chunk must be a 2-D array (rows, n_features); the chunk "
            f"starting at row {start} has shape {X.shape}."
        )
    if n_features is not None and X.shape[1] != n_features:
        raise _data_error(
            f"{what}: the chunk starting at row {start} has {X.shape[1]} columns, "
            f"but earlier rows have {n_features}; every chunk must have the same "
            "number of features."
        )
    check_finite(X, what, allow_nan, first_row=start)
    return X


class StreamSource(DataSource):
    """Base class of the sources that read their rows pass by pass.

    Subclasses implement :meth:`_raw_chunks` (a fresh iterator of 2-D
    array-likes per call).  Iterating the source yields the engine's
    ``(first_row, X_chunk, w_chunk)`` tuples with every chunk validated.
    ``n_samples`` is known from metadata or counted by one pass.
    """

    #: Streams carry no sample weights (every row counts once).
    sample_weight: np.ndarray | None = None
    chunk_size: int | None = None
    _n_samples: int | None = None
    _n_features: int | None = None
    #: How the source is named in error messages.
    description = "the data"
    #: Yield float32 chunks as float32 (the estimator's ``dtype="auto"``).
    keep_float32 = False

    def _raw_chunks(self) -> Iterator[object]:  # pragma: no cover - abstract
        raise NotImplementedError

    def with_chunk_size(self, chunk_size: int) -> StreamSource:
        """A copy reading ``chunk_size`` rows per chunk, unless the source
        fixed its own (the copy keeps this fit's chunk size with it)."""
        out = copy.copy(self)
        if out.chunk_size is None:
            out.chunk_size = int(chunk_size)
        return out

    def for_em(self) -> StreamSource:
        """A copy yielding float32 chunks as float32; the float64 reads of
        the start and of ``fit_predict``'s labels stay as they are."""
        out = copy.copy(self)
        out.keep_float32 = True
        return out

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        start = 0
        for raw in self._raw_chunks():
            X = check_chunk(
                raw,
                start,
                self._n_features,
                self.description,
                self.keep_float32,
                self.marginalize,
            )
            if self._n_features is None:
                self._n_features = int(X.shape[1])
            if X.shape[0] == 0:
                continue
            yield start, X, np.ones(X.shape[0])
            start += X.shape[0]
        if self._n_samples is None:
            self._n_samples = start
        elif start != self._n_samples:
            raise _data_error(
                f"{self.description} yielded {start} rows in this pass but "
                f"{self._n_samples} before; a source must give the same rows on "
                "every pass."
            )

    def _count(self) -> None:
        for _ in self:
            pass

    @property
    def n_samples(self) -> int:
        if self._n_samples is None:
            self._count()
        assert self._n_samples is not None
        return self._n_samples

    @property
    def n_features(self) -> int:
        if self._n_features is None:
            for _ in self:
                break
        if self._n_features is None:
            raise _data_error(f"{self.description} holds no rows.")
        return self._n_features


class MemmapSource(StreamSource):
    """A memory-mapped ``.npy`` file read chunk by chunk, pages released.

    Each pass maps the file, copies one chunk at a time (as float64, or as
    float32 when the estimator computes float32 files in float32) and then
    tells the kernel the chunk's pages are no longer needed
    (``madvise(MADV_DONTNEED)``), so the process never keeps more than about
    one chunk of the file resident, however large the file.

    Parameters
    ----------
    data : str, path or numpy.memmap
        A ``.npy`` file or an array from ``np.load(path, mmap_mode="r")``
        (any numeric dtype, 2-D).
    chunk_size : int or None
        Rows per chunk (None: chosen by the estimator).
    """

    def __init__(self, data: object, chunk_size: int | None = None) -> None:
        if isinstance(data, np.memmap):
            self._array: np.memmap | None = data
            self.path = getattr(data, "filename", None)
        else:
            self._array = None
            self.path = str(data)
            data = np.load(self.path, mmap_mode="r")
        arr = np.asarray(data) if not isinstance(data, np.memmap) else data
        shape = arr.shape
        if len(shape) != 2:
            raise _data_error(
                f"the memory-mapped array must be 2-D (n_samples, n_features); got "
                f"shape {shape}. Reshape it (e.g. np.save a 2-D array)."
            )
        if arr.dtype.kind not in "iufb":
            raise _data_error(
                f"the memory-mapped array has dtype {arr.dtype}, which is not numeric."
            )
        self._n_samples, self._n_features = int(shape[0]), int(shape[1])
        self.dtype = arr.dtype
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.description = f"the memory-mapped array {self.path or ''}".rstrip()

    def _open(self) -> np.memmap:
        """The array given, or the file mapped afresh for this pass.

        A memmap given by the user is used as it is (it may be a view of a
        file: a slice, reversed rows...); its pages are released chunk by
        chunk all the same.
        """
        if self._array is not None:
            return self._array
        mapped: np.memmap = np.load(str(self.path), mmap_mode="r")
        return mapped

    def _raw_chunks(self) -> Iterator[object]:
        arr = self._open()
        step = self.chunk_size or 65536
        n = int(arr.shape[0])
        release = _page_releaser(arr)
        for start in range(0, n, step):
            stop = min(start + step, n)
            # a copy (float64, or float32 kept): the chunk's pages can then go
            keep = self.keep_float32 and arr.dtype == np.float32
            chunk = np.array(arr[start:stop], dtype=np.float32 if keep else np.float64)
            release(start, stop)
            yield chunk


def _page_releaser(arr: np.memmap) -> Callable[[int, int], None]:
    """A function dropping the resident pages of rows [start, stop) of ``arr``."""
    mm = getattr(arr, "_mmap", None)
    if (
        mm is None
        or not hasattr(mm, "madvise")
        or not hasattr(mmap, "MADV_DONTNEED")
        or not arr.flags.c_contiguous
    ):
        return lambda start, stop: None
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    offset = arr.ctypes.data - base
    row = arr.strides[0]
    page = mmap.PAGESIZE
    size = len(mm)

    def release(start: int, stop: int) -> None:
        lo = (offset + start * row) // page * page
        hi = min(offset + stop * row, size)
        if hi > lo:
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    return release


def _is_numeric(kind: object) -> bool:
    text = str(kind)
    return text.startswith(("int", "uint", "float", "double", "halffloat")) or (
        text == "bool"
    )


def _arrow_to_numpy(batch: object, columns: list[str] | None, what: str) -> np.ndarray:
    """Columns of a pyarrow RecordBatch as one float64 2-D array."""
    names = list(batch.schema.names)  # type: ignore[attr-defined]
    arrays = []
    for name, col in zip(names, batch.columns):  # type: ignore[attr-defined]
        kind = str(col.type)
        if not _is_numeric(kind):
            raise _data_error(
                f"{what}: column {name!r} has type {kind}, which is not numeric. "
                "Select numeric columns with columns=[...]."
            )
        if col.null_count:
            values = col.to_numpy(zero_copy_only=False).astype(np.float64)
        else:
            values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        arrays.append(values)
    if not arrays:
        return np.empty((0, 0))
    return np.column_stack(arrays)


class ParquetSource(StreamSource):
    """A Parquet file read in record batches (pyarrow), never loaded whole.

    Parameters
    ----------
    path : str or path
    columns : list of str or None
        Numeric columns to use (None: all columns, which must be numeric).
    chunk_size : int or None
        Rows per batch (None: chosen by the estimator).

    Examples
    --------
    >>> GaussianMixture(3).fit(ParquetSource("data.parquet", columns=["x", "y"]))
    ... # doctest: +SKIP
    """

    def __init__(
        self,
        path: object,
        columns: list[str] | None = None,
        chunk_size: int | None = None,
    ) -> None:
        pq = require("pyarrow.parquet", "data", "Reading Parquet files")
        self.path = str(path)
        self.columns = None if columns is None else list(columns)
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.description = f"the Parquet file {self.path}"
        try:
            meta = pq.ParquetFile(self.path)
        except Exception as exc:
            raise _data_error(
                f"{self.description} could not be opened: {exc}"
            ) from None
        schema = meta.schema_arrow
        names = list(schema.names)
        self.notices: list[str] = []
        if self.columns is not None:
            missing = [c for c in self.columns if c not in names]
            if missing:
                raise _data_error(
                    f"{self.description} has no column(s) {missing}; it has {names}."
                )
            self._read = list(self.columns)
        else:
            # the command line's rule: text columns are left out, with a notice
            self._read = []
            for field in schema:
                if _is_numeric(field.type):
                    self._read.append(field.name)
                else:
                    self.notices.append(
                        f"{self.description}: leaving out column {field.name!r} of "
                        f"type {field.type} (not numeric); choose columns with "
                        "columns=[...]."
                    )
            if not self._read:
                raise _data_error(f"{self.description} has no numeric columns.")
            for notice in self.notices:
                logger.warning("%s", notice)
        self._n_samples = int(meta.metadata.num_rows)
        self._n_features = len(self._read)
        self.feature_names = list(self._read)

    def _raw_chunks(self) -> Iterator[object]:
        import pyarrow.parquet as pq

        file = pq.ParquetFile(self.path)
        for batch in file.iter_batches(
            batch_size=self.chunk_size or 65536, columns=self._read
        ):
            yield _arrow_to_numpy(batch, self._read, self.description)


class CSVSource(StreamSource):
    """A CSV file parsed in blocks by pyarrow's streaming reader.

    The file is read by the same rules as the command line's (one reader,
    :class:`gmmkit._table.CSVFile`): delimiter and header detected, text
    columns left out with a notice (logged to the ``"gmmkit"`` logger and
    kept in ``notices``) unless ``columns`` names them, errors located by
    line and column.

    Parameters
    ----------
    path : str or path
        The file (also ``.gz``).
    columns : list of str or int, or None
        Columns by header name or 0-based index (None: every numeric column).
    block_bytes : int
        Bytes of text parsed at a time (rows per chunk follow from it).
    delimiter : str or None
        One character; None: detected (tab for ``.tsv``).
    header : bool or None
        Whether the first row names the columns (None: detected).
    """

    def __init__(
        self,
        path: object,
        columns: list[str] | None = None,
        block_bytes: int = 8 * 2**20,
        delimiter: str | None = None,
        header: bool | None = None,
    ) -> None:
        self.path = str(path)
        if not os.path.exists(self.path):
            raise _data_error(f"the CSV file {self.path} does not exist.")
        self.columns = None if columns is None else list(columns)
        self.block_bytes = int(block_bytes)
        self._file = CSVFile(
            self.path, self.columns, header=header, delimiter=delimiter
        )
        self.description = f"the CSV file {self.path}"
        self.notices = list(self._file.notices)
        for notice in self.notices:
            logger.warning("%s", notice)
        # the CSV reader fixes its own chunks (block_bytes)
        self.chunk_size = 0
        self._n_features = len(self._file.chosen)
        if self._file.has_names:
            self.feature_names = list(self._file.feature_names)

    def _raw_chunks(self) -> Iterator[object]:
        return self._file.batches(self.block_bytes)

    def marginalizing(self) -> CSVSource:
        """A copy that reads empty and NA cells as NaN (missing values)."""
        out = cast(CSVSource, super().marginalizing())
        out._file = copy.copy(self._file)
        out._file.missing = True
        return out


class IterableSource(StreamSource):
    """Any re-iterable stream of chunks: a callable returning a fresh iterator.

    Parameters
    ----------
    make_chunks : callable
        ``make_chunks()`` returns an iterator of 2-D arrays (rows, n_features);
        it is called once per pass and must yield the same rows every time.

    Examples
    --------
    >>> def chunks():
    ...     for i in range(10):
    ...         yield np.load(f"part{i}.npy")
    >>> GaussianMixture(3).fit(chunks)  # doctest: +SKIP
    """

    def __init__(self, make_chunks: Callable[[], Iterable[object]]) -> None:
        self.make_chunks = make_chunks
        self.description = f"the chunks of {getattr(make_chunks, '__name__', 'X')}"
        self.chunk_size = 0

    def _raw_chunks(self) -> Iterator[object]:
        chunks = self.make_chunks()
        if isinstance(chunks, np.ndarray) or not hasattr(chunks, "__iter__"):
            raise _data_error(
                f"{self.description}: the callable must return an iterator of 2-D "
                f"arrays; it returned {type(chunks).__name__}."
            )
        yield from chunks


def open_source(path: object, columns: list[str] | None = None) -> StreamSource:
    """Open a data file as a streaming source, chosen by its extension.

    ``.npy`` → :class:`MemmapSource`, ``.parquet``/``.pq`` →
    :class:`ParquetSource`, ``.csv`` (or ``.csv.gz``) → :class:`CSVSource`.
    Used by the command line; the file is never loaded whole.
    """
    text = str(path)
    lower = text.lower()
    if not os.path.exists(text):
        raise _data_error(f"the data file {text} does not exist.")
    if lower.endswith(".npy"):
        if columns is not None:
            raise _data_error("columns=... applies to Parquet and CSV files, not .npy.")
        return MemmapSource(text)
    if lower.endswith((".parquet", ".pq")):
        return ParquetSource(text, columns=columns)
    if lower.endswith((".csv", ".csv.gz", ".txt")):
        return CSVSource(text, columns=columns)
    raise _data_error(
        f"cannot tell the format of {text}: use a .npy, .parquet or .csv file."
    )


def as_stream(X: object) -> DataSource | None:
    """The streaming source for X, or None when X is an ordinary array-like."""
    if isinstance(X, StreamSource):
        return X
    if isinstance(X, np.memmap):
        return MemmapSource(X)
    if callable(X) and not isinstance(X, type) and not hasattr(X, "__array__"):
        return IterableSource(X)
    return None


def reservoir_sample(
    chunks: Iterable[tuple[int, np.ndarray, np.ndarray]],
    size: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A weighted sample of ``size`` rows without replacement, in one pass.

    Each row gets the key ``E / w`` (``E`` exponential, ``w`` its weight);
    the ``size`` smallest keys are kept (Efraimidis & Spirakis 2006), so with
    equal weights every subset of rows is equally likely.  Rows of weight 0
    are never drawn.

    Returns
    -------
    X : ndarray of shape (m, n_features), the rows in their original order
    w : ndarray of shape (m,), their weights
    index : ndarray of shape (m,), their global row numbers
    """
    # Candidates are gathered in pieces and cut back to the ``size`` smallest
    # keys whenever they reach twice that; after a cut, only rows with a key
    # below the largest kept one can still enter.
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    count = 0
    threshold = np.inf

    def cut(limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        key, X, w, index = (np.concatenate(part) for part in zip(*pieces))
        if key.shape[0] > limit:
            sel = np.argpartition(key, limit - 1)[:limit]
            key, X, w, index = key[sel], X[sel], w[sel], index[sel]
        return key, X, w, index

    for start, X, w in chunks:
        e = random_state.standard_exponential(X.shape[0])
        with np.errstate(divide="ignore"):
            key = np.where(w > 0, e / np.where(w > 0, w, 1.0), np.inf)
        idx = np.nonzero(key < threshold)[0]
        if idx.size:
            pieces.append((key[idx], X[idx], w[idx], start + idx))
            count += idx.size
        if count >= 2 * size:
            kept = cut(size)
            pieces, count, threshold = [kept], size, float(kept[0].max())
    if not pieces:
        raise _data_error("the data hold no rows with positive weight.")
    _, keep_X, keep_w, keep_i = cut(size)
    order = np.argsort(keep_i, kind="stable")
    return keep_X[order], keep_w[order], keep_i[order]


def _read_npy_rows(path: str, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of a .npy file, read through a memory map."""
    arr = np.load(path, mmap_mode="r")
    return np.array(arr[start:stop], dtype=np.float64)


def dask_array_from_file(
    path: object, columns: list[str] | None = None, chunk_size: int | None = None
) -> Any:
    """A dask array whose blocks are read from DATA by the workers themselves.

    ``.npy``: blocks of ``chunk_size`` rows read through a memory map;
    ``.parquet``: ``dask.dataframe.read_parquet``; ``.csv``:
    ``dask.dataframe.read_csv``.  The path must be readable by every worker
    (the same file system).
    """
    da = require("dask.array", "dask", "Reading a file into a dask array")
    text = os.path.abspath(str(path))
    source = open_source(text, columns)  # checks existence, format, columns
    lower = text.lower()
    if lower.endswith(".npy"):
        import dask

        n, d = source.n_samples, source.n_features
        step = int(chunk_size or 1_000_000)
        blocks = [
            da.from_delayed(
                dask.delayed(_read_npy_rows, pure=True)(text, s, min(s + step, n)),
                shape=(min(s + step, n) - s, d),
                dtype=np.float64,
            )
            for s in range(0, n, step)
        ]
        return da.concatenate(blocks, axis=0)
    dd = require("dask.dataframe", "dask", "Reading a file into a dask array")
    if lower.endswith((".parquet", ".pq")):
        frame = dd.read_parquet(text, columns=columns)
    else:
        frame = dd.read_csv(text, usecols=columns, blocksize="64MB")
    return frame.to_dask_array(lengths=True)


@contextmanager
def scaled_input(
    path: object,
    columns: list[str] | None = None,
    chunk_size: int | None = None,
    scheduler: str | None = None,
) -> Iterator[Any]:
    """X for ``fit`` that never loads DATA whole (used by ``gmmkit fit``).

    Without ``scheduler``: the streaming source of :func:`open_source`
    (rows per chunk ``chunk_size``).  With a Dask scheduler address: a
    ``distributed.Client`` connected to it for the duration of the block and
    a dask array read by the workers (:func:`dask_array_from_file`).
    """
    if scheduler is None:
        source = open_source(path, columns)
        if chunk_size is not None and source.chunk_size is None:
            source.chunk_size = int(chunk_size)
        yield source
        return
    distributed = require("distributed", "dask", "Fitting on a Dask cluster")
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except OSError as exc:
        raise _data_error(
            f"cannot connect to the Dask scheduler at {scheduler!r} ({exc}). Start "
            "one (e.g. `dask scheduler` and `dask worker ADDRESS`) or check the "
            "address."
        ) from None
    with client:
        yield dask_array_from_file(path, columns, chunk_size)
