"""Driving the web app's page in headless Chromium (Selenium): what the page test
(``tests/test_app_browser.py``) and the app timings (``benchmarks/speed/app_timing.py``) both do."""
from __future__ import annotations

import time

WAIT_S = 300  # a busy 2-core machine renders the page in software


def until(what, timeout=WAIT_S, every=0.25):
    """Poll ``what()`` until it returns something true; that value (fails after ``timeout`` s)."""
    end = time.time() + timeout
    while time.time() < end:
        v = what()
        if v:
            return v
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what.__doc__ or what}")


def text(d, css) -> str:
    from selenium.webdriver.common.by import By

    return d.find_element(By.CSS_SELECTOR, css).text


def stroke(d, x_share: float) -> None:
    """Paint one vertical stroke with the editor's brush at ``x_share`` of the canvas' width."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    tab(d, "paint")
    until(lambda: d.find_elements(By.CSS_SELECTOR, "#editor button[aria-label='Brush']"))[0].click()
    canvas = until(lambda: d.find_elements(By.CSS_SELECTOR, "#editor canvas"))[-1]
    w = canvas.size["width"]
    ac = ActionChains(d, duration=50)
    # the canvas centres the photo (512x288 at 94 %): from 100 px above its middle to 100 px below
    ac.move_to_element_with_offset(canvas, int(x_share * w) - w // 2, -100).click_and_hold().pause(0.1)
    for _ in range(20):
        ac.move_by_offset(0, 10).pause(0.05)
    ac.release().perform()


def tab(d, name: str) -> None:
    """Open the map's tab ``name`` ("click" or "paint")."""
    from selenium.webdriver.common.by import By

    d.find_element(By.XPATH, f"//button[@role='tab' and normalize-space()='{name}']").click()
