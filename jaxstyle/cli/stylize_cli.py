"""``scripts/stylize.py``: object-only style transfer from the command line."""
from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import Sequence

from . import ArgumentParser, config_from_args, nonneg_float, nonneg_int, positive_int, unit_float

EXAMPLES = Path(__file__).parent.parent / "data" / "examples"
DEFAULT_CONTENT = EXAMPLES / "dog.jpg"
DEFAULT_STYLE = EXAMPLES / "starry_night.jpg"
# One photo without --out goes here and replaces the previous one, so the README's first command
# can be run again; an explicit --out (or --save-map) is never overwritten without --force.
DEFAULT_OUT = Path("out") / "stylized.png"  # several photos go to DEFAULT_OUT_DIR
DEFAULT_OUT_DIR = "out/stylized"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
# How the flags meet stylize.Config (checked both ways by tests/test_cli.py): fields made from several
# flags, fields kept at their defaults on the command line, and flags that are not Config fields.
CONFIG_DERIVED = ("method", "filters", "buckets", "map_options")
CONFIG_UNFLAGGED = ("chunk", "pooling", "prefetch")
NOT_CONFIG = ("content", "style", "scores", "out", "force", "skip_existing", "quiet", "save_every", "save_map",
              "weights", "min_evidence", "second_look", "probe_map", "head_gate", "map_variant", "map_edge")


def expand_contents(items: Sequence[str]) -> tuple[list[Path], bool]:
    """``--content`` values as photo paths, and whether they make a batch.

    A folder gives its images (sorted), a pattern with ``*``, ``?`` or ``[`` the images it
    matches; several values or any folder or pattern make a batch.
    """
    from ..errors import UsageError

    out: list[Path] = []
    batch = len(items) > 1
    for it in items:
        p = Path(it)
        if p.is_dir() or any(ch in it for ch in "*?["):
            batch = True
            found = p.iterdir() if p.is_dir() else map(Path, glob.glob(it))
            files = sorted(f for f in found if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
            if not files:
                raise UsageError(f"{it}: no images ({', '.join(IMAGE_SUFFIXES)})")
            out += files
        else:
            out.append(p)
    return out, batch


def _style_arg(s: str) -> tuple[str, float]:
    """``PATH`` or ``PATH:WEIGHT`` (a trailing ``:number`` is a weight)."""
    head, sep, tail = s.rpartition(":")
    if sep and head:
        try:
            w = float(tail)
        except ValueError:
            return s, 1.0
        if not w >= 0:
            raise ValueError
        return head, w
    return s, 1.0


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="jaxstyle stylize", description="Put a painting's style on one object of a photo "
                       "(default: the bundled dog photo, Starry Night, --class dog).")
    p.add_argument("--content", nargs="+", default=[str(DEFAULT_CONTENT)], metavar="PHOTO|DIR|GLOB",
                   help="content photo; several, a folder or a quoted glob stylize a batch into the --out folder")
    p.add_argument("--style", action="append", default=None, metavar="PATH[:WEIGHT]",
                   help="style image; repeat to blend several (weights normalised) (default: the bundled Starry Night)")
    _add_sources(p)
    _add_objective(p)
    _add_run(p)
    _add_map(p)
    _add_outputs(p)
    return p


