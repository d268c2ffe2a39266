"""gmmkit's demo against the seed notebook, re-implemented here as an oracle."""

import contextlib
import io

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("PIL")

from PIL import Image  # noqa: E402

from gmmkit.demo import DemoResult, format_summary, run_demo  # noqa: E402

#: Every test here reads one demo run (seconds); the fast subset skips them.
pytestmark = pytest.mark.slow

#: What the notebook prints for its starting means.
NOTEBOOK_INITIAL_MEANS = np.array(
    [[0.1252245, -0.42940554], [0.1222975, 0.54329803], [0.04886007, 0.04059169]]
)
NOTEBOOK_N_ITER = 89
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXPECTED_FILES = [
    "01_data_true_components.png",
    "02_em_iterations.png",
    "03_em.gif",
    "04_mixture_density.png",
    "05_nll.png",
    "06_bic_aic.png",
    "07_samples.png",
    "08_clusters.png",
    "09_uncertainty.png",
]


def notebook_em():
    """The notebook's code, line for line (global legacy seed, scipy densities,
    responsibilities as a (K, N) array), with the global random state restored
    afterwards.  Shares nothing with gmmkit."""
    saved = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(42)  # noqa: NPY002
        m = np.zeros((3, 2))
        m[0] = np.array([1.2, 0.4])
        m[1] = np.array([-4.4, 1.0])
        m[2] = np.array([4.1, -0.3])
        S = np.zeros((3, 2, 2))
        S[0] = np.array([[0.8, -0.4], [-0.4, 1.0]])
        S[1] = np.array([[1.2, -0.8], [-0.8, 1.0]])
        S[2] = np.array([[1.2, 0.6], [0.6, 3.0]])
        N_split = 200
        N = N_split * 3
        x, y = [], []
        for k in range(3):
            x_tmp, y_tmp = np.random.multivariate_normal(m[k], S[k], N_split).T  # noqa: NPY002
            x = np.hstack([x, x_tmp])
            y = np.hstack([y, y_tmp])
        data = np.vstack([x, y])

        K = 3
        means = np.zeros((K, 2))
        covs = np.zeros((K, 2, 2))
        for k in range(K):
            means[k] = np.random.normal(size=(2,))  # noqa: NPY002
            covs[k] = np.eye(2)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    initial_means = means.copy()
    weights = np.ones((K, 1)) / K

    NLL = []
    gmm_nll = 0
    for k in range(K):
        gmm_nll += weights[k] * multivariate_normal.pdf(
            mean=means[k, :], cov=covs[k, :, :], x=data.T
        )
    NLL += [-np.sum(np.log(gmm_nll))]

    r = np.zeros((K, N))
    n_iter = None
    for em_iter in range(100):
        for k in range(K):
            r[k] = weights[k] * multivariate_normal.pdf(
                mean=means[k, :], cov=covs[k, :, :], x=data.T
            )
        r = r / np.sum(r, axis=0)
        N_k = np.sum(r, axis=1)
        for k in range(K):
            means[k] = np.sum(r[k] * data, axis=1) / N_k[k]
            diff = data - means[k : k + 1].T
            _tmp = np.sqrt(r[k : k + 1]) * diff
            covs[k] = np.inner(_tmp, _tmp) / N_k[k]
        weights = N_k / N
        gmm_nll = 0
        for k in range(K):
            gmm_nll += weights[k] * multivariate_normal.pdf(
                mean=means[k, :].ravel(), cov=covs[k, :, :], x=data.T
            )
        NLL += [-np.sum(np.log(gmm_nll))]
        if abs(NLL[em_iter + 1] - NLL[em_iter]) < 1e-6:
            n_iter = em_iter + 1
            break
    return {
        "data": data.T,
        "initial_means": initial_means,
        "nll": np.array(NLL),
        "n_iter": n_iter,
        "weights": weights,
        "means": means,
        "covs": covs,
    }


@pytest.fixture(scope="module")
def oracle():
    return notebook_em()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import matplotlib.pyplot as plt

    figures_before = plt.get_fignums()
    out = tmp_path_factory.mktemp("demo") / "nested" / "figures"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = run_demo(out)
    assert printed.getvalue() == "", "library code must not print"
    assert plt.get_fignums() == figures_before, "the demo must not leave pyplot figures"
    return result


def test_result_type(demo):
    assert isinstance(demo, DemoResult)


