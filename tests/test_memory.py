"""A fit never holds an (n_samples x n_components) array: memory is bounded by
chunk_size. Measured with tracemalloc (numpy reports its buffers to it)."""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gmmkit import GaussianMixture

N, D, K, CHUNK = 200_000, 4, 8, 2_000
N_BY_K_BYTES = N * K * 8  # 12.8 MB: what one (n_samples, n_components) float64 costs


# Peak-memory measurements of whole fits.
pytestmark = pytest.mark.slow


def peak_bytes_of_fit(X, **kw):
    est = GaussianMixture(K, max_iter=3, tol=0.0, chunk_size=CHUNK, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:5000])  # warm-up: lazy imports and caches are not the fit
        tracemalloc.start()
        try:
            est.fit(X)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(N, D))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("start", ["params", "random", "random_from_data"])
def test_fit_memory_is_bounded_by_the_chunk(X, covariance_type, start):
    if start == "params":
        precisions = {
            "full": np.tile(np.eye(D), (K, 1, 1)),
            "tied": np.eye(D),
            "diag": np.ones((K, D)),
            "spherical": np.ones(K),
        }[covariance_type]
        kw = dict(
            means_init=X[:K],
            weights_init=np.full(K, 1.0 / K),
            precisions_init=precisions,
        )
    else:
        kw = dict(init_params=start, random_state=0)
    peak = peak_bytes_of_fit(X, covariance_type=covariance_type, **kw)
    # chunk work arrays are CHUNK*K*D*8 = 0.5 MB; allow generous slack but far
    # below a single N x K array (or a copy of X, 6.4 MB)
    assert peak < N_BY_K_BYTES / 5, f"peak {peak / 1e6:.1f} MB"


def test_the_measurement_sees_an_n_by_k_array(X):
    """The probe is real: materialising the responsibilities is caught."""
    tracemalloc.start()
    try:
        np.ones((N, K))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak >= N_BY_K_BYTES
