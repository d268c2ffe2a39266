"""Model-based agglomerative hierarchical clustering: mclust's default start.

``init_params="hc"`` and :func:`gmmkit.select_model` start EM from a
partition cut from a hierarchical tree, as R's mclust does:

1. **Transform** (mclust's ``hcUse = "SVD"``): standardise every column
   (mean 0, sample standard deviation 1; constant columns are dropped), take
   the singular value decomposition ``Xs = U diag(s) V^T`` and use
   ``Z = Xs V diag(s)^(-1/2)``.
2. **Merge** (Banfield & Raftery 1993; Fraley 1998, "Algorithms for
   model-based Gaussian hierarchical clustering", SIAM J. Sci. Comput.
   20:270-281): starting from singletons, repeatedly merge the two clusters
   whose union increases the unconstrained (VVV) classification criterion
   least.  The criterion of a cluster with ``m`` rows, scatter matrix ``W``
   and ``t = trace(W)`` is Fraley's regularised form, defined at every size:

   ``T = m log(beta (t + alpha) / m)``                 when ``m <= p``,
   ``T = m log(det(W / m) + beta (t + alpha) / m)``    otherwise,

   with ``beta = 1`` and ``alpha = trace(W_all) / (n p)`` (the scatter of all
   of ``Z``).  The cost of a merge is ``T(i u j) - T(i) - T(j)``, with
   ``T(i)`` and ``T(j)`` the values recorded when ``i`` and ``j`` were made.
   Each cost is computed once, when the later of its two clusters is made,
   and the ``W`` of a union is the one mclust 6.0 computes, which is not
   always the union's scatter: mclust keeps the scatter of every cluster but
   the newest only as what it stores of its triangular factor: the factor's
   first row ``f = W[0] / sqrt(W[0, 0])`` written into each of
   ``r = min(m - 1, p)`` rows, which gives back the matrix with entries
   ``f_a f_b min(min(a, b) + 1, r)`` (0-based; :func:`_remembered_scatter`).
   A union's ``W`` is then the newest cluster's full scatter (when the pair
   holds it) or the remembered scatter of each side, plus the between-means
   term
   ``n_i n_j / (n_i + n_j) (mean_i - mean_j)(mean_i - mean_j)^T``; the trace
   ``t`` is always exact.  The two agree until two clusters of more than one
   row merge (or meet in a cost): from there on this follows mclust's merges,
   not the exact criterion's (on mclust's ``wreath`` data the last two
   merges differ).  Among equal costs the pair that mclust's packed scan
   meets last is taken, so ties resolve as in mclust.
3. **Cut** the tree at ``K`` clusters; labels are numbered by first
   appearance (as mclust's ``hclass``).

With no more rows than columns mclust (and gmmkit) uses the EII criterion
instead, which is Ward's method (:func:`hc_eii`).  One-dimensional data use
mclust's quantile classes (:func:`qclass`).
Data with more than :data:`HC_SUBSET` rows are clustered on a random subset of
that many rows (mclust's ``mclust.options("subset")``); the start is then one
M-step from the subset, and EM's first E-step extends it to every row.

The tree needs O(m^2) memory for ``m`` clustered rows (32 MB at 2000 rows);
each merge updates only the costs that involve the merged cluster, with the
determinants of all of them computed in one batched call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import DataError
from ._kernels import hc_refresh, hc_roots

#: Rows above which the tree is built on a random subset (mclust's default).
HC_SUBSET = 2000


def svd_transform(X: np.ndarray) -> np.ndarray:
    """mclust's ``hcUse = "SVD"`` transform of ``X`` (rows are observations).

    Columns are centred and divided by their sample standard deviation
    (constant columns are dropped, as mclust drops non-finite ones), then
    rotated onto the right singular vectors and scaled by the inverse square
    roots of the singular values.
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    sd = np.sqrt((centred**2).sum(axis=0) / (X.shape[0] - 1))
    keep = sd > 0
    Xs = centred[:, keep] / sd[keep]
    if Xs.shape[1] == 0:
        return Xs
    _, s, vt = np.linalg.svd(Xs, full_matrices=False)
    r = min(Xs.shape)
    with np.errstate(divide="ignore"):
        scale = 1.0 / np.sqrt(s[:r])
    Z = (Xs @ vt[:r].T) * scale
    # A zero singular value gives an infinite column; mclust's use of the
    # transformed data keeps only finite columns.
    return Z[:, np.isfinite(Z).all(axis=0)]


