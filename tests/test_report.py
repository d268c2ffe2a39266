"""The HTML report and the notebook display, checked in a real headless Chromium.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them with apt-get).  Without them it FAILS with a message saying how
to install them: it is never skipped silently.
"""

import html.parser
import re
import shutil
import tempfile

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gmmkit import GaussianMixture
from gmmkit._table import Table
from gmmkit.report import components_html, write_report

pytest.importorskip("matplotlib")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def two_clusters(seed=0):
    rng = np.random.RandomState(seed)
    A = rng.randn(120, 2) @ np.array([[1.0, 0.4], [0.0, 0.7]])
    B = rng.randn(80, 2) * 0.6 + [5.0, 3.0]
    return np.vstack([A, B])


class Cells(html.parser.HTMLParser):
    """Collect the text of every table cell, grouped by the table's class."""

    def __init__(self):
        super().__init__()
        self.tables = {}
        self._class = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._class = attrs.get("class", "")
            self.tables.setdefault(self._class, [])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._class is not None:
            self.tables[self._class].append(self._row)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


@pytest.fixture(scope="module")
def fixed_k_report(tmp_path_factory):
    X = two_clusters()
    path = tmp_path_factory.mktemp("report") / "report.html"
    table = Table(X, ["height", "width"], True, "two.csv", ["a notice"])
    write_report(
        table, path, n_components=2, fit_params={"random_state": 3, "n_init": 2}
    )
    return X, path


def test_report_tables_hold_the_numbers_of_an_independent_fit(fixed_k_report):
    X, path = fixed_k_report
    page = path.read_text()
    cells = Cells()
    cells.feed(page)
    # oracle: scikit-learn from the same random_state (gmmkit matches it)
    sk = SkGaussianMixture(2, random_state=3, n_init=2).fit(X)
    params = cells.tables["parameters"]
    assert params[0] == ["component", "weight", "mean height", "mean width"]
    for k, row in enumerate(params[1:]):
        np.testing.assert_allclose(
            [float(v) for v in row[1:]],
            [sk.weights_[k], *sk.means_[k]],
            rtol=1e-5,
        )
    for k in range(2):
        cov = cells.tables[f"covariance component-{k}"]
        got = np.array([[float(v) for v in r[1:]] for r in cov[1:]])
        np.testing.assert_allclose(got, sk.covariances_[k], rtol=1e-5)
    sizes = cells.tables["sizes"]
    counts = np.bincount(sk.predict(X), minlength=2)
    assert [int(r[1]) for r in sizes[1:]] == list(counts)
    summary = cells.tables["data-summary"]
    assert summary[1][0] == "height"
    assert float(summary[1][1]) == pytest.approx(X[:, 0].mean(), rel=1e-5)
    assert float(summary[2][5]) == pytest.approx(X[:, 1].max(), rel=1e-5)
    history = cells.tables["history"]
    assert len(history) - 1 >= 2  # start + iterations
    assert float(history[-1][1]) == pytest.approx(sk.score(X) * len(X), rel=1e-9)
    assert "a notice" in page


def test_report_is_self_contained_and_responsive(fixed_k_report):
    _, path = fixed_k_report
    page = path.read_text()
    assert '<meta name="viewport" content="width=device-width' in page
    assert "overflow-x:auto" in page
    # nothing fetched from anywhere: every src/href is a data: URI
    for ref in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert ref.startswith("data:"), ref
    assert "<script" not in page
    assert "http://" not in page and "https://" not in page
    assert page.count("data:image/png;base64,") == 3  # clusters, uncertainty, NLL
    assert page.count("data:image/gif;base64,") == 1  # EM animation


