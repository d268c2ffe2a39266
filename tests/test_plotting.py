"""gmmkit.plotting: what each helper draws, where it draws, and its errors."""

import copy
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import gmmkit.plotting

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("PIL")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

from gmmkit import (  # noqa: E402
    GaussianMixture,
    InvalidParameterError,
    MissingDependencyError,
)
from gmmkit.plotting import (  # noqa: E402
    Snapshot,
    animate_em,
    dense_covariances,
    plot_1d,
    plot_components,
    plot_criterion,
    plot_density,
    plot_mixture,
    plot_nll,
    plot_pairs,
    plot_uncertainty,
)

K = 3
TYPES = ["full", "tied", "diag", "spherical"]
MCLUST = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}


def blobs(n_features, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[-4.0, 0.0, 1.0], [0.0, 3.0, -1.0], [4.0, -1.0, 0.0]])
    A = np.array([[1.0, 0.6, 0.0], [0.0, 0.8, 0.3], [0.2, 0.0, 0.5]])
    parts = [rng.randn(100, 3) @ A + c for c in centres]
    return np.vstack(parts)[:, :n_features]


@pytest.fixture(scope="module")
def X2():
    return blobs(2)


@pytest.fixture(scope="module")
def gmm2(X2):
    return GaussianMixture(K, random_state=0).fit(X2)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def new_axes():
    _, ax = plt.subplots()
    return ax


def ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def scatters(ax):
    return [
        c
        for c in ax.collections
        if isinstance(c, PathCollection) and not isinstance(c, ContourSet)
    ]


def draws_on_given_axes(function, *args, **kwargs):
    """Call with a given ax; check it returns that ax and opens no figure."""
    ax = new_axes()
    before = plt.get_fignums()
    out = function(*args, ax=ax, **kwargs)
    assert out is ax
    assert plt.get_fignums() == before
    return ax


# ---------------------------------------------------------- dense_covariances
@pytest.mark.parametrize("covariance_type", TYPES + list(MCLUST.values()))
def test_dense_covariances_every_type(X2, covariance_type):
    gmm = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X2)
    dense = dense_covariances(gmm)
    assert dense.shape == (K, 2, 2)
    cov = gmm.covariances_
    kind = {v: k for k, v in MCLUST.items()}.get(covariance_type, covariance_type)
    if kind != covariance_type:
        # mclust names hold (K, d, d) arrays: compare with the alias's fit.
        assert cov.shape == (K, 2, 2)
        cov = GaussianMixture(K, covariance_type=kind, random_state=0).fit(X2)
        cov = cov.covariances_
    expected = {
        "full": lambda: cov,
        "tied": lambda: np.stack([cov] * K),
        "diag": lambda: np.stack([np.diag(c) for c in cov]),
        "spherical": lambda: np.stack([np.eye(2) * c for c in cov]),
    }[kind]()
    assert_allclose(dense, expected)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_dense_covariances_of_a_scikit_learn_model(X2, covariance_type):
    sk = SkGaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X2)
    dense = dense_covariances(sk)
    # Each component's dense covariance inverts its precision.
    precisions = dense_covariances(
        type(
            "P",
            (),
            {
                "means_": sk.means_,
                "covariances_": sk.precisions_,
                "weights_": sk.weights_,
                "covariance_type": covariance_type,
            },
        )()
    )
    for c, p in zip(dense, precisions, strict=True):
        assert_allclose(c @ p, np.eye(2), atol=1e-8)


def test_dense_covariances_returns_a_copy(gmm2):
    dense = dense_covariances(gmm2)
    dense[:] = 0
    assert not np.allclose(gmm2.covariances_, 0)


class _Other:
    """A fitted mixture of another library: no sklearn covariance_type."""

    def __init__(self, covariances, covariance_type="VEV"):
        self.weights_ = np.full(2, 0.5)
        self.means_ = np.zeros((2, 2))
        self.covariances_ = covariances
        self.covariance_type = covariance_type


def test_dense_covariances_accepts_full_matrices_from_any_model():
    covs = np.stack([np.eye(2), 2 * np.eye(2)])
    assert_allclose(dense_covariances(_Other(covs)), covs)


def test_dense_covariances_infers_unambiguous_shapes():
    assert_allclose(
        dense_covariances(_Other(np.array([1.0, 2.0]), None))[1], 2 * np.eye(2)
    )


