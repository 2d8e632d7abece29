"""``jaxstyle app`` in a real headless browser (Debian's chromium + chromium-driver, Selenium).

Loads the page, uploads the bundled dog photo, waits for the object map, paints a "remove"
stroke across the dog and applies it (the map shrinks), clicks a "remove" spot on it (the map
shrinks again), undoes both (the automatic map is back), runs a tiny stylization (64 px, 5
iterations), downloads the result PNG and saves a screenshot: to ``$JAXSTYLE_APP_SCREENSHOT``
when set, else under the test's tmp folder. The README's ``docs/app.png`` is made with a larger run::

    JAXSTYLE_APP_SCREENSHOT=docs/app.png JAXSTYLE_APP_SIZE=384 JAXSTYLE_APP_ITERATIONS=100 \
        python -m pytest -q tests/test_app_browser.py
"""
from __future__ import annotations

import io
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_server import ROOT, app_server
from browser import stroke, tab, text, until

pytestmark = pytest.mark.slow
pytest.importorskip("gradio", reason="jaxstyle app needs pip install -e '.[app]'")
webdriver = pytest.importorskip("selenium.webdriver", reason="the page test needs selenium")
CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("the page test needs Debian's chromium and chromium-driver (apt-get install chromium "
                "chromium-driver)", allow_module_level=True)
DOG = ROOT / "jaxstyle" / "data" / "examples" / "dog.jpg"
SIZE = int(os.environ.get("JAXSTYLE_APP_SIZE", 64))
ITERATIONS = int(os.environ.get("JAXSTYLE_APP_ITERATIONS", 5))


@pytest.fixture(scope="module")
def server():
    with app_server() as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1700"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    d.downloads = downloads
    yield d
    d.quit()


def _map_pixels(d, previous_src=None) -> tuple[int, str]:
    """Object pixels (>= 128) of the map image the page shows, and its address (waits for a new one)."""
    from selenium.webdriver.common.by import By

    def src():
        """the map image"""
        imgs = d.find_elements(By.CSS_SELECTOR, "#map img")
        s = imgs[0].get_attribute("src") if imgs else None
        return s if s and s != previous_src else None

    url = until(src)
    with urllib.request.urlopen(url, timeout=30) as r:
        m = np.asarray(Image.open(io.BytesIO(r.read())).convert("L"))
    return int((m >= 128).sum()), url


def click_map(d, x_share: float, y_share: float, mode: str) -> None:
    """Click the map over the photo at a share of its width and height with the click mode ``mode``."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    tab(d, "click")
    d.find_element(By.XPATH, f"//*[@id='mode']//label[normalize-space()='{mode}']").click()
    img = until(lambda: d.find_elements(By.CSS_SELECTOR, "#overlay img"))[0]
    w, h = img.size["width"], img.size["height"]
    dx, dy = int((x_share - 0.5) * w), int((y_share - 0.5) * h)
    ActionChains(d).move_to_element_with_offset(img, dx, dy).click().perform()


def _set_number(d, css, value) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = d.find_element(By.CSS_SELECTOR, f"{css} input[type=number]")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value), Keys.TAB)


def test_page_map_stroke_stylize_download(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    d = browser
    d.get(server)
    until(lambda: d.find_elements(By.CSS_SELECTOR, "#photo input[type=file]"))
    d.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(DOG))
    note = until(lambda: "covers" in text(d, "#map-note") and text(d, "#map-note"))
    before, src = _map_pixels(d)
    assert before > 0.03 * 512 * 288  # the dog is there

    stroke(d, 0.42)  # red ("remove") is the brush's first colour; the stroke crosses the dog
    d.find_element(By.CSS_SELECTOR, "#apply").click()
    until(lambda: "after 1 correction" in text(d, "#map-note"))
    after, src = _map_pixels(d, src)
    assert 0 < after < 0.8 * before

    click_map(d, 0.37, 0.25, "remove")  # a click on what is left of the dog (its head) takes a spot off
    until(lambda: "after 2 corrections" in text(d, "#map-note"))
    clicked, src = _map_pixels(d, src)
    assert 0 < clicked < after

    d.find_element(By.CSS_SELECTOR, "#reset").click()  # back to the automatic map, which is stylized
    until(lambda: text(d, "#map-note") == note)
    assert _map_pixels(d, src)[0] == before

    _set_number(d, "#knob-size", SIZE)
    _set_number(d, "#knob-iterations", ITERATIONS)
    d.find_element(By.CSS_SELECTOR, "#stylize").click()
    status = until(lambda: (text(d, "#status").startswith(("done", "**Error", "Error")) and text(d, "#status")))
    assert status.startswith("done"), status
    until(lambda: d.find_elements(By.CSS_SELECTOR, "#slider img"))

    d.find_element(By.CSS_SELECTOR, "#download-result").click()
    png = until(lambda: [p for p in d.downloads.glob("*.png")])[0]
    with Image.open(png) as im:
        assert im.format == "PNG"
        with Image.open(DOG) as dog:
            s = SIZE / max(dog.size)
            assert im.size == (round(dog.size[0] * s), round(dog.size[1] * s))
        im.load()

    shot = Path(os.environ.get("JAXSTYLE_APP_SCREENSHOT") or tmp_path / "app.png")
    assert d.save_screenshot(str(shot)) and shot.stat().st_size > 0
