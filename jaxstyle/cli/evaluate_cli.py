"""``jaxstyle evaluate`` / ``scripts/evaluate.py``: its flags and entry point; the evaluation itself
is :mod:`jaxstyle.evaluate.evaluation`."""
from __future__ import annotations

from typing import Sequence

from . import ArgumentParser, config_from_args, nonneg_float, nonneg_int, positive_int
from ..evaluate import composites, evaluation as E, mapeval
from ..model import weights
from ..transfer.stylize import DETAILS
from .stylize_cli import add_map_edge, add_map_variant, map_options

# How the flags meet evaluation.RunConfig (checked both ways by tests/test_cli.py): fields made from
# several flags, and flags that are not RunConfig fields (modes, inputs, outputs, stylize_kwargs' flags).
CONFIG_DERIVED = ("methods", "style_names", "stylize_kwargs")
STYLIZE_KWARGS = ("scales", "detail", "strength")
NOT_CONFIG = ("maps_only", "composites", "second_look", "probe_map", "head_gate", "map_variant", "map_edge", "merge",
              "pairs", "styles",
              "photos", "only_dogs", "limit_photos", "weights", "out", "force") + STYLIZE_KWARGS


def _csv_list(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def build_parser():
    p = ArgumentParser(prog="jaxstyle evaluate", description="Score object-only stylization on masked photos "
                       "(metrics: docs/METRICS.md) and render a gallery per photo x style.")
    p.add_argument("--maps-only", action="store_true",
                   help="score the auto object map alone against each mask (no stylizing; no --styles needed): "
                   "OUT/maps.csv and maps.md")
    p.add_argument("--composites", type=positive_int, default=None, metavar="N",
                   help="with --maps-only: score N photos of two animals side by side instead (half two of --class, "
                   "half one beside another species): OUT/composites.csv and composites.md")
    p.add_argument("--second-look", action="store_true",
                   help="with --maps-only: the map's second look before a refusal (stylize --second-look)")
    p.add_argument("--probe-map", action="store_true",
                   help="with --maps-only: the probe map instead of the learned map (stylize --probe-map)")
    p.add_argument("--head-gate", action="store_true",
                   help="with --maps-only: the probe map refused where the cell head finds no class (stylize --head-gate)")
    add_map_variant(p)
    add_map_edge(p)
    p.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                   help="only combine the results.json of earlier runs (in DIRs) into --out; no stylizing")
    p.add_argument("--pairs", help="folder of NAME.jpg + NAME_mask.png (255 = object); "
                   "an index.csv with an is_dog column is used when present")
    p.add_argument("--styles", help="folder of style images")
    p.add_argument("--style-names", type=_csv_list, default=None, metavar="A,B",
                   help="style file stems to use (default: all)")
    p.add_argument("--methods", type=_csv_list, default=list(E.ALL_METHODS), metavar="M,..",
                   help="comma list of auto,paper,gatys,mask (default: all)")
    p.add_argument("--photos", type=_csv_list, default=None, metavar="NAME,..",
                   help="photo names or shell patterns to keep (default: all)")
    p.add_argument("--only-dogs", action="store_true", help="keep dog photos only")
    p.add_argument("--limit-photos", type=positive_int, default=None, metavar="K", help="first K photos")
    p.add_argument("--size", type=positive_int, default=512, help="long side in pixels")
    p.add_argument("--iterations", type=positive_int, default=None, help="L-BFGS iterations (default: preset's)")
    p.add_argument("--preset", default="default", help="stylize preset: default, fast or paper")
    p.add_argument("--scales", type=positive_int, default=None,
                   help="coarse-to-fine levels (default: the backend's, up to 3 on CPU, 1 on GPU/TPU)")
    p.add_argument("--detail", choices=DETAILS, default=None,
                   help="a new level's detail band: style, photo or none (default: stylize's, style)")
    p.add_argument("--strength", type=nonneg_float, default=None,
                   help="stylize --strength of every run (default: stylize's, 1)")
    p.add_argument("--class", dest="class_name", default="dog", help="class for auto/paper (default dog)")
    p.add_argument("--filters", default=None, help="filters for auto/paper instead of --class, e.g. conv5_1:3,17")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed of every run")
    p.add_argument("--weights", default=None, help="weights .npz (default weights/vgg19.npz)")
    p.add_argument("--save-outputs", action="store_true", help=f"also save every output under OUT/{E.IMAGES_DIR}/")
    p.add_argument("--gallery-width", type=positive_int, default=256, help="panel long side in the gallery")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="overwrite previous results in --out")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.merge:
        E.merge(args.merge, args.out, force=args.force)
        return 0
    if not args.pairs or not (args.styles or args.maps_only):
        parser.error("--pairs and --styles are required (unless --merge or --maps-only)")
    params = None
    if args.weights:
        params, _ = weights.load(args.weights)
    if args.composites and not args.maps_only:
        parser.error("--composites needs --maps-only")
    if args.composites:
        composites.run_composites(args.pairs, args.out, args.composites, size=args.size, class_name=args.class_name,
                                  seed=args.seed, photos=args.photos, limit_photos=args.limit_photos,
                                  force=args.force, params=params, map_options=map_options(args))
        return 0
    if args.maps_only:
        mapeval.run_maps(args.pairs, args.out, size=args.size, class_name=args.class_name, filters=args.filters,
                         photos=args.photos, only_dogs=args.only_dogs, limit_photos=args.limit_photos, force=args.force,
                         params=params, map_options=map_options(args))
        return 0
    cfg = config_from_args(E.RunConfig, args, methods=tuple(args.methods),
                           style_names=args.style_names and tuple(args.style_names),
                           stylize_kwargs={k: getattr(args, k) for k in STYLIZE_KWARGS if getattr(args, k) is not None})
    E.run(args.pairs, args.styles, args.out, cfg, photos=args.photos, only_dogs=args.only_dogs,
          limit_photos=args.limit_photos, force=args.force, params=params)
    return 0
