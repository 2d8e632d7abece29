"""``jaxstyle app`` timings: upload to map shown, stroke to corrected map, first preview, result.

    python -m benchmarks.speed.app_timing [--photos P1 P2 ...] [--skip-default]

Starts the app in a subprocess (:func:`jaxstyle.app.serve.spawn`) and measures

- in headless Chromium (Selenium; Debian's chromium + chromium-driver): upload to the map's
  note shown, a click ("remove") to the corrected map's note, and a painted stroke's "apply
  strokes" to the next one, each photo (the page renders in software here: no GPU);
- through the API (gradio_client, what the page's requests do without the rendering):
  the same two, each photo;
- the job: click to the first preview and to the result at the page's defaults (512 px,
  300 iterations), then a second photo of the same size (30 iterations), whose programs
  are compiled already;
- in-process (no server): ``Engine.locate`` and ``Engine.strokes`` alone.

Prints a Markdown table (median of the photos for the per-photo rows).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tests.browser import stroke, text, until

ROOT = Path(__file__).resolve().parents[2]
DOG = ROOT / "jaxstyle" / "data" / "examples" / "dog.jpg"
STYLE = "Starry Night (Van Gogh)"


# The page's driving, as the page test (tests/test_app_browser.py) does it
CHROMIUM = shutil.which("chromium")  # Debian's chromium and chromium-driver
DRIVER = shutil.which("chromedriver")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", nargs="+", default=[str(DOG)], help="photos to upload (default: the bundled dog)")
    p.add_argument("--skip-default", action="store_true", help="skip the 512 px / 300 iteration job")
    return p.parse_args(argv)


def stroke_layer(hw: tuple[int, int], path: Path) -> Path:
    """A "remove" stroke as the editor sends it: a transparent layer with a red vertical bar at 42 % of the width."""
    a = np.zeros(hw + (4,), np.uint8)
    x = int(0.42 * hw[1])
    a[int(0.1 * hw[0]): int(0.9 * hw[0]), x - 4: x + 4] = (255, 0, 0, 255)
    Image.fromarray(a).save(path)
    return path


def api_times(url: str, photo: str, tmp: Path) -> tuple[float, float]:
    """(upload to map, stroke to map) through gradio_client, in seconds."""
    from gradio_client import Client, handle_file

    c = Client(url, verbose=False)
    t = time.perf_counter()
    editor, _, map_png, note = c.predict(handle_file(photo), "dog", api_name="/on_photo")
    t_map = time.perf_counter() - t
    assert "covers" in note or "found" in note, note
    with Image.open(map_png) as m:
        hw = (m.height, m.width)
    layer = stroke_layer(hw, tmp / "layer.png")
    value = {"background": handle_file(editor["background"]), "layers": [handle_file(str(layer))],
             "composite": handle_file(editor["background"])}
    t = time.perf_counter()
    note2 = c.predict(value, api_name="/on_strokes")[-1]
    t_stroke = time.perf_counter() - t
    assert note2 != note, note2
    return t_map, t_stroke


def idle(d) -> bool:
    """Whether the page's main thread answers a script within 0.1 s (it has finished starting)."""
    time.sleep(0.2)
    t = time.perf_counter()
    d.execute_script("return 1")
    return time.perf_counter() - t < 0.1


