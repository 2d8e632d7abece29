"""The app's work without its page: uploads checked, the object map and its strokes, stylization jobs.

An :class:`Engine` holds what every visitor shares: the weights (loaded once), the object
map's forward weights, the bundled and ``--styles`` paintings, and one :class:`JobQueue` that
runs stylizations one at a time. JAX's compiled programs are cached per function and shape,
so a second photo of a size met before runs without compiling. A visitor's photo and map are
a :class:`MapState`, a value the page keeps and each call returns anew.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import traceback
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import images
from ..errors import JaxstyleError, UsageError
from .jobs import Job, JobQueue

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"
EXAMPLE_PHOTO = EXAMPLES / "dog.jpg"
BUNDLED_STYLES = {"Starry Night (Van Gogh)": EXAMPLES / "starry_night.jpg"}
MAX_UPLOAD_MB = 20.0  # jaxstyle app --max-upload-mb
WORK_SIDE = 2048      # an upload is kept at this long side at most (results are at most 1024 px)
MAP_BUCKETS = 4       # photos of different sizes share the map's and the stylization's compiled programs
KEEP_JOBS = 20        # finished jobs whose files stay on disk
SPOT = 0.03           # a click marks a disc of this share of the map's long side (radius)


@dataclass(frozen=True)
class AppConfig:
    """What ``jaxstyle app``'s flags set."""

    styles_dir: Path | None = None
    max_upload_mb: float = MAX_UPLOAD_MB
    max_pixels: int = images.MAX_PIXELS
    weights: str | None = None


@dataclass(frozen=True)
class MapState:
    """A visitor's photo and its object map, at the map's size (long side ``locate.MAP_SIZE``).

    ``auto`` is the map before strokes (the automatic one, or an uploaded mask); ``add`` and
    ``remove`` hold every stroke so far; ``map`` is ``auto`` corrected by them.
    """

    photo: np.ndarray   # (H, W, 3) float32 at the map's size
    full: np.ndarray    # the photo as uploaded (long side <= WORK_SIDE), what is stylized
    auto: np.ndarray    # (H, W) in [0, 1]
    map: np.ndarray     # (H, W) in [0, 1]
    add: np.ndarray = field(default=None)     # (H, W) bool
    remove: np.ndarray = field(default=None)  # (H, W) bool
    class_name: str = "dog"
    message: str = ""
    applied: int = 0    # corrections applied (each a set of strokes)

    @property
    def share(self) -> float:
        """Share of the photo the map covers (>= 0.5)."""
        return float((self.map >= 0.5).mean())


def probe_classes() -> list[str]:
    """Classes with a shipped probe (``jaxstyle/data/probes/*.npz``): what the class menu offers."""
    from ..select import assets

    return assets.shipped_classes()


def style_choices(styles_dir: str | os.PathLike | None) -> dict[str, Path]:
    """Menu name -> painting: the bundled one, then the images of ``styles_dir`` (by file name)."""
    out = dict(BUNDLED_STYLES)
    if styles_dir is not None:
        d = Path(styles_dir)
        if not d.is_dir():
            raise UsageError(f"--styles {d}: no such folder")
        for p in sorted(d.iterdir()):
            if p.is_file() and p.suffix.lower() in images.IMAGE_EXTS:
                out.setdefault(p.name, p)
    return out


def message(e: BaseException) -> str:
    """What the page says about an error: a user error's own line, else a one-line internal error."""
    if isinstance(e, JaxstyleError):
        return str(e)
    if isinstance(e, MemoryError):
        return "out of memory; try a smaller size"
    traceback.print_exception(e)  # the server's log keeps the traceback; the page gets one line
    return f"internal error {type(e).__name__}: {str(e)[:200]}"


