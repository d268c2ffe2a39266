"""Matplotlib helpers that draw Gaussian mixtures and their fits.

Every function imports matplotlib only when it is called (install it with
``pip install 'gmmkit[plot]'``), draws on the Axes it is given (``ax=...``) or
on a new figure when ``ax`` is None, and returns what it drew on, so plots
compose::

    import matplotlib.pyplot as plt
    from gmmkit import GaussianMixture
    from gmmkit.plotting import plot_mixture, plot_nll

    gmm = GaussianMixture(3, random_state=0).fit(X)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plot_mixture(gmm, X, ax=left)
    plot_nll(gmm.log_likelihood_history_, ax=right)

The helpers read only the public attributes of a fitted model (``weights_``,
``means_``, ``covariances_``, ``covariance_type``) and its public methods
(``predict``, ``predict_proba``, ``score_samples``), so they work for
:class:`gmmkit.GaussianMixture` and :class:`sklearn.mixture.GaussianMixture`
alike.  They never change matplotlib's global state (backend, rcParams, the
"current" Axes) and never call ``plt.gca()`` when ``ax`` is given.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._conditional import feature_index
from ._errors import InvalidParameterError, require
from .covariance import to_dense

__all__ = [
    "Snapshot",
    "animate_em",
    "dense_covariances",
    "plot_1d",
    "plot_components",
    "plot_conditional_density",
    "plot_criterion",
    "plot_density",
    "plot_marginal",
    "plot_mixture",
    "plot_nll",
    "plot_pairs",
    "plot_regression",
    "plot_uncertainty",
]

_DATA_STYLE: dict[str, Any] = {"color": "black", "alpha": 0.3, "s": 10, "linewidths": 0}


# --------------------------------------------------------------------- helpers
def _pyplot() -> Any:
    return require("matplotlib.pyplot", "plot", "Plotting")


def _axes(ax: Any) -> Any:
    """The Axes to draw on: ``ax`` itself, or a new figure's only Axes."""
    if ax is not None:
        return ax
    _, new = _pyplot().subplots()
    return new


def _component_colors(n: int) -> list[Any]:
    require("matplotlib", "plot", "Plotting")
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _fitted_parameters(gmm: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights, means, dense covariances)`` of a fitted mixture."""
    return (
        np.asarray(gmm.weights_, dtype=np.float64),
        np.asarray(gmm.means_, dtype=np.float64),
        dense_covariances(gmm),
    )


def _check_fitted(gmm: Any) -> None:
    if not all(hasattr(gmm, a) for a in ("weights_", "means_", "covariances_")):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"This {type(gmm).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before plotting it."
        )


def _require_features(means: np.ndarray, expected: int, function: str) -> None:
    d = means.shape[1]
    if d == expected:
        return
    if expected == 2:
        hint = (
            "use plot_pairs(gmm, X) for a grid of 2-D projections"
            if d > 2
            else "use plot_1d(gmm, X) for one-dimensional data"
        )
    else:
        hint = (
            "use plot_mixture(gmm, X) for two features"
            if d == 2
            else "use plot_pairs(gmm, X) for a grid of 2-D projections"
        )
    raise InvalidParameterError(
        f"{function} draws mixtures with {expected} feature(s); this one has {d}. "
        f"Instead, {hint}."
    )


def _as_data(X: Any, n_features: int, name: str = "X") -> np.ndarray:
    """X as a float array of shape (n_samples, n_features), or a clear error."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name} must be a numeric array of shape (n_samples, {n_features}); it "
            f"could not be converted ({exc})."
        ) from None
    if n_features == 1 and arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != n_features or arr.shape[0] == 0:
        raise InvalidParameterError(
            f"{name} must have shape (n_samples, {n_features}) to match the "
            f"mixture; got shape {arr.shape}."
        )
    return arr


def _model_input(gmm: Any, points: np.ndarray) -> Any:
    """Points to pass to the model's methods (named columns if fitted on them)."""
    names = getattr(gmm, "feature_names_in_", None)
    if names is None:
        return points
    pd = require("pandas", "data", "Plotting a model fitted on a DataFrame")
    return pd.DataFrame(points, columns=list(names))


def _check_n_std(n_std: Any) -> tuple[float, ...]:
    values = np.atleast_1d(np.asarray(n_std, dtype=np.float64))
    if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InvalidParameterError(
            f"n_std must be a positive number or a sequence of them; got {n_std!r}."
        )
    return tuple(float(v) for v in values)


def _ellipse_geometry(cov: np.ndarray, n_std: float) -> tuple[float, float, float]:
    """``(width, height, angle in degrees)`` of the n_std-sigma ellipse of cov.

    The ellipse ``(x - mu)^T cov^-1 (x - mu) = n_std^2`` has semi-axes
    ``n_std * sqrt(eigenvalue)`` along the eigenvectors of cov.
    """
    values, vectors = np.linalg.eigh(cov)
    values = np.clip(values, 0.0, None)
    major = vectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    width, height = 2.0 * n_std * np.sqrt(values[::-1])
    return float(width), float(height), angle


def _ellipse(mean: np.ndarray, cov: np.ndarray, n_std: float, **kwargs: Any) -> Any:
    from matplotlib.patches import Ellipse

    width, height, angle = _ellipse_geometry(cov, n_std)
    return Ellipse(tuple(mean), width, height, angle=angle, **kwargs)


def _box(
    X: np.ndarray | None, means: np.ndarray, covs: np.ndarray, n_sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners covering the data and every component's n-sigma box."""
    sd = np.sqrt(np.clip(np.diagonal(covs, axis1=1, axis2=2), 0.0, None))
    parts = [means - n_sigma * sd, means + n_sigma * sd]
    if X is not None:
        parts.append(X)
    stacked = np.vstack(parts)
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
    return lo - pad, hi + pad


def _grid(
    lo: np.ndarray, hi: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], size), np.linspace(lo[1], hi[1], size)
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _check_grid_size(grid_size: Any) -> int:
    if isinstance(grid_size, bool) or not isinstance(grid_size, (int, np.integer)):
        raise InvalidParameterError(
            f"grid_size must be an int >= 10; got {grid_size!r}."
        )
    if grid_size < 10:
        raise InvalidParameterError(f"grid_size must be an int >= 10; got {grid_size}.")
    return int(grid_size)


