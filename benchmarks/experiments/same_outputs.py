"""Stylized outputs and object maps of three real photos, written to one .npz, or two such files compared.

A behaviour-preserving change is checked by running this on the code before and after it
and comparing: ``PYTHONPATH=OLD python benchmarks/experiments/same_outputs.py old.npz``, the same with
``PYTHONPATH=NEW`` into ``new.npz``, then ``python benchmarks/experiments/same_outputs.py --compare old.npz
new.npz`` (exit 1 unless every array is bit-identical). Only :func:`jaxstyle.transfer.stylize.stylize`
is called, so both sides need nothing else in common. Runs: ``auto`` (the probe's map, two
levels, the style's detail band), ``auto`` padded to buckets, ``mask``, ``paper``,
``gatys``, and ``auto`` located by the shipped dog score file's filters instead of the
probe, at small sizes (a few minutes on a 2-core CPU; ``--runs`` picks some).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PHOTOS = ("davis_dog_00000", "davis_dog_00030", "davis_dog_00059")
STYLE = "vangogh_starry_night.jpg"
RUNS = {
    "auto": dict(method="auto", class_name="dog", size=128, iterations=12, scales=2),
    "auto_buckets": dict(method="auto", class_name="dog", size=112, iterations=8, scales=2, buckets=2),
    "mask": dict(method="mask", size=96, iterations=8, scales=2),
    "paper": dict(method="paper", preset="paper", class_name="dog", size=64, iterations=6, scales=1),
    "gatys": dict(method="gatys", size=64, iterations=6, scales=2, strength=0.5),
    # the map from the shipped score file's filters (its AP ranking), not the probe
    "auto_scores": dict(method="auto", class_name="dog", filters="SHIPPED_DOG_SCORES", size=96, iterations=6, scales=1),
}


def write(out: str, shared: Path, runs) -> None:
    import jaxstyle
    from jaxstyle.model import weights
    from jaxstyle.transfer.stylize import stylize

    params, _ = weights.load()
    scores = str(Path(jaxstyle.__file__).parent / "data" / "filters" / "dog.json")
    arrays = {}
    for photo in PHOTOS:
        content = shared / "masked" / f"{photo}.jpg"
        for name in runs:
            kw = {k: scores if v == "SHIPPED_DOG_SCORES" else v for k, v in RUNS[name].items()}
            extra = {"mask": str(shared / "masked" / f"{photo}_mask.png")} if kw["method"] == "mask" else {}
            r = stylize(str(content), str(shared / "styles" / STYLE), params=params, chunk=4, **kw, **extra)
            arrays[f"{photo}/{name}/image"] = r.image
            if r.object_map is not None:
                arrays[f"{photo}/{name}/map"] = np.asarray(r.object_map, np.float32)
            arrays[f"{photo}/{name}/losses"] = np.asarray([r.losses[k] for k in sorted(r.losses)], np.float64)
            print(photo, name, r.losses.get("loss"), flush=True)
    np.savez(out, **arrays)


def compare(a: str, b: str) -> int:
    with np.load(a) as za, np.load(b) as zb:
        if sorted(za.files) != sorted(zb.files):
            print("different arrays:", sorted(set(za.files) ^ set(zb.files)))
            return 1
        bad = [k for k in za.files if za[k].shape != zb[k].shape or za[k].tobytes() != zb[k].tobytes()]
        for k in bad:
            print(f"{k}: differs (max abs {np.abs(za[k].astype(np.float64) - zb[k]).max() if za[k].shape == zb[k].shape else 'shape'})")
        print(f"{len(za.files) - len(bad)} of {len(za.files)} arrays bit-identical")
        return 1 if bad else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", nargs="?", help="the .npz to write")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"))
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    a = p.parse_args(argv)
    if a.compare:
        return compare(*a.compare)
    if not a.out:
        p.error("give OUT or --compare A B")
    write(a.out, a.shared, a.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