def test_dense_covariances_rejects_ambiguous_or_wrong_shapes():
    # (2, 2) is both "tied" (d, d) and "diag" (K, d) for K = d = 2.
    with pytest.raises(InvalidParameterError, match="Cannot read covariances_"):
        dense_covariances(_Other(np.eye(2), "unknown"))
    with pytest.raises(InvalidParameterError, match="expected"):
        dense_covariances(_Other(np.ones(5), "spherical"))


def test_unfitted_model():
    with pytest.raises(NotFittedError, match="not fitted"):
        dense_covariances(GaussianMixture(2))
    with pytest.raises(NotFittedError):
        plot_mixture(GaussianMixture(2), ax=new_axes())


# --------------------------------------------------------------- plot_mixture
@pytest.mark.parametrize("covariance_type", TYPES)
def test_plot_mixture_artists(X2, covariance_type):
    gmm = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X2)
    ax = draws_on_given_axes(plot_mixture, gmm, X2)
    assert len(ellipses(ax)) == K * 3
    assert len(contour_sets(ax)) == 1
    points, means = scatters(ax)
    assert points.get_offsets().shape == (len(X2), 2)
    assert_allclose(means.get_offsets(), gmm.means_)
    # Points are coloured by predicted component.
    colours = points.get_facecolors()
    labels = gmm.predict(X2)
    for k in range(K):
        assert len(np.unique(colours[labels == k], axis=0)) == 1
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_legend() is not None


def test_plot_mixture_ellipses_are_n_sigma_contours(gmm2, X2):
    ax = plot_mixture(gmm2, X2, ax=new_axes(), n_std=(1, 2, 3))
    covs = dense_covariances(gmm2)
    for i, patch in enumerate(ellipses(ax)):
        k, n_std = divmod(i, 3)
        n_std += 1
        # The patch maps the unit circle onto the ellipse.
        t = np.linspace(0, 2 * np.pi, 50)
        circle = np.column_stack([np.cos(t), np.sin(t)])
        boundary = patch.get_patch_transform().transform(circle)
        diff = boundary - gmm2.means_[k]
        maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(covs[k]), diff)
        assert_allclose(maha, n_std**2, rtol=1e-6)


def test_plot_mixture_new_figure_when_no_ax(gmm2, X2):
    before = set(plt.get_fignums())
    ax = plot_mixture(gmm2, X2)
    assert len(set(plt.get_fignums()) - before) == 1
    assert ax.figure.number in plt.get_fignums()


def test_plot_mixture_options(gmm2, X2):
    ax = plot_mixture(gmm2, ax=new_axes(), n_std=(), density=False, show_means=False)
    assert ellipses(ax) == [] and len(ax.collections) == 0
    given = np.arange(len(X2)) % 2
    ax = plot_mixture(gmm2, X2, ax=new_axes(), labels=given, n_std=2, legend=False)
    assert len(ellipses(ax)) == K
    assert len(np.unique(scatters(ax)[0].get_facecolors(), axis=0)) == 2


def test_plot_mixture_errors(X2, gmm2):
    gmm3 = GaussianMixture(2, random_state=0).fit(blobs(3))
    with pytest.raises(InvalidParameterError, match="plot_pairs"):
        plot_mixture(gmm3, ax=new_axes())
    gmm1 = GaussianMixture(2, random_state=0).fit(blobs(1))
    with pytest.raises(InvalidParameterError, match="plot_1d"):
        plot_mixture(gmm1)
    with pytest.raises(InvalidParameterError, match=r"shape \(n_samples, 2\)"):
        plot_mixture(gmm2, blobs(3), ax=new_axes())
    with pytest.raises(InvalidParameterError, match="one label per row"):
        plot_mixture(gmm2, X2, ax=new_axes(), labels=[0, 1])
    with pytest.raises(InvalidParameterError, match="n_std"):
        plot_mixture(gmm2, X2, ax=new_axes(), n_std=-1)


def test_plot_mixture_scikit_learn_model(X2):
    sk = SkGaussianMixture(K, covariance_type="diag", random_state=0).fit(X2)
    ax = draws_on_given_axes(plot_mixture, sk, X2)
    assert len(ellipses(ax)) == K * 3


def test_plot_mixture_model_fitted_on_a_dataframe(X2):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X2, columns=["a", "b"])
    gmm = GaussianMixture(K, random_state=0).fit(frame)
    # No "X does not have valid feature names" warning (warnings are errors).
    ax = draws_on_given_axes(plot_mixture, gmm, frame)
    assert len(contour_sets(ax)) == 1