def load_upload(path: str | os.PathLike | None, name: str | None, cfg: AppConfig) -> np.ndarray:
    """An uploaded file (a server-side upload path) as RGB float32 (H, W, 3), long side <= WORK_SIDE.

    Refused with a :class:`JaxstyleError` naming ``name`` (the client's file name, never the
    server's path): no file, an empty file, one over ``max_upload_mb``, not an image, over
    ``max_pixels`` (a decompression bomb), or a side under ``images.MIN_SIDE`` px.
    """
    if path is None:
        raise UsageError("no file: upload a photo first")
    name = Path(name or path).name
    size = os.path.getsize(path)
    if size == 0:
        raise JaxstyleError(f"{name}: the file is empty")
    if size > cfg.max_upload_mb * 2**20:
        raise JaxstyleError(f"{name}: {size / 2**20:.1f} MB is over the upload limit of {cfg.max_upload_mb:g} MB")
    try:
        img = images.open_image(path, cfg.max_pixels)
    except JaxstyleError as e:
        raise JaxstyleError(_client_side(str(e), path, name)) from None
    if min(img.size) < images.MIN_SIDE:
        raise JaxstyleError(f"{name}: a {img.width}x{img.height} image is too small "
                            f"(each side needs at least {images.MIN_SIDE} px)")
    if max(img.size) > WORK_SIDE:
        img = images.resize_long_side(img, WORK_SIDE)
    return np.asarray(img, np.float32)


def _client_side(text: str, path, name: str) -> str:
    """``text`` with the server's ``path`` as the client's ``name``, and any other server path (a library's
    message may quote it, cut short) as "the file"."""
    import re

    return re.sub(r"(?<![\w.])'?/[^\s')]*'?", "the file", text.replace(str(path), name))


def at_long_side(img: np.ndarray, side: int) -> np.ndarray:
    """``img`` (H, W[, C]) resized (area-averaged down, linear up) to long side ``side``."""
    import cv2

    h, w = img.shape[:2]
    s = side / max(h, w)
    hw = (max(1, round(h * s)), max(1, round(w * s)))
    if hw == (h, w):
        return np.asarray(img, np.float32)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(np.asarray(img, np.float32), (hw[1], hw[0]), interpolation=interp)


def overlay(state: MapState) -> np.ndarray:
    """The photo with its map drawn over it (uint8 RGB): the object as it is, the rest dimmed and blued."""
    m = state.map[..., None]
    rest = state.photo * 0.35 + np.array([20.0, 40.0, 110.0], np.float32) * 0.65
    return images.to_uint8(m * state.photo + (1.0 - m) * rest)


def map_image(state: MapState) -> np.ndarray:
    """The map as a grey image (uint8 (H, W)): 255 = object."""
    return images.to_uint8(state.map * 255.0)


def without_strokes(state: MapState) -> MapState:
    """``state`` back at its map before strokes."""
    empty = np.zeros(state.auto.shape, bool)
    return replace(state, map=state.auto, add=empty, remove=empty, message="", applied=0)


def spot(hw: tuple[int, int], x: float, y: float, radius: float = SPOT) -> np.ndarray:
    """A clicked point as a stroke: a disc (bool (H, W)) around pixel ``(x, y)``, radius ``radius`` of the long side."""
    yy, xx = np.ogrid[: hw[0], : hw[1]]
    r = max(1.0, radius * max(hw))
    return (xx - float(x)) ** 2 + (yy - float(y)) ** 2 <= r * r


