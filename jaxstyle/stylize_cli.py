"""``scripts/stylize.py``: object-only style transfer from the command line."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from .cli import ArgumentParser, nonneg_float, nonneg_int, positive_int

EXAMPLES = Path(__file__).parent / "data" / "examples"
DEFAULT_CONTENT = EXAMPLES / "dog.jpg"
DEFAULT_STYLE = EXAMPLES / "starry_night.jpg"
# Without --out the result goes here and replaces the previous one, so the README's first
# command can be run again; an explicit --out (or --save-map) is never overwritten without --force.
DEFAULT_OUT = Path("out") / "stylized.png"


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
    from .stylize import DETAILS, METHODS, PRESETS

    p = ArgumentParser(prog="jaxstyle stylize", description="Put a painting's style on one object of a photo "
                       "(default: the bundled dog photo, Starry Night, --class dog).")
    p.add_argument("--content", default=str(DEFAULT_CONTENT), help="content photo")
    p.add_argument("--style", action="append", default=None, metavar="PATH[:WEIGHT]",
                   help="style image; repeat to blend several (weights normalised) (default: the bundled Starry Night)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--class", dest="class_name", default=None,
                     help="object class or group with a shipped filter list (default dog)")
    src.add_argument("--filters", nargs="+", default=None, metavar="LAYER:I,J",
                     help="filters by hand, e.g. conv5_1:3,17 conv4_1:7 (or a file)")
    src.add_argument("--scores", default=None, help="score JSON from score_filters.py (its 'selected' filters)")
    p.add_argument("--mask", default=None, help="object mask image (255 = object) for --method mask")
    p.add_argument("--method", default=None, choices=METHODS,
                   help="auto (default; object map from the filters), paper, gatys (whole image), mask")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS),
                   help="weights and iterations: default, fast (fewer iterations), paper (the paper's raw losses)")
    p.add_argument("--size", type=positive_int, default=512, help="long side in pixels (aspect kept)")
    p.add_argument("--iterations", type=positive_int, default=None,
                   help="total L-BFGS iterations (default: the preset's, 300 for default)")
    p.add_argument("--scales", type=positive_int, default=None, help="coarse-to-fine levels (default: up to 3 on CPU, 1 on GPU/TPU)")
    p.add_argument("--detail", choices=DETAILS, default="style",
                   help="what a new coarse-to-fine level starts with in the band of detail the coarser level "
                        "could not hold: the style's inside the object (default), the photo's, or none")
    p.add_argument("--content-weight", type=nonneg_float, default=None, help="content loss weight (default: the preset's)")
    p.add_argument("--style-weight", type=nonneg_float, default=None, help="style loss weight (default: the preset's)")
    p.add_argument("--tv-weight", type=nonneg_float, default=None,
                   help="total-variation (smoothness) weight (default: the preset's)")
    p.add_argument("--layer-weights", choices=["equal", "proportional"], default="equal",
                   help="paper method: per-layer style weights equal or proportional to #filters")
    p.add_argument("--style-scale", type=nonneg_float, default=1.0, help="style image size relative to --size")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (noise start, detail band phases)")
    p.add_argument("--init", choices=["content", "noise"], default="content", help="start from the photo or from noise")
    p.add_argument("--preserve-colors", action="store_true", help="keep the photo's colours (luminance transfer)")
    p.add_argument("--save-every", type=positive_int, default=None, metavar="K",
                   help="also write OUT_stepNNNN.png about every K iterations")
    p.add_argument("--save-map", default=None, metavar="PATH", help="write the object map (auto) as a PNG")
    p.add_argument("--weights", default=None, help="VGG-19 .npz (default weights/vgg19.npz; made on first use)")
    p.add_argument("--conv", choices=["auto", "direct", "winograd"], default="auto",  # = vgg.CONV_ALGOS
                   help="VGG convolutions: auto = Winograd for blocks 2-5 on CPU at levels where it pays, "
                        "the backend's own elsewhere")
    p.add_argument("--out", default=None, help=f"output image (.png or .jpg); default {DEFAULT_OUT}, "
                   "which each run without --out replaces")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out, --save-map or step images")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _check_outputs(a) -> tuple[Path, bool]:
    """The output path and whether it may be replaced; refuses, before any work, what exists."""
    from .errors import OutputExistsError, UsageError

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


def _show(bar, prog) -> None:
    """One progress-bar update: level size, iterations, loss terms."""
    bar.total, bar.n, t = prog.total, prog.done, prog.terms
    bar.set_description(f"{prog.shape[1]}x{prog.shape[0]}")
    bar.set_postfix_str(f"loss {prog.loss:.4g} style {t.get('style', float('nan')):.3g} "
                        f"content {t.get('content', float('nan')):.3g}", refresh=True)


def main(argv: Sequence[str] | None = None) -> int:
    import numpy as np

    from . import data, weights
    from .errors import UsageError
    from .stylize import stylize_iter

    a = build_parser().parse_args(argv)
    from ._cache import enable_compilation_cache

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
    out, replace_out = _check_outputs(a)
    # Decode inputs first so a bad file fails before weights load or compile.
    data.load_image(a.content, a.size)  # validate early; stylize reloads at each needed size
    style_imgs = [(data.load_image(s, max(2 * a.size, 64)), w) for s, w in styles]
    params, _ = weights.load(a.weights)
    filters = a.filters or a.scores
    if method in ("auto", "paper") and filters is None and a.class_name is None:
        a.class_name = "dog"

    bar = None
    if not a.quiet:
        from tqdm import tqdm
        bar = tqdm(total=1, unit="it", dynamic_ncols=True, file=sys.stderr)
    last_saved = 0
    result = None
    for prog in stylize_iter(a.content, style_imgs, method=method, class_name=a.class_name, filters=filters,
                             mask=a.mask, size=a.size, iterations=a.iterations, preset=a.preset,
                             content_weight=a.content_weight, style_weight=a.style_weight,
                             tv_weight=a.tv_weight, layer_weights=a.layer_weights, seed=a.seed, init=a.init,
                             scales=a.scales, detail=a.detail, preserve_colors=a.preserve_colors, style_scale=a.style_scale,
                             params=params, conv=a.conv):
        if bar is not None:
            _show(bar, prog)
        if a.save_every and prog.result is None and prog.done - last_saved >= a.save_every:
            last_saved = prog.done
            data.save_image(np.asarray(prog.image), out.with_name(f"{out.stem}_step{prog.done:04d}{out.suffix}"),
                            force=True)
        result = prog.result or result
    if bar is not None:
        bar.close()
    data.save_image(result.image, out, force=replace_out)
    if a.save_map:
        data.save_image(np.repeat(result.object_map[..., None] * 255.0, 3, -1), a.save_map, force=a.force)
    fl = ""
    if result.filters:
        from . import filters as flt
        fl = f", filters {flt.format(result.filters)}"
    print(f"wrote {out} ({method}, {result.image.shape[1]}x{result.image.shape[0]}, "
          f"{result.seconds:.1f}s{fl})")
    return 0
