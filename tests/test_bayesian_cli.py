"""BayesianGaussianMixture in the command line (gmmkit fit --bayesian,
info, predict, report --bayesian) and in the plots.

Oracles: scikit-learn's BayesianGaussianMixture from the same random_state
(gmmkit's fit equals it); gmmkit's own in-memory fit for the numbers
scikit-learn lacks (elbo_, the predictive density); scipy.stats' normal
density for the plotted 1-D mixture.
"""

import json

import numpy as np
import pytest
from scipy import stats as ss
from sklearn.mixture import BayesianGaussianMixture as SkBGM

import gmmkit
from gmmkit import BayesianGaussianMixture
from test_cli import run, three_blobs

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from gmmkit.plotting import plot_1d, plot_mixture, plot_pairs  # noqa: E402

KW = dict(
    n_components=6,
    weight_concentration_prior=0.01,
    random_state=0,
    max_iter=500,
)


@pytest.fixture()
def csv_file(tmp_path):
    X = three_blobs()
    lines = ["x1,x2"] + [f"{float(a)!r},{float(b)!r}" for a, b in X]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


FIT = ["-k", 6, "--weight-concentration", 0.01, "--max-iter", 500]


def test_fit_bayesian_equals_scikit_learn(tmp_path, csv_file, capsys):
    X = three_blobs()
    model = tmp_path / "m.gmm"
    code, out, err = run(
        ["fit", csv_file, "--bayesian", *FIT, "-o", model, "--json", "-q"], capsys
    )
    assert code == 0, err
    summary = json.loads(out)
    sk = SkBGM(**KW).fit(X)
    ours = BayesianGaussianMixture(**KW).fit(X)
    np.testing.assert_allclose(summary["weights"], sk.weights_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(summary["means"], sk.means_, rtol=1e-8)
    assert summary["bayesian"] is True
    assert summary["weight_concentration_prior_type"] == "dirichlet_process"
    assert summary["lower_bound"] == pytest.approx(float(sk.lower_bound_), rel=1e-9)
    assert summary["elbo"] == pytest.approx(ours.elbo_, rel=1e-12)
    assert summary["n_effective_components"] == int(np.sum(sk.weights_ > 1e-3))
    assert summary["n_samples"] == 150
    assert summary["predictive_log_likelihood"] == pytest.approx(
        ours.score_samples(X, predictive=True).sum(), rel=1e-12
    )
    assert "bic" not in summary  # BIC does not apply to a variational fit
    loaded = gmmkit.load(model)
    assert type(loaded) is BayesianGaussianMixture
    np.testing.assert_allclose(loaded.means_, sk.means_, rtol=1e-8)
    code, out, _ = run(["predict", model, csv_file, "-q"], capsys)
    assert code == 0
    assert [int(v) for v in out.splitlines()[1:]] == list(sk.predict(X))
    code, out, _ = run(["info", model], capsys)
    assert code == 0
    n_eff = summary["n_effective_components"]
    assert f"{n_eff} effective components" in out
    assert "variational iterations" in out
    assert f"{summary['elbo']:.6f}" in out
    code, out, _ = run(["info", model, "--json"], capsys)
    info = json.loads(out)["model"]
    assert info["elbo"] == summary["elbo"]
    assert info["n_effective_components"] == n_eff


def _sk_predictive(sk, X):
    """log p(x | data) of scikit-learn's fitted posterior, as a mixture of
    scipy.stats multivariate t densities (Bishop 2006, eq. 10.81)."""
    d = X.shape[1]
    dens = np.zeros(X.shape[0])
    for j in range(sk.n_components):
        nu, beta = sk.degrees_of_freedom_[j], sk.mean_precision_[j]
        f = nu + 1 - d
        shape = (1 + beta) * nu * sk.covariances_[j] / (beta * f)
        dens += sk.weights_[j] * ss.multivariate_t(sk.means_[j], shape, df=f).pdf(X)
    return np.log(dens)


def test_score_bayesian_reports_the_predictive_log_likelihood(
    tmp_path, csv_file, capsys
):
    X = three_blobs()
    model = tmp_path / "m.gmm"
    code, _, err = run(["fit", csv_file, "--bayesian", *FIT, "-o", model, "-q"], capsys)
    assert code == 0, err
    expected = _sk_predictive(SkBGM(**KW).fit(X), X)
    code, out, err = run(["score", model, csv_file, "--json", "-q"], capsys)
    assert code == 0, err
    scored = json.loads(out)
    assert set(scored) == {
        "n_samples",
        "predictive_log_likelihood",
        "mean_predictive_log_likelihood",
    }  # no BIC/AIC: they mean nothing for a variational fit
    assert scored["n_samples"] == 150
    assert scored["predictive_log_likelihood"] == pytest.approx(
        expected.sum(), rel=1e-8
    )
    assert scored["mean_predictive_log_likelihood"] == pytest.approx(
        expected.mean(), rel=1e-8
    )
    code, out, _ = run(["score", model, csv_file, "-q"], capsys)
    assert code == 0
    assert f"posterior predictive log-likelihood {expected.sum():.6f}" in out
    assert "BIC" not in out.replace("no BIC", "")
    per_row = tmp_path / "logp.csv"
    code, _, err = run(["score", model, csv_file, "--per-row", "-o", per_row], capsys)
    assert code == 0, err
    lines = per_row.read_text().splitlines()
    assert lines[0] == "log_density"
    np.testing.assert_allclose(np.array(lines[1:], dtype=float), expected, rtol=1e-8)


def test_fit_bayesian_text_and_dirichlet_distribution(csv_file, capsys):
    X = three_blobs()
    code, out, err = run(
        [
            "fit",
            csv_file,
            "--bayesian",
            *FIT,
            "-t",
            "diag",
            "--weight-prior",
            "dirichlet_distribution",
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    sk = SkBGM(
        **KW,
        covariance_type="diag",
        weight_concentration_prior_type="dirichlet_distribution",
    ).fit(X)
    n_eff = int(np.sum(sk.weights_ > 1e-3))
    assert "dirichlet_distribution prior" in out
    assert f"{n_eff} effective components" in out
    assert "posterior predictive log-likelihood" in out
    assert "BIC" not in out


def test_fit_bayesian_streamed(tmp_path, capsys):
    X = three_blobs()
    path = tmp_path / "data.npy"
    np.save(path, X)
    code, out, err = run(
        ["fit", path, "--bayesian", *FIT, "--chunk-size", 40, "--json", "-q"], capsys
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_samples"] == 150
    # the streamed start differs; the three clusters are found all the same
    assert summary["n_effective_components"] == 3
    assert np.isfinite(summary["elbo"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--weight-prior", "dirichlet_distribution"], "need --bayesian"),
        (["--weight-concentration", "0.1"], "need --bayesian"),
        (["--bayesian", "-t", "VEV"], "covariance_type"),
        (["--bayesian", "--nan-policy", "marginalize"], "complete rows"),
        (["--bayesian", "--weight-concentration", "0"], "must be above 0"),
    ],
)
def test_bayesian_usage_errors(csv_file, capsys, extra, message):
    code, out, err = run(["fit", csv_file, "-k", 2, *extra], capsys)
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    assert out == ""


def test_report_bayesian(tmp_path, csv_file, capsys):
    X = three_blobs()
    page_path = tmp_path / "r.html"
    code, _, err = run(
        ["report", csv_file, "--bayesian", *FIT, "-o", page_path, "-q"], capsys
    )
    assert code == 0, err
    page = page_path.read_text()
    sk = SkBGM(**KW).fit(X)
    ours = BayesianGaussianMixture(**KW).fit(X)
    n_eff = int(np.sum(sk.weights_ > 1e-3))
    assert f'<b class="effective">{n_eff}</b> effective' in page
    assert "variational iterations" in page
    elbo = page.split('<span class="elbo">')[1].split("<")[0]
    assert float(elbo) == pytest.approx(ours.elbo_, rel=1e-9)
    history = page.split('<table class="history">')[1].split("</table>")[0]
    last = history.rsplit("<tr>", 1)[1]
    assert float(last.split("<td>")[2].split("<")[0]) == pytest.approx(
        float(sk.lower_bounds_[-1]), rel=1e-9
    )
    assert "Negative lower bound per variational iteration" in page
    assert "BIC" not in page.split("Chosen model")[1].split("</p>")[0]
    assert "image/gif" not in page  # no EM animation for a variational fit


# ------------------------------------------------------------------ plots
@pytest.fixture(scope="module")
def sparse_fit():
    X = three_blobs()
    m = BayesianGaussianMixture(**KW).fit(X)
    assert 0 < m.n_effective_components_ < m.n_components
    return X, m


def test_plot_mixture_shows_the_effective_components(sparse_fit):
    X, m = sparse_fit
    ax = plot_mixture(m, X, ax=Figure().subplots())
    shown = np.flatnonzero(m.weights_ > 1e-3)
    patches = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(patches) == 3 * shown.size
    # each kept ellipse is the n-sigma contour of its component
    for i, patch in enumerate(patches):
        j, n_std = shown[i // 3], i % 3 + 1
        t = np.linspace(0, 2 * np.pi, 30)
        edge = patch.get_patch_transform().transform(np.c_[np.cos(t), np.sin(t)])
        diff = edge - m.means_[j]
        maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(m.covariances_[j]), diff)
        np.testing.assert_allclose(maha, n_std**2, rtol=1e-6)
    means = [c for c in ax.collections if c.get_label() == "means"][0]
    np.testing.assert_allclose(means.get_offsets(), m.means_[shown])
    assert sum(isinstance(c, ContourSet) for c in ax.collections) == 1
    assert ax.get_title() == (
        f"Bayesian Gaussian mixture ({shown.size} effective of 6 components)"
    )


def test_plot_pairs_draws_the_effective_components():
    rng = np.random.RandomState(1)
    X3 = np.vstack([rng.randn(80, 3) + c for c in (0.0, 6.0)])
    m = BayesianGaussianMixture(**KW).fit(X3)
    axes = plot_pairs(m, X3, n_std=(1,))
    n_ellipses = sum(isinstance(p, Ellipse) for p in axes[1, 0].patches)
    assert n_ellipses == m.n_effective_components_ < 6


def test_plot_pairs_diagonal_draws_the_effective_components():
    """Each diagonal panel: one dashed line per effective component, the
    weighted normal marginal of that component (scipy.stats), and the
    mixture's marginal density over every component as the solid line."""
    rng = np.random.RandomState(1)
    X3 = np.vstack([rng.randn(80, 3) + c for c in (0.0, 6.0)])
    m = BayesianGaussianMixture(**KW).fit(X3)
    shown = np.flatnonzero(m.weights_ > 1e-3)
    assert 0 < shown.size == m.n_effective_components_ < 6
    axes = plot_pairs(m, X3, n_std=(1,))
    for i in range(3):
        *dashed, total = axes[i, i].lines
        assert len(dashed) == shown.size
        t = total.get_xdata()
        sd = np.sqrt(m.covariances_[:, i, i])
        for line, j in zip(dashed, shown):
            assert line.get_linestyle() == "--"
            expected = m.weights_[j] * ss.norm.pdf(t, m.means_[j, i], sd[j])
            np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-10)
        density = sum(
            w * ss.norm.pdf(t, mu, s)
            for w, mu, s in zip(m.weights_, m.means_[:, i], sd)
        )
        np.testing.assert_allclose(total.get_ydata(), density, rtol=1e-10)
    # a GaussianMixture still draws all of its components
    gm = gmmkit.GaussianMixture(3, random_state=0).fit(X3)
    assert len(plot_pairs(gm, X3, n_std=(1,))[0, 0].lines) == 3 + 1


def test_plot_1d_of_a_bayesian_mixture():
    rng = np.random.RandomState(0)
    x = np.r_[rng.randn(150), rng.randn(100) * 0.5 + 5.0]
    m = BayesianGaussianMixture(**KW).fit(x[:, None])
    ax = plot_1d(m, x, ax=Figure().subplots())
    assert len(ax.lines) == m.n_effective_components_ + 1
    total = ax.lines[-1]
    t = total.get_xdata()
    sd = np.sqrt(m.covariances_[:, 0, 0])
    expected = sum(
        w * ss.norm.pdf(t, mu, s) for w, mu, s in zip(m.weights_, m.means_[:, 0], sd)
    )
    np.testing.assert_allclose(total.get_ydata(), expected, rtol=1e-10)