def browser_times(url: str, photo: str) -> tuple[float, float, float]:
    """(upload to map note shown, click to corrected note, painted stroke's apply to corrected note) in
    headless Chromium, in seconds."""
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1700"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    note = lambda: text(d, "#map-note")  # noqa: E731
    try:
        d.get(url)
        until(lambda: d.find_elements(By.CSS_SELECTOR, "#photo input[type=file]"))
        until(lambda: idle(d))  # the page's own start is not counted
        t = time.perf_counter()
        d.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(Path(photo).resolve()))
        until(lambda: "covers" in note() or "found" in note(), every=0.05)
        t_map = time.perf_counter() - t
        d.find_element(By.XPATH, "//*[@id='mode']//label[normalize-space()='remove']").click()
        img = d.find_element(By.CSS_SELECTOR, "#overlay img")
        until(lambda: idle(d))
        t = time.perf_counter()
        ActionChains(d).move_to_element_with_offset(img, -int(0.1 * img.size["width"]), 0).click().perform()
        until(lambda: "after 1 correction" in note(), every=0.05)
        t_click = time.perf_counter() - t
        stroke(d, 0.42)
        t = time.perf_counter()
        d.find_element(By.CSS_SELECTOR, "#apply").click()
        until(lambda: "after 2 corrections" in note(), every=0.05)
        return t_map, t_click, time.perf_counter() - t
    finally:
        d.quit()


def job_times(url: str, size: int, iterations: int) -> tuple[float, float]:
    """(click to first preview, click to result) of one job on the example photo, in seconds."""
    from gradio_client import Client

    c = Client(url, verbose=False)
    c.predict("dog", api_name="/on_example")
    t = time.perf_counter()
    job = c.submit(STYLE, None, size, iterations, api_name="/on_stylize")
    first = None
    while not job.done():
        if first is None and any(isinstance(o[1], str) for o in job.outputs()):
            first = time.perf_counter() - t
        time.sleep(0.05)
    total = time.perf_counter() - t
    out = job.outputs()[-1]
    assert out[0].startswith("done"), out[0]
    return first if first is not None else total, total


def engine_times(photos: list[str]) -> tuple[list[float], list[float]]:
    """``Engine.locate`` and ``Engine.strokes`` in-process, each photo (after one warm-up map)."""
    from jaxstyle.app import session

    eng = session.Engine()
    eng.locate(session.load_upload(DOG, None, eng.cfg), "dog")
    t_map, t_stroke = [], []
    for p in photos:
        full = session.load_upload(p, None, eng.cfg)
        t = time.perf_counter()
        s = eng.locate(full, "dog")
        t_map.append(time.perf_counter() - t)
        rm = np.asarray(Image.open(stroke_layer(s.auto.shape, Path(tempfile.mkdtemp()) / "l.png")))[..., 3] > 0
        t = time.perf_counter()
        eng.strokes(s, None, rm)
        t_stroke.append(time.perf_counter() - t)
    return t_map, t_stroke


def main(argv=None) -> int:
    from jaxstyle.machine import cpu_line
    print(f"cpu: {cpu_line()}", file=sys.stderr, flush=True)
    from jaxstyle.app.serve import spawn

    a = parse(argv)
    load0 = f"{os.getloadavg()[0]:.1f}"
    rows = []
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp, spawn() as (url, _):
        b = [browser_times(url, p) for p in a.photos]
        rows += [("upload -> map shown (headless Chromium)", med(x[0] for x in b)),
                 ("click -> corrected map shown (headless Chromium)", med(x[1] for x in b)),
                 ("painted stroke, apply -> corrected map shown (headless Chromium)", med(x[2] for x in b))]
        api = [api_times(url, p, Path(tmp)) for p in a.photos]
        rows += [("upload -> map (API)", med(x[0] for x in api)),
                 ("stroke -> corrected map (API)", med(x[1] for x in api))]
        if not a.skip_default:
            first, total = job_times(url, 512, 300)
            rows += [("stylize 512 px, 300 it.: first preview", first), ("stylize 512 px, 300 it.: result", total)]
            first, total = job_times(url, 512, 30)
            rows += [("again, same size (compiled), 30 it.: first preview", first),
                     ("again, same size (compiled), 30 it.: result", total)]
    m, s = engine_times(a.photos)
    rows += [("Engine.locate alone (in-process)", med(m)), ("Engine.strokes alone (in-process)", med(s))]
    print(f"photos: {', '.join(Path(p).name for p in a.photos)}\n\n| step | seconds |\n|---|---|")
    for name, v in rows:
        print(f"| {name} | {v:.2f} |")
    print(f"\nload average before/after: {load0} / {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