# --------------------------------------------------------------- plot_density
@pytest.mark.parametrize("filled", [False, True])
def test_plot_density(gmm2, X2, filled):
    ax = draws_on_given_axes(plot_density, gmm2, X2, levels=7, filled=filled)
    (contours,) = contour_sets(ax)
    assert contours.filled is filled
    assert len(scatters(ax)) == 1
    # The contour levels are densities: positive, below the density's maximum.
    peak = np.exp(gmm2.score_samples(gmm2.means_)).max()
    assert contours.levels.min() >= 0 and contours.levels.max() <= 1.5 * peak


def test_plot_density_without_data_with_colorbar(gmm2):
    ax = draws_on_given_axes(plot_density, gmm2, colorbar=True)
    assert scatters(ax) == []
    assert len(ax.figure.axes) == 2  # ax and its colour bar, same figure


def test_plot_density_rejects_other_dimensions():
    gmm3 = GaussianMixture(2, random_state=0).fit(blobs(3))
    with pytest.raises(InvalidParameterError, match="plot_pairs"):
        plot_density(gmm3, ax=new_axes())


# ------------------------------------------------------------ plot_components
def test_plot_components_true_parameters(X2):
    means = np.array([[-4.0, 0.0], [0.0, 3.0], [4.0, -1.0]])
    covs = np.array([[[1.0, 0.3], [0.3, 0.8]], np.eye(2), [[2.0, -0.5], [-0.5, 1.0]]])
    ax = draws_on_given_axes(plot_components, means, covs, [0.2, 0.3, 0.5], X2)
    assert len(contour_sets(ax)) == K
    data, centres = scatters(ax)
    assert data.get_offsets().shape == (len(X2), 2)
    assert_allclose(centres.get_offsets(), means)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == K and "0.50" in texts[2]
    assert ax.get_title() == "Mixture components"


def test_plot_components_of_a_fit_without_data(gmm2):
    ax = draws_on_given_axes(
        plot_components, gmm2.means_, dense_covariances(gmm2), legend=False, mean_size=0
    )
    assert len(contour_sets(ax)) == K and scatters(ax) == []
    assert ax.get_legend() is None


def test_plot_components_errors():
    means = np.zeros((2, 2))
    with pytest.raises(InvalidParameterError, match="dense_covariances"):
        plot_components(means, np.ones(2), ax=new_axes())
    with pytest.raises(InvalidParameterError, match="positive definite"):
        plot_components(means, np.stack([np.eye(2), -np.eye(2)]), ax=new_axes())
    with pytest.raises(InvalidParameterError, match="one weight per component"):
        plot_components(means, np.stack([np.eye(2)] * 2), [1.0], ax=new_axes())
    with pytest.raises(InvalidParameterError, match="2 features"):
        plot_components(np.zeros((2, 3)), np.stack([np.eye(3)] * 2), ax=new_axes())


# ----------------------------------------------------------------- plot_pairs
def test_plot_pairs_grid():
    X3 = blobs(3)
    gmm = GaussianMixture(K, covariance_type="diag", random_state=0).fit(X3)
    _, given = plt.subplots(3, 3)
    before = plt.get_fignums()
    axes = plot_pairs(gmm, X3, axes=given, n_std=(1, 2))
    assert plt.get_fignums() == before
    assert axes.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            ax = axes[i, j]
            assert ax is given[i, j]
            if i == j:
                assert len(ax.lines) == K + 1  # weighted components + mixture
                assert len(ax.patches) > 0 and ellipses(ax) == []  # histogram
            else:
                assert len(ellipses(ax)) == K * 2
                assert_allclose(scatters(ax)[0].get_offsets(), X3[:, [j, i]])
    assert axes[2, 0].get_xlabel() == "$x_{1}$" and axes[0, 0].get_ylabel() == "$x_{1}$"


def test_plot_pairs_new_figure_and_errors(gmm2, X2):
    before = set(plt.get_fignums())
    axes = plot_pairs(gmm2, X2, feature_names=["a", "b"])
    assert axes.shape == (2, 2) and len(set(plt.get_fignums()) - before) == 1
    assert axes[1, 0].get_xlabel() == "a"
    with pytest.raises(InvalidParameterError, match=r"\(2, 2\) array of Axes"):
        plot_pairs(gmm2, X2, axes=new_axes())
    with pytest.raises(InvalidParameterError, match="2 names"):
        plot_pairs(gmm2, X2, feature_names=["a"])
    gmm1 = GaussianMixture(2, random_state=0).fit(blobs(1))
    with pytest.raises(InvalidParameterError, match="plot_1d"):
        plot_pairs(gmm1, blobs(1))


