"""Does a class probe still know its held-out photos at the map's scale? (docs/CLASSES.md, "Diagnosis")

    python scripts/probe_scales.py --class car [--probes out/probes] [--sides 224 320 512]

For each held-out photo of the class in ``more-masked/`` (jaxstyle/data/more_masked_split.json), the
probe's two heads read the whole photo and its strongest object-like region. Side 224 is the training
view (short side 224, centre crop). Any other side is the long side of the whole photo, as the map sees
it (512). The script prints one line per photo (class probability of the max head and the mean head, whole
photo and region) and then, per source and side, how many photos both heads call the class at >= 0.5.
No mask is read.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    import jax
    import jax.numpy as jnp

    from jaxstyle import images
    from jaxstyle.evaluate import classmatrix
    from jaxstyle.model import vgg, weights
    from jaxstyle.select.probes import probe as P
    from jaxstyle.select.pools.batching import crop_array
    from jaxstyle.select.classes import canonical
    from jaxstyle.select.probes.regions import image_rows

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--class", dest="cls", required=True)
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--probes", default=None, help="folder of <class>.npz probes (default: the shipped ones)")
    p.add_argument("--sides", type=int, nargs="+", default=[224, 320, 512])
    a = p.parse_args()
    cls = canonical(a.cls)
    pr = P.shipped(cls, a.probes and Path(a.probes))
    if pr is None:
        raise SystemExit(f"error: no probe for {cls}")
    params = vgg.prepare(weights.load()[0], "direct", grad=False)
    fn = jax.jit(lambda q, x: vgg.apply(q, vgg.preprocess(x), (P.LAYER,))[P.LAYER])
    hits: dict[tuple[str, int], list[bool]] = {}
    for ph in [x for x in classmatrix.held_out_photos(Path(a.data)) if x.species == cls]:
        line = []
        for side in a.sides:
            x = (crop_array(images.open_image(ph.photo), side) if side == 224
                 else images.load_image(ph.photo, side))
            g = np.asarray(fn(params, jnp.asarray(np.asarray(x, np.float32)[None])))[0]
            whole, regs, reg_means = image_rows(g, pr.pooling)
            v = [pr.probs(whole)[0], pr.mean_probs(g.mean((0, 1)))[0]]
            v += [pr.probs(regs[0])[0], pr.mean_probs(reg_means[0])[0]] if len(regs) else [0.0, 0.0]
            hits.setdefault((ph.source, side), []).append(bool(v[2] >= 0.5 and v[3] >= 0.5))
            line.append(f"{side}: " + " ".join(f"{float(t):.2f}" for t in v))
        print(f"{ph.name:32s} " + " | ".join(line), flush=True)
    print("\n| source | side | n | strongest region: both heads >= 0.5 |\n|---|---:|---:|---:|")
    for (src, side), h in sorted(hits.items()):
        print(f"| {src} | {side} | {len(h)} | {sum(h)} |")


if __name__ == "__main__":
    main()
