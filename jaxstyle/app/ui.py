"""The page (Gradio Blocks) over :mod:`jaxstyle.app.session`: every handler turns an error into a message.

Uploads arrive as files Gradio saved under its own cache (``gr.File``): the client sends file
contents, never a server path, and this module decodes them itself (:func:`session.load_upload`),
so the pixel limit and the size checks apply before any image library expands them.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np

from ..errors import UsageError
from ..transfer.objective import PRESETS
from ..transfer.stylize import MAX_STRENGTH, Config
from . import session
from .jobs import DONE, FAILED, WAITING
from .session import Engine, MapState

ADD_COLOR, REMOVE_COLOR = "#00d000", "#ff0000"  # the editor's two brushes
POLL_S = 0.5  # a running job's page is refreshed at least this often
# Stylization options on the page: Config field -> (label, min, max, step, default). A new Config
# field (e.g. a style/content balance) is one more row here.
KNOBS: dict[str, tuple[str, float, float, float, float]] = {
    "size": ("size (long side, px)", 64, 1024, 16, 512),
    "iterations": ("iterations", 5, 1000, 5, PRESETS["default"]["iterations"]),
    "strength": ("style strength (0: the photo)", 0.0, MAX_STRENGTH, 0.1, Config.strength),
}


def _name(f) -> str | None:
    """The client's name of an uploaded file (Gradio keeps it as the file's own name in its cache)."""
    return None if f is None else Path(str(f)).name


def _strokes(editor: dict | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The editor's painted layers as ``(add, remove)`` bool masks: green brush adds, red removes."""
    if not editor or not editor.get("layers"):
        return None, None
    add = remove = None
    for layer in editor["layers"]:
        a = np.asarray(layer)
        if a.ndim != 3 or a.shape[-1] != 4:
            continue
        painted = a[..., 3] > 0
        g_over_r = a[..., 1].astype(np.int16) > a[..., 0].astype(np.int16)
        add = (painted & g_over_r) if add is None else add | (painted & g_over_r)
        remove = (painted & ~g_over_r) if remove is None else remove | (painted & ~g_over_r)
    return add, remove


def _editor(state: MapState) -> dict:
    img = session.overlay(state)
    return {"background": img, "layers": [], "composite": img}


def _map_note(state: MapState) -> str:
    n = state.applied
    return state.message or f"the map covers {state.share:.1%} of the photo" + (
        f" after {n} correction{'s' if n > 1 else ''}" if n else "")