def test_initial_means_are_the_notebooks(demo, oracle):
    assert_allclose(demo.initial_means, NOTEBOOK_INITIAL_MEANS, rtol=0, atol=1e-7)
    assert_allclose(demo.initial_means, oracle["initial_means"], rtol=0, atol=0)


def test_data_are_the_notebooks(demo, oracle):
    assert demo.data.shape == (600, 2)
    assert_allclose(demo.data, oracle["data"], rtol=0, atol=0)


def test_converges_after_89_iterations(demo, oracle):
    assert oracle["n_iter"] == NOTEBOOK_N_ITER
    assert demo.n_iter == NOTEBOOK_N_ITER
    assert demo.converged
    assert len(demo.nll) == NOTEBOOK_N_ITER + 1
    assert len(demo.snapshots) == NOTEBOOK_N_ITER + 1
    assert [s.iteration for s in demo.snapshots] == list(range(NOTEBOOK_N_ITER + 1))


def test_final_nll_matches_the_oracle(demo, oracle):
    assert demo.final_nll == pytest.approx(oracle["nll"][-1], rel=1e-9)
    assert demo.final_nll == pytest.approx(2295.0716683, abs=1e-6)


def test_every_nll_matches_the_oracle(demo, oracle):
    assert_allclose(demo.nll, oracle["nll"], rtol=1e-9)
    # EM never increases the negative log-likelihood.
    assert np.all(np.diff(demo.nll) <= 1e-9)


def test_fitted_parameters_match_the_oracle(demo, oracle):
    # Both start from the same means, so component k is component k.
    fitted = demo.snapshots[-1]
    assert_allclose(fitted.weights, oracle["weights"], rtol=1e-7)
    assert_allclose(fitted.means, oracle["means"], rtol=1e-7, atol=1e-9)
    assert_allclose(fitted.covariances, oracle["covs"], rtol=1e-7, atol=1e-9)


def test_snapshots_are_copies(demo):
    means = [s.means for s in demo.snapshots]
    assert not np.allclose(means[0], means[-1])
    assert all(a is not b for a, b in zip(means, means[1:], strict=False))
    assert_allclose(demo.snapshots[0].covariances, np.repeat(np.eye(2)[None], 3, 0))
    assert_allclose(demo.snapshots[0].weights, np.full(3, 1 / 3))


def test_fitted_components_are_matched_to_the_true_ones(demo):
    assert sorted(demo.order.tolist()) == [0, 1, 2]
    assert np.all(np.linalg.norm(demo.fitted_means - demo.true_means, axis=1) < 0.6)
    assert_allclose(demo.true_weights, [0.3, 0.2, 0.5])
    # 200 points were drawn from every component.
    assert_allclose(demo.fitted_weights, 1 / 3, atol=0.04)


def test_labels(demo):
    assert sum(demo.label_counts) == 600
    assert demo.label_agreement > 0.9
    assert 0 < demo.n_uncertain < 600


def test_model_selection_picks_three(demo):
    assert demo.ks == [1, 2, 3, 4, 5, 6]
    assert len(demo.bic) == len(demo.aic) == 6
    assert demo.chosen_k == 3
    assert demo.ks[int(np.argmin(demo.bic))] == demo.chosen_k


def test_every_file_is_written(demo):
    assert [p.name for p in demo.files] == EXPECTED_FILES
    assert sorted(p.name for p in demo.out_dir.iterdir()) == EXPECTED_FILES
    for path in demo.files:
        assert path.parent == demo.out_dir
        assert path.stat().st_size > 1000, path


@pytest.mark.parametrize("name", [n for n in EXPECTED_FILES if n.endswith(".png")])
def test_png_files_are_valid(demo, name):
    path = demo.out_dir / name
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert min(image.size) > 200


def test_gif_has_one_frame_per_iteration(demo):
    path = demo.out_dir / "03_em.gif"
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    with Image.open(path) as image:
        assert image.format == "GIF"
        assert image.n_frames == demo.n_iter + 1
        assert image.info.get("loop") == 0


def test_summary(demo):
    text = format_summary(demo)
    assert "89 iterations" in text
    assert f"{demo.final_nll:.6f}" in text
    assert "lower is better" in text
    assert "chosen K = 3" in text
    for name in EXPECTED_FILES:
        assert name in text
    # The recovered-vs-true table: every true and fitted mean is shown.
    for k in range(3):
        assert f"{demo.true_means[k, 0]:6.3f}" in text
        assert f"{demo.fitted_means[k, 0]:6.3f}" in text