def test_report_with_selection(tmp_path):
    X = two_clusters()
    path = write_report(
        X,
        tmp_path / "sel.html",
        ks=[1, 2, 3],
        covariance_types=["VVV", "VII"],
        n_jobs=1,
    )
    cells = Cells()
    cells.feed(path.read_text())
    table = cells.tables["selection"]
    header = table[0]
    rows = table[1:]
    assert len(rows) == 6
    ks = [int(r[header.index("n_components")]) for r in rows]
    types = [r[header.index("covariance_type")] for r in rows]
    bics = [float(r[header.index("bic")]) for r in rows]
    assert bics == sorted(bics)  # best first
    # oracle: scikit-learn's BIC of the best row's model, fitted independently
    best_type = {"VVV": "full", "VII": "spherical"}[types[0]]
    sk = SkGaussianMixture(ks[0], covariance_type=best_type, n_init=5, random_state=0)
    assert sk.fit(X).bic(X) == pytest.approx(bics[0], rel=1e-4)
    assert ks[0] == 2


def test_components_html_in_the_notebook_display():
    X = two_clusters()
    gm = GaussianMixture(2, covariance_type="diag", random_state=0)
    unfitted = gm._repr_html_()
    assert "gmmkit-components" not in unfitted
    assert "GaussianMixture" in unfitted  # scikit-learn's diagram is kept
    gm.fit(X)
    shown = gm._repr_html_()
    bundle = gm._repr_mimebundle_()["text/html"]
    assert shown.startswith(unfitted[:30]) and "gmmkit-components" in shown
    assert "gmmkit-components" in bundle
    cells = Cells()
    cells.feed(components_html(gm))
    rows = cells.tables[""][1:]
    assert len(rows) == 2
    for k, row in enumerate(rows):
        assert float(row[1]) == pytest.approx(gm.weights_[k], rel=1e-3)
        means = [float(v) for v in row[2].strip("[]").split(",")]
        np.testing.assert_allclose(means, gm.means_[k], rtol=1e-3, atol=1e-3)
        sds = [float(v) for v in row[3].removeprefix("sd ").split(",")]
        np.testing.assert_allclose(sds, np.sqrt(gm.covariances_[k]), rtol=1e-3)


# ------------------------------------------------------------- the browser
def _driver():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: the report's browser test needs "
            "Debian's chromium and chromium-driver. Install them with "
            "'apt-get install -y chromium chromium-driver' (.ci/run does this)."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="gmmkit-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    return driver, profile


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390], ids=["laptop", "phone"])
def test_report_in_headless_chromium(fixed_k_report, width):
    X, path = fixed_k_report
    driver, profile = _driver()
    try:
        driver.set_window_size(width, 900)
        driver.get(path.as_uri())
        assert driver.title.startswith("gmmkit report")
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert errors == []
        images = driver.execute_script(
            "return Array.from(document.images).map("
            "i => [i.complete, i.naturalWidth, i.naturalHeight, "
            "i.getBoundingClientRect().width])"
        )
        assert len(images) == 4  # 3 PNG plots and the EM animation
        for complete, nat_w, nat_h, shown_w in images:
            assert complete and nat_w > 100 and nat_h > 100
            assert 0 < shown_w <= width  # scaled to the page, never wider
        # no horizontal scrolling of the page itself (tables scroll inside)
        page_w = driver.execute_script("return document.documentElement.scrollWidth")
        view_w = driver.execute_script("return document.documentElement.clientWidth")
        assert page_w <= view_w + 1
        # the rendered tables hold the fitted numbers (oracle: scikit-learn)
        sk = SkGaussianMixture(2, random_state=3, n_init=2).fit(X)
        rows = driver.execute_script(
            "return Array.from(document.querySelectorAll('table.parameters tbody tr'))"
            ".map(r => Array.from(r.cells).map(c => c.textContent))"
        )
        got = np.array([[float(v) for v in r[1:]] for r in rows])
        want = np.column_stack([sk.weights_, sk.means_])
        np.testing.assert_allclose(got, want, rtol=1e-5)
        font = driver.execute_script(
            "return parseFloat(getComputedStyle(document.body).fontSize)"
        )
        assert font >= 14  # readable on a phone
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
