"""End to end: the report of real runs opened in headless Chromium (Selenium, /usr/bin/chromium).

Checks that every section and plot renders, that typing into the neighbour explorer updates the three lists
to the right neighbours, and that the page made no network request; saves a full-page screenshot beside the
runs. Chromium and chromium-driver are Debian packages: `make test` installs them (.ci/ensure-browser) and
this test tries the same when they are missing; it skips only when they cannot be installed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest
from _report_runs import report_runs

pytestmark = pytest.mark.browser

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--window-size=1300,1000"]
SECTIONS = ("tables", "mnno", "wordsim", "curves", "throughput", "explorer", "notes")


def ensure_browser() -> str | None:
    """None when chromium and chromedriver are there (installing them if possible), else why not."""
    if os.path.exists(CHROMIUM) and os.path.exists(DRIVER):
        return None
    script = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, ".ci", "ensure-browser")
    if shutil.which("apt-get") and os.path.exists(script):
        subprocess.run(["sh", script], check=False, timeout=900)
    if os.path.exists(CHROMIUM) and os.path.exists(DRIVER):
        return None
    return f"{CHROMIUM} / {DRIVER} missing and could not be installed (Debian packages chromium, chromium-driver)"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is in the test extra: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    why = ensure_browser()
    if why:
        if os.environ.get("CI"):  # CI must run this test: a missing browser there is a failure, not a skip
            pytest.fail(why)
        pytest.skip(why)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def runs(tmp_path_factory, iapr_dir):
    return report_runs(tmp_path_factory.mktemp("report-runs"), iapr_dir)


def _rows(driver, col: str) -> list[int]:
    from selenium.webdriver.common.by import By

    return [int(li.get_attribute("data-row")) for li in driver.find_elements(By.CSS_SELECTOR, f"#ex-list-{col} li")]


def _type(driver, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "ex-item")
    box.clear()
    box.send_keys(text)


def _full_page_screenshot(driver, path) -> None:
    h = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1300, "height": min(h, 12000), "deviceScaleFactor": 1, "mobile": False})
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_report_renders_explores_and_stays_offline(runs, browser, iapr_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    from mmwe.datasets.iaprtc12 import load_iaprtc12
    from mmwe.neighbors import knn
    from mmwe.report import build_report
    from mmwe.vectors import load

    base = runs["exp1"].parent
    page = build_report([runs["exp1"], runs["exp2"], runs["mao"]], base / "report.html")
    browser.get(page.as_uri())
    WebDriverWait(browser, 15).until(
        lambda d: d.find_element(By.ID, "explorer-app").get_attribute("data-ready") == "1")

    # every section and every plot renders
    for sid in SECTIONS:
        sec = browser.find_element(By.ID, sid)
        assert sec.is_displayed() and sec.find_element(By.TAG_NAME, "h2").text
    boxes = browser.execute_script(
        "return [...document.querySelectorAll('figure.plot svg')].map(s => {const r = s.getBoundingClientRect();"
        " return [r.width, r.height, s.querySelectorAll('path,use,text').length];})")
    assert len(boxes) == 5 and all(w > 200 and h > 100 and n > 20 for w, h, n in boxes), boxes
    assert len(browser.find_elements(By.CSS_SELECTOR, "#tables table")) == 4
    assert not browser.find_elements(By.CSS_SELECTOR, ".absent")

    # explorer, collell run on IAPR TC-12: type an item, the three lists are its K nearest neighbours
    sets = json.loads(browser.find_element(By.ID, "explorer-data").get_attribute("textContent"))
    s = sets[0]
    data = load_iaprtc12(iapr_dir)
    nn_img, nn_txt = (knn(X, 10, metric="cosine", include_self=True) for X in (data.image, data.text))
    before = _rows(browser, "x")
    qi = 7
    pos = s["query"][qi]
    row = s["rows"][pos]
    _type(browser, s["names"][pos])
    x, y, fx = _rows(browser, "x"), _rows(browser, "y"), _rows(browser, "fx")
    assert x != before and x == nn_img[row].tolist() and y == nn_txt[row].tolist()
    assert fx == [s["rows"][p] for p in s["spaces"]["f I->T lin"][qi]]
    shared = len(set(x) & set(fx))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ex-list-x li.shared")) == shared
    nno = browser.find_element(By.ID, "ex-nno")
    assert float(nno.get_attribute("data-nno-x")) == pytest.approx(shared / 10)
    assert f"= {shared}/10" in nno.text
    Select(browser.find_element(By.ID, "ex-view")).select_by_visible_text("T->I nn")
    assert _rows(browser, "x") == nn_txt[row].tolist() and _rows(browser, "y") == nn_img[row].tolist()
    assert "f(X), nn map T->I" in browser.find_element(By.ID, "ex-head-fx").text
    assert "Capped: 500 of 1962 items" in browser.find_element(By.ID, "ex-cap").text

    # explorer, trained vectors of the Mao run: type a word
    Select(browser.find_element(By.ID, "ex-set")).select_by_index(1)
    _type(browser, "w5")
    m = sets[1]
    words = m["names"]
    vec = {name: load(str(runs["mao"] / name / "vectors.txt")).subset(words).matrix for name in ("puretext", "C", "A")}
    got = [_rows(browser, c) for c in ("x", "y", "fx")]
    assert got == [knn(vec[name], 10, metric="cosine")[words.index("w5")].tolist() for name in ("puretext", "C", "A")]
    assert browser.find_element(By.ID, "ex-nno").text.startswith("w5: NNO(")
    Select(browser.find_element(By.ID, "ex-set")).select_by_index(0)
    _type(browser, "no such item")
    assert "No item matches" in browser.find_element(By.ID, "ex-status").text

    # no network request: no resource entries, only the page itself in the network log, CSP in place
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    urls = [json.loads(e["message"])["message"]["params"]["request"]["url"] for e in browser.get_log("performance")
            if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"]
    assert urls and set(urls) == {page.as_uri()}, urls
    csp = browser.find_element(By.CSS_SELECTOR, "meta[http-equiv='Content-Security-Policy']").get_attribute("content")
    assert csp.startswith("default-src 'none'")
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []

    Select(browser.find_element(By.ID, "ex-set")).select_by_index(0)
    _type(browser, s["names"][pos])
    shot = base / "report-screenshot.png"
    _full_page_screenshot(browser, shot)
    assert shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")