def qclass(x: np.ndarray, k: int) -> np.ndarray:
    """mclust's quantile classes: ``k`` groups of a 1-D sample, labels 0..k-1.

    Breaks are sample quantiles (R's default type 7) at ``n + 1`` equally
    spaced probabilities, with ``n`` increased from ``k + 1`` until there are
    ``k + 1`` distinct breaks; surplus breaks closest to their left neighbour
    are dropped.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if k == 1:
        return np.zeros(x.shape[0], dtype=np.intp)
    eps = x.std(ddof=1) * np.sqrt(np.finfo(np.float64).eps)
    n_probs = k
    q = np.empty(0)
    distinct = np.unique(x).shape[0]
    if distinct < k:
        raise DataError(
            f"init_params='hc' on one-dimensional data needs at least "
            f"n_components={k} distinct values; X has {distinct}. Use fewer "
            "components."
        )
    while q.shape[0] < k + 1:
        n_probs += 1
        probs = np.linspace(0.0, 1.0, n_probs)
        q = _unique_in_order(np.quantile(x, probs))
    if q.shape[0] > k + 1:
        gaps = np.diff(q)
        # R's order() is stable: equal gaps drop the leftmost first.
        drop = np.argsort(gaps, kind="stable")[: q.shape[0] - k - 1]
        q = np.delete(q, drop)
    q[0] = x.min() - eps
    q[-1] = x.max() + eps
    labels = np.full(x.shape[0], -1, dtype=np.intp)
    for i in range(k):
        labels[(x >= q[i]) & (x < q[i + 1])] = i
    return labels


def _unique_in_order(values: np.ndarray) -> np.ndarray:
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


@dataclass
class HCTree:
    """The merges of an agglomerative clustering of ``n`` rows.

    ``merges[s] = (a, b)``: step ``s`` joined the cluster containing row ``a``
    with the one containing row ``b``.  ``costs[s]`` is the criterion change.
    """

    n: int
    merges: np.ndarray
    costs: np.ndarray

    def cut(self, k: int) -> np.ndarray:
        """Labels (0..k-1, numbered by first appearance) of the k-cluster cut."""
        if not 1 <= k <= self.n:
            raise ValueError(f"cannot cut a tree of {self.n} rows at {k} clusters")
        roots = hc_roots(self.merges, self.n, self.n - k)
        if roots is None:  # no numba: the same union-find in Python
            parent = np.arange(self.n)

            def root(a: int) -> int:
                while parent[a] != a:
                    parent[a] = parent[parent[a]]
                    a = parent[a]
                return a

            for a, b in self.merges[: self.n - k]:
                ra, rb = root(int(a)), root(int(b))
                parent[max(ra, rb)] = min(ra, rb)
            roots = np.array([root(i) for i in range(self.n)])
        _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))
        return order[inverse].astype(np.intp)


def hc_vvv(Z: np.ndarray, alpha: float = 1.0, beta: float = 1.0) -> HCTree:
    """Hierarchical clustering of the rows of ``Z`` with the VVV criterion.

    Parameters
    ----------
    Z : ndarray of shape (n, p)
        Data (usually :func:`svd_transform` of the user's data).
    alpha, beta : float
        mclust's tuning constants: ``alpha`` multiplies ``trace(W_all)/(n p)``.
    """
    return _agglomerate(Z, "VVV", alpha, beta)


def hc_eii(Z: np.ndarray) -> HCTree:
    """Hierarchical clustering of the rows of ``Z`` with the EII criterion.

    The EII classification likelihood depends on the pooled within-cluster
    sum of squares only, so a merge costs its increase,
    ``n_i n_j / (n_i + n_j) |mean_i - mean_j|^2``: Ward's method.  mclust
    uses it when there are no more rows than features.
    """
    return _agglomerate(Z, "EII", 1.0, 1.0)


def _agglomerate(Z: np.ndarray, model: str, alpha: float, beta: float) -> HCTree:
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    n, p = Z.shape
    vvv = model == "VVV"
    alpha = alpha * float(((Z - Z.mean(axis=0)) ** 2).sum()) / (n * p)
    alpha = max(alpha, np.finfo(np.float64).eps)
    ablog = np.log(beta * alpha)

    count = np.ones(n)
    means = Z.copy()
    # VVV only (EII needs counts and means alone): the scatter each cluster
    # is remembered by (``_remembered_scatter``), and the full scatter of the
    # newest cluster, the one whose merge costs are being computed.
    scatter = np.zeros((n, p, p) if vvv else (n, 0, 0))
    newest, newest_scatter = -1, np.zeros((p, p) if vvv else (0, 0))
    trace = np.zeros(n)
    term = np.full(n, ablog)
    ident = np.arange(n)  # a row of the cluster held by each slot

    # L[j, i] (i < j) is the cost of merging the clusters in slots i and j;
    # the rest is +inf.  mclust scans the pairs in the order (j, i) and keeps
    # the last minimum, so per row we keep the minimum and its largest index.
    L = np.full((n, n), np.inf)
    rthalf = np.sqrt(0.5)
    for j in range(1, n):
        v = (Z[:j] - Z[j]) * rthalf
        t = np.einsum("ij,ij->i", v, v)
        if vvv:
            L[j, :j] = 2.0 * np.log(beta * (t + alpha) / 2.0) - 2.0 * ablog
        else:
            L[j, :j] = t
    row_min = np.full(n, np.inf)
    row_arg = np.zeros(n, dtype=np.intp)
    hc_refresh(L, row_min, row_arg, np.arange(1, n), -1)

    merges = np.empty((n - 1, 2), dtype=np.intp)
    costs = np.empty(n - 1)
    for step in range(n - 1):
        lg = n - step  # active slots 0..lg-1
        if lg == 2:
            i, j = 0, 1
        else:
            best = row_min[1:lg].min()
            j = 1 + int(np.nonzero(row_min[1:lg] == best)[0][-1])
            i = int(row_arg[j])
        cost = L[j, i]
        merges[step] = (ident[i], ident[j])
        costs[step] = cost
        if lg == 2:
            break
        # The merged cluster (into slot i).
        ni, nj = count[i], count[j]
        nij = ni + nj
        delta = means[i] - means[j]
        if vvv:
            # The newest cluster enters with its full scatter, any other with
            # the scatter it is remembered by.
            wi = newest_scatter if i == newest else scatter[i]
            wj = newest_scatter if j == newest else scatter[j]
            w_new = wi + wj + (ni * nj / nij) * np.outer(delta, delta)
        t_new = trace[i] + trace[j] + (ni * nj / nij) * float(delta @ delta)
        term_new = cost + term[i] + term[j]
        m_new = (ni * means[i] + nj * means[j]) / nij
        last = lg - 1
        if j != last:
            # Slot `last` moves into slot j: its pair costs move with it.
            L[j, :j] = L[last, :j]
            L[j + 1 : last, j] = L[last, j + 1 : last]
            for arr in (count, trace, term, ident):
                arr[j] = arr[last]
            means[j] = means[last]
            scatter[j] = scatter[last]
        L[last, :] = np.inf
        L[:, last] = np.inf
        row_min[last] = np.inf
        count[i], trace[i], term[i] = nij, t_new, term_new
        means[i] = m_new
        if vvv:
            newest, newest_scatter = i, w_new
            scatter[i] = _remembered_scatter(w_new, nij)
        lg -= 1
        # Costs of the merged cluster with every other active slot.
        others = np.delete(np.arange(lg), i)
        if vvv:
            new_costs = _merge_costs(
                count[i], means[i], newest_scatter, trace[i], term[i],
                count[others], means[others], scatter[others], trace[others],
                term[others], p, alpha, beta,
            )  # fmt: skip
        else:
            d = means[others] - means[i]
            c = count[i] * count[others] / (count[i] + count[others])
            new_costs = c * np.einsum("ij,ij->i", d, d)
        below = others < i
        L[i, others[below]] = new_costs[below]
        above = others[~below]
        L[above, i] = new_costs[~below]
        # Rows whose entries changed: i and j entirely; rows above i in
        # column i; rows above j in column j (moved from `last`).
        hc_refresh(L, row_min, row_arg, [i, j] if j < lg else [i], -1)
        changed_cols = [(above, i)]
        if j != last:
            changed_cols.append((np.arange(j + 1, lg), j))
        for rows, col in changed_cols:
            rows = rows[(rows != i) & (rows != j)]
            if rows.size:
                hc_refresh(L, row_min, row_arg, rows, col)
    return HCTree(n, merges, costs)


def _remembered_scatter(w: np.ndarray, m: float) -> np.ndarray:
    """The scatter mclust 6.0 keeps for a cluster of ``m`` rows and scatter ``w``.

    mclust holds a cluster's scatter as an upper-triangular factor ``R``
    (``R^T R = w``, ``r = min(m - 1, p)`` rows) and stores it between steps in
    ``r`` spare rows of its workspace, but each of them receives the factor's
    first row ``f = w[0] / sqrt(w[0, 0])``, and stored row ``a`` is read back
    from column ``a`` on.  The matrix it works with afterwards is the sum of
    the outer products of those rows, ``f_a f_b min(min(a, b) + 1, r)``
    (0-based); it equals ``w`` when ``r = 1`` (two rows, or one column).

    When ``w[0, 0] = 0`` with ``w != 0`` (the cluster's rows share their first
    transformed coordinate exactly but differ elsewhere) mclust's first factor
    row is whichever row its updates met first, which ``w`` does not tell;
    nothing is kept then, so such clusters may cost differently from mclust.
    Identical rows (``w = 0``) are exact.
    """
    p = w.shape[0]
    r = min(int(m) - 1, p)
    if r <= 0 or w[0, 0] <= 0.0:
        return np.zeros_like(w)
    f = w[0] / np.sqrt(w[0, 0])
    idx = np.arange(p)
    rows = np.minimum(np.minimum.outer(idx, idx) + 1, r)
    return np.outer(f, f) * rows


def _cluster_term(
    m: np.ndarray,
    scatter: np.ndarray,
    trace: np.ndarray,
    p: int,
    alpha: float,
    beta: float,
) -> np.ndarray:
    """Fraley's regularised VVV criterion of clusters (see the module notes)."""
    base = np.log(beta * (trace + alpha) / m)
    out = base.copy()
    big = (m > p) & (trace != 0)
    if big.any():
        sign, logdet = np.linalg.slogdet(scatter[big] / m[big, None, None])
        logdet = np.where(sign > 0, logdet, -np.inf)
        out[big] = np.logaddexp(logdet, base[big])
    return m * out


def _merge_costs(
    ni: float,
    mi: np.ndarray,
    wi: np.ndarray,
    ti: float,
    termi: float,
    nk: np.ndarray,
    mk: np.ndarray,
    wk: np.ndarray,
    tk: np.ndarray,
    termk: np.ndarray,
    p: int,
    alpha: float,
    beta: float,
) -> np.ndarray:
    nij = ni + nk
    delta = mk - mi
    c = ni * nk / nij
    w = wi + wk + c[:, None, None] * delta[:, :, None] * delta[:, None, :]
    t = ti + tk + c * np.einsum("ij,ij->i", delta, delta)
    return _cluster_term(nij, w, t, p, alpha, beta) - (termi + termk)


def hc_tree(X: np.ndarray) -> HCTree:
    """mclust's default tree: :func:`hc_vvv` on :func:`svd_transform` of X.

    With no more rows than columns mclust uses :func:`hc_eii` instead.
    """
    Z = svd_transform(X)
    if Z.shape[1] == 0:
        raise DataError(
            "init_params='hc' needs at least one non-constant column; every "
            "column of X is constant. Remove constant columns or use another "
            "init_params."
        )
    return hc_vvv(Z) if X.shape[0] > X.shape[1] else hc_eii(Z)


class HCStart:
    """Starting partitions of mclust for one dataset, for any ``K``.

    Builds the tree once (on a random subset of :data:`HC_SUBSET` rows when
    there are more rows) and cuts it for each number of components.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    random_state : numpy RandomState
        Draws the subset (only when ``n_samples > subset_size``).
    rows : ndarray of int, optional
        The rows to cluster (e.g. those with positive weight, or mclust's
        subset); overrides the random subset.
    subset_size : int, optional
        Default :data:`HC_SUBSET`.
    """

    def __init__(
        self,
        X: np.ndarray,
        random_state: np.random.RandomState,
        rows: np.ndarray | None = None,
        subset_size: int | None = None,
    ) -> None:
        n = X.shape[0]
        if subset_size is None:
            subset_size = HC_SUBSET
        if rows is None:
            rows = np.arange(n)
        if rows.shape[0] > subset_size:
            rows = np.sort(random_state.choice(rows, size=subset_size, replace=False))
        self.n_samples = n
        self.rows = rows
        self._x = X[rows]
        self._tree: HCTree | None = None

    def labels(self, k: int) -> np.ndarray:
        """Labels 0..k-1 for the clustered rows, -1 for the other rows."""
        m = self.rows.shape[0]
        if k > m:
            raise DataError(
                f"init_params='hc' cannot make n_components={k} clusters from "
                f"{m} rows. Use fewer components."
            )
        if self._x.shape[1] == 1:
            part = qclass(self._x[:, 0], k)
        else:
            if self._tree is None:
                self._tree = hc_tree(self._x)
            part = self._tree.cut(k)
        out = np.full(self.n_samples, -1, dtype=np.intp)
        out[self.rows] = part
        return out
