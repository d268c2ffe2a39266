"""Bad input: every mistake gets a gmmkit error that says where and what.

Each case asserts the exact gmmkit exception class, a regex on the message
that checks it names the parameter / row / column and the value received, and
that the error was raised by gmmkit itself (not deep inside numpy or sklearn).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import gmmkit
from gmmkit import (
    DataError,
    DataTypeError,
    FitError,
    GaussianMixture,
    GMMError,
    InvalidParameterError,
)

GMMKIT_DIR = Path(gmmkit.__file__).resolve().parent

RNG = np.random.RandomState(0)
X = np.vstack([RNG.randn(10, 2), RNG.randn(10, 2) + [5.0, 5.0]])  # (20, 2)
N_SAMPLES, N_FEATURES = X.shape


def with_cell(value, row, col, base=X, dtype=np.float64):
    out = np.array(base, dtype=dtype)
    out[row, col] = value
    return out


def as_lists(value, row, col):
    rows = X[:4].tolist()
    rows[row][col] = value
    return rows


def assert_raised_by_gmmkit(excinfo, error):
    """Exact class, a GMMError and a ValueError/TypeError, raised in gmmkit."""
    assert type(excinfo.value) is error, (
        f"expected {error.__name__}, got {type(excinfo.value).__name__}: "
        f"{excinfo.value}"
    )
    assert isinstance(excinfo.value, GMMError)
    assert isinstance(excinfo.value, (ValueError, TypeError))
    raised_in = Path(excinfo.traceback[-1].path).resolve()
    assert GMMKIT_DIR in raised_in.parents, f"raised in {raised_in}"
    # ``raise ... from None``: no chained numpy/sklearn traceback is shown
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__ or excinfo.value.__context__ is None
    # the message never dumps a whole array
    assert len(str(excinfo.value)) < 600


@pytest.fixture(scope="module")
def fitted():
    return GaussianMixture(n_components=2, random_state=0).fit(X)


# --------------------------------------------------------------------- X in fit
complex_X = X.astype(np.complex128)
complex_X[2, 1] = 1.5 + 2j

BAD_X = [
    pytest.param(
        with_cell(np.nan, 3, 1),
        DataError,
        r"X contains NaN at row 3, column 1",
        id="nan-row3-col1",
    ),
    pytest.param(
        with_cell(np.inf, 5, 0),
        DataError,
        r"X contains inf at row 5, column 0",
        id="inf-row5-col0",
    ),
    pytest.param(
        with_cell(-np.inf, 0, 1),
        DataError,
        r"X contains -inf at row 0, column 1",
        id="neginf-row0-col1",
    ),
    pytest.param(
        with_cell(np.nan, 7, 0, base=with_cell(np.nan, 9, 1)),
        DataError,
        r"NaN at row 7, column 0 \(2 non-finite values in total",
        id="two-nans-first-located",
    ),
    pytest.param(
        with_cell(np.nan, 4, 0, dtype=np.float32),
        DataError,
        r"X contains NaN at row 4, column 0",
        id="nan-float32",
    ),
    pytest.param(
        pd.DataFrame(with_cell(np.nan, 6, 1), columns=["a", "b"]),
        DataError,
        r"X contains NaN at row 6, column 1",
        id="nan-in-dataframe",
    ),
    pytest.param(
        as_lists(None, 2, 1),
        DataError,
        r"X contains NaN at row 2, column 1",
        id="none-cell-in-lists",
    ),
    pytest.param(
        with_cell(1e200, 4, 1),
        DataError,
        r"X holds 1e\+200 at row 4, column 1, too large in magnitude.*Rescale",
        id="value-too-large",
    ),
    pytest.param(
        as_lists(10**400, 0, 1),
        DataError,
        r"too large for float64 \(1000.*\) at row 0, column 1",
        id="int-too-large-for-float",
    ),
    pytest.param(
        X[:, 0],
        DataError,
        r"X must be a 2-D .*got a 1-D array of shape \(20,\).*reshape\(-1, 1\)",
        id="1d-array",
    ),
    pytest.param(
        X[:, 0].tolist(),
        DataError,
        r"got a 1-D array of shape \(20,\)",
        id="1d-list",
    ),
    pytest.param(
        pd.Series(X[:, 0], name="a"),
        DataError,
        r"got a pandas Series of shape \(20,\).*df\[\[column\]\]",
        id="pandas-series",
    ),
    pytest.param(
        3.0,
        DataError,
        r"got a scalar of type float \(3\.0\)",
        id="scalar",
    ),
    pytest.param(
        X.reshape(2, 10, 2),
        DataError,
        r"got a 3-D array of shape \(2, 10, 2\).*\(n_samples, n_features\)",
        id="3d-array",
    ),
    pytest.param(
        complex_X,
        DataError,
        r"Complex data not supported: X has dtype complex128, e\.g\. "
        r"\(1\.5\+2j\) at row 2, column 1.*X\.real",
        id="complex",
    ),
    pytest.param(
        sp.csr_matrix(X),
        DataTypeError,
        r"sparse csr_matrix of shape \(20, 2\).*X\.toarray\(\)",
        id="sparse-csr-matrix",
    ),
    pytest.param(
        sp.csc_array(X),
        DataTypeError,
        r"sparse csc_array of shape \(20, 2\).*X\.toarray\(\)",
        id="sparse-csc-array",
    ),
    pytest.param(
        np.empty((0, 2)),
        DataError,
        r"0 sample\(s\) \(shape=\(0, 2\)\).*X has no rows",
        id="zero-rows",
    ),
    pytest.param(
        np.empty((20, 0)),
        DataError,
        r"0 feature\(s\) \(shape=\(20, 0\)\).*X has no columns",
        id="zero-columns",
    ),
    pytest.param(
        [],
        DataError,
        r"got a 1-D array of shape \(0,\)",
        id="empty-list",
    ),
    pytest.param(
        None,
        DataError,
        r"X must be a 2-D array-like .*; got None",
        id="none",
    ),
    pytest.param(
        pd.DataFrame({"size": X[:, 0], "city": ["Oslo", "Rome"] * 10}),
        DataTypeError,
        r"column\(s\) 'city' \(dtype [^)]+\) of X are not numeric",
        id="dataframe-text-column",
    ),
    pytest.param(
        pd.DataFrame({"size": X[:, 0], "kind": pd.Categorical(["a", "b"] * 10)}),
        DataTypeError,
        r"column\(s\) 'kind' \(dtype category\) of X are not numeric",
        id="dataframe-category-column",
    ),
    pytest.param(
        as_lists("abc", 1, 0),
        DataTypeError,
        r"non-numeric value 'abc' at row 1, column 0",
        id="lists-with-string-cell",
    ),
    pytest.param(
        np.array(as_lists("n/a", 3, 1), dtype=object),
        DataTypeError,
        r"non-numeric value 'n/a' at row 3, column 1",
        id="object-array-with-string-cell",
    ),
    pytest.param(
        np.array(as_lists({"foo": "bar"}, 0, 1), dtype=object),
        DataTypeError,
        r"non-numeric value \{'foo': 'bar'\} at row 0, column 1",
        id="object-array-with-dict-cell",
    ),
    pytest.param(
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0, 7.0]],
        DataError,
        r"ragged: row 0 has 2 value\(s\) but row 2 has 3 value\(s\)",
        id="ragged-lists",
    ),
    pytest.param(
        "abc",
        DataTypeError,
        r"got a str \('abc'\)",
        id="string",
    ),
    pytest.param(
        np.array([["2020-01-01", "2020-01-02"]] * 5, dtype="datetime64[D]"),
        DataTypeError,
        r"X has dtype datetime64\[D\] \(dates/times\)",
        id="datetime-array",
    ),
]


@pytest.mark.parametrize("method", ["fit", "fit_predict"])
@pytest.mark.parametrize(("bad", "error", "match"), BAD_X)
def test_fit_rejects_bad_X(method, bad, error, match):
    gm = GaussianMixture(n_components=1)
    with pytest.raises(error, match=match) as excinfo:
        getattr(gm, method)(bad)
    assert_raised_by_gmmkit(excinfo, error)
    assert not hasattr(gm, "means_")


def test_dict_cell_error_is_also_a_type_error_with_numpy_text():
    # scikit-learn's check_dtype_object relies on this wording
    bad = np.array(as_lists({"foo": "bar"}, 0, 1), dtype=object)
    with pytest.raises(TypeError, match="argument must be .* string.* number"):
        GaussianMixture().fit(bad)


def test_boolean_dataframe_column_is_numeric():
    df = pd.DataFrame({"a": X[:, 0], "flag": X[:, 1] > 0})
    gm = GaussianMixture(random_state=0).fit(df)
    assert gm.means_.shape == (1, 2)


@pytest.mark.parametrize(
    ("n_components", "sample_weight", "match"),
    [
        pytest.param(
            21,
            None,
            r"n_components=21 needs at least as many samples .*; got 20",
            id="more-components-than-rows",
        ),
        pytest.param(
            3,
            np.r_[1.0, 1.0, np.zeros(18)],
            r"n_components=3 needs at least as many samples \(rows with positive "
            r"weight\); got 2",
            id="more-components-than-weighted-rows",
        ),
    ],
)
def test_fewer_samples_than_components(n_components, sample_weight, match):
    with pytest.raises(DataError, match=match) as excinfo:
        GaussianMixture(n_components, random_state=0).fit(
            X, sample_weight=sample_weight
        )
    assert_raised_by_gmmkit(excinfo, DataError)


# ------------------------------------------------------- X after fit (predict...)
PREDICT_METHODS = ["predict", "predict_proba", "score_samples", "score", "bic", "aic"]

BAD_X_AFTER_FIT = [
    pytest.param(
        np.ones((4, 3)),
        DataError,
        r"X has 3 features, but GaussianMixture is expecting 2 features.*same "
        r"columns",
        id="three-features",
    ),
    pytest.param(
        np.ones((4, 1)),
        DataError,
        r"X has 1 features, but GaussianMixture is expecting 2 features",
        id="one-feature",
    ),
    pytest.param(
        with_cell(np.nan, 3, 1),
        DataError,
        r"X contains NaN at row 3, column 1",
        id="nan-row3-col1",
    ),
    pytest.param(
        with_cell(-np.inf, 8, 0),
        DataError,
        r"X contains -inf at row 8, column 0",
        id="neginf-row8-col0",
    ),
    pytest.param(
        X[0],
        DataError,
        r"got a 1-D array of shape \(2,\).*reshape\(1, -1\)",
        id="1d-single-sample",
    ),
    pytest.param(
        np.empty((0, 2)),
        DataError,
        r"0 sample\(s\) \(shape=\(0, 2\)\)",
        id="zero-rows",
    ),
    pytest.param(
        as_lists("x", 2, 0),
        DataTypeError,
        r"non-numeric value 'x' at row 2, column 0",
        id="string-cell",
    ),
    pytest.param(
        sp.csr_matrix(X),
        DataTypeError,
        r"sparse csr_matrix",
        id="sparse",
    ),
    pytest.param(
        complex_X,
        DataError,
        r"Complex data not supported.*row 2, column 1",
        id="complex",
    ),
    pytest.param(
        3.0,
        DataError,
        r"got a scalar of type float \(3\.0\)",
        id="scalar",
    ),
    pytest.param(
        with_cell(-1e300, 1, 1),
        DataError,
        r"X holds -1e\+300 at row 1, column 1",
        id="value-too-large",
    ),
]


@pytest.mark.parametrize("method", PREDICT_METHODS)
@pytest.mark.parametrize(("bad", "error", "match"), BAD_X_AFTER_FIT)
def test_prediction_methods_reject_bad_X(fitted, method, bad, error, match):
    with pytest.raises(error, match=match) as excinfo:
        getattr(fitted, method)(bad)
    assert_raised_by_gmmkit(excinfo, error)


@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_prediction_with_reordered_dataframe_columns(method):
    gm = GaussianMixture(random_state=0).fit(pd.DataFrame(X, columns=["a", "b"]))
    with pytest.raises(DataError, match=r"[Ff]eature names.*same columns") as excinfo:
        getattr(gm, method)(pd.DataFrame(X, columns=["b", "a"]))
    assert_raised_by_gmmkit(excinfo, DataError)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        pytest.param("predict", (X,), id="predict"),
        pytest.param("predict_proba", (X,), id="predict_proba"),
        pytest.param("score_samples", (X,), id="score_samples"),
        pytest.param("score", (X,), id="score"),
        pytest.param("bic", (X,), id="bic"),
        pytest.param("aic", (X,), id="aic"),
        pytest.param("sample", (5,), id="sample"),
        pytest.param("sample", (0,), id="sample-0"),
        pytest.param("n_parameters", (), id="n_parameters"),
    ],
)
def test_methods_before_fit_raise_not_fitted(method, args):
    with pytest.raises(NotFittedError, match=r"GaussianMixture instance is not fitted"):
        getattr(GaussianMixture(), method)(*args)


@pytest.mark.parametrize(
    ("n_samples", "received"),
    [
        pytest.param(0, "0", id="zero"),
        pytest.param(-3, "-3", id="negative"),
        pytest.param(2.5, r"2\.5", id="float"),
        pytest.param(2.0, r"2\.0", id="integral-float"),
        pytest.param(True, "True", id="bool"),
        pytest.param("4", "'4'", id="string"),
        pytest.param(None, "None", id="none"),
    ],
)
def test_sample_rejects_bad_n_samples(fitted, n_samples, received):
    with pytest.raises(InvalidParameterError) as excinfo:
        fitted.sample(n_samples)
    assert_raised_by_gmmkit(excinfo, InvalidParameterError)
    excinfo.match(
        rf"The 'n_samples' parameter of sample must be an int >= 1\. "
        rf"Got {received} instead"
    )


# --------------------------------------------------------------- sample_weight
BAD_WEIGHTS = [
    pytest.param(
        with_cell(-2.0, 4, 0, base=np.ones((20, 1)))[:, 0],
        r"sample_weight must be non-negative; got -2\.0 at index 4 "
        r"\(1 negative in total\)",
        id="negative",
    ),
    pytest.param(
        with_cell(np.nan, 7, 0, base=np.ones((20, 1)))[:, 0],
        r"sample_weight must be finite; got nan at index 7",
        id="nan",
    ),
    pytest.param(
        with_cell(np.inf, 0, 0, base=np.ones((20, 1)))[:, 0],
        r"sample_weight must be finite; got inf at index 0",
        id="inf",
    ),
    pytest.param(
        np.zeros(20),
        r"at least one positive weight; all 20 weights are zero",
        id="all-zero",
    ),
    pytest.param(
        0.0,
        r"all 20 weights are zero",
        id="scalar-zero",
    ),
    pytest.param(
        -1.0,
        r"non-negative; got -1\.0 at index 0",
        id="scalar-negative",
    ),
    pytest.param(
        np.ones(5),
        r"shape \(20,\), one weight per row of X; got shape \(5,\)",
        id="wrong-length",
    ),
    pytest.param(
        np.ones((20, 2)),
        r"shape \(20,\).*got shape \(20, 2\)",
        id="2d",
    ),
    pytest.param(
        ["1"] * 3 + ["heavy"] + ["1"] * 16,
        r"sample_weight must hold non-negative numbers.* got 'heavy' at index 3",
        id="text",
    ),
    pytest.param(
        True,
        r"array of shape \(20,\) or one number; got the bool True",
        id="bool",
    ),
    pytest.param(
        np.full(20, 1e308),
        r"sample_weight sums to inf .*Rescale",
        id="sum-overflows",
    ),
]


@pytest.mark.parametrize(("sample_weight", "match"), BAD_WEIGHTS)
def test_fit_rejects_bad_sample_weight(sample_weight, match):
    with pytest.raises(DataError, match=match) as excinfo:
        GaussianMixture(random_state=0).fit(X, sample_weight=sample_weight)
    assert_raised_by_gmmkit(excinfo, DataError)


@pytest.mark.parametrize(("sample_weight", "match"), BAD_WEIGHTS)
def test_score_rejects_bad_sample_weight(fitted, sample_weight, match):
    with pytest.raises(DataError, match=match) as excinfo:
        fitted.score(X, sample_weight=sample_weight)
    assert_raised_by_gmmkit(excinfo, DataError)


# ------------------------------------------------------- constructor parameters
BAD_PARAMS = [
    pytest.param({"n_components": 0}, "n_components", r"an int >= 1", "0", id="k-0"),
    pytest.param(
        {"n_components": -2}, "n_components", r"an int >= 1", "-2", id="k-negative"
    ),
    pytest.param(
        {"n_components": True}, "n_components", r"an int >= 1", "True", id="k-bool"
    ),
    pytest.param(
        {"n_components": False},
        "n_components",
        r"an int >= 1",
        "False",
        id="k-bool-false",
    ),
    pytest.param(
        {"n_components": 2.0},
        "n_components",
        r"an int >= 1",
        r"2\.0",
        id="k-integral-float",
    ),
    pytest.param(
        {"n_components": 2.5}, "n_components", r"an int >= 1", r"2\.5", id="k-float"
    ),
    pytest.param(
        {"n_components": "2"}, "n_components", r"an int >= 1", "'2'", id="k-string"
    ),
    pytest.param(
        {"n_components": None}, "n_components", r"an int >= 1", "None", id="k-none"
    ),
    pytest.param({"tol": -1e-3}, "tol", r"a finite float >= 0", "-0.001", id="tol<0"),
    pytest.param({"tol": np.nan}, "tol", r"a finite float >= 0", "nan", id="tol-nan"),
    pytest.param(
        {"tol": "small"}, "tol", r"a finite float >= 0", "'small'", id="tol-string"
    ),
    pytest.param(
        {"reg_covar": -1e-6},
        "reg_covar",
        r"a finite float >= 0",
        "-1e-06",
        id="reg_covar<0",
    ),
    pytest.param(
        {"reg_covar": np.inf},
        "reg_covar",
        r"a finite float >= 0",
        "inf",
        id="reg_covar-inf",
    ),
    pytest.param(
        {"covariance_type": "fulll"},
        "covariance_type",
        r"one of 'spherical', 'diag', 'tied', 'full'",
        "'fulll'",
        id="covariance_type-typo",
    ),
    pytest.param(
        {"covariance_type": "FULL"},
        "covariance_type",
        r"one of",
        "'FULL'",
        id="covariance_type-case",
    ),
    pytest.param(
        {"covariance_type": None},
        "covariance_type",
        r"one of",
        "None",
        id="covariance_type-none",
    ),
    pytest.param(
        {"init_params": "kmeans+"},
        "init_params",
        r"one of 'kmeans', 'k-means\+\+', 'random', 'random_from_data'",
        r"'kmeans\+'",
        id="init_params-unknown",
    ),
    pytest.param({"max_iter": -1}, "max_iter", r"an int >= 0", "-1", id="max_iter<0"),
    pytest.param({"n_init": 0}, "n_init", r"an int >= 1", "0", id="n_init-0"),
    pytest.param(
        {"warm_start": "yes"}, "warm_start", r"a bool", "'yes'", id="warm_start-str"
    ),
    pytest.param(
        {"random_state": "seed"},
        "random_state",
        r"None, an int or a numpy RandomState",
        "'seed'",
        id="random_state-str",
    ),
    pytest.param(
        {"chunk_size": 0}, "chunk_size", r"an int >= 1 or None", "0", id="chunk_size-0"
    ),
    pytest.param({"verbose": -1}, "verbose", r"an int >= 0", "-1", id="verbose<0"),
]


@pytest.mark.parametrize(("params", "name", "expected", "received"), BAD_PARAMS)
def test_fit_rejects_bad_constructor_values(params, name, expected, received):
    gm = GaussianMixture(**params)  # construction never validates (sklearn rule)
    with pytest.raises(InvalidParameterError) as excinfo:
        gm.fit(X)
    assert_raised_by_gmmkit(excinfo, InvalidParameterError)
    excinfo.match(
        rf"The '{name}' parameter of GaussianMixture must be {expected}.*"
        rf"Got {received} instead"
    )


# ------------------------------------------------------------------ *_init
full_prec = np.stack([np.eye(2), np.eye(2)])
not_pd = full_prec.copy()
not_pd[1] = [[1.0, 2.0], [2.0, 1.0]]
not_symmetric = full_prec.copy()
not_symmetric[0] = [[1.0, 0.5], [0.0, 1.0]]
nan_prec = full_prec.copy()
nan_prec[1, 0, 1] = np.nan
resp_ok = np.tile([0.5, 0.5], (20, 1))

BAD_INITS = [
    # weights_init
    pytest.param(
        {"weights_init": [0.2, 0.3, 0.5]},
        r"weights_init must have shape \(2,\) \(one weight per component\); "
        r"got shape \(3,\)",
        id="weights-wrong-length",
    ),
    pytest.param(
        {"weights_init": [[0.5, 0.5]]},
        r"weights_init must have shape \(2,\).*got shape \(1, 2\)",
        id="weights-2d",
    ),
    pytest.param(
        {"weights_init": [0.5, 0.6]},
        r"weights_init must sum to 1; got sum 1\.1\. Divide by its sum",
        id="weights-unnormalised",
    ),
    pytest.param(
        {"weights_init": [1.5, -0.5]},
        r"weights_init must lie in \[0, 1\]; got min -0\.5, max 1\.5",
        id="weights-negative",
    ),
    pytest.param(
        {"weights_init": [np.nan, 1.0]},
        r"weights_init must hold finite numbers; got nan at index 0",
        id="weights-nan",
    ),
    pytest.param(
        {"weights_init": ["a", "b"]},
        r"weights_init must be a numeric array of shape \(2,\).*could not be "
        r"converted \(.*'a'",
        id="weights-text",
    ),
    # means_init
    pytest.param(
        {"means_init": np.zeros((3, 2))},
        r"means_init must have shape \(2, 2\) \(n_components x n_features\); "
        r"got shape \(3, 2\)",
        id="means-wrong-k",
    ),
    pytest.param(
        {"means_init": np.zeros((2, 3))},
        r"means_init must have shape \(2, 2\).*got shape \(2, 3\)",
        id="means-wrong-d",
    ),
    pytest.param(
        {"means_init": [[0.0, np.inf], [1.0, 1.0]]},
        r"means_init must hold finite numbers; got inf at index \(0, 1\)",
        id="means-inf",
    ),
    pytest.param(
        {"means_init": [[0.0, 0.0], [1.0, 1e200]]},
        r"means_init holds 1e\+200 at index \(1, 1\), too large",
        id="means-too-large",
    ),
    # precisions_init
    pytest.param(
        {"precisions_init": np.stack([np.eye(3)] * 2)},
        r"precisions_init must have shape \(2, 2, 2\) for covariance_type='full'.*"
        r"got shape \(2, 3, 3\)",
        id="precisions-full-wrong-shape",
    ),
    pytest.param(
        {"precisions_init": not_pd},
        r"precisions_init must hold symmetric positive-definite .*component 1 is not",
        id="precisions-full-not-pd",
    ),
    pytest.param(
        {"precisions_init": not_symmetric},
        r"precisions_init must hold symmetric positive-definite .*component 0 is not",
        id="precisions-full-not-symmetric",
    ),
    pytest.param(
        {"precisions_init": nan_prec},
        r"precisions_init must hold finite numbers; got nan at index \(1, 0, 1\)",
        id="precisions-full-nan",
    ),
    pytest.param(
        {"covariance_type": "diag", "precisions_init": [[1.0, 1.0], [1.0, -1.0]]},
        r"precisions_init must hold .*positive .*component 1 is not",
        id="precisions-diag-negative",
    ),
    pytest.param(
        {"covariance_type": "diag", "precisions_init": np.ones((2, 3))},
        r"precisions_init must have shape \(2, 2\) for covariance_type='diag'.*"
        r"got shape \(2, 3\)",
        id="precisions-diag-wrong-shape",
    ),
    pytest.param(
        {"covariance_type": "spherical", "precisions_init": [1.0, 0.0]},
        r"precisions_init must hold .*component 1 is not",
        id="precisions-spherical-zero",
    ),
    pytest.param(
        {"covariance_type": "spherical", "precisions_init": np.ones(3)},
        r"precisions_init must have shape \(2,\) for covariance_type='spherical'.*"
        r"got shape \(3,\)",
        id="precisions-spherical-wrong-shape",
    ),
    pytest.param(
        {"covariance_type": "tied", "precisions_init": full_prec},
        r"precisions_init must have shape \(2, 2\) for covariance_type='tied'.*"
        r"got shape \(2, 2, 2\)",
        id="precisions-tied-given-full",
    ),
    # resp_init
    pytest.param(
        {"resp_init": resp_ok[:19]},
        r"resp_init must have shape \(20, 2\) \(n_samples x n_components\); "
        r"got shape \(19, 2\)",
        id="resp-wrong-rows",
    ),
    pytest.param(
        {"resp_init": np.ones((20, 2))},
        r"Each row of resp_init must sum to 1 .*row 0 sums to 2 \(20 rows off\)"
        r".*Divide each row by its sum",
        id="resp-unnormalised",
    ),
    pytest.param(
        {"resp_init": np.tile([1.5, -0.5], (20, 1))},
        r"resp_init must be non-negative; got -0\.5 at row 0, column 1",
        id="resp-negative",
    ),
    pytest.param(
        {"resp_init": np.tile([1.0, 0.0], (20, 1))},
        r"resp_init gives component\(s\) 1 no responsibility",
        id="resp-empty-component",
    ),
    pytest.param(
        {"resp_init": with_cell(np.nan, 5, 0, base=resp_ok)},
        r"resp_init must hold finite numbers; got nan at index \(5, 0\)",
        id="resp-nan",
    ),
]


@pytest.mark.parametrize(("params", "match"), BAD_INITS)
def test_fit_rejects_bad_inits(params, match):
    with pytest.raises(InvalidParameterError, match=match) as excinfo:
        GaussianMixture(n_components=2, random_state=0, **params).fit(X)
    assert_raised_by_gmmkit(excinfo, InvalidParameterError)


# ------------------------------------------------------------------ warm_start
@pytest.mark.parametrize(
    ("change", "new_X", "error", "match"),
    [
        pytest.param(
            {"n_components": 3},
            X,
            InvalidParameterError,
            r"fitted with n_components=2, covariance_type='full'; now "
            r"n_components=3, covariance_type='full'\).*warm_start=False",
            id="n_components-changed",
        ),
        pytest.param(
            {"covariance_type": "diag"},
            X,
            InvalidParameterError,
            r"fitted with n_components=2, covariance_type='full'; now "
            r"n_components=2, covariance_type='diag'\)",
            id="covariance_type-changed",
        ),
        pytest.param(
            {},
            np.hstack([X, X[:, :1]]),
            DataError,
            r"warm_start continues a model with 2 features, but X has 3.*"
            r"warm_start=False",
            id="n_features-changed",
        ),
    ],
)
def test_warm_start_after_incompatible_change(change, new_X, error, match):
    gm = GaussianMixture(n_components=2, warm_start=True, random_state=0).fit(X)
    means = gm.means_.copy()
    gm.set_params(**change)
    with pytest.raises(error, match=match) as excinfo:
        gm.fit(new_X)
    assert_raised_by_gmmkit(excinfo, error)
    np.testing.assert_array_equal(gm.means_, means)  # the fitted model is intact


def test_all_errors_share_the_library_base_class():
    for error in (DataError, DataTypeError, InvalidParameterError, FitError):
        assert issubclass(error, GMMError)
        assert issubclass(error, ValueError)
    assert issubclass(DataTypeError, TypeError)
