"""``jaxstyle app`` through its HTTP API (gradio_client): bad uploads get a message and the server
goes on; a server path sent by the client is refused; three jobs sent at once all finish, in turn.

One server per module (real weights; the upload limit set low to test it cheaply).
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_server import ROOT, app_server, serving

pytestmark = pytest.mark.slow
gradio_client = pytest.importorskip("gradio_client", reason="jaxstyle app needs pip install -e '.[app]'")
DOG = ROOT / "jaxstyle" / "data" / "examples" / "dog.jpg"
UPLOAD_LIMIT_MB = 1


@pytest.fixture(scope="module")
def server():
    with app_server("--max-upload-mb", str(UPLOAD_LIMIT_MB)) as (url, proc):
        yield url, proc


def _client(url):
    return gradio_client.Client(url, verbose=False)


def _photo_note(url, path) -> str:
    """The page's note after uploading ``path`` as the photo (the map's share, or the error)."""
    return _client(url).predict(gradio_client.handle_file(str(path)), "dog", api_name="/on_photo")[-1]


def _bad_files(tmp: Path) -> dict[str, Path]:
    files = {"empty": tmp / "empty.jpg", "text": tmp / "notes.jpg", "tiny": tmp / "one_pixel.png",
             "bomb": tmp / "bomb.png"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not an image\n" * 20)
    Image.new("RGB", (1, 1), (200, 100, 50)).save(files["tiny"])
    Image.new("1", (12_000, 12_000)).save(files["bomb"])  # 144 Mpx in a few kB: over the 100 Mpx limit
    return files


def test_bad_uploads_get_a_message_and_the_server_goes_on(server, tmp_path):
    url, proc = server
    files = _bad_files(tmp_path)
    assert files["bomb"].stat().st_size < 200_000
    expect = {"empty": "empty", "text": "not a readable image", "tiny": "too small", "bomb": "pixel limit"}
    for kind, path in files.items():
        note = _photo_note(url, path)
        assert note.startswith("**Error:**") and expect[kind] in note, (kind, note)
        assert path.name in note and "/tmp/gradio" not in note  # the client's name, not the server's path
    assert proc.poll() is None and serving(url)
    assert "covers" in _photo_note(url, DOG)  # a good photo still works after them


def test_an_upload_over_the_limit_is_refused(server, tmp_path):
    url, proc = server
    big = tmp_path / "big.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (700, 700, 3), np.uint8)).save(big)  # noise: ~1.4 MB
    assert big.stat().st_size > UPLOAD_LIMIT_MB * 2**20
    with pytest.raises(Exception, match="(?i)size|large|exceed"):
        _photo_note(url, big)
    assert proc.poll() is None and serving(url)


def _call(url: str, api: str, data: list) -> str:
    """POST ``data`` to ``/gradio_api/call/<api>`` and read the event stream's final text."""
    req = urllib.request.Request(f"{url}gradio_api/call/{api}", json.dumps({"data": data}).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        event = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api}/{event}", timeout=60) as r:
        return r.read().decode()


def test_the_client_cannot_name_a_server_path(server):
    url, _ = server
    # a real image on the server, named by its path instead of uploaded: never opened
    named = {"path": str(DOG), "meta": {"_type": "gradio.FileData"}, "orig_name": "dog.jpg"}
    stream = _call(url, "on_photo", [named, "dog"])
    assert "covers" not in stream and "event: error" in stream
    secret = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    assert "root:" not in _call(url, "on_photo", [secret, "dog"])
    assert serving(url)


def test_three_jobs_at_once_all_finish_in_turn(server):
    url, proc = server
    clients = [_client(url) for _ in range(3)]
    for c in clients:
        assert "covers" in c.predict("dog", api_name="/on_example")[-1]
    jobs = [c.submit("Starry Night (Van Gogh)", None, 64, 5, api_name="/on_stylize") for c in clients]
    outs = [j.result(timeout=600) for j in jobs]
    for out in outs:
        status, _, before_after, result_png, map_png = out
        assert status.startswith("done"), status
        with Image.open(result_png) as im:
            assert im.format == "PNG" and max(im.size) == 64
        with Image.open(map_png) as im:
            assert im.format == "PNG" and np.asarray(im).max() == 255
    statuses = [o[0] for j in jobs for o in j.outputs()]
    assert any(s.startswith("waiting in the queue: 1 job ahead") for s in statuses)  # positions were shown
    assert any(s.startswith("waiting in the queue: 2 jobs ahead") for s in statuses)
    assert proc.poll() is None