def _mixture_density_grid(
    gmm: Any, lo: np.ndarray, hi: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xx, yy, points = _grid(lo, hi, size)
    log_density = np.asarray(gmm.score_samples(_model_input(gmm, points)))
    return xx, yy, np.exp(log_density).reshape(xx.shape)


def _gaussian_pdf(points: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Density of N(mean, cov) at each row of points, via a Cholesky factor."""
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, (points - mean).T)
    maha = np.einsum("ij,ij->j", z, z)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    d = mean.shape[0]
    return np.exp(-0.5 * (maha + log_det + d * np.log(2.0 * np.pi)))


#: Colour of the points a noise component claims (label -1).
NOISE_COLOR = "0.45"


def _noise_points(labels: np.ndarray) -> np.ndarray:
    """Rows labelled -1 (a noise component's, ``predict``) among integer labels
    0..K-1; an all-False mask for other labels."""
    if np.issubdtype(labels.dtype, np.integer) and labels.size and labels.min() == -1:
        return labels == -1
    return np.zeros(labels.shape, dtype=bool)


def _label_colors(labels: np.ndarray, colors: list[Any]) -> list[Any]:
    """One colour per point: component colours for labels 0..K-1 (grey for -1,
    a noise component's points), else by value."""
    noise = _noise_points(labels)
    if noise.any():
        keep = _label_colors(labels[~noise], colors)
        out: list[Any] = [NOISE_COLOR] * labels.shape[0]
        for i, c in zip(np.nonzero(~noise)[0], keep):
            out[i] = c
        return out
    if np.issubdtype(labels.dtype, np.integer) and labels.size and labels.min() >= 0:
        codes = labels
    else:
        _, codes = np.unique(labels, return_inverse=True)
    palette = (
        colors
        if int(codes.max(initial=0)) < len(colors)
        else _component_colors(int(codes.max()) + 1)
    )
    return [palette[int(c) % len(palette)] for c in codes]


def _check_labels(labels: Any, n: int) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise InvalidParameterError(
            f"labels must hold one label per row of X, shape ({n},); got shape "
            f"{arr.shape}."
        )
    return arr


def _set_xy_labels(ax: Any, names: Sequence[str] = ("$x_1$", "$x_2$")) -> None:
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])


def _shown_components(gmm: Any, weights: np.ndarray) -> list[int]:
    """The components a picture draws: all of them, or for a Bayesian mixture
    (``n_effective_components_``) the effective ones, those of largest
    expected weight; the others hold practically no weight."""
    n_eff = getattr(gmm, "n_effective_components_", None)
    k = len(weights)
    if not isinstance(n_eff, (int, np.integer)) or not 0 < n_eff < k:
        return list(range(k))
    return sorted(np.argsort(-weights, kind="stable")[: int(n_eff)].tolist())


def _mixture_title(gmm: Any, k: int) -> str:
    n_eff = getattr(gmm, "n_effective_components_", None)
    if isinstance(n_eff, (int, np.integer)):
        return f"Bayesian Gaussian mixture ({n_eff} effective of {k} components)"
    return f"Gaussian mixture ({k} components)"


def _component_label(k: int, weight: float | None) -> str:
    if weight is None:
        return f"component {k}"
    return rf"component {k} ($\pi$ = {weight:.2f})"


# ----------------------------------------------------------------- covariances
def dense_covariances(gmm: Any) -> np.ndarray:
    """Covariances of a fitted mixture as full matrices, shape (K, d, d).

    Reads ``covariances_`` in the native shape of the model's
    ``covariance_type`` (:func:`gmmkit.covariance.to_dense`): (K, d, d) for
    "full" and mclust's names, (d, d) for "tied" (repeated for every
    component), (K, d) for "diag" and (K,) for "spherical" (mclust's names
    VVV, EEE, VVI and VII accept these shapes too).  For an unknown
    ``covariance_type`` the shape decides where it is unambiguous.

    Parameters
    ----------
    gmm : fitted mixture
        Anything with ``means_`` of shape (K, d) and ``covariances_``.

    Returns
    -------
    covariances : ndarray of shape (K, d, d)
        A new array (changing it leaves the model untouched).
    """
    _check_fitted(gmm)
    means = np.asarray(gmm.means_, dtype=np.float64)
    if means.ndim != 2:
        raise InvalidParameterError(
            f"means_ must have shape (n_components, n_features); got {means.shape}."
        )
    k, d = means.shape
    return to_dense(gmm.covariances_, getattr(gmm, "covariance_type", None), k, d)


def _check_components(
    means: Any, covariances: Any, weights: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    m = np.asarray(means, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] == 0:
        raise InvalidParameterError(
            f"means must have shape (n_components, n_features); got {m.shape}."
        )
    k, d = m.shape
    c = np.asarray(covariances, dtype=np.float64)
    if c.shape != (k, d, d):
        raise InvalidParameterError(
            f"covariances must have shape (n_components, n_features, n_features) = "
            f"({k}, {d}, {d}) to match means; got {c.shape}. For a fitted model use "
            "dense_covariances(gmm)."
        )
    for j in range(k):
        if not np.allclose(c[j], c[j].T) or np.any(np.linalg.eigvalsh(c[j]) <= 0):
            raise InvalidParameterError(
                f"covariances[{j}] must be symmetric positive definite; got {c[j]!r}."
            )
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (k,):
            raise InvalidParameterError(
                f"weights must hold one weight per component, shape ({k},); got "
                f"shape {w.shape}."
            )
    return m, c, w


# -------------------------------------------------------------------- 2-D plots
def plot_mixture(
    gmm: Any,
    X: Any = None,
    ax: Any = None,
    labels: Any = None,
    n_std: float | Sequence[float] = (1, 2, 3),
    density: bool = True,
    *,
    levels: int | Sequence[float] = 8,
    grid_size: int = 200,
    show_means: bool = True,
    legend: bool = True,
    title: str | None = None,
) -> Any:
    """Draw a fitted two-feature mixture: clusters, ellipses, means, density.

    Parameters
    ----------
    gmm : fitted mixture with two features
    X : array-like of shape (n_samples, 2), default=None
        Data to scatter, coloured by cluster.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    labels : array-like of shape (n_samples,), default=None
        Colour of each point; ``gmm.predict(X)`` when None.  Integer labels
        0..K-1 get the colours of the components' ellipses.
    n_std : float or sequence of float, default=(1, 2, 3)
        Draw each component's ellipse at these many standard deviations
        (Mahalanobis radius); an empty sequence draws none.
    density : bool, default=True
        Overlay contours of the mixture density ``p(x)`` (from
        ``score_samples``) on a grid covering the data and the ellipses.
    levels : int or sequence of float, default=8
        Contour levels of the density (as matplotlib's ``contour``).
    grid_size : int, default=200
        Grid points per axis for the density.
    show_means : bool, default=True
    legend : bool, default=True
    title : str, default=None
        Defaults to "Gaussian mixture (K components)".

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    InvalidParameterError
        If the mixture does not have exactly two features (use
        :func:`plot_pairs` for more) or X/labels have the wrong shape.
    """
    _check_fitted(gmm)
    weights, means, covs = _fitted_parameters(gmm)
    _require_features(means, 2, "plot_mixture")
    stds = _check_n_std(n_std) if np.size(n_std) else ()
    size = _check_grid_size(grid_size)
    data = None if X is None else _as_data(X, 2)
    ax = _axes(ax)
    k = means.shape[0]
    colors = _component_colors(k)
    shown = _shown_components(gmm, weights)

    if data is not None:
        point_labels = gmm.predict(X) if labels is None else labels
        point_labels = _check_labels(point_labels, data.shape[0])
        noise = _noise_points(point_labels)
        ax.scatter(
            data[~noise, 0],
            data[~noise, 1],
            c=_label_colors(point_labels[~noise], colors),
            s=12,
            alpha=0.55,
            linewidths=0,
            zorder=1,
        )
        if noise.any():  # a noise component's points: grey crosses
            ax.scatter(
                data[noise, 0],
                data[noise, 1],
                c=NOISE_COLOR,
                marker="x",
                s=14,
                linewidths=0.8,
                zorder=1,
                label="noise",
            )
    for j in shown:
        for i, s in enumerate(stds):
            ax.add_patch(
                _ellipse(
                    means[j],
                    covs[j],
                    s,
                    fill=False,
                    edgecolor=colors[j],
                    linewidth=2.0 if i == 0 else 1.3,
                    alpha=1.0 - 0.55 * i / max(len(stds), 1),
                    zorder=3,
                    label=_component_label(j, weights[j]) if i == 0 else None,
                )
            )
    if show_means:
        ax.scatter(
            means[shown, 0],
            means[shown, 1],
            marker="X",
            s=110,
            c=[colors[j] for j in shown],
            edgecolors="black",
            linewidths=1.0,
            zorder=4,
            label="means",
        )
    lo, hi = _box(data, means[shown], covs[shown], max(stds, default=2.0))
    if density:
        xx, yy, zz = _mixture_density_grid(gmm, lo, hi, size)
        ax.contour(
            xx, yy, zz, levels=levels, colors="0.3", linewidths=0.7, alpha=0.7, zorder=2
        )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    _set_xy_labels(ax)
    ax.set_title(title if title is not None else _mixture_title(gmm, k))
    if legend and (stds or show_means):
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return ax


def plot_density(
    gmm: Any,
    X: Any = None,
    ax: Any = None,
    levels: int | Sequence[float] = 10,
    filled: bool = False,
    *,
    grid_size: int = 200,
    cmap: str = "viridis",
    colorbar: bool = False,
    title: str | None = None,
) -> Any:
    """Contours of the mixture density ``p(x)`` of a two-feature mixture.

    Parameters
    ----------
    gmm : fitted mixture with two features
    X : array-like of shape (n_samples, 2), default=None
        Data to show under the contours (small black dots).
    ax : matplotlib Axes, default=None
    levels : int or sequence of float, default=10
        Number of contour levels, or the density values to draw.
    filled : bool, default=False
        Filled contours (``contourf``) instead of lines.
    grid_size : int, default=200
        Grid points per axis.
    cmap : str, default="viridis"
    colorbar : bool, default=False
        Add a colour bar labelled ``p(x)`` next to ``ax`` (same figure).
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    _check_fitted(gmm)
    _, means, covs = _fitted_parameters(gmm)
    _require_features(means, 2, "plot_density")
    size = _check_grid_size(grid_size)
    data = None if X is None else _as_data(X, 2)
    ax = _axes(ax)
    lo, hi = _box(data, means, covs, 3.0)
    xx, yy, zz = _mixture_density_grid(gmm, lo, hi, size)
    draw = ax.contourf if filled else ax.contour
    contours = draw(xx, yy, zz, levels=levels, cmap=cmap, zorder=2)
    if data is not None:
        style = {**_DATA_STYLE, "zorder": 3 if filled else 1}
        if filled:
            style.update(color="white", alpha=0.5)
        ax.scatter(data[:, 0], data[:, 1], **style)
    if colorbar:
        ax.figure.colorbar(contours, ax=ax, label="$p(x)$")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    _set_xy_labels(ax)
    ax.set_title(title if title is not None else "Mixture density $p(x)$")
    return ax


def plot_components(
    means: Any,
    covariances: Any,
    weights: Any = None,
    X: Any = None,
    ax: Any = None,
    *,
    levels: int | Sequence[float] | None = 6,
    grid_size: int = 150,
    legend: bool = True,
    mean_size: float = 60.0,
    title: str | None = None,
) -> Any:
    """Contours of each component's Gaussian density, one colour per component.

    Takes plain parameters, so it draws the true generating mixture as well as
    a fitted one (``plot_components(gmm.means_, dense_covariances(gmm),
    gmm.weights_)``) or one EM iteration.

    Parameters
    ----------
    means : array-like of shape (n_components, 2)
    covariances : array-like of shape (n_components, 2, 2)
        Full covariance matrices (symmetric positive definite).
    weights : array-like of shape (n_components,), default=None
        Shown in the legend.  The contours are those of ``N(x | mu_k,
        Sigma_k)`` itself, unweighted, so every component is equally visible.
    X : array-like of shape (n_samples, 2), default=None
        Data to show under the contours (small black dots).
    ax : matplotlib Axes, default=None
    levels : int, sequence of float or None, default=6
        Contour levels of each component's density.
    grid_size : int, default=150
    legend : bool, default=True
    mean_size : float, default=60
        Marker area of the means; 0 hides them.
    title : str, default=None
        Defaults to "Mixture components".

    Returns
    -------
    ax : matplotlib Axes
    """
    m, c, w = _check_components(means, covariances, weights)
    if m.shape[1] != 2:
        raise InvalidParameterError(
            f"plot_components draws components with 2 features; these have "
            f"{m.shape[1]}. Select two features first, e.g. means[:, [i, j]] and "
            "covariances[:, [i, j]][:, :, [i, j]]."
        )
    size = _check_grid_size(grid_size)
    data = None if X is None else _as_data(X, 2)
    ax = _axes(ax)
    colors = _component_colors(m.shape[0])
    if data is not None:
        ax.scatter(data[:, 0], data[:, 1], **{**_DATA_STYLE, "zorder": 1})
    lo, hi = _box(data, m, c, 3.0)
    xx, yy, points = _grid(lo, hi, size)
    handles = []
    from matplotlib.lines import Line2D

    for j in range(m.shape[0]):
        zz = _gaussian_pdf(points, m[j], c[j]).reshape(xx.shape)
        ax.contour(
            xx, yy, zz, levels=levels, colors=[colors[j]], linewidths=1.2, zorder=2
        )
        handles.append(
            Line2D(
                [],
                [],
                color=colors[j],
                label=_component_label(j, None if w is None else w[j]),
            )
        )
    if mean_size > 0:
        ax.scatter(
            m[:, 0],
            m[:, 1],
            s=mean_size,
            c=colors,
            edgecolors="black",
            linewidths=1.0,
            zorder=4,
        )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    _set_xy_labels(ax)
    ax.set_title(title if title is not None else "Mixture components")
    if legend:
        ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)
    return ax


def plot_uncertainty(
    gmm: Any,
    X: Any,
    ax: Any = None,
    *,
    n_std: float | Sequence[float] = (2,),
    cmap: str = "plasma",
    colorbar: bool = True,
    title: str | None = None,
) -> Any:
    """Points sized and coloured by their classification uncertainty.

    The uncertainty of a point is ``1 - max_k P(k | x)`` (from
    ``predict_proba``): 0 when one component claims it fully, at most
    ``1 - 1/K`` when all components are equally likely.  Uncertain points are
    drawn larger and on top.

    Parameters
    ----------
    gmm : fitted mixture with two features
    X : array-like of shape (n_samples, 2)
    ax : matplotlib Axes, default=None
    n_std : float or sequence of float, default=(2,)
        Outline each component at these many standard deviations (empty: none).
    cmap : str, default="plasma"
    colorbar : bool, default=True
        Add a colour bar (on the same figure) explaining the colours.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    _check_fitted(gmm)
    _, means, covs = _fitted_parameters(gmm)
    _require_features(means, 2, "plot_uncertainty")
    stds = _check_n_std(n_std) if np.size(n_std) else ()
    data = _as_data(X, 2)
    ax = _axes(ax)
    proba = np.asarray(gmm.predict_proba(X))
    uncertainty = 1.0 - proba.max(axis=1)
    top = 1.0 - 1.0 / max(proba.shape[1], 1)  # K + 1 columns with noise
    scale = uncertainty / top if top > 0 else np.zeros_like(uncertainty)
    order = np.argsort(uncertainty, kind="stable")
    points = ax.scatter(
        data[order, 0],
        data[order, 1],
        c=uncertainty[order],
        s=8.0 + 110.0 * scale[order],
        cmap=cmap,
        vmin=0.0,
        vmax=max(top, 1e-12),
        edgecolors="0.2",
        linewidths=0.3,
        zorder=2,
    )
    for j in range(means.shape[0]):
        for s in stds:
            ax.add_patch(
                _ellipse(
                    means[j],
                    covs[j],
                    s,
                    fill=False,
                    edgecolor="0.4",
                    linestyle="--",
                    linewidth=1.0,
                    zorder=1,
                )
            )
    ax.scatter(
        means[:, 0],
        means[:, 1],
        marker="X",
        s=90,
        c="white",
        edgecolors="black",
        linewidths=1.0,
        zorder=3,
    )
    if colorbar:
        ax.figure.colorbar(
            points, ax=ax, label=r"uncertainty $1 - \mathrm{max}_k\,P(k\,|\,x)$"
        )
    _set_xy_labels(ax)
    ax.set_title(title if title is not None else "Classification uncertainty")
    return ax


# ------------------------------------------------------------ other dimensions
def plot_pairs(
    gmm: Any,
    X: Any,
    *,
    axes: Any = None,
    labels: Any = None,
    n_std: float | Sequence[float] = (1, 2),
    feature_names: Sequence[str] | None = None,
    bins: int | str = 30,
    features: Sequence[int] | None = None,
) -> np.ndarray:
    """Pairs plot of a mixture with two or more features.

    Panel ``(i, j)`` below or above the diagonal scatters feature ``j``
    (horizontal) against feature ``i`` (vertical), coloured by cluster, with
    each component's ellipse from its 2x2 sub-covariance (the exact marginal
    of the Gaussian on those two features).  Diagonal panels show the
    histogram of feature ``i`` with the mixture's one-dimensional marginal
    density and its weighted components (for a Bayesian mixture the
    effective ones, ``n_effective_components_``, as the other panels draw;
    the density sums every component).

    Parameters
    ----------
    gmm : fitted mixture with d >= 2 features
    X : array-like of shape (n_samples, d)
    axes : array of matplotlib Axes of shape (d, d), default=None
        Draw into these; a new ``d x d`` figure when None.  (This is the one
        helper that draws on a grid, hence ``axes`` instead of ``ax``.)
    labels : array-like of shape (n_samples,), default=None
        Colour of each point; ``gmm.predict(X)`` when None.
    n_std : float or sequence of float, default=(1, 2)
    feature_names : sequence of str, default=None
        Axis labels; the model's ``feature_names_in_`` if any, else
        ``$x_1$ ... $x_d$``.
    bins : int or str, default=30
        Histogram bins of the diagonal panels.
    features : sequence of int, default=None
        Draw only these features (0-based, at least 2), e.g. the first few of
        wide data: the panels show the mixture's exact marginal on them, while
        ``X``, ``feature_names`` and the default labels still cover every
        feature (points keep the clusters of the whole model).  ``axes`` then
        has shape ``(len(features), len(features))``.

    Returns
    -------
    axes : ndarray of matplotlib Axes, shape (d, d)
        The figure is ``axes[0, 0].figure``.
    """
    _check_fitted(gmm)
    weights, means, covs = _fitted_parameters(gmm)
    k, d = means.shape
    if d < 2:
        raise InvalidParameterError(
            "plot_pairs needs a mixture with at least 2 features; this one has 1. "
            "Use plot_1d(gmm, X) instead."
        )
    stds = _check_n_std(n_std) if np.size(n_std) else ()
    data = _as_data(X, d)
    point_labels = _check_labels(
        gmm.predict(X) if labels is None else labels, len(data)
    )
    if feature_names is None:
        fitted_names = getattr(gmm, "feature_names_in_", None)
        names = (
            [str(n) for n in fitted_names]
            if fitted_names is not None
            else [f"$x_{{{i + 1}}}$" for i in range(d)]
        )
    else:
        names = [str(n) for n in feature_names]
        if len(names) != d:
            raise InvalidParameterError(
                f"feature_names must hold {d} names, one per feature; got {len(names)}."
            )
    if features is not None:
        idx = [int(f) for f in features]
        if (
            len(idx) < 2
            or len(set(idx)) != len(idx)
            or not all(0 <= f < d for f in idx)
        ):
            raise InvalidParameterError(
                f"features must list at least 2 distinct feature indices in [0, {d}); "
                f"got {list(features)}."
            )
        means = means[:, idx]
        covs = covs[:, idx][:, :, idx]
        data = data[:, idx]
        names = [names[f] for f in idx]
        d = len(idx)
    if axes is None:
        _, grid = _pyplot().subplots(
            d, d, figsize=(2.6 * d, 2.6 * d), squeeze=False, layout="constrained"
        )
    else:
        grid = np.asarray(axes, dtype=object)
        if grid.shape != (d, d):
            raise InvalidParameterError(
                f"axes must be a ({d}, {d}) array of Axes for {d} features; got shape "
                f"{grid.shape}."
            )
    colors = _component_colors(k)
    point_colors = _label_colors(point_labels, colors)
    for i in range(d):
        for j in range(d):
            ax = grid[i, j]
            if i == j:
                _marginal_panel(
                    ax,
                    data[:, i],
                    weights,
                    means[:, i],
                    covs[:, i, i],
                    bins,
                    _shown_components(gmm, weights),
                )
            else:
                ax.scatter(
                    data[:, j], data[:, i], c=point_colors, s=6, alpha=0.5, linewidths=0
                )
                pair = [j, i]
                for c in _shown_components(gmm, weights):
                    sub = covs[c][np.ix_(pair, pair)]
                    for n, s in enumerate(stds):
                        ax.add_patch(
                            _ellipse(
                                means[c, pair],
                                sub,
                                s,
                                fill=False,
                                edgecolor=colors[c],
                                linewidth=1.5 if n == 0 else 1.0,
                                alpha=1.0 if n == 0 else 0.6,
                            )
                        )
                ax.autoscale_view()
            if i == d - 1:
                ax.set_xlabel(names[j])
            if j == 0:
                ax.set_ylabel(names[i])
    # One horizontal range per column and one vertical range per row (the
    # diagonal's vertical axis is a density, so it is left alone).
    for j in range(d):
        lows, highs = zip(*(grid[i, j].get_xlim() for i in range(d)), strict=True)
        for i in range(d):
            grid[i, j].set_xlim(min(lows), max(highs))
    for i in range(d):
        off = [grid[i, j] for j in range(d) if j != i]
        lows, highs = zip(*(ax.get_ylim() for ax in off), strict=True)
        for ax in off:
            ax.set_ylim(min(lows), max(highs))
    return grid


def _marginal_panel(
    ax: Any,
    x: np.ndarray,
    weights: np.ndarray,
    mu: np.ndarray,
    var: np.ndarray,
    bins: int | str,
    shown: list[int],
) -> None:
    """Histogram of x with the mixture's 1-D density (all components) and
    the ``shown`` weighted components (dashed); the range covers the data and
    4 standard deviations about each shown component."""
    ax.hist(x, bins=bins, density=True, color="0.8", edgecolor="white")
    sd = np.sqrt(var)
    lo = min(x.min(), float((mu - 4 * sd)[shown].min()))
    hi = max(x.max(), float((mu + 4 * sd)[shown].max()))
    t = np.linspace(lo, hi, 400)
    parts = (
        weights[:, None]
        * np.exp(-0.5 * ((t - mu[:, None]) / sd[:, None]) ** 2)
        / (sd[:, None] * np.sqrt(2 * np.pi))
    )
    colors = _component_colors(len(weights))
    for j in shown:
        ax.plot(t, parts[j], color=colors[j], linestyle="--", linewidth=1.0)
    ax.plot(t, parts.sum(axis=0), color="black", linewidth=1.5)


def plot_1d(
    gmm: Any,
    X: Any,
    ax: Any = None,
    *,
    bins: int | str = "auto",
    title: str | None = None,
) -> Any:
    """Histogram of one-feature data with the mixture density and its components.

    The solid black line is ``p(x)``; each dashed line is a weighted component
    ``pi_k N(x | mu_k, sigma_k^2)`` (they add up to the black line).

    Parameters
    ----------
    gmm : fitted mixture with one feature
    X : array-like of shape (n_samples, 1) or (n_samples,)
    ax : matplotlib Axes, default=None
    bins : int or str, default="auto"
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    _check_fitted(gmm)
    weights, means, covs = _fitted_parameters(gmm)
    _require_features(means, 1, "plot_1d")
    data = _as_data(X, 1)[:, 0]
    ax = _axes(ax)
    ax.hist(
        data, bins=bins, density=True, color="0.82", edgecolor="white", label="data"
    )
    mu, var = means[:, 0], covs[:, 0, 0]
    sd = np.sqrt(var)
    t = np.linspace(
        min(data.min(), float((mu - 4 * sd).min())),
        max(data.max(), float((mu + 4 * sd).max())),
        500,
    )
    parts = (
        weights[:, None]
        * np.exp(-0.5 * ((t - mu[:, None]) / sd[:, None]) ** 2)
        / (sd[:, None] * np.sqrt(2 * np.pi))
    )
    colors = _component_colors(len(weights))
    for j in _shown_components(gmm, weights):
        part = parts[j]
        ax.plot(
            t,
            part,
            color=colors[j],
            linestyle="--",
            linewidth=1.3,
            label=_component_label(j, float(weights[j])),
        )
    ax.plot(t, parts.sum(axis=0), color="black", linewidth=2.0, label="mixture $p(x)$")
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    ax.set_title(title if title is not None else _mixture_title(gmm, len(weights)))
    ax.legend(loc="best", fontsize="small")
    return ax


# ------------------------------------------------------------ fit diagnostics
def plot_nll(
    history: Any,
    ax: Any = None,
    *,
    mark: Iterable[int] | None = None,
    title: str | None = None,
) -> Any:
    """Negative log-likelihood per EM iteration, on a logarithmic y axis.

    Parameters
    ----------
    history : array-like of shape (n_iter + 1,)
        TOTAL log-likelihoods: of the starting parameters, then after each
        iteration, e.g. ``GaussianMixture.log_likelihood_history_``.  The plot
        shows ``-history`` against iterations 0 (the start), 1, 2, ...
    ax : matplotlib Axes, default=None
    mark : iterable of int, default=None
        Iterations to mark with red dots (negative values count from the end,
        so ``-1`` is the final one).
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes

    Notes
    -----
    A logarithmic axis needs positive values.  When some negative
    log-likelihood is <= 0 (densities above 1, e.g. data on a small scale) the
    y axis stays linear and the title says so.
    """
    values = np.asarray(history, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise InvalidParameterError(
            "history must be a non-empty 1-D sequence of finite log-likelihoods "
            f"(e.g. log_likelihood_history_); got shape {values.shape}."
        )
    nll = -values
    iterations = np.arange(nll.size)
    ax = _axes(ax)
    log_scale = bool(np.all(nll > 0))
    (ax.semilogy if log_scale else ax.plot)(
        iterations, nll, color="tab:blue", linewidth=1.5, label="NLL"
    )
    if log_scale and nll.max() < 10 * nll.min():
        # Less than a decade: the log locator would label one or two ticks
        # (as 3 x 10^3); place evenly spaced plain-number ticks instead.
        from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    if mark is not None:
        picked = sorted({int(i) % nll.size for i in _check_marks(mark, nll.size)})
        ax.plot(
            iterations[picked],
            nll[picked],
            "o",
            color="tab:red",
            markersize=6,
            linestyle="none",
            label="marked iterations",
            zorder=3,
        )
        for i in picked:
            ax.annotate(
                str(i),
                (iterations[i], nll[i]),
                textcoords="offset points",
                xytext=(5, 5),
                fontsize="small",
                color="tab:red",
            )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("EM iteration (0 = start)")
    ax.set_ylabel("negative log-likelihood" + ("" if log_scale else " (linear scale)"))
    text = title if title is not None else "Negative log-likelihood per EM iteration"
    if not log_scale:
        text += "\n(linear scale: the NLL is not positive everywhere)"
    ax.set_title(text)
    if mark is not None:
        ax.legend(loc="best", fontsize="small")
    return ax


def _check_marks(mark: Iterable[int], n: int) -> list[int]:
    out = []
    for i in mark:
        if (
            isinstance(i, bool)
            or not isinstance(i, (int, np.integer))
            or not -n <= i < n
        ):
            raise InvalidParameterError(
                f"mark must hold iteration numbers between {-n} and {n - 1}; got {i!r}."
            )
        out.append(int(i))
    return out


def plot_criterion(
    ks: Sequence[int],
    values_by_name: Mapping[str, Sequence[float]],
    ax: Any = None,
    best: int | None = None,
    *,
    title: str | None = None,
) -> Any:
    """Information criteria (e.g. BIC, AIC) against the number of components.

    Uses scikit-learn's sign: lower is better (mclust reports BIC with the
    opposite sign).  Each curve's minimum is marked with a star; ``NaN``
    values (e.g. fits that failed) leave gaps.

    Parameters
    ----------
    ks : sequence of int
        Numbers of components, the x axis.
    values_by_name : mapping of str to sequence of float
        One curve per criterion, each with one value per entry of ``ks``.
    ax : matplotlib Axes, default=None
    best : int, default=None
        The chosen number of components, drawn as a dashed vertical line.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    k_values = np.asarray(ks)
    if k_values.ndim != 1 or k_values.size == 0:
        raise InvalidParameterError(
            f"ks must be a non-empty 1-D sequence of ints; got shape {k_values.shape}."
        )
    if not values_by_name:
        raise InvalidParameterError(
            "values_by_name must map at least one criterion name to its values."
        )
    curves = {}
    for name, values in values_by_name.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != k_values.shape:
            raise InvalidParameterError(
                f"values_by_name[{name!r}] must hold one value per K, shape "
                f"{k_values.shape}; got shape {arr.shape}."
            )
        curves[name] = arr
    if best is not None and best not in set(k_values.tolist()):
        raise InvalidParameterError(
            f"best={best!r} is not one of ks={k_values.tolist()}."
        )
    ax = _axes(ax)
    for name, arr in curves.items():
        (line,) = ax.plot(k_values, arr, marker="o", linewidth=1.5, label=name)
        if np.any(np.isfinite(arr)):
            i = int(np.nanargmin(arr))
            ax.scatter(
                [k_values[i]],
                [arr[i]],
                marker="*",
                s=220,
                color=line.get_color(),
                edgecolors="black",
                linewidths=0.8,
                zorder=3,
            )
    if best is not None:
        ax.axvline(
            best, color="0.4", linestyle="--", linewidth=1.0, label=f"chosen K = {best}"
        )
    ax.set_xticks(k_values)
    ax.set_xlabel("number of components $K$")
    ax.set_ylabel("criterion value (lower is better)")
    ax.set_title(title if title is not None else "Model selection (lower is better)")
    ax.legend(loc="best", fontsize="small")
    return ax


# -------------------------------------------------------------------- animation
class Snapshot(NamedTuple):
    """The parameters of a two-feature mixture at one EM iteration.

    A plain 4- or 5-tuple ``(iteration, weights, means, covariances[,
    log_likelihood])`` is accepted wherever a Snapshot is.
    """

    #: 0 for the starting parameters, t after the t-th iteration.
    iteration: int
    #: shape (K,)
    weights: np.ndarray
    #: shape (K, d)
    means: np.ndarray
    #: dense, shape (K, d, d)
    covariances: np.ndarray
    #: total log-likelihood of these parameters, if known
    log_likelihood: float | None = None

    @classmethod
    def from_model(cls, gmm: Any, iteration: int) -> Snapshot:
        """Copy the parameters of a fitted mixture (later fits don't change it)."""
        history = getattr(gmm, "log_likelihood_history_", None)
        ll = float(history[-1]) if history is not None and len(history) else None
        return cls(
            int(iteration),
            np.array(gmm.weights_, dtype=np.float64),
            np.array(gmm.means_, dtype=np.float64),
            dense_covariances(gmm),
            ll,
        )


def _as_snapshots(snapshots: Iterable[Any]) -> list[Snapshot]:
    out: list[Snapshot] = []
    for i, item in enumerate(snapshots):
        if isinstance(item, Snapshot):
            snap = item
        elif hasattr(item, "means_"):
            snap = Snapshot.from_model(item, i)
        else:
            try:
                snap = Snapshot(*item)
            except TypeError:
                raise InvalidParameterError(
                    f"snapshots[{i}] must be a Snapshot, a tuple (iteration, weights, "
                    "means, covariances[, log_likelihood]) or a fitted mixture; got "
                    f"{type(item).__name__}."
                ) from None
        m, c, w = _check_components(snap.means, snap.covariances, snap.weights)
        assert w is not None
        if m.shape[1] != 2:
            raise InvalidParameterError(
                f"animate_em draws two-feature mixtures; snapshots[{i}] has "
                f"{m.shape[1]} features."
            )
        if out and m.shape[0] != out[0].means.shape[0]:
            raise InvalidParameterError(
                "All snapshots must have the same number of components; "
                f"snapshots[0] has {out[0].means.shape[0]}, snapshots[{i}] has "
                f"{m.shape[0]}."
            )
        out.append(snap._replace(weights=w, means=m, covariances=c))
    if not out:
        raise InvalidParameterError("snapshots is empty; give at least one.")
    return out


def animate_em(
    snapshots: Iterable[Any],
    X: Any,
    path: str | os.PathLike[str],
    fps: float = 8.0,
    *,
    n_std: float | Sequence[float] = (1, 2),
    figsize: tuple[float, float] = (5.0, 4.2),
    dpi: float = 80.0,
    hold_last: float = 1.5,
    title: str = "EM iteration {iteration}",
) -> Path:
    """Write an animated GIF of EM iterations, one frame per snapshot.

    Each frame shows the data, every component's ellipses at ``n_std``
    standard deviations and its mean.  The file is written atomically: frames
    go to a temporary file in the same directory, which then replaces
    ``path``, so a reader never sees a half-written GIF.

    Parameters
    ----------
    snapshots : iterable
        One item per frame: a :class:`Snapshot`, a tuple ``(iteration,
        weights, means, dense covariances[, log_likelihood])``, or a fitted
        two-feature mixture (a *copy* per iteration, e.g. ``copy.deepcopy``;
        its position in the list is used as the iteration number).
    X : array-like of shape (n_samples, 2)
    path : str or path-like
        Output file; written in GIF format whatever its suffix.
    fps : float, default=8
        Frames per second.
    n_std : float or sequence of float, default=(1, 2)
    figsize : (float, float), default=(5, 4.2)
        Inches; with ``dpi`` this sets the frame size in pixels.
    dpi : float, default=80
    hold_last : float, default=1.5
        Seconds the last frame stays on screen before the loop restarts (at
        least one frame's time).
    title : str, default="EM iteration {iteration}"
        Frame title, formatted with ``iteration`` (and the snapshot's negative
        log-likelihood appended when known).  Pillow merges consecutive
        identical frames, so keep ``{iteration}`` in it for one frame per
        snapshot.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Notes
    -----
    The figure is drawn once on an Agg canvas; each frame then only restores
    that background and redraws the ellipses, means and title (blitting), and
    is quantised with Pillow's fast octree method.  That is about eight times
    faster than ``matplotlib.animation.PillowWriter``, which redraws the whole
    figure and quantises by median cut for every frame.
    """
    require("PIL", "plot", "Writing GIF animations")
    require("matplotlib", "plot", "Writing GIF animations")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    frames = _as_snapshots(snapshots)
    data = _as_data(X, 2)
    stds = _check_n_std(n_std) if np.size(n_std) else ()
    if not np.isfinite(fps) or fps <= 0:
        raise InvalidParameterError(f"fps must be a positive number; got {fps!r}.")
    if not np.isfinite(hold_last) or hold_last < 0:
        raise InvalidParameterError(
            f"hold_last must be a non-negative number of seconds; got {hold_last!r}."
        )
    target = Path(path)

    # A bare Figure on its own Agg canvas: pyplot's figure list, backend and
    # "current" figure are left alone.
    fig = Figure(figsize=figsize, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.12, top=0.91)
    ax = fig.add_subplot()
    ax.scatter(data[:, 0], data[:, 1], **{**_DATA_STYLE, "zorder": 1})
    k = frames[0].means.shape[0]
    colors = _component_colors(k)
    patches: list[list[Any]] = [
        [
            ax.add_patch(
                _ellipse(
                    np.zeros(2),
                    np.eye(2),
                    s,
                    fill=False,
                    edgecolor=colors[j],
                    linewidth=2.0 if n == 0 else 1.2,
                    alpha=1.0 if n == 0 else 0.6,
                    zorder=2,
                    animated=True,
                )
            )
            for n, s in enumerate(stds)
        ]
        for j in range(k)
    ]
    centres = ax.scatter(
        frames[0].means[:, 0],
        frames[0].means[:, 1],
        s=70,
        c=colors,
        edgecolors="black",
        linewidths=1.0,
        zorder=3,
        animated=True,
    )
    all_means = np.vstack([f.means for f in frames])
    lo = np.minimum(data.min(axis=0), all_means.min(axis=0))
    hi = np.maximum(data.max(axis=0), all_means.max(axis=0))
    pad = 0.06 * np.where(hi > lo, hi - lo, 1.0)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    _set_xy_labels(ax)
    heading = ax.set_title("", animated=True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)

    images = []
    for snap in frames:
        for j in range(k):
            for patch, s in zip(patches[j], stds, strict=True):
                width, height, angle = _ellipse_geometry(snap.covariances[j], s)
                patch.set_center(tuple(snap.means[j]))
                patch.set_width(width)
                patch.set_height(height)
                patch.set_angle(angle)
        centres.set_offsets(snap.means)
        text = title.format(iteration=snap.iteration)
        if snap.log_likelihood is not None:
            text += f"   (NLL {-snap.log_likelihood:.2f})"
        heading.set_text(text)
        canvas.restore_region(background)
        for artist in [*(p for row in patches for p in row), centres, heading]:
            ax.draw_artist(artist)
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
        # Fast octree quantisation: ~1 ms a frame against ~12 ms for Pillow's
        # default median cut, and visually the same for these flat-colour plots.
        images.append(
            rgb.quantize(
                256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
            )
        )

    step = 1000.0 / fps
    durations = [round(step)] * len(images)
    durations[-1] = round(max(step, 1000.0 * hold_last))
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its file would keep mode 0600 after the rename.
    tmp_name = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        images[0].save(
            tmp_name,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=0,
        )
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return target


# ------------------------------------------- marginals, conditionals, regression
def _feature_label(gm: Any, j: int, fallback: str) -> str:
    names = getattr(gm, "feature_names_in_", None)
    return str(names[j]) if names is not None else fallback


def plot_marginal(
    gmm: Any,
    features: Sequence[Any] = (0, 1),
    X: Any = None,
    ax: Any = None,
    *,
    given: Any = None,
    values: Any = None,
    levels: int | Sequence[float] = 10,
    filled: bool = False,
    grid_size: int = 200,
    cmap: str = "viridis",
    colorbar: bool = False,
    title: str | None = None,
) -> Any:
    """Contours of a two-feature marginal or conditional density.

    Without ``given``: ``p(x_i, x_j)``, the mixture's marginal over
    ``features = (i, j)`` (the other features integrated out).  With
    ``given`` and ``values``: ``p(x_i, x_j | x_given = values)`` (features
    in neither are integrated out).  Built with
    :meth:`gmmkit.GaussianMixture.marginal` and
    :meth:`~gmmkit.GaussianMixture.condition`, drawn by :func:`plot_density`.

    Parameters
    ----------
    gmm : fitted :class:`gmmkit.GaussianMixture`
    features : pair of int or str, default=(0, 1)
        The two features on the axes (indices, or names for a model fitted
        on named columns).
    X : array-like, default=None
        Points to show: shape (n_samples, n_features) of the model (the two
        features' columns are taken) or (n_samples, 2).
    ax : matplotlib Axes, default=None
    given : int, str or list of them, default=None
        Features to condition on.
    values : array-like of shape (len(given),), default=None
        Their values.
    levels, filled, grid_size, cmap, colorbar
        As for :func:`plot_density`.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    _check_fitted(gmm)
    if not hasattr(gmm, "marginal"):
        raise InvalidParameterError(
            "plot_marginal needs a gmmkit.GaussianMixture (it uses its marginal and "
            f"condition methods); got {type(gmm).__name__}."
        )
    pair = [features] if isinstance(features, (str, int)) else list(features)
    if len(pair) != 2:
        raise InvalidParameterError(
            f"features must name exactly two features for a contour plot; got "
            f"{features!r}. Use plot_1d(gmm.marginal([i]), X) for one feature."
        )
    if (given is None) != (values is None):
        raise InvalidParameterError(
            "given and values go together: pass both (the features to condition on "
            "and their values) or neither."
        )
    given_list = (
        []
        if given is None
        else ([given] if isinstance(given, (str, int)) else list(given))
    )
    part = gmm.marginal([*pair, *given_list])
    if given_list:
        part = part.condition(list(range(2, 2 + len(given_list))), values)
    data = None
    if X is not None:
        d = int(np.asarray(gmm.means_).shape[1])
        if d != 2 and np.ndim(X) == 2 and np.shape(X)[1] == d:
            names = getattr(gmm, "feature_names_in_", None)
            columns = feature_index(pair, d, names, "plot_marginal")
            data = _as_data(X, d)[:, columns]
        else:
            data = _as_data(X, 2)
    ax = plot_density(
        part,
        data,
        ax,
        levels,
        filled,
        grid_size=grid_size,
        cmap=cmap,
        colorbar=colorbar,
    )
    labels = [_feature_label(part, j, f"$x_{{{f}}}$") for j, f in enumerate(pair)]
    _set_xy_labels(ax, labels)
    if title is None:
        title = f"Marginal density $p$({labels[0]}, {labels[1]})"
        if given_list:
            shown = ", ".join(
                f"{g}={float(v):.3g}"
                for g, v in zip(given_list, np.ravel(values), strict=False)
            )
            title = f"Conditional density given {shown}"
    ax.set_title(title)
    return ax


def _check_regressor(reg: Any, function: str) -> None:
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(reg)
    mixture = getattr(reg, "mixture_", None)
    if (
        mixture is None
        or getattr(reg, "n_features_in_", None) != 1
        or getattr(reg, "n_targets_", None) != 1
    ):
        raise InvalidParameterError(
            f"{function} draws a GaussianMixtureRegressor with one input feature "
            "and one target; this one has "
            f"{getattr(reg, 'n_features_in_', '?')} input(s) and "
            f"{getattr(reg, 'n_targets_', '?')} target(s)."
        )


def _regression_data(X: Any, y: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    if (X is None) != (y is None):
        raise InvalidParameterError(
            "X and y go together: pass both (the data to show) or neither."
        )
    if X is None:
        return None, None
    x = _as_data(X, 1)[:, 0]
    t = np.asarray(y, dtype=np.float64).ravel()
    if t.shape != x.shape:
        raise InvalidParameterError(
            f"y must hold one value per row of X, shape ({x.size},); got {np.shape(y)}."
        )
    return x, t


def _input_range(reg: Any, x: np.ndarray | None, n_sigma: float) -> tuple[float, ...]:
    """The x range covering the data and every component's n-sigma interval."""
    means = np.asarray(reg.mixture_.means_, dtype=np.float64)[:, :1]
    covs = dense_covariances(reg.mixture_)[:, :1, :1]
    lo, hi = _box(None if x is None else x[:, None], means, covs, n_sigma)
    return float(lo[0]), float(hi[0])


def plot_regression(
    reg: Any,
    X: Any = None,
    y: Any = None,
    ax: Any = None,
    *,
    n_std: float = 2.0,
    grid_size: int = 300,
    title: str | None = None,
) -> Any:
    """The regression curve ``E[y | x]`` with a band of ``n_std`` standard
    deviations of ``p(y | x)``, for one input and one target.

    Parameters
    ----------
    reg : fitted :class:`gmmkit.GaussianMixtureRegressor` (one input, one target)
    X, y : array-like, default=None
        Data to scatter (X of shape (n_samples, 1) or (n_samples,)).
    ax : matplotlib Axes, default=None
    n_std : float, default=2.0
        Half-width of the band in standard deviations (``predict(...,
        return_std=True)``).
    grid_size : int, default=300
        Points along x.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    _check_regressor(reg, "plot_regression")
    (width,) = _check_n_std(n_std)[:1]
    size = _check_grid_size(grid_size)
    x, t = _regression_data(X, y)
    ax = _axes(ax)
    lo, hi = _input_range(reg, x, 3.0)
    grid = np.linspace(lo, hi, size)
    mean, std = reg.predict(_model_input(reg, grid[:, None]), return_std=True)
    mean, std = np.ravel(mean), np.ravel(std)
    if x is not None:
        ax.scatter(x, t, **{**_DATA_STYLE, "label": "data"})
    ax.fill_between(
        grid,
        mean - width * std,
        mean + width * std,
        color="C0",
        alpha=0.25,
        linewidth=0,
        label=rf"$\pm {width:g}\sigma$",
    )
    ax.plot(grid, mean, color="C0", linewidth=2.0, label=r"$E[y \mid x]$")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(_feature_label(reg, 0, "$x$"))
    ax.set_ylabel(_feature_label(reg.mixture_, 1, "$y$"))
    k = len(reg.mixture_.weights_)
    ax.set_title(
        title if title is not None else f"Gaussian mixture regression ({k} components)"
    )
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_conditional_density(
    reg: Any,
    X: Any = None,
    y: Any = None,
    ax: Any = None,
    *,
    grid_size: int = 200,
    cmap: str = "viridis",
    colorbar: bool = False,
    title: str | None = None,
) -> Any:
    """The conditional density ``p(y | x)`` as an image over (x, y), for one
    input and one target: each vertical slice is the density of y at that x
    (``exp(log p(x, y) - log p(x))`` from the joint mixture and its
    marginal).

    Parameters
    ----------
    reg : fitted :class:`gmmkit.GaussianMixtureRegressor` (one input, one target)
    X, y : array-like, default=None
        Data to scatter on top (white dots).
    ax : matplotlib Axes, default=None
    grid_size : int, default=200
        Grid points per axis.
    cmap : str, default="viridis"
    colorbar : bool, default=False
        Add a colour bar labelled ``p(y | x)``.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    _check_regressor(reg, "plot_conditional_density")
    size = _check_grid_size(grid_size)
    x, t = _regression_data(X, y)
    ax = _axes(ax)
    joint = reg.mixture_
    means = np.asarray(joint.means_, dtype=np.float64)
    covs = dense_covariances(joint)
    both = None if x is None or t is None else np.column_stack([x, t])
    lo, hi = _box(both, means, covs, 3.0)
    xx, yy, points = _grid(lo, hi, size)
    log_joint = joint.score_samples(_model_input(joint, points))
    margin = joint.marginal([0])
    log_x = margin.score_samples(_model_input(margin, points[:, :1]))
    zz = np.exp(log_joint - log_x).reshape(xx.shape)
    mesh = ax.pcolormesh(xx, yy, zz, cmap=cmap, shading="auto", zorder=1)
    if x is not None:
        ax.scatter(x, t, **{**_DATA_STYLE, "color": "white", "alpha": 0.5, "zorder": 2})
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=r"$p(y \mid x)$")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(_feature_label(reg, 0, "$x$"))
    ax.set_ylabel(_feature_label(reg.mixture_, 1, "$y$"))
    ax.set_title(title if title is not None else r"Conditional density $p(y \mid x)$")
    return ax
