"""init_params="hc": mclust's hierarchical start, checked against R's mclust.

The oracles are fixtures written by mclust 6.0: tests/mclust/hc_reference.json
(tests/mclust/make_hc_reference.R: ``hclass(hc(X, "VVV", use = "SVD"), 1:9)``
and, for 1-D data, ``qclass(x, G)``), wreath_hc_reference.json (every merge on
mclust's wreath data) and hc_merges_reference.json (every merge and criterion
change on simulated data), and a brute-force recomputation of the criterion.
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


def _brute_force_merges(Z: np.ndarray, as_mclust: bool) -> list[frozenset[int]]:
    """Merges of the regularised VVV criterion, every pair cost recomputed
    from the clusters' rows at every step (O(n^3) pairs; small data only).

    ``as_mclust=False``: Fraley's criterion on the exact scatter of the union.
    ``as_mclust=True``: the scatter mclust 6.0 works with.  Each cluster keeps
    the rows of a factor of the scatter it was made with (``A``) and what
    mclust remembers of it (``K``): the first row of its triangular factor,
    from QR here, written into each of ``min(rows, p)`` rows and row ``a``
    read from column ``a``.  A pair's scatter is the later-made cluster's
    ``A`` with the other's ``K`` and the between-means term; a merged
    cluster is made from the previous step's cluster's ``A`` when the pair
    holds it, else from both ``K``.
    """
    n, p = Z.shape
    alpha = ((Z - Z.mean(0)) ** 2).sum() / (n * p)

    def criterion(m: int, S: np.ndarray, tr: float) -> float:
        base = (tr + alpha) / m
        if m <= p:
            return m * np.log(base)
        return m * np.log(np.linalg.det(S / m) + base)

    def remembered(A: np.ndarray) -> np.ndarray:
        R = np.linalg.qr(A, mode="r")
        return np.vstack(
            [np.r_[np.zeros(a), R[0, a:]] for a in range(min(R.shape[0], p))]
        )

    empty = np.zeros((0, p))
    clusters = [
        {"rows": [i], "A": empty, "K": empty, "term": np.log(alpha), "made": 0}
        for i in range(n)
    ]
    merges = []
    for step in range(1, n):
        best, pair = np.inf, (0, 0)
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                a, b = clusters[i], clusters[j]
                union = Z[a["rows"] + b["rows"]]
                centred = union - union.mean(0)
                if as_mclust:
                    late, early = (a, b) if a["made"] > b["made"] else (b, a)
                    na, nb = len(a["rows"]), len(b["rows"])
                    d = Z[a["rows"]].mean(0) - Z[b["rows"]].mean(0)
                    between = np.sqrt(na * nb / (na + nb)) * d
                    F = np.vstack([late["A"], early["K"], between])
                    S = F.T @ F
                else:
                    S = centred.T @ centred
                c = criterion(len(union), S, float((centred**2).sum()))
                c -= a["term"] + b["term"]
                if c < best:
                    best, pair = c, (i, j)
        i, j = pair
        a, b = clusters[i], clusters[j]
        na, nb = len(a["rows"]), len(b["rows"])
        d = Z[a["rows"]].mean(0) - Z[b["rows"]].mean(0)
        if step > 1 and a["made"] == step - 1:
            parts = [a["A"], b["K"]]
        elif step > 1 and b["made"] == step - 1:
            parts = [b["A"], a["K"]]
        else:
            parts = [a["K"], b["K"]]
        A = np.vstack([*parts, np.sqrt(na * nb / (na + nb)) * d])
        merges.append(frozenset((min(a["rows"]), min(b["rows"]))))
        clusters[i] = {
            "rows": a["rows"] + b["rows"],
            "A": A,
            "K": remembered(A),
            "term": best + a["term"] + b["term"],
            "made": step,
        }
        del clusters[j]
    return merges


@pytest.mark.parametrize("n,p,seed", [(30, 2, 12), (24, 3, 10)])
def test_merges_equal_brute_force_of_mclusts_criterion(n, p, seed):
    # Chosen so that the exact-scatter criterion merges differently: the
    # tree must follow what mclust computes, not Fraley's formula.
    Z = np.random.RandomState(seed).normal(size=(n, p))
    expected = _brute_force_merges(Z, as_mclust=True)
    assert _brute_force_merges(Z, as_mclust=False) != expected
    assert _merged_sets(hc_vvv(Z).merges, n) == expected


def test_remembered_scatter_is_exact_for_two_rows_or_rank_one():
    rng = np.random.RandomState(0)
    v = rng.normal(size=3)
    w = np.outer(v, v)
    np.testing.assert_allclose(hc_module._remembered_scatter(w, 2), w, rtol=1e-12)
    A = rng.normal(size=(6, 3))
    w = A.T @ A
    kept = hc_module._remembered_scatter(w, 6)
    assert not np.allclose(kept, w)
    # Its first row and column are the scatter's own.
    np.testing.assert_allclose(kept[0], w[0], rtol=1e-12)


# -- full merge sequences of mclust's hc() on simulated data -----------------
MERGES = json.loads(
    (Path(__file__).parent / "mclust" / "hc_merges_reference.json").read_text()
)["datasets"]


@pytest.mark.parametrize("name", sorted(MERGES))
def test_every_merge_and_change_equals_mclust(name):
    X = np.array(MERGES[name]["data"], dtype=np.float64)
    n = X.shape[0]
    tree = hc_tree(X)
    theirs = np.array(MERGES[name]["merges"]) - 1
    assert _merged_sets(tree.merges, n) == _merged_sets(theirs, n)
    np.testing.assert_allclose(tree.costs, MERGES[name]["change"], rtol=1e-8, atol=1e-8)


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


@pytest.fixture(scope="module")
def wreath_tree() -> hc_module.HCTree:
    return hc_tree(np.array(WREATH["data"], dtype=np.float64))


def test_wreath_every_merge_equals_mclust(wreath_tree):
    n = len(WREATH["data"])
    ours = _merged_sets(wreath_tree.merges, n)
    theirs = _merged_sets(np.array(WREATH["merges"]) - 1, n)
    assert ours == theirs


@pytest.mark.parametrize("k", range(2, 15))
def test_wreath_partitions_equal_mclust(wreath_tree, k):
    expected = np.array(WREATH["hclass"][k - 1]) - 1
    np.testing.assert_array_equal(wreath_tree.cut(k), expected)
