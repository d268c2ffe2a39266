"""Data sources: where the engine's chunks of rows come from.

A source is re-iterable: each pass over the data calls ``iter(source)`` and
receives ``(first_row, X_chunk, w_chunk)`` tuples with ``X_chunk`` as float64
of shape (rows, n_features) and ``w_chunk`` the matching sample weights.  The
EM engine only ever sees this interface, so in-memory arrays, memory-mapped
files and other backends share one implementation of EM.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Working memory (bytes) that one chunk's per-component arrays may take when
#: ``chunk_size`` is left to gmmkit.
_CHUNK_BYTES = 16 * 2**20


def auto_chunk_size(n_components: int, n_features: int) -> int:
    """Rows per chunk so that the (rows, K, d) work arrays stay near 16 MiB."""
    per_row = 8 * n_components * max(n_features, 1) + 8 * 3 * max(n_features, 1)
    return int(min(65536, max(256, _CHUNK_BYTES // per_row)))


class ArraySource:
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

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        n = self.n_samples
        step = self.chunk_size
        for start in range(0, n, step):
            stop = min(start + step, n)
            X = np.asarray(self.X[start:stop], dtype=np.float64)
            if self.sample_weight is None:
                w = np.ones(stop - start)
            else:
                w = np.asarray(self.sample_weight[start:stop], dtype=np.float64)
            yield start, X, w