class Engine:
    """What every visitor shares: weights, map weights, paintings, the job queue and the results folder."""

    def __init__(self, cfg: AppConfig = AppConfig(), params: Mapping | None = None):
        from ..model import weights

        self.cfg = cfg
        self.styles = style_choices(cfg.styles_dir)
        self.classes = probe_classes()
        self.params = params if params is not None else weights.load(cfg.weights)[0]
        self.queue = JobQueue(describe_error=message)
        self.out_dir = Path(tempfile.mkdtemp(prefix="jaxstyle-app-"))  # results; removed with the engine
        weakref.finalize(self, shutil.rmtree, self.out_dir, True)
        self._map_lock = threading.Lock()
        self._map_params = None

    def map_params(self) -> Mapping:
        """The object map's forward weights (``levels.Run.map_params``), made once."""
        from ..transfer import levels, stylize

        with self._map_lock:
            if self._map_params is None:
                setup = levels.Setup.build(stylize.Config(), BUNDLED_STYLES[next(iter(BUNDLED_STYLES))], self.params)
                self._map_params = levels.Run(setup).map_params()
            return self._map_params

    def map_config(self):
        from ..transfer import locate

        return locate.map_config({"buckets": MAP_BUCKETS})

    def locate(self, full: np.ndarray, class_name: str) -> MapState:
        """The automatic object map of a photo; a photo without the class gets an empty map and says so."""
        from ..transfer import locate

        if class_name not in self.classes:
            raise UsageError(f"unknown class {class_name!r}; one of {', '.join(self.classes)}")
        cfg = self.map_config()
        photo = at_long_side(full, cfg.size)
        params = self.map_params()
        with self._map_lock:  # one map at a time: two would only share the cores
            r = locate.locate(params, photo, class_name, map_options={"buckets": MAP_BUCKETS})
        m, note = np.asarray(r["map"], np.float32), ""
        if locate.refused(r):
            m = np.zeros_like(m)
            note = (f"no {class_name} found (evidence {r['presence']:.2f} < {r['min_evidence']:.2f}): "
                    f"paint 'add' strokes over the {class_name}, or upload a mask")
        empty = np.zeros(m.shape, bool)
        return MapState(photo, full, m, m, empty, empty, class_name, note)

    def strokes(self, state: MapState, add: np.ndarray | None, remove: np.ndarray | None) -> MapState:
        """``state`` with more strokes (bool masks at any size): its map redone from ``auto`` with all of them."""
        from ..transfer import grabcut

        hw = state.auto.shape
        add = state.add | _mask_at(add, hw)
        remove = state.remove | _mask_at(remove, hw)
        if not (add.any() or remove.any()):
            return without_strokes(state)
        m = grabcut.refine(state.photo, state.auto, add, remove, self.map_config())
        return replace(state, add=add, remove=remove, map=m, message="", applied=state.applied + 1)

    def user_mask(self, state: MapState, path: str | os.PathLike, name: str | None) -> MapState:
        """``state`` with an uploaded mask (white or opaque = object) as its map; strokes cleared."""
        load_upload(path, name, self.cfg)  # the same checks as a photo
        try:
            m = images.load_mask(path, state.auto.shape)
        except JaxstyleError as e:
            raise JaxstyleError(_client_side(str(e), path, Path(name or path).name)) from None
        return without_strokes(replace(state, auto=m))

    def submit(self, state: MapState, style: np.ndarray, **options) -> Job:
        """Queue a stylization of ``state``'s photo inside its map with ``style`` (RGB array).

        ``options`` are :class:`stylize.Config` fields (``size``, ``iterations``...); the run is
        ``method="mask"`` with the map, as ``jaxstyle stylize --mask`` would run it.
        """
        from ..transfer.stylize import Config

        if state.share == 0.0:
            raise JaxstyleError("the map is empty: paint 'add' strokes over the object first")
        cfg = Config(method="mask", mask=state.map, class_name=state.class_name, buckets=MAP_BUCKETS, **options)
        return self.queue.submit(lambda job: self._run(job, state, style, cfg))

    def _run(self, job: Job, state: MapState, style: np.ndarray, cfg) -> dict:
        """A job's work: :func:`stylize.stylize_iter`, a preview per chunk, the PNGs written at the end."""
        from ..transfer.stylize import stylize_iter

        result = None
        for p in stylize_iter(state.full, [(style, 1.0)], params=self.params, config=cfg,
                              on_phase=lambda text: job.update(phase=text)):
            result = p.result or result
            job.update(done=p.done, total=p.total, preview=None if p.result else images.to_uint8(p.image))
        folder = self.out_dir / f"job-{job.id}"
        stylized = images.save_image(result.image, folder / "stylized.png")
        omap = images.save_image(map_image(state), folder / "map.png")
        self._forget_old(job.id)
        return {"image": images.to_uint8(result.image), "content": images.to_uint8(result.content),
                "stylized_png": stylized, "map_png": omap, "seconds": result.seconds}

    def _forget_old(self, newest: int) -> None:
        for d in self.out_dir.glob("job-*"):
            if int(d.name[4:]) <= newest - KEEP_JOBS:
                shutil.rmtree(d, ignore_errors=True)


def _mask_at(m: np.ndarray | None, hw: tuple[int, int]) -> np.ndarray:
    """A stroke mask (bool or numbers, any size) as bool at ``hw``: a pixel counts if any stroke touches it."""
    import cv2

    if m is None:
        return np.zeros(hw, bool)
    m = np.asarray(m, np.float32)
    if m.shape != tuple(hw):
        m = cv2.resize(m, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
    return m > 0