def _add_sources(p: ArgumentParser) -> None:
    """Where the object comes from: a class, filters or a score file, or a mask."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--class", dest="class_name", default=None,
                     help="object class or group with a shipped filter list (default dog)")
    src.add_argument("--filters", nargs="+", default=None, metavar="LAYER:I,J",
                     help="filters by hand, e.g. conv5_1:3,17 conv4_1:7 (or a file)")
    src.add_argument("--scores", default=None, help="score JSON from score_filters.py (its 'selected' filters)")
    p.add_argument("--mask", default=None, help="object mask image (255 = object) for --method mask")


def _add_objective(p: ArgumentParser) -> None:
    """The method, its weights and iterations, and the coarse-to-fine levels."""
    from ..transfer.objective import PRESETS
    from ..transfer.stylize import DETAILS, METHODS

    p.add_argument("--method", default=None, choices=METHODS,
                   help="auto (default; the object map: VGG-19 regions judged by the class probe), paper (the "
                        "class filters' Grams), gatys (whole image), mask")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS),
                   help="weights and iterations: default, fast (fewer iterations), paper (the paper's raw losses)")
    p.add_argument("--size", type=positive_int, default=512, help="long side in pixels (aspect kept)")
    p.add_argument("--iterations", type=positive_int, default=None,
                   help="total L-BFGS iterations (default: the preset's, 300 for default)")
    p.add_argument("--scales", type=positive_int, default=None, help="coarse-to-fine levels (default: up to 3 on CPU, 1 on GPU/TPU)")
    p.add_argument("--detail", choices=DETAILS, default="style",
                   help="what a new coarse-to-fine level starts with in the band of detail the coarser level "
                        "could not hold: the style's inside the object (default), the photo's, or none")
    p.add_argument("--strength", type=nonneg_float, default=1.0,
                   help="how much of the painting: 0 keeps the photo, 1 the preset's balance, larger paints more "
                        "(scales the style and TV weights; at most 10)")
    p.add_argument("--content-weight", type=nonneg_float, default=None, help="content loss weight (default: the preset's)")
    p.add_argument("--style-weight", type=nonneg_float, default=None, help="style loss weight (default: the preset's, 10 for gatys/paper and 1 for auto/mask)")
    p.add_argument("--tv-weight", type=nonneg_float, default=None,
                   help="total-variation (smoothness) weight (default: the preset's)")
    p.add_argument("--layer-weights", choices=["equal", "proportional"], default="equal",
                   help="paper method: per-layer style weights equal or proportional to #filters")
    p.add_argument("--style-scale", type=nonneg_float, default=1.0, help="style image size relative to --size")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (noise start, detail band phases)")
    p.add_argument("--init", choices=["content", "noise"], default="content", help="start from the photo or from noise")
    p.add_argument("--preserve-colors", action="store_true", help="keep the photo's colours (luminance transfer)")


def _add_run(p: ArgumentParser) -> None:
    """Saving along the way, the weights and how the convolutions and batches run."""
    p.add_argument("--save-every", type=positive_int, default=None, metavar="K",
                   help="also write OUT_stepNNNN.png about every K iterations")
    p.add_argument("--save-map", default=None, metavar="PATH", help="write the object map (auto) as a PNG")
    p.add_argument("--weights", default=None, help="VGG-19 .npz (default weights/vgg19.npz; made on first use)")
    p.add_argument("--conv", choices=["auto", "direct", "winograd"], default="auto",  # = vgg.CONV_ALGOS
                   help="VGG convolutions: auto = Winograd for blocks 2-5 on CPU at levels where it pays, "
                        "the backend's own elsewhere")
    p.add_argument("--buckets", type=nonneg_int, default=None, metavar="N",
                   help="pad each photo to one of N short sides per long side so photos of different sizes "
                        "share compiled programs (0: exact sizes; default 4 for a batch, 0 for one photo)")
    p.add_argument("--map-batch", type=positive_int, default=None, metavar="N",
                   help="a batch with auto: object maps of N photos per VGG pass (default 1 on a CPU, 8 on a GPU/TPU)")


def _add_map(p: ArgumentParser) -> None:
    """The object map's options (``auto``)."""
    p.add_argument("--min-evidence", type=unit_float, default=None, metavar="P",
                   help="auto: the class probability a photo's object must reach, below which it is refused "
                        "as 'no CLASS found' (default: the class's shipped choice, jaxstyle/data/heads/map.json; "
                        "0.2 for the probe map)")
    p.add_argument("--second-look", action="store_true",
                   help="auto: before refusing a photo, map each large region one probe head calls the class again on a "
                        "crop around it (finds an animal beside another one; also takes more look-alikes: "
                        "docs/METHOD.md, stage 5)")
    p.add_argument("--probe-map", action="store_true",
                   help="auto: the probe map (VGG-19 regions judged by the class probe; docs/METHOD.md, 'Object map') "
                        "instead of the learned map, the default for a class whose cell head ships (dog, cat)")
    p.add_argument("--head-gate", action="store_true",
                   help="auto: the probe map, but refuse a photo where the cell head (jaxstyle head) finds no object "
                        "of the class (keeps a horse or a cow from being taken for a dog; docs/RESULTS.md)")
    add_map_variant(p)
    add_map_edge(p)


