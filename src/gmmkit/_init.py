"""Initialisations: starting responsibilities, then one M-step from them.

The random streams are consumed exactly as scikit-learn consumes them, so the
same ``random_state`` gives the same start as ``sklearn.mixture``.
Responsibilities are produced chunk by chunk (``resp_of(start, stop)``), so no
(n_samples, n_components) array exists unless the user passed one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._engine import m_step
from ._stats import Params, resp_stats
from .covariance import CovarianceModel
from .sources import ArraySource

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")

RespOf = Callable[[int, int], np.ndarray]


def _one_hot(labels: np.ndarray, n_components: int) -> RespOf:
    """Responsibilities that put each row entirely in its labelled component."""

    def resp_of(start: int, stop: int) -> np.ndarray:
        lab = labels[start:stop]
        out = np.zeros((lab.shape[0], n_components))
        rows = np.nonzero(lab >= 0)[0]
        out[rows, lab[rows]] = 1.0
        return out

    return resp_of


def _picked_rows(indices: np.ndarray, n_components: int) -> RespOf:
    """Responsibilities giving component k all of row ``indices[k]`` only.

    A row may be picked by several components (k-means++ on data with
    repeated points does this); each of them then starts from that row.
    """

    def resp_of(start: int, stop: int) -> np.ndarray:
        out = np.zeros((stop - start, n_components))
        inside = (indices >= start) & (indices < stop)
        out[indices[inside] - start, np.nonzero(inside)[0]] = 1.0
        return out

    return resp_of


def initial_resp(
    method: str,
    source: ArraySource,
    n_components: int,
    random_state: np.random.RandomState,
) -> RespOf:
    """Starting responsibilities for ``init_params=method``."""
    n_samples = source.n_samples
    sw = source.sample_weight
    if method == "kmeans":
        from sklearn.cluster import KMeans

        labels = (
            KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
            .fit(source.X, sample_weight=sw)
            .labels_
        )
        return _one_hot(labels, n_components)
    if method in ("k-means++", "random_from_data"):
        if method == "k-means++":
            from sklearn.cluster import kmeans_plusplus

            _, indices = kmeans_plusplus(
                source.X, n_components, random_state=random_state, sample_weight=sw
            )
        elif sw is None:
            indices = random_state.choice(n_samples, size=n_components, replace=False)
        else:
            # Rows with zero weight are not part of the data: never pick them.
            indices = random_state.choice(
                np.nonzero(sw > 0)[0], size=n_components, replace=False
            )
        return _picked_rows(np.asarray(indices, dtype=np.intp), n_components)
    if method == "random":
        # Drawn row-major in chunk order: the same numbers as one
        # uniform(size=(n_samples, n_components)) call.
        def resp_of(start: int, stop: int) -> np.ndarray:
            r = random_state.uniform(size=(stop - start, n_components))
            return r / r.sum(axis=1)[:, None]

        return resp_of
    raise AssertionError(method)  # validated by the estimator


def params_from_resp(
    source: ArraySource,
    model: CovarianceModel,
    resp_of: RespOf,
    n_components: int,
    reg_covar: float,
) -> Params:
    """One M-step from responsibilities (mclust's ``me`` starts like this).

    Moments are taken about the mean of the first chunk, a point inside the
    data, which keeps them accurate for data far from the origin.
    """
    first = next(iter(source))
    _, X0, w0 = first
    centre = (w0 @ X0) / w0.sum() if w0.sum() > 0 else X0.mean(axis=0)
    centres = np.repeat(centre[None, :], n_components, axis=0)
    stats = resp_stats(source, resp_of, centres, model.moments)
    params = m_step(model, stats, reg_covar, previous=None)
    # scikit-learn divides the first counts by the total weight without
    # renormalising; keep that so both libraries start from the same point.
    nk = stats.n + 10 * np.finfo(np.float64).eps
    params.weights = nk / stats.weight
    return params