# -------------------------------------------------------------------- plot_1d
def test_plot_1d():
    x = blobs(1)
    gmm = GaussianMixture(K, random_state=0).fit(x)
    ax = draws_on_given_axes(plot_1d, gmm, x[:, 0])
    assert len(ax.lines) == K + 1
    assert len(ax.patches) > 0
    # The mixture line is the sum of the weighted components.
    *parts, total = ax.lines
    assert_allclose(sum(p.get_ydata() for p in parts), total.get_ydata())
    assert_allclose(
        total.get_ydata(), np.exp(gmm.score_samples(total.get_xdata()[:, None]))
    )


def test_plot_1d_rejects_2d(gmm2, X2):
    with pytest.raises(InvalidParameterError, match="plot_mixture"):
        plot_1d(gmm2, X2, ax=new_axes())


# ----------------------------------------------------------- plot_uncertainty
def test_plot_uncertainty(gmm2, X2):
    ax = draws_on_given_axes(plot_uncertainty, gmm2, X2)
    points, means = scatters(ax)
    expected = np.sort(1.0 - gmm2.predict_proba(X2).max(axis=1))
    assert_allclose(np.sort(points.get_array()), expected)
    sizes = points.get_sizes()
    assert sizes.min() < sizes.max()
    assert_allclose(means.get_offsets(), gmm2.means_)
    assert len(ellipses(ax)) == K
    assert len(ax.figure.axes) == 2  # colour bar


def test_plot_uncertainty_rejects_3d():
    X3 = blobs(3)
    gmm3 = GaussianMixture(2, random_state=0).fit(X3)
    with pytest.raises(InvalidParameterError, match="plot_pairs"):
        plot_uncertainty(gmm3, X3, ax=new_axes())


# ------------------------------------------------------------------- plot_nll
def test_plot_nll_log_scale(gmm2):
    history = gmm2.log_likelihood_history_
    ax = draws_on_given_axes(plot_nll, history, mark=[0, 1, -1])
    assert ax.get_yscale() == "log"
    curve, marks = ax.lines
    assert_allclose(curve.get_xdata(), np.arange(len(history)))
    assert_allclose(curve.get_ydata(), -history)
    assert_allclose(marks.get_xdata(), [0, 1, len(history) - 1])
    assert "linear" not in ax.get_title()


def test_plot_nll_negative_values_fall_back_to_linear():
    history = np.array([-5.0, 2.0, 3.0, 3.5])  # NLL 5, -2, -3, -3.5
    ax = draws_on_given_axes(plot_nll, history)
    assert ax.get_yscale() == "linear"
    assert "linear scale" in ax.get_title()
    assert_allclose(ax.lines[0].get_ydata(), -history)


def test_plot_nll_errors():
    with pytest.raises(InvalidParameterError, match="finite"):
        plot_nll([1.0, np.nan], ax=new_axes())
    with pytest.raises(InvalidParameterError, match="1-D"):
        plot_nll(np.ones((2, 2)), ax=new_axes())
    with pytest.raises(InvalidParameterError, match="mark"):
        plot_nll([-3.0, -2.0], ax=new_axes(), mark=[5])


# ------------------------------------------------------------- plot_criterion
def test_plot_criterion():
    ks = [1, 2, 3, 4]
    values = {"BIC": [10.0, 5.0, 4.0, 6.0], "AIC": [9.0, 4.0, 3.5, 3.0]}
    ax = draws_on_given_axes(plot_criterion, ks, values, best=3)
    bic, aic, chosen = ax.lines
    assert_allclose(bic.get_ydata(), values["BIC"])
    assert_allclose(chosen.get_xdata(), [3, 3])
    stars = scatters(ax)
    assert [s.get_offsets().tolist() for s in stars] == [[[3, 4.0]], [[4, 3.0]]]
    assert "lower is better" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "BIC",
        "AIC",
        "chosen K = 3",
    ]


def test_plot_criterion_tolerates_failed_cells():
    ax = plot_criterion([1, 2, 3], {"BIC": [3.0, np.nan, 1.0]}, ax=new_axes())
    assert_allclose(scatters(ax)[0].get_offsets(), [[3, 1.0]])


