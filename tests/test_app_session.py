"""The app's logic without its page: the job queue, upload checks, strokes on a map, a job on a tiny VGG."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from jaxstyle.app import jobs, session
from jaxstyle.app.session import AppConfig, Engine, MapState
from jaxstyle.errors import JaxstyleError


def _until(cond, timeout=30.0):
    end = time.time() + timeout
    while not cond():
        assert time.time() < end, "timed out"
        time.sleep(0.01)


def test_queue_runs_jobs_one_at_a_time_in_order():
    q = jobs.JobQueue()
    active, peak, order, lock = [0], [0], [], threading.Lock()

    def work(i):
        def run(job):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            order.append(i)
            with lock:
                active[0] -= 1
            return i * 10
        return run

    js = [q.submit(work(i)) for i in range(4)]
    _until(lambda: all(j.finished for j in js))
    assert peak[0] == 1 and order == [0, 1, 2, 3]
    assert [j.result for j in js] == [0, 10, 20, 30] and all(j.state == jobs.DONE for j in js)


def test_queue_positions_and_a_failed_job_does_not_stop_the_next():
    q = jobs.JobQueue(describe_error=lambda e: f"said: {e}")
    gate = threading.Event()
    first = q.submit(lambda job: gate.wait(30))
    _until(lambda: first.state == jobs.RUNNING)
    bad = q.submit(lambda job: 1 / 0)
    last = q.submit(lambda job: job.update(phase="working") or "ok")
    assert (q.position(first), q.position(bad), q.position(last)) == (0, 1, 2) and len(q) == 3
    seen = last.version
    gate.set()
    assert last.wait(seen, 30) != seen  # a waiter wakes on the job's changes
    _until(lambda: last.finished)
    assert bad.state == jobs.FAILED and bad.error == "said: division by zero"
    assert last.state == jobs.DONE and last.result == "ok" and last.phase == "working"
    assert q.position(last) == 0 and len(q) == 0


@pytest.mark.parametrize("kind, expect", [
    ("empty", "the file is empty"), ("text", "not a readable image"), ("tiny", "too small"),
    ("bomb", "pixel limit"), ("big", "over the upload limit")])
def test_load_upload_refuses_bad_files_naming_the_clients_file(tmp_path, kind, expect):
    cfg = AppConfig(max_upload_mb=0.05, max_pixels=100_000)
    p = tmp_path / "upload_1234" / "x"
    p.parent.mkdir()
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("not an image\n" * 10)
    elif kind == "tiny":
        Image.new("RGB", (1, 1)).save(p, format="PNG")
    elif kind == "bomb":
        Image.new("L", (1000, 1000)).save(p, format="PNG")  # 1 Mpx over a 0.1 Mpx limit, a few kB
    else:
        p.write_bytes(np.random.default_rng(0).bytes(60_000))
    with pytest.raises(JaxstyleError, match=expect) as e:
        session.load_upload(p, "my photo.png", cfg)
    assert "my photo.png" in str(e.value) and str(tmp_path) not in str(e.value)


def test_load_upload_keeps_a_good_photo_at_most_work_side(tmp_path):
    p = tmp_path / "wide.png"
    Image.new("RGB", (3000, 600), (10, 200, 30)).save(p)
    img = session.load_upload(p, "wide.png", AppConfig())
    assert img.shape == (410, 2048, 3) and img.dtype == np.float32 and img[0, 0, 1] == 200


def _state() -> MapState:
    from test_objectmap import _red_square

    rgb, obj = _red_square()
    spill = np.zeros(obj.shape, bool)
    spill[20:44, 40:48] = True
    m = (obj | spill).astype(np.float32)
    empty = np.zeros(obj.shape, bool)
    return MapState(rgb, rgb, m, m, empty, empty, "dog")


def test_strokes_accumulate_and_redo_the_map_from_the_automatic_one(tiny_params):
    engine = Engine(AppConfig(), params=tiny_params)
    s0 = _state()
    remove = np.zeros(s0.auto.shape, bool)
    remove[24:40, 43:45] = True
    s1 = engine.strokes(s0, None, remove)
    assert s1.share < 0.85 * s0.share and s1.map[20:44, 40:48].mean() < 0.1
    assert s1.auto is s0.auto and s1.remove.sum() == remove.sum() and s1.applied == 1
    add = np.zeros((32, 48), bool)  # strokes at another size (the editor's canvas) are resized
    add[2:4, 2:4] = True
    s2 = engine.strokes(s1, add, None)
    assert s2.remove.sum() == remove.sum() and s2.add.any() and s2.applied == 2  # the first stroke still counts
    assert s2.map[20:44, 40:48].mean() < 0.1


def test_a_job_stylizes_inside_the_map_and_writes_the_pngs(tiny_params):
    engine = Engine(AppConfig(), params=tiny_params)
    s = _state()
    with pytest.raises(JaxstyleError, match="map is empty"):
        engine.submit(replace(s, map=np.zeros_like(s.map)), s.photo)
    style = np.random.default_rng(1).uniform(0, 255, (48, 48, 3)).astype(np.float32)
    job = engine.submit(s, style, size=48, iterations=4, scales=1)
    _until(lambda: job.finished, timeout=300)
    assert job.state == jobs.DONE, job.error
    r = job.result
    assert r["image"].shape == (32, 48, 3)
    with Image.open(r["stylized_png"]) as im:
        assert im.format == "PNG" and im.size == (48, 32)
    with Image.open(r["map_png"]) as im:
        assert np.array_equal(np.asarray(im), session.map_image(s))
    outside = session.at_long_side(s.map, 48) < 0.01
    assert np.abs(r["image"].astype(int) - r["content"].astype(int))[outside].max() <= 1  # background untouched
    assert np.abs(r["image"].astype(int) - r["content"].astype(int))[~outside].max() > 5


def test_a_job_passes_the_pages_options_to_config(tiny_params):
    """The page's knobs are Config fields: strength 0 keeps the photo inside the map too."""
    engine = Engine(AppConfig(), params=tiny_params)
    s = _state()
    style = np.random.default_rng(1).uniform(0, 255, (48, 48, 3)).astype(np.float32)
    job = engine.submit(s, style, size=48, iterations=4, scales=1, strength=0.0)
    _until(lambda: job.finished, timeout=300)
    assert job.state == jobs.DONE, job.error
    r = job.result
    assert np.abs(r["image"].astype(int) - r["content"].astype(int)).max() <= 2
