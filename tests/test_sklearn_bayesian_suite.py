"""scikit-learn's own BayesianGaussianMixture tests, run against gmmkit.

The installed module ``sklearn.mixture.tests.test_bayesian_mixture`` is
imported (not copied) and its ``BayesianGaussianMixture`` is replaced by
gmmkit's in that module's namespace for each test, so every public-API test
of scikit-learn's suite checks gmmkit as a drop-in.  Tests that call
scikit-learn's private methods or test its private functions are listed with
what they need, and skipped.
"""

from __future__ import annotations

import inspect
import os

import pytest

import gmmkit

suite = pytest.importorskip("sklearn.mixture.tests.test_bayesian_mixture")

#: scikit-learn tests that need its private API: name -> what they use.
PRIVATE = {
    "test_compare_covar_type": (
        "BayesianGaussianMixture._check_parameters() and ._initialize_parameters()"
    ),
}

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


def test_private_tests_do_need_private_api():
    """The skipped test really calls what gmmkit does not have."""
    source = inspect.getsource(suite.test_compare_covar_type)
    assert "_initialize_parameters" in source
    assert not hasattr(gmmkit.BayesianGaussianMixture, "_initialize_parameters")