def test_plot_criterion_errors():
    with pytest.raises(InvalidParameterError, match="one value per K"):
        plot_criterion([1, 2], {"BIC": [1.0]}, ax=new_axes())
    with pytest.raises(InvalidParameterError, match="not one of ks"):
        plot_criterion([1, 2], {"BIC": [1.0, 2.0]}, ax=new_axes(), best=5)
    with pytest.raises(InvalidParameterError, match="at least one"):
        plot_criterion([1, 2], {}, ax=new_axes())


# ----------------------------------------------------------------- animate_em
def _em_snapshots(X, n=4):
    start = np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    gmm = GaussianMixture(
        K, max_iter=1, tol=0.0, warm_start=True, means_init=start, random_state=0
    )
    models = []
    for _ in range(n):
        with pytest.warns(ConvergenceWarning):  # one iteration never converges
            gmm.fit(X)
        models.append(copy.deepcopy(gmm))
    return models


def test_animate_em_from_snapshots_tuples_and_models(tmp_path, X2):
    models = _em_snapshots(X2)
    frames = [
        Snapshot.from_model(models[0], 1),
        (2, models[1].weights_, models[1].means_, dense_covariances(models[1])),
        models[2],
        models[3],
    ]
    before = plt.get_fignums()
    path = animate_em(frames, X2, tmp_path / "em.gif", fps=5)
    assert plt.get_fignums() == before
    assert path == tmp_path / "em.gif"
    assert path.read_bytes()[:6] == b"GIF89a"
    with Image.open(path) as gif:
        assert gif.n_frames == 4
    # Written atomically: nothing but the GIF is left in the folder.
    assert [p.name for p in tmp_path.iterdir()] == ["em.gif"]


def test_animate_em_replaces_an_existing_file(tmp_path, X2, gmm2):
    target = tmp_path / "em.gif"
    target.write_bytes(b"old")
    animate_em([gmm2, gmm2], X2, target, title="frame {iteration}")
    with Image.open(target) as gif:
        assert gif.n_frames == 2


def test_animate_em_errors_leave_no_file(tmp_path, X2, gmm2):
    target = tmp_path / "em.gif"
    with pytest.raises(InvalidParameterError, match="empty"):
        animate_em([], X2, target)
    with pytest.raises(InvalidParameterError, match="fps"):
        animate_em([gmm2], X2, target, fps=0)
    with pytest.raises(InvalidParameterError, match="snapshots\\[0\\]"):
        animate_em([object()], X2, target)
    gmm3 = GaussianMixture(2, random_state=0).fit(blobs(3))
    with pytest.raises(InvalidParameterError, match="two-feature"):
        animate_em([gmm3], blobs(3), target)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------- optional dependency
def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"gmmkit\[plot\]"):
        plot_nll([-3.0, -2.0])


@pytest.mark.slow
def test_import_does_not_load_matplotlib():
    code = "import sys, gmmkit.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_plot_pairs_of_some_features_keeps_the_fitted_clusters():
    # issue 21: the report's pairs plot of wide data used a partial model
    X = np.hstack([blobs(3), blobs(3, seed=1), blobs(1, seed=2)])
    gmm = GaussianMixture(K, random_state=0).fit(X)
    labels = gmm.predict(X)
    axes = plot_pairs(gmm, X, features=[2, 0, 5])
    assert axes.shape == (3, 3)
    colors = gmmkit.plotting._component_colors(K)
    panel = axes[1, 0]  # feature 0 against feature 2
    assert_allclose(scatters(panel)[0].get_offsets(), X[:, [2, 0]])
    got = scatters(panel)[0].get_facecolors()[:, :3]
    assert_allclose(got, np.array([colors[k][:3] for k in labels]))
    # ellipses of the exact marginal: centred on the means of features (2, 0)
    shown = ellipses(panel)
    assert len(shown) == 2 * K
    assert_allclose(shown[0].get_center(), gmm.means_[0, [2, 0]])
    assert axes[2, 0].get_xlabel() == "$x_{3}$" and axes[0, 0].get_ylabel() == "$x_{3}$"
    with pytest.raises(InvalidParameterError, match="at least 2 distinct"):
        plot_pairs(gmm, X, features=[1, 1])
    with pytest.raises(InvalidParameterError, match="at least 2 distinct"):
        plot_pairs(gmm, X, features=[0, 7])
