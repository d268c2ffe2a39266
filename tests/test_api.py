"""The curated public API."""

import gmmkit


def test_all_is_sorted_and_complete():
    assert list(gmmkit.__all__) == sorted(gmmkit.__all__)
    public = {n for n in dir(gmmkit) if not n.startswith("_")} - {"annotations"}
    modules = {
        "covariance", "mixture", "sources", "plotting", "demo", "cli", "report",
        "selection", "persistence", "console", "bayesian", "regression",
        "discriminant", "resampling",
    }  # fmt: skip
    assert public - modules <= set(gmmkit.__all__) | {"__version__"}
    for name in gmmkit.__all__:
        assert hasattr(gmmkit, name), name


def test_errors_are_also_builtin_errors():
    assert issubclass(gmmkit.DataError, ValueError)
    assert issubclass(gmmkit.DataTypeError, TypeError)
    assert issubclass(gmmkit.InvalidParameterError, ValueError)
    assert issubclass(gmmkit.FitError, ValueError)
    assert issubclass(gmmkit.MissingDependencyError, ImportError)
    for name in (
        "DataError",
        "FitError",
        "InvalidParameterError",
        "MissingDependencyError",
    ):
        assert issubclass(getattr(gmmkit, name), gmmkit.GMMError)


def test_version_matches_metadata():
    from importlib.metadata import version

    assert gmmkit.__version__ == version("gmmkit")
