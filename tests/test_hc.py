"""init_params="hc": mclust's hierarchical start, checked against R's mclust.

The oracle is tests/mclust/hc_reference.json, written by
tests/mclust/make_hc_reference.R (mclust 6.0): ``hclass(hc(X, "VVV",
use = "SVD"), 1:9)`` and, for 1-D data, ``qclass(x, G)``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import gmmkit._hc as hc_module
from gmmkit import GaussianMixture
from gmmkit._hc import HCStart, hc_tree, hc_vvv, qclass, svd_transform

REF = json.loads((Path(__file__).parent / "mclust" / "hc_reference.json").read_text())
SETS = REF["datasets"]


def data(name: str) -> np.ndarray:
    return np.array(SETS[name]["data"], dtype=np.float64)


@pytest.fixture(scope="module")
def trees() -> dict[str, hc_module.HCTree]:
    return {name: hc_tree(data(name)) for name in ("faithful", "iris", "gen3")}


@pytest.mark.parametrize("name", ["faithful", "iris", "gen3"])
@pytest.mark.parametrize("k", range(1, 10))
def test_partitions_equal_mclust_hclass(trees, name, k):
    # Same labels, not only the same partition: hclass numbers clusters by
    # first appearance, and so does HCTree.cut.
    expected = np.array(SETS[name]["hc"][k - 1]) - 1
    np.testing.assert_array_equal(trees[name].cut(k), expected)


@pytest.mark.parametrize("k", range(1, 10))
def test_wide_data_use_the_eii_tree_as_mclust(k):
    # 12 rows, 15 columns: mclust builds its tree with the EII criterion.
    X = data("wide")
    assert X.shape[0] <= X.shape[1]
    expected = np.array(SETS["wide"]["hc"][k - 1]) - 1
    np.testing.assert_array_equal(hc_tree(X).cut(k), expected)


def test_eii_tree_is_wards_method():
    from scipy.cluster.hierarchy import fcluster, linkage

    Z = svd_transform(data("gen3"))
    tree = hc_module.hc_eii(Z)
    ward = linkage(Z, "ward")
    for k in range(2, 8):
        ours = tree.cut(k)
        theirs = fcluster(ward, k, "maxclust")
        assert len(set(zip(ours, theirs))) == k


def test_subset_tree_equals_mclust_on_its_2000_rows():
    entry = SETS["big"]
    X = data("big")[np.array(entry["subset"]) - 1]
    assert X.shape[0] == 2000
    tree = hc_tree(X)
    for k in range(1, 10):
        expected = np.array(entry["hc_subset"][k - 1]) - 1
        np.testing.assert_array_equal(tree.cut(k), expected, err_msg=f"k={k}")


@pytest.mark.parametrize("k", range(1, 10))
def test_qclass_equals_mclust(k):
    x = data("oned")[:, 0]
    np.testing.assert_array_equal(
        qclass(x, k), np.array(SETS["oned"]["qclass"][k - 1]) - 1
    )


def test_tree_is_invariant_to_column_shift_and_scale(trees):
    # The SVD transform standardises the columns first.
    X = data("iris") * np.array([3.0, 0.1, 7.0, 2.0]) + np.array([100.0, -5, 0, 1e3])
    tree = hc_tree(X)
    for k in range(2, 10):
        np.testing.assert_array_equal(tree.cut(k), trees["iris"].cut(k))


def test_svd_transform_whitens_up_to_singular_values():
    # Z = Xs V diag(s)^-1/2, so Z^T Z = diag(s) (the singular values of Xs).
    X = data("gen3")
    Z = svd_transform(X)
    Xs = (X - X.mean(0)) / X.std(0, ddof=1)
    s = np.linalg.svd(Xs, compute_uv=False)
    np.testing.assert_allclose(Z.T @ Z, np.diag(s), atol=1e-9 * s.max())


def test_constant_column_is_dropped():
    X = data("faithful")
    with_constant = np.column_stack([X, np.full(X.shape[0], 3.0)])
    np.testing.assert_array_equal(hc_tree(with_constant).cut(4), hc_tree(X).cut(4))


def test_merge_costs_brute_force_small():
    # On 7 points, every step must merge the pair whose union increases the
    # regularised VVV criterion least (computed here from scratch).
    rng = np.random.RandomState(3)
    Z = rng.normal(size=(7, 2))
    n, p = Z.shape
    alpha = ((Z - Z.mean(0)) ** 2).sum() / (n * p)

    def term(idx):
        m = len(idx)
        pts = Z[idx]
        W = (pts - pts.mean(0)).T @ (pts - pts.mean(0))
        t = np.trace(W)
        base = (t + alpha) / m
        if m <= p:
            return m * np.log(base)
        return m * np.log(np.linalg.det(W / m) + base)

    tree = hc_vvv(Z)
    clusters = [[i] for i in range(n)]
    for a, b in tree.merges:
        best, pair = np.inf, None
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                c = (
                    term(clusters[i] + clusters[j])
                    - term(clusters[i])
                    - term(clusters[j])
                )
                if c < best:
                    best, pair = c, (i, j)
        i, j = pair
        ia = next(q for q, c in enumerate(clusters) if a in c)
        ib = next(q for q, c in enumerate(clusters) if b in c)
        assert {ia, ib} == {i, j}
        clusters[i] = clusters[i] + clusters[j]
        del clusters[j]


# ----------------------------------------------------------- GaussianMixture


def test_hc_start_is_one_mstep_from_the_mclust_partition():
    X = data("iris")
    labels = np.array(SETS["iris"]["hc"][2]) - 1
    resp = np.eye(3)[labels]
    hc = GaussianMixture(3, init_params="hc", max_iter=0, reg_covar=0).fit(X)
    ref = GaussianMixture(3, resp_init=resp, max_iter=0, reg_covar=0).fit(X)
    np.testing.assert_allclose(hc.means_, ref.means_, rtol=1e-12)
    np.testing.assert_allclose(hc.covariances_, ref.covariances_, rtol=1e-12)
    np.testing.assert_allclose(hc.weights_, ref.weights_, rtol=1e-12)


@pytest.mark.parametrize("cov", ["full", "spherical"])
def test_hc_fit_reproduces_mclust_bic(cov):
    # From mclust's start with mclust's stopping rule and no reg_covar, the
    # log-likelihood mclust reports is the one the last convergence check saw.
    X = data("faithful")
    name = {"full": "VVV", "spherical": "VII"}[cov]
    gm = GaussianMixture(
        3, covariance_type=cov, init_params="hc", reg_covar=0, tol=1e-5,
        convergence="mclust", max_iter=10_000,
    ).fit(X)  # fmt: skip
    loglik = gm.log_likelihood_history_[-2]
    bic = -2 * loglik + gm.n_parameters() * np.log(X.shape[0])
    np.testing.assert_allclose(bic, -SETS["faithful"]["bic"][name][2], rtol=1e-9)


def test_one_dimensional_start_uses_quantile_classes():
    X = data("oned")
    labels = qclass(X[:, 0], 3)
    hc = GaussianMixture(3, init_params="hc", max_iter=0, reg_covar=0).fit(X)
    ref = GaussianMixture(3, resp_init=np.eye(3)[labels], max_iter=0, reg_covar=0).fit(
        X
    )
    np.testing.assert_allclose(np.sort(hc.means_[:, 0]), np.sort(ref.means_[:, 0]))


def test_long_data_start_from_a_random_subset(monkeypatch):
    # Above HC_SUBSET rows the tree is built on a random subset; the start is
    # one M-step on the subset (weights = subset proportions, summing to 1).
    monkeypatch.setattr(hc_module, "HC_SUBSET", 120)
    X = data("gen3")
    gm = GaussianMixture(3, init_params="hc", max_iter=0, random_state=5).fit(X)
    start = HCStart(X, np.random.RandomState(5))
    assert start.rows.shape[0] == 120
    labels = start.labels(3)
    inside = labels >= 0
    assert inside.sum() == 120
    ref = GaussianMixture(3, resp_init=np.eye(3)[labels[inside]], max_iter=0).fit(
        X[inside]
    )
    np.testing.assert_allclose(gm.weights_.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(gm.weights_, ref.weights_, rtol=1e-12)
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-12)
    # Same random_state, same start; another one, another subset.
    again = GaussianMixture(3, init_params="hc", max_iter=0, random_state=5).fit(X)
    np.testing.assert_array_equal(again.means_, gm.means_)
    other = HCStart(X, np.random.RandomState(6))
    assert not np.array_equal(other.rows, start.rows)


def test_zero_weight_rows_are_left_out_of_the_tree():
    X = data("faithful")
    w = np.ones(X.shape[0])
    w[::3] = 0
    gm = GaussianMixture(
        2, init_params="hc", max_iter=0, reg_covar=0
    ).fit(X, sample_weight=w)  # fmt: skip
    keep = w > 0
    ref = GaussianMixture(2, init_params="hc", max_iter=0, reg_covar=0).fit(X[keep])
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-12)


# ------------------------------------------------------- the mclust stopping rule


def test_mclust_convergence_rule_stops_at_the_first_small_relative_change():
    X = data("iris")
    tol = 1e-5
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gm = GaussianMixture(
            3, init_params="hc", tol=tol, convergence="mclust", max_iter=1000
        ).fit(X)  # fmt: skip
    ll = gm.log_likelihood_history_[:-1]  # the value seen by each iteration
    assert gm.converged_ and ll.shape[0] == gm.n_iter_

    def small(t):
        return abs(ll[t] - ll[t - 1]) <= tol * (1 + abs(ll[t]))

    assert small(len(ll) - 1)
    assert not any(small(t) for t in range(1, len(ll) - 1))


def test_convergence_parameter_is_validated():
    from gmmkit import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="convergence"):
        GaussianMixture(2, convergence="R").fit(data("iris"))


def test_hc_needs_enough_rows():
    from gmmkit import DataError

    X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0]])
    with pytest.raises(DataError, match="n_components"):
        GaussianMixture(4, init_params="hc").fit(X)


# -- mclust's wreath (1000 x 2, 14 clusters): the merge sequence -------------
WREATH = json.loads(
    (Path(__file__).parent / "mclust" / "wreath_hc_reference.json").read_text()
)


def _merged_sets(merges: np.ndarray, n: int) -> list[frozenset[int]]:
    """Each merge as the pair of its clusters' smallest rows (0-based), which
    names a cluster whatever row a tree uses to stand for it."""
    parent = np.arange(n)

    def root(a: int) -> int:
        while parent[a] != a:
            a = int(parent[a])
        return a

    out = []
    for a, b in merges:
        ra, rb = root(int(a)), root(int(b))
        out.append(frozenset((ra, rb)))
        parent[max(ra, rb)] = min(ra, rb)
    return out


@pytest.fixture(scope="module")
def wreath_tree() -> hc_module.HCTree:
    return hc_tree(np.array(WREATH["data"], dtype=np.float64))


def test_wreath_first_996_merges_equal_mclust(wreath_tree):
    n = len(WREATH["data"])
    ours = _merged_sets(wreath_tree.merges, n)
    theirs = _merged_sets(np.array(WREATH["merges"]) - 1, n)
    assert ours[:996] == theirs[:996]


@pytest.mark.parametrize("k", range(4, 15))
def test_wreath_partitions_from_4_clusters_equal_mclust(wreath_tree, k):
    expected = np.array(WREATH["hclass"][k - 1]) - 1
    np.testing.assert_array_equal(wreath_tree.cut(k), expected)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "mclust's last merges on wreath depend on its merge history: its hc() "
        "restarted from the (identical) 13-cluster partition repeats its own "
        "choice, restarted from the 12-cluster one makes gmmkit's, which is "
        "the smaller criterion change recomputed from the data (442.605 "
        "against 443.117 at 4 clusters); not tie-breaking, alpha, the SVD "
        "transform or the trace term (see the issue-16 report)"
    ),
)
@pytest.mark.parametrize("k", [2, 3])
def test_wreath_last_partitions_equal_mclust(wreath_tree, k):
    expected = np.array(WREATH["hclass"][k - 1]) - 1
    np.testing.assert_array_equal(wreath_tree.cut(k), expected)