class Handlers:
    """The page's event handlers over one :class:`Engine`: each returns the page's new values, an error as a message.

    The map's handlers return (state, editor, overlay, map, note); ``on_stylize`` yields
    (status, preview, before/after, result PNG, map PNG). Their names are the API's.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    @staticmethod
    def show(state: MapState):
        return state, _editor(state), session.overlay(state), session.map_image(state), _map_note(state)

    @staticmethod
    def failed(e: BaseException, state=None):
        return state, gr.skip(), gr.skip(), gr.skip(), f"**Error:** {session.message(e)}"

    @staticmethod
    def unchanged(state, note=None):
        return state, gr.skip(), gr.skip(), gr.skip(), gr.skip() if note is None else note

    def on_photo(self, f, class_name):
        try:
            return self.show(self.engine.locate(session.load_upload(f, _name(f), self.engine.cfg), class_name))
        except Exception as e:  # noqa: BLE001 - the page says what went wrong; the server goes on
            return self.failed(e)

    def on_example(self, class_name):
        try:
            photo = session.load_upload(session.EXAMPLE_PHOTO, None, self.engine.cfg)
            return self.show(self.engine.locate(photo, class_name))
        except Exception as e:  # noqa: BLE001
            return self.failed(e)

    def on_class(self, state, class_name):
        if state is None:
            return self.unchanged(state)
        try:
            return self.show(self.engine.locate(state.full, class_name))
        except Exception as e:  # noqa: BLE001
            return self.failed(e, state)

    def on_strokes(self, state, editor):
        if state is None:
            return self.unchanged(state, "**Error:** upload a photo first")
        try:
            return self.show(self.engine.strokes(state, *_strokes(editor)))
        except Exception as e:  # noqa: BLE001
            return self.failed(e, state)

    def on_click(self, state, mode, evt: gr.SelectData):
        if state is None:
            return self.unchanged(state, "**Error:** upload a photo first")
        try:
            spot = session.spot(state.auto.shape, evt.index[0], evt.index[1])
            add = mode == "add"
            return self.show(self.engine.strokes(state, spot if add else None, None if add else spot))
        except Exception as e:  # noqa: BLE001
            return self.failed(e, state)

    def on_reset(self, state):
        if state is None:
            return self.unchanged(state)
        return self.show(session.without_strokes(state))

    def on_mask(self, state, f):
        if state is None:
            return self.unchanged(state, "**Error:** upload a photo first")
        if f is None:
            return self.unchanged(state)
        try:
            return self.show(self.engine.user_mask(state, f, _name(f)))
        except Exception as e:  # noqa: BLE001
            return self.failed(e, state)

    def on_stylize(self, state, style_name, style_file, *knobs):
        skip = gr.skip()
        try:
            if state is None:
                raise UsageError("upload a photo first")
            if style_file is not None:
                style = session.load_upload(style_file, _name(style_file), self.engine.cfg)
            elif style_name in self.engine.styles:
                style = session.load_upload(self.engine.styles[style_name], None, self.engine.cfg)
            else:
                raise UsageError(f"unknown painting {style_name!r}")
            options = {k: int(v) if KNOBS[k][3] >= 1 else float(v) for k, v in zip(KNOBS, knobs)}
            job = self.engine.submit(state, style, **options)
        except Exception as e:  # noqa: BLE001
            yield f"**Error:** {session.message(e)}", skip, skip, skip, skip
            return
        yield from _follow(self.engine, job)


def _layout(engine: Engine) -> SimpleNamespace:
    """The page's components, laid out (inside an open :class:`gradio.Blocks`)."""
    gr.Markdown("# jaxstyle: a painting's style on one object of a photo\n"
                "Upload a photo, check the object map, fix it with strokes, stylize.")
    state = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            photo = gr.File(label="photo", file_types=["image"], elem_id="photo")
            example = gr.Button("use the example photo", elem_id="example")
            class_name = gr.Dropdown(engine.classes, value="dog" if "dog" in engine.classes else engine.classes[0],
                                     label="object class", elem_id="class")
            mask = gr.File(label="or upload a mask (white = object)", file_types=["image"], elem_id="mask")
        with gr.Column(scale=2):
            # The editor's canvas redraws continuously; in its own tab it runs only while that tab is open.
            with gr.Tabs():
                with gr.Tab("click", elem_id="tab-click"):
                    overlay_view = gr.Image(label="object map over the photo: a click adds or removes a spot",
                                            type="numpy", format="png", interactive=False, elem_id="overlay")
                    mode = gr.Radio(["add", "remove"], value="remove", label="a click", elem_id="mode")
                with gr.Tab("paint", elem_id="tab-paint", render_children=True):
                    editor = gr.ImageEditor(
                        label="object map: paint green to add, red to remove, then 'apply strokes'", type="numpy",
                        format="png", image_mode="RGBA", sources=(), transforms=(), layers=False, eraser=False,
                        elem_id="editor", canvas_size=(512, 512), height=560, interactive=True,
                        brush=gr.Brush(colors=[ADD_COLOR, REMOVE_COLOR], default_color=REMOVE_COLOR,
                                       color_mode="fixed", default_size=12))
                    apply = gr.Button("apply strokes", variant="primary", elem_id="apply")
            reset = gr.Button("undo all corrections", elem_id="reset")
            map_note = gr.Markdown(elem_id="map-note")
        with gr.Column(scale=1):
            map_view = gr.Image(label="object map", type="numpy", format="png", interactive=False,
                                elem_id="map")
    with gr.Row():
        with gr.Column(scale=1):
            style_name = gr.Dropdown(list(engine.styles), value=next(iter(engine.styles)), label="painting",
                                     elem_id="style")
            style_file = gr.File(label="or upload a painting", file_types=["image"], elem_id="style-file")
            knobs = [gr.Slider(lo, hi, value=default, step=step, label=label, elem_id=f"knob-{k}")
                     for k, (label, lo, hi, step, default) in KNOBS.items()]
            go = gr.Button("stylize", variant="primary", elem_id="stylize")
            status = gr.Markdown(elem_id="status")
        with gr.Column(scale=2):
            preview = gr.Image(label="progress", type="numpy", interactive=False, elem_id="preview", height=320)
            slider = gr.ImageSlider(label="before / after", type="numpy", elem_id="slider", max_height=420)
            with gr.Row():
                get_result = gr.DownloadButton("download the result (PNG)", elem_id="download-result")
                get_map = gr.DownloadButton("download the map (PNG)", elem_id="download-map")
    return SimpleNamespace(**{k: v for k, v in locals().items() if k != "engine"})


def build(engine: Engine):
    """The page's :class:`gradio.Blocks`."""
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],  # system fonts: nothing fetched
                              font_mono=["ui-monospace", "monospace"])
    h = Handlers(engine)
    with gr.Blocks(title="jaxstyle", analytics_enabled=False, theme=theme) as page:
        c = _layout(engine)
        shown = [c.state, c.editor, c.overlay_view, c.map_view, c.map_note]
        c.photo.upload(h.on_photo, [c.photo, c.class_name], shown)
        c.example.click(h.on_example, [c.class_name], shown)
        c.class_name.change(h.on_class, [c.state, c.class_name], shown)
        c.apply.click(h.on_strokes, [c.state, c.editor], shown)
        c.reset.click(h.on_reset, [c.state], shown)
        c.overlay_view.select(h.on_click, [c.state, c.mode], shown)
        c.mask.upload(h.on_mask, [c.state, c.mask], shown)
        # Many visitors may wait at once; session's queue runs their jobs one at a time.
        c.go.click(h.on_stylize, [c.state, c.style_name, c.style_file, *c.knobs],
                   [c.status, c.preview, c.slider, c.get_result, c.get_map], concurrency_limit=None)
    return page


def _follow(engine: Engine, job):
    """Yield the page's view of ``job`` (status, preview, before/after, downloads) until it ends."""
    skip = gr.skip()
    seen, shown_preview = -1, None
    while not job.finished:
        seen = job.wait(seen, POLL_S)
        if job.state == WAITING:
            ahead = engine.queue.position(job)
            yield f"waiting in the queue: {ahead} job{'s' if ahead != 1 else ''} ahead", skip, skip, skip, skip
        elif not job.finished:
            img = job.preview if job.preview is not None and job.preview is not shown_preview else None
            shown_preview = job.preview if img is not None else shown_preview
            step = f" ({job.done}/{job.total} iterations)" if job.total else ""
            yield f"{job.phase or 'starting'}{step}", skip if img is None else img, skip, skip, skip
    if job.state == FAILED:
        yield f"**Error:** {job.error}", skip, skip, skip, skip
        return
    assert job.state == DONE
    r = job.result
    yield (f"done in {r['seconds']:.1f} s", r["image"], (r["content"], r["image"]), str(r["stylized_png"]),
           str(r["map_png"]))
