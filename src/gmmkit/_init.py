"""Initialisations: starting responsibilities, then one M-step from them.

The random streams are consumed exactly as scikit-learn consumes them, so the
same ``random_state`` gives the same start as ``sklearn.mixture``.
Responsibilities are produced chunk by chunk (``resp_of(start, stop)``), so no
(n_samples, n_components) array exists unless the user passed one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _kernels
from ._engine import m_step
from ._hc import HCStart
from ._prior import ResolvedPrior
from ._stats import Params, Responsibilities, SuffStats, count_guard, resp_stats
from .covariance import CovarianceModel
from .sources import INIT_SAMPLE_SIZE, ArraySource, DataSource

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "hc")


def _one_hot(labels: np.ndarray, n_components: int) -> Responsibilities:
    """Responsibilities that put each row entirely in its labelled component."""
    return Responsibilities(n_components, labels=np.asarray(labels, dtype=np.intp))


def _picked_rows(indices: np.ndarray, n_components: int) -> Responsibilities:
    """Responsibilities giving component k all of row ``indices[k]`` only.

    A row may be picked by several components (k-means++ on data with
    repeated points does this); each of them then starts from that row.
    """

    def resp_of(start: int, stop: int) -> np.ndarray:
        out = np.zeros((stop - start, n_components))
        inside = (indices >= start) & (indices < stop)
        out[indices[inside] - start, np.nonzero(inside)[0]] = 1.0
        return out

    return Responsibilities(n_components, of=resp_of)


def initial_resp(
    method: str,
    source: ArraySource,
    n_components: int,
    random_state: np.random.RandomState,
) -> Responsibilities:
    """Starting responsibilities for ``init_params=method``."""
    n_samples = source.n_samples
    sw = source.sample_weight
    if method == "kmeans":
        from sklearn.cluster import KMeans

        with _kernels.kmeans_threads(source.X.size):
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

        return Responsibilities(n_components, of=resp_of)
    if method == "hc":
        # mclust's start: model-based hierarchical clustering (see _hc.py) of
        # the rows with positive weight (their weights are not used), on a
        # random subset of them when there are more than HC_SUBSET.
        rows = None if sw is None else np.nonzero(sw > 0)[0]
        labels = HCStart(source.X, random_state, rows).labels(n_components)
        return Responsibilities(n_components, labels=labels, subset=True)
    raise AssertionError(method)  # validated by the estimator


def stats_from_resp(
    source: DataSource, resp: Responsibilities, n_components: int, moments: str
) -> SuffStats:
    """The statistics of given responsibilities, the input of a first M-step.

    Moments are taken about the mean of the first chunk, a point inside the
    data, which keeps them accurate for data far from the origin.
    """
    _, X0, w0 = next(iter(source))
    centre = (w0 @ X0) / w0.sum() if w0.sum() > 0 else X0.mean(axis=0)
    centres = np.repeat(centre[None, :], n_components, axis=0)
    return resp_stats(source, resp, centres, moments)


def params_from_resp(
    source: DataSource,
    model: CovarianceModel,
    resp: Responsibilities,
    n_components: int,
    reg_covar: float,
    prior: ResolvedPrior | None = None,
) -> Params:
    """One M-step from responsibilities (mclust's ``me`` starts like this).

    With a ``prior`` it is the MAP M-step (see :func:`gmmkit._engine.m_step`);
    the statistics are :func:`stats_from_resp`'s.
    """
    stats = stats_from_resp(source, resp, n_components, model.moments)
    params = m_step(
        model, stats, reg_covar, previous=None, prior=prior, strict=resp.given
    )
    # scikit-learn divides the first counts by the total weight without
    # renormalising; keep that so both libraries start from the same point.
    nk = stats.n + count_guard(stats.weight, stats.rows)
    if resp.subset:
        # init_params="hc" on a subset of a long array: rows outside the
        # subset carry no responsibility, the weights are the subset's (mclust).
        params.weights = nk / nk.sum()
    else:
        params.weights = nk / stats.weight
    return params


# --------------------------------------------------------------------------
# Starts from a sample: streamed sources and very long in-memory arrays.
# --------------------------------------------------------------------------

StatsOf = Callable[[np.ndarray, np.ndarray], SuffStats]


def _nearest_centre_stats(centres: np.ndarray, moments: str) -> StatsOf:
    """Statistics of the partition of rows by their nearest centre.

    Each core takes a block of the chunk's rows (BLAS single-threaded
    inside): the pass over all rows after a sampled k-means start took 0.27
    s on one core at 1e6 x 16, K = 16, a quarter of the whole default fit.
    """

    def block(X: np.ndarray, w: np.ndarray) -> SuffStats:
        d2 = (
            np.einsum("ij,ij->i", X, X)[:, None]
            - 2.0 * X @ centres.T
            + np.einsum("ij,ij->i", centres, centres)[None, :]
        )
        labels = d2.argmin(axis=1)
        one_hot = _one_hot(labels, centres.shape[0])
        return resp_stats([(0, X, w)], one_hot, centres, moments)

    def stats_of(X: np.ndarray, w: np.ndarray) -> SuffStats:
        with _kernels.single_threaded_blas():
            parts = _kernels.map_blocks(
                lambda lo, hi: block(X[lo:hi], w[lo:hi]),
                X.shape[0],
                threads=_kernels.numpy_threads(),
            )
        return sum(parts[1:], parts[0])

    return stats_of


def sampled_start(
    method: str,
    source: DataSource,
    model: CovarianceModel,
    n_components: int,
    reg_covar: float,
    random_state: np.random.RandomState,
    sample_size: int = INIT_SAMPLE_SIZE,
) -> Params:
    """A start from ``sample_size`` rows drawn in one pass over ``source``.

    ``init_params`` runs on the sample (drawn with probability proportional
    to the sample weights, so the sample itself is unweighted).  For
    ``"kmeans"`` the start is then refined by one more pass: every row goes
    to its nearest k-means centre and one M-step on that partition of all
    rows gives the starting parameters.  Used for streamed sources and for
    in-memory arrays above ``SAMPLED_INIT_THRESHOLD`` rows.
    """
    Xs = source.sample_rows(sample_size, random_state)
    sample = ArraySource(Xs, None, max(1, Xs.shape[0]))
    resp_of = initial_resp(method, sample, n_components, random_state)
    params = params_from_resp(sample, model, resp_of, n_components, reg_covar)
    if method != "kmeans":
        return params
    stats = source.map_reduce_stats(_nearest_centre_stats(params.means, model.moments))
    if (stats.n <= 0).any():  # a centre no row is nearest to: keep the sample fit
        return params
    refined = m_step(model, stats, reg_covar, previous=None)
    refined.weights = (stats.n + count_guard(stats.weight, stats.rows)) / stats.weight
    return refined
