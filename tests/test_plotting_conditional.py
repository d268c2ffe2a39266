"""The regression and marginal/conditional plots of gmmkit.plotting: what
they draw, checked against the models' own numbers and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

from gmmkit import (  # noqa: E402
    GaussianMixture,
    GaussianMixtureRegressor,
    InvalidParameterError,
)
from gmmkit.plotting import (  # noqa: E402
    plot_conditional_density,
    plot_density,
    plot_marginal,
    plot_regression,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def wave():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=(400, 1))
    y = np.sin(2 * x[:, 0]) + 0.1 * rng.normal(size=400)
    return x, y, GaussianMixtureRegressor(8, random_state=0).fit(x, y)


@pytest.fixture(scope="module")
def gm3():
    rng = np.random.default_rng(1)
    X = np.vstack(
        [rng.normal(size=(150, 3)) @ rng.normal(size=(3, 3)) + c for c in (0, 4)]
    )
    return X, GaussianMixture(2, random_state=0).fit(X)


def _axes():
    return plt.subplots()[1]


def test_plot_regression_draws_the_mean_and_the_band(wave):
    x, y, reg = wave
    ax = plot_regression(reg, x, y, ax=_axes(), n_std=2.0, grid_size=50)
    (line,) = ax.get_lines()
    grid, curve = line.get_xdata(), line.get_ydata()
    mean, std = reg.predict(grid[:, None], return_std=True)
    np.testing.assert_allclose(curve, mean, rtol=1e-12)
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    vertices = band.get_paths()[0].vertices
    for i in (0, 17, 49):
        at = vertices[np.isclose(vertices[:, 0], grid[i]), 1]
        assert at.min() == pytest.approx(mean[i] - 2 * std[i], rel=1e-9)
        assert at.max() == pytest.approx(mean[i] + 2 * std[i], rel=1e-9)
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert points.get_offsets().shape == (400, 2)
    assert grid.min() <= x.min() and grid.max() >= x.max()


def test_plot_regression_names_the_axes_after_the_columns(wave):
    x, y, _ = wave
    reg = GaussianMixtureRegressor(4, random_state=0).fit(
        pd.DataFrame(x, columns=["dose"]), pd.Series(y, name="effect")
    )
    ax = plot_regression(reg, ax=_axes())
    assert ax.get_xlabel() == "dose" and ax.get_ylabel() == "effect"


def test_conditional_density_columns_are_densities_of_y(wave):
    x, y, reg = wave
    ax = plot_conditional_density(reg, x, y, ax=_axes(), grid_size=120)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    z = np.asarray(mesh.get_array()).reshape(120, 120)
    ylo, yhi = ax.get_ylim()
    xlo, xhi = ax.get_xlim()
    ys, xs = np.linspace(ylo, yhi, 120), np.linspace(xlo, xhi, 120)
    for j in (30, 60, 90):
        cond = reg.mixture_.condition([0], [xs[j]])
        want = sum(
            w * norm(m[0], np.sqrt(c[0, 0])).pdf(ys)
            for w, m, c in zip(cond.weights_, cond.means_, cond.covariances_)
        )
        np.testing.assert_allclose(z[:, j], want, rtol=1e-8, atol=1e-12)
        assert z[:, j].sum() * (ys[1] - ys[0]) == pytest.approx(1.0, abs=0.05)


def test_plot_marginal_is_plot_density_of_the_marginal(gm3):
    X, gm = gm3
    ax = plot_marginal(gm, (2, 0), X, ax=_axes(), levels=6)
    (got,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    ref = plot_density(gm.marginal([2, 0]), X[:, [2, 0]], ax=_axes(), levels=6)
    (want,) = [c for c in ref.collections if isinstance(c, ContourSet)]
    np.testing.assert_allclose(got.levels, want.levels)
    assert ax.get_xlabel() == "$x_{2}$"
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_array_equal(points.get_offsets(), X[:, [2, 0]])


def test_plot_marginal_conditional_by_name(gm3):
    X, _ = gm3
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    gm = GaussianMixture(2, random_state=0).fit(frame)
    ax = plot_marginal(gm, ("c", "a"), ax=_axes(), given="b", values=[0.5], levels=5)
    (got,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    cond = gm.condition(["b"], [0.5]).marginal(["c", "a"])
    ref = plot_density(cond, ax=_axes(), levels=5)
    (want,) = [c for c in ref.collections if isinstance(c, ContourSet)]
    np.testing.assert_allclose(got.levels, want.levels, rtol=1e-9)
    assert ax.get_xlabel() == "c" and ax.get_ylabel() == "a"
    assert "b=0.5" in ax.get_title()


def test_plot_errors(wave, gm3):
    x, y, reg = wave
    X, gm = gm3
    two_inputs = GaussianMixtureRegressor(2, random_state=0).fit(X[:, :2], X[:, 2])
    with pytest.raises(InvalidParameterError, match="one input feature"):
        plot_regression(two_inputs, ax=_axes())
    with pytest.raises(InvalidParameterError, match="one input feature"):
        plot_conditional_density(two_inputs, ax=_axes())
    with pytest.raises(InvalidParameterError, match="X and y go together"):
        plot_regression(reg, x, ax=_axes())
    with pytest.raises(InvalidParameterError, match="exactly two features"):
        plot_marginal(gm, (0, 1, 2), ax=_axes())
    with pytest.raises(InvalidParameterError, match="given and values"):
        plot_marginal(gm, (0, 1), given=[2], ax=_axes())
    sk = SkGaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(InvalidParameterError, match="gmmkit.GaussianMixture"):
        plot_marginal(sk, (0, 1), ax=_axes())
