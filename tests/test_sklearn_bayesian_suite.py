"""scikit-learn's own BayesianGaussianMixture tests, run against gmmkit.

The installed module ``sklearn.mixture.tests.test_bayesian_mixture`` is
imported (not copied) and its ``BayesianGaussianMixture`` is replaced by
gmmkit's in that module's namespace for each test, so every public-API test
of scikit-learn's suite checks gmmkit as a drop-in, including the one that
calls the estimator's private hooks (gmmkit has them).  Tests of scikit-learn's
private helper functions run too, but check scikit-learn's code, not gmmkit's.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import gmmkit

suite = pytest.importorskip("sklearn.mixture.tests.test_bayesian_mixture")

#: scikit-learn tests that need its private API: name -> what they use.
#: gmmkit has the private hooks the suite calls on the estimator
#: (``_check_parameters``, ``_initialize_parameters``); none is left out.
PRIVATE: dict[str, str] = {}

#: Tests of scikit-learn's private helper functions, not of the estimator.
SKLEARN_INTERNALS = {"test_log_dirichlet_norm", "test_log_wishart_norm"}

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(autouse=True)
def _gmmkit_as_sklearn(monkeypatch):
    monkeypatch.setattr(
        suite, "BayesianGaussianMixture", gmmkit.BayesianGaussianMixture
    )


@pytest.fixture
def global_random_seed():
    return int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42").split("-")[0])


def _collect():
    for name, func in inspect.getmembers(suite, inspect.isfunction):
        if not name.startswith("test_") or func.__module__ != suite.__name__:
            continue
        if name in PRIVATE:
            func = pytest.mark.skip(reason=f"uses scikit-learn's {PRIVATE[name]}")(func)
        globals()[name] = func


_collect()


def test_the_suite_was_found():
    names = {n for n in dir(suite) if n.startswith("test_")}
    assert "test_bayesian_mixture_fit_predict" in names
    assert set(PRIVATE) <= names
    assert SKLEARN_INTERNALS <= names
    # every public-API test is collected here, none silently dropped
    public = names - set(PRIVATE) - SKLEARN_INTERNALS
    assert len(public) >= 10
    assert all(name in globals() for name in public)


def test_the_private_hooks_start_as_fit_with_max_iter_0():
    """``_initialize_parameters`` leaves the posterior of ``fit(max_iter=0)``
    (what scikit-learn's test_compare_covar_type compares across types)."""
    X = np.random.RandomState(0).randn(120, 3)
    a = gmmkit.BayesianGaussianMixture(4, random_state=3, max_iter=0).fit(X)
    b = gmmkit.BayesianGaussianMixture(4, max_iter=7)
    b._check_parameters(X)
    b._initialize_parameters(X, np.random.RandomState(3))
    assert b.max_iter == 7
    for name in ("weights_", "means_", "covariances_", "degrees_of_freedom_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
