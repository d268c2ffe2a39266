"""The compiled EM loop of small in-memory fits (``_engine.dense_em``)
against the covariance models' own M-steps run by ``_engine.drive``.

The oracle is the same fit with the compiled loop switched off: every
closed-form model, weighted rows, both stopping rules, a loop that spans
several batches, and fits that hand an iteration back to the models' code
(an empty component, a collapsing variance) must give the same iterations,
history and parameters.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import gmmkit
from gmmkit import _engine, _fit
from gmmkit.covariance import get_model

CLOSED = ["EII", "VII", "EEI", "VVI", "EVI", "EEE", "VVV", "EEV", "EVV"]
ITERATIVE = ["VEI", "VEV", "VEE", "EVE", "VVE"]
SKLEARN = ["spherical", "diag", "tied", "full"]


def _data(n=240, d=3, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0] * d, [4.0] + [1.0] * (d - 1), [-1.0] + [5.0] * (d - 1)])
    X = np.vstack(
        [c + rng.randn(n // 3, d) @ np.diag(rng.uniform(0.5, 2.0, d)) for c in centres]
    )
    return X * 3.0 + 100.0  # far from the origin, in other units


def _both(monkeypatch, make, X, **fit_kw):
    """(compiled, python) fits and how often the compiled loop was used."""
    used = []
    real = _engine.dense_em

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(_fit, "dense_em", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = make().fit(X, **fit_kw)
        monkeypatch.setattr(_fit, "dense_em", lambda *args, **kwargs: None)
        b = make().fit(X, **fit_kw)
    return a, b, used


def _same(a, b, rtol=1e-9):
    assert a.n_iter_ == b.n_iter_
    assert a.converged_ == b.converged_
    loglik_rtol = min(1e-12, rtol)
    assert_allclose(
        a.log_likelihood_history_, b.log_likelihood_history_, rtol=loglik_rtol
    )
    assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=loglik_rtol)
    assert_allclose(a.weights_, b.weights_, rtol=rtol)
    scale = np.abs(b.means_).max()
    assert_allclose(a.means_, b.means_, rtol=0, atol=rtol * scale)
    cov_scale = np.abs(b.covariances_).max()
    assert_allclose(a.covariances_, b.covariances_, rtol=0, atol=rtol * cov_scale)
    assert_allclose(a.precisions_cholesky_, b.precisions_cholesky_, rtol=1e-7)


@pytest.mark.parametrize("covariance_type", CLOSED + ITERATIVE + SKLEARN)
@pytest.mark.parametrize("convergence", ["sklearn", "mclust"])
def test_compiled_loop_equals_the_models_m_steps(
    monkeypatch, covariance_type, convergence
):
    X = _data()
    w = np.random.RandomState(1).randint(0, 3, X.shape[0]).astype(float)

    def make():
        return gmmkit.GaussianMixture(
            3,
            covariance_type=covariance_type,
            convergence=convergence,
            tol=1e-8,
            random_state=0,
            init_params="random_from_data",
        )

    # the iterative M-steps stop at a relative change of 1e-12 (INNER_TOL),
    # and their rounding differs between the compiled loop and the classes'
    # numpy code: differences of that order grow along flat directions of the
    # likelihood over the EM iterations (seen: 2e-9 for VVE)
    rtol = 1e-6 if covariance_type in ITERATIVE else 1e-9
    a, b, used = _both(monkeypatch, make, X)
    assert used == [True]
    _same(a, b, rtol)
    a, b, used = _both(monkeypatch, make, X, sample_weight=w)
    assert used == [True]
    _same(a, b, rtol)


def test_priors_hooks_squarem_and_large_or_float32_data_take_the_python_loop(
    monkeypatch,
):
    X = _data()
    for kw in (
        {"covariance_type": "full", "prior": "default"},
        {"covariance_type": "full", "accelerate": "squarem"},
        {"covariance_type": "full", "callback": lambda progress: None},
    ):
        _, _, used = _both(
            monkeypatch,
            lambda kw=kw: gmmkit.GaussianMixture(2, random_state=0, **kw),
            X,
        )
        assert used in ([], [False]), kw
    big = np.tile(X, (10, 1)) + np.random.RandomState(0).randn(2400, 3)
    _, _, used = _both(
        monkeypatch, lambda: gmmkit.GaussianMixture(2, random_state=0), big
    )
    assert used == [False]
    _, _, used = _both(
        monkeypatch,
        lambda: gmmkit.GaussianMixture(2, random_state=0),
        X.astype(np.float32),
    )
    assert used == [False]


@pytest.mark.parametrize("convergence", ["sklearn", "mclust"])
def test_a_loop_over_several_batches(monkeypatch, convergence):
    monkeypatch.setattr(_engine, "DENSE_BATCH", 5)
    X = _data()

    def make():
        return gmmkit.GaussianMixture(
            3, covariance_type="VVV", tol=1e-10, convergence=convergence,
            random_state=2, init_params="random",
        )  # fmt: skip

    a, b, used = _both(monkeypatch, make, X)
    assert a.n_iter_ > 12 and used == [True]
    _same(a, b)
    # out of iterations exactly at a batch boundary, and inside one
    for max_iter in (10, 12):

        def capped(max_iter=max_iter):
            return gmmkit.GaussianMixture(
                3, covariance_type="VVV", tol=0.0, max_iter=max_iter, random_state=2,
                init_params="random",
            )  # fmt: skip

        a, b, _ = _both(monkeypatch, capped, X)
        assert a.n_iter_ == max_iter and not a.converged_
        _same(a, b)


def test_an_empty_component_hands_the_iteration_back(monkeypatch):
    """A component started where no row is: its count is 0 in the first
    E-step, so the compiled loop hands back and the model keeps its mean
    and covariance (the models' rule); the fit then equals the Python one."""
    X = _data()
    means = np.array([X[:80].mean(0), X[80:].mean(0), X.mean(0) + 1e6])
    calls = []
    real = _engine.em_steps
    monkeypatch.setattr(
        _engine, "em_steps", lambda *a, **k: calls.append(1) or real(*a, **k)
    )

    def make():
        return gmmkit.GaussianMixture(
            3, covariance_type="diag", means_init=means, weights_init=[0.4, 0.4, 0.2],
            precisions_init=np.ones((3, 3)), max_iter=30, random_state=0,
        )  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().fit(X)
    assert len(calls) == 1  # the compiled loop handed back to em_steps
    a, b, used = _both(monkeypatch, make, X)
    assert used == [True]
    _same(a, b)


def test_a_collapsing_component_gives_the_models_error_or_fit(monkeypatch):
    """Spherical, reg_covar=0, a component on one repeated point: its variance
    collapses; the models' code decides (scikit-learn #18216's case)."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(60, 2), np.tile([[8.0, 8.0]], (5, 1))])
    for cov in ("spherical", "VII", "diag", "EII", "full"):

        def make(cov=cov):
            return gmmkit.GaussianMixture(
                2, covariance_type=cov, reg_covar=0.0, random_state=0, max_iter=50
            )

        outcomes = []
        for dense in (True, False):
            if not dense:
                monkeypatch.setattr(_fit, "dense_em", lambda *a, **k: None)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    gm = make().fit(X)
                outcomes.append((gm.n_iter_, gm.log_likelihood_history_))
            except gmmkit.FitError as exc:
                outcomes.append(str(exc))
            monkeypatch.undo()
        if isinstance(outcomes[0], str) or isinstance(outcomes[1], str):
            assert outcomes[0] == outcomes[1]
        else:
            assert outcomes[0][0] == outcomes[1][0]
            assert_allclose(outcomes[0][1], outcomes[1][1], rtol=1e-9)


def test_every_model_but_v_names_its_loop():
    for name in CLOSED + SKLEARN:
        assert get_model(name).closed_form is not None
    for name in ITERATIVE:
        assert get_model(name).closed_form is not None
    assert get_model("V").closed_form is None


_DETERMINISM = """
import hashlib, sys, warnings
import numpy as np
import gmmkit
warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X = np.vstack([rng.randn(60, 3), rng.randn(60, 3) * [2.0, 0.5, 1.0] + 4.0])
out = []
for m in ("EEV", "VEV", "VEE", "EVE", "VVE", "VVV", "EVI"):
    gm = gmmkit.GaussianMixture(2, covariance_type=m, random_state=0, tol=1e-8).fit(X)
    values = np.concatenate([gm.log_likelihood_history_, gm.covariances_.ravel()])
    out.append(m + ":" + hashlib.sha256(values.tobytes()).hexdigest())
print(" ".join(out))
"""


@pytest.mark.slow
def test_the_compiling_process_fits_as_the_cached_ones(tmp_path):
    """numba compiles the loop in the first process and later ones load it
    from the cache: both must give the same numbers to the last bit (a
    fast-math caller of separately compiled helpers once made them differ)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DETERMINISM],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and runs[0].count(":") == 7
