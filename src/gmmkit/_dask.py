"""Dask: EM over the blocks of a dask array, on a cluster.

Every EM iteration is one blockwise map of the statistics kernel
(:func:`gmmkit._stats.estep_stats` on each row block) followed by a tree
reduction of the additive :class:`~gmmkit._stats.SuffStats`; only the
reduced statistics (O(K d^2) numbers) come back to the client, where the
M-step runs and the new parameters are sent out with the next map.  The
computation runs on the active ``distributed.Client`` when there is one (the
array is persisted on the workers first, so each pass reads worker memory),
otherwise on dask's default scheduler.

Because the statistics add up exactly, the fit equals the in-memory fit
from the same start up to the order of floating-point additions (about
1e-13 relative in practice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _missing
from ._errors import DataError, require
from ._stats import Params, SuffStats, estep_stats, score_chunks, score_rows
from .covariance import CovarianceModel
from .sources import DataSource, check_chunk

#: How many partial statistics one task of the tree reduction adds up.
REDUCE_FAN_IN = 8

_WHAT = "the dask array"


def _as_dask_array(X: Any) -> Any:
    """A 2-D dask array with known block sizes and whole rows per block."""
    da = require("dask.array", "dask", "Fitting a dask array")
    if not isinstance(X, da.Array):
        to_array = getattr(X, "to_dask_array", None)
        if to_array is None:
            raise DataError(
                f"X is a {type(X).__name__} from dask, but only dask arrays and dask "
                "DataFrames are supported. Convert it with .to_dask_array()."
            )
        X = to_array(lengths=True)
    if X.ndim != 2:
        raise DataError(
            f"X must be a 2-D dask array (n_samples, n_features); got shape "
            f"{X.shape}. Reshape it first."
        )
    if X.dtype.kind not in "iufb":
        raise DataError(
            f"X has dtype {X.dtype}, which is not numeric; every column must "
            "hold numbers."
        )
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _client() -> Any:
    """The active distributed Client, or None."""
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - dask without distributed
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _block_stats(
    stats_of: Callable[[np.ndarray, np.ndarray], SuffStats],
    block: np.ndarray,
    start: int,
    n_features: int,
    allow_nan: bool = False,
) -> SuffStats:
    X = check_chunk(block, start, n_features, _WHAT, allow_nan=allow_nan)
    return stats_of(X, np.ones(X.shape[0]))


def _sum_stats(*parts: SuffStats) -> SuffStats:
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


class _EStep:
    """``(X, w) -> estep statistics`` for fixed parameters (picklable)."""

    def __init__(
        self, model: CovarianceModel, params: Params, missing: bool = False
    ) -> None:
        self.model = model
        self.params = params
        self.missing = missing

    def __call__(self, X: np.ndarray, w: np.ndarray) -> SuffStats:
        estep = _missing.estep_stats if self.missing else estep_stats
        return estep([(0, X, w)], self.model, self.params)


class DaskSource(DataSource):
    """A dask array as a source of the EM engine (see the module docstring).

    Parameters
    ----------
    X : dask.array.Array or dask DataFrame
        Rows are split into blocks (``X.chunks[0]``); each block is one chunk.
    """

    sample_weight = None

    def __init__(self, X: Any) -> None:
        X = _as_dask_array(X)
        client = _client()
        if client is not None:
            X = client.persist(X)
        self.X = X
        self._starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(
            np.int64
        )

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def with_chunk_size(self, chunk_size: int) -> DaskSource:
        """Blocks are the chunks (rechunk the dask array to change them)."""
        return self

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Blocks computed one by one on the client (used only by resp_init)."""
        for start, block in zip(self._starts, self.X.to_delayed().ravel()):
            X = check_chunk(
                block.compute(),
                int(start),
                self.n_features,
                _WHAT,
                allow_nan=self.marginalize,
            )
            yield int(start), X, np.ones(X.shape[0])

    def map_reduce_stats(
        self, stats_of: Callable[[np.ndarray, np.ndarray], SuffStats]
    ) -> SuffStats:
        """Sum of ``stats_of(X_block, w_block)`` over blocks, on the cluster."""
        import dask

        d = self.n_features
        parts = [
            dask.delayed(_block_stats, pure=False)(
                stats_of, block, int(start), d, self.marginalize
            )
            for start, block in zip(self._starts, self.X.to_delayed().ravel())
        ]
        while len(parts) > 1:
            parts = [
                dask.delayed(_sum_stats, pure=False)(*parts[i : i + REDUCE_FAN_IN])
                for i in range(0, len(parts), REDUCE_FAN_IN)
            ]
        (total,) = dask.compute(parts[0])
        return total

    def estep(self, model: CovarianceModel, params: Params) -> SuffStats:
        """One E-step: blockwise statistics plus a tree reduction."""
        return self.map_reduce_stats(_EStep(model, params, self.marginalize))

    def sample_rows(self, size: int, random_state: np.random.RandomState) -> np.ndarray:
        """``size`` rows drawn uniformly without replacement (one gather)."""
        n = self.n_samples
        index = np.sort(random_state.choice(n, size=min(size, n), replace=False))
        rows = np.asarray(self.X[index].compute())
        return check_chunk(
            rows,
            0,
            self.n_features,
            _WHAT + " (a sample of it)",
            allow_nan=self.marginalize,
        )

    def final_pass(
        self, model: CovarianceModel, params: Params, want_labels: bool
    ) -> tuple[float, np.ndarray | None]:
        """Log-likelihood of the fitted parameters (and labels if asked)."""
        total = self.estep(model, params).loglik
        labels = None
        if want_labels:
            labels = np.asarray(
                self.X.map_blocks(
                    _block_scores,
                    model,
                    params,
                    "predict",
                    self.marginalize,
                    drop_axis=1,
                    dtype=np.intp,
                ).compute()
            )
        return float(total), labels


def _block_scores(
    block: np.ndarray,
    model: CovarianceModel,
    params: Params,
    what: str,
    missing: bool = False,
) -> np.ndarray:
    X = np.asarray(block, dtype=np.float64)
    chunk = [(0, X, np.ones(X.shape[0]))]
    if what == "predict_proba":
        chunks = _missing.score_chunks if missing else score_chunks
        ((_, log_prob, log_norm),) = chunks(chunk, model, params)
        return np.exp(log_prob - log_norm[:, None])
    rows = _missing.score_rows if missing else score_rows
    ((_, log_norm, labels),) = rows(chunk, model, params, what == "predict")
    return np.asarray(labels, dtype=np.intp) if what == "predict" else log_norm


def lazy_scores(
    X: Any,
    model: CovarianceModel,
    params: Params,
    n_features: int,
    what: str,
    missing: bool = False,
) -> Any:
    """``predict`` / ``predict_proba`` / ``score_samples`` as a lazy dask array.

    Nothing is computed here: the result is a blockwise map over X's row
    blocks.  NaN in a block surfaces as NaN results when computed (the
    in-memory methods raise instead).
    """
    X = _as_dask_array(X)
    if X.shape[1] != n_features:
        raise DataError(
            f"X has {X.shape[1]} features, but the model was fitted with "
            f"{n_features} features. Pass data with the same columns."
        )
    if what == "predict_proba":
        k = params.n_components
        return X.map_blocks(
            _block_scores,
            model,
            params,
            what,
            missing,
            chunks=(X.chunks[0], (k,)),
            dtype=np.float64,
        )
    dtype = np.intp if what == "predict" else np.float64
    return X.map_blocks(
        _block_scores, model, params, what, missing, drop_axis=1, dtype=dtype
    )
