import os

# scikit-learn's estimator checks run their array-API check (with the NumPy
# namespace, the only one gmmkit supports) only when SciPy's array-API mode is
# on; it must be set before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