def add_map_edge(p: ArgumentParser) -> None:
    p.add_argument("--map-edge", choices=["blur", "matte"], default=None,
                   help="auto: the map's soft edge: blur (a Gaussian ramp across the outline) or matte (pymatting's "
                        "closed-form alpha on the photo near the outline; docs/METHOD.md, 'The map's edge'); default blur")


def add_map_variant(p: ArgumentParser) -> None:
    from ..evaluate.loso import judged_variants

    p.add_argument("--map-variant", choices=judged_variants(), default=None,
                   help="auto, learned map: another measured variant than the class's shipped choice, e.g. "
                        "patch-j0 (each animal patch judged by the cell head's patch judge; docs/RESULTS.md, "
                        "'Learned map and head gate'); the refusal stays the shipped one unless --min-evidence")


def _add_outputs(p: ArgumentParser) -> None:
    """Where the results go, and what may be overwritten."""
    p.add_argument("--out", default=None, help=f"output image (.png or .jpg); default {DEFAULT_OUT}, which each "
                   f"one-photo run without --out replaces; for a batch a folder (default {DEFAULT_OUT_DIR}) "
                   "that gets PHOTO_NAME.png")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs (--out, --save-map, step images)")
    p.add_argument("--skip-existing", action="store_true", help="batch: leave photos whose output exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

def main(argv: Sequence[str] | None = None) -> int:
    import numpy as np

    from .. import images
    from ..model import weights
    from ..errors import UsageError

    a = build_parser().parse_args(argv)
    from .._cache import enable_compilation_cache

    enable_compilation_cache()  # a rerun at the same shapes loads compiled programs from disk
    try:
        styles = [_style_arg(s) for s in (a.style or [str(DEFAULT_STYLE)])]
    except ValueError:
        raise UsageError("--style weights must be numbers >= 0 (PATH:WEIGHT)") from None
    method = a.method or ("mask" if a.mask else "auto")
    if a.mask and method != "mask":
        raise UsageError("--mask is only used with --method mask")
    if a.save_map and method != "auto":
        raise UsageError("--save-map needs --method auto")
    photos, batch = expand_contents(a.content)
    if batch:
        return _main_batch(a, photos, styles, method)
    a.content = str(photos[0])
    out, replace_out = _check_outputs(a)
    # Decode inputs first so a bad file fails before weights load or compile.
    photo = images.Photo.open(a.content)  # decoded once: stylize reads it at each size it needs
    photo.check(a.size)
    style_imgs = [(images.load_image(s, max(2 * a.size, 64)), w) for s, w in styles]
    params, _ = weights.load(a.weights)
    filters = a.filters or a.scores
    if method in ("auto", "paper") and filters is None and a.class_name is None:
        a.class_name = "dog"

    result = _run_one(a, photo, style_imgs, params, _config(a, method, filters, a.buckets or 0), out)
    images.save_image(result.image, out, force=replace_out)
    if a.save_map:
        images.save_image(np.repeat(result.object_map[..., None] * 255.0, 3, -1), a.save_map, force=a.force)
    fl = ""
    if result.filters:
        from ..select.probes import filters as flt
        fl = f", filters {flt.format(result.filters)}"
    print(f"wrote {out} ({method}, {result.image.shape[1]}x{result.image.shape[0]}, "
          f"{result.seconds:.1f}s{fl})")
    return 0


def _run_one(a, photo, style_imgs, params, config, out: Path):
    """:func:`stylize_iter` of ``photo`` (``a.content`` decoded) with a progress bar (unless ``--quiet``) and the
    ``--save-every`` step images; the :class:`~jaxstyle.transfer.stylize.Result`."""
    import numpy as np

    from .. import images
    from ..transfer.stylize import stylize_iter

    bar = None
    if not a.quiet:
        from tqdm import tqdm
        bar = tqdm(total=1, unit="it", dynamic_ncols=True, file=sys.stderr)
    last_saved = 0
    result = None
    try:  # the bar is closed first, so an error (e.g. "no dog found") is the last line
        for prog in stylize_iter(photo, style_imgs, params=params, config=config,
                                 on_phase=None if bar is None else (lambda text: bar.set_description(text, refresh=True))):
            if bar is not None:
                _show(bar, prog)
            if a.save_every and prog.result is None and prog.done - last_saved >= a.save_every:
                last_saved = prog.done
                images.save_image(np.asarray(prog.image), out.with_name(f"{out.stem}_step{prog.done:04d}{out.suffix}"),
                                force=True)
            result = prog.result or result
    finally:
        if bar is not None:
            bar.close()
    return result


def _check_outputs(a) -> tuple[Path, bool]:
    """The output path and whether it may be replaced; refuses, before any work, what exists."""
    from ..errors import OutputExistsError, UsageError

    if a.out is None:  # the demo's own default output: replaced on every run
        out, replace_out = DEFAULT_OUT, True
    else:
        out, replace_out = Path(a.out), a.force
    if out.exists() and not replace_out:
        raise OutputExistsError(out)
    if a.save_map and Path(a.save_map).exists() and not a.force:
        raise OutputExistsError(a.save_map)
    if a.save_every and not replace_out and any(out.parent.glob(f"{out.stem}_step*{out.suffix}")):
        raise OutputExistsError(f"{out.parent}/{out.stem}_step*{out.suffix}", "exist")
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UsageError(f"{out}: output must end in .png, .jpg or .jpeg")
    return out, replace_out


def _config(a, method: str, filters, buckets: int):
    """The :class:`stylize.Config` of the parsed flags (each field from the flag of its name, but
    :data:`CONFIG_DERIVED` and :data:`CONFIG_UNFLAGGED`)."""
    from ..transfer.stylize import Config

    return config_from_args(Config, a, CONFIG_UNFLAGGED, method=method, filters=filters, buckets=buckets,
                            map_options=map_options(a))


def map_options(a) -> dict | None:
    """``MapConfig`` fields set by flags: ``--min-evidence`` (where the parser has it), ``--second-look``,
    ``--probe-map``, ``--head-gate``, ``--map-variant``, ``--map-edge`` (stylize's, evaluate's and the map
    benchmark's flags). ``--second-look``, ``--probe-map`` and ``--head-gate`` choose the probe map
    (:func:`jaxstyle.transfer.locate.map_config`)."""
    from ..transfer.objectmap import GATE, SECOND_LOOK

    min_evidence = getattr(a, "min_evidence", None)
    opts = {"min_evidence": min_evidence} if min_evidence is not None else {}
    if getattr(a, "second_look", False):
        opts["second_look"] = SECOND_LOOK
    if a.probe_map:
        opts["learned"] = False
    if getattr(a, "head_gate", False):
        opts.update(GATE)
    if getattr(a, "map_edge", None):
        opts["edge"] = a.map_edge
    if getattr(a, "map_variant", None):
        from ..evaluate.loso import variants
        from ..transfer.mapconfig import MapConfig

        # every field a variant sets, at its default unless this one sets it: the shipped choice's views or
        # judge do not leak into another variant
        keys, default = {k for fields in variants().values() for k in fields} - {"learned"}, MapConfig()
        opts.update({**{k: getattr(default, k) for k in keys},
                     **{k: v for k, v in variants()[a.map_variant].items() if k != "learned"}})
    return opts or None


def _show(bar, prog) -> None:
    """An iteration bar at ``prog``: iterations done of the photo's total, loss and terms."""
    bar.total = prog.total
    bar.n = prog.done
    t = prog.terms
    bar.set_postfix_str(f"loss {prog.loss:.4g} style {t.get('style', float('nan')):.3g} "
                        f"content {t.get('content', float('nan')):.3g}", refresh=True)


def _batch_outputs(a, photos: list[Path]) -> list[Path | None]:
    """Each photo's output path in the --out folder (None: --skip-existing and it exists); checked before any work."""
    from ..errors import OutputExistsError, UsageError

    out_dir = Path(a.out or DEFAULT_OUT_DIR)
    if out_dir.suffix.lower() in IMAGE_SUFFIXES:
        raise UsageError(f"{out_dir}: with several photos --out is a folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a folder")
    if a.save_every or a.save_map:
        raise UsageError("--save-every and --save-map take a single photo")
    outs, seen = [], {}
    for p in photos:
        o = out_dir / f"{p.stem}.png"
        if o in seen:
            raise UsageError(f"{seen[o]} and {p} would both write {o}")
        seen[o] = p
        if o.exists() and not a.force:
            if not a.skip_existing:
                raise OutputExistsError(o, "exists; pass --force to overwrite or --skip-existing to leave it;")
            o = None
        outs.append(o)
    return outs


def _main_batch(a, photos: list[Path], styles, method: str) -> int:
    """Stylize ``photos`` into the --out folder, writing each result as it finishes (exit 1 if any failed)."""
    from .. import images
    from ..model import weights
    from ..transfer.stylize import stylize_batch

    outs = _batch_outputs(a, photos)
    todo = [(p, o) for p, o in zip(photos, outs) if o is not None]
    if not todo:
        print(f"nothing to do: all {len(photos)} outputs exist")
        return 0
    style_imgs = [(images.load_image(s, max(2 * a.size, 64)), w) for s, w in styles]
    params, _ = weights.load(a.weights)
    filters = a.filters or a.scores
    if method in ("auto", "paper") and filters is None and a.class_name is None:
        a.class_name = "dog"
    cfg = _config(a, method, filters, 4 if a.buckets is None else a.buckets)
    photo_bar = it_bar = None
    say = print
    if not a.quiet:
        from tqdm import tqdm
        photo_bar = tqdm(total=len(todo), unit="photo", dynamic_ncols=True, file=sys.stderr, position=0)
        it_bar = tqdm(total=1, unit="it", dynamic_ncols=True, file=sys.stderr, position=1, leave=False)
        say = tqdm.write
    failed = 0
    items = stylize_batch([str(p) for p, _ in todo], style_imgs, params=params, config=cfg,
                          on_phase=None if it_bar is None else (lambda text: it_bar.set_description(text, refresh=True)),
                          on_progress=None if it_bar is None else (lambda i, prog: _show(it_bar, prog)))
    for item in items:
        photo, out = todo[item.index]
        if item.error is not None:
            failed += 1
            say(f"{photo}: {item.error}")
        else:
            images.save_image(item.result.image, out, force=a.force)
            say(f"wrote {out} ({item.result.image.shape[1]}x{item.result.image.shape[0]}, {item.result.seconds:.1f}s)")
        if photo_bar is not None:
            photo_bar.update(1)
    for bar in (it_bar, photo_bar):
        if bar is not None:
            bar.close()
    print(f"{len(todo) - failed} of {len(todo)} photos stylized into {Path(a.out or DEFAULT_OUT_DIR)}"
          + (f"; {failed} failed" if failed else ""))
    return 1 if failed else 0
