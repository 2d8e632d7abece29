"""PyTorch baseline for the benchmarks: the same VGG-19 weights and the same Gatys objective.

Benchmark-only (torch is the optional ``bench`` extra). The objective mirrors
``jaxstyle.transfer.objective.make`` for ``method="gatys"`` with the default preset:

* input: RGB 0–255 image, Caffe preprocessing (BGR, minus the channel means);
* style: conv1_1…conv5_1, Gram ``F^T F / (H W)``, per layer ``mean((G - A)^2) / (mean(A^2) + 1e-8)``,
  layer weight 1/5, summed; content: conv4_2, ``mean((F - P)^2) / (mean(P^2) + 1e-8)``;
  TV: ``mean(dy^2) + mean(dx^2)``; total ``wc·content + ws·style + wtv·tv`` (jaxstyle's default preset:
  1, 10, 1e-5; ``--style-weight`` etc. to match another preset);
* the network is truncated after conv5_1 (nothing deeper is computed).

As a script it is the PyTorch counterpart of ``scripts/stylize.py --method gatys``:
``torch.optim.LBFGS`` (history 10, no line search, one evaluation per iteration, as in
neural-style-pt) for ``--iterations`` at ``--size``, from the content image.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "jaxstyle" / "data" / "examples"
CONV = ("conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2",
        "conv3_1", "conv3_2", "conv3_3", "conv3_4", "pool3",
        "conv4_1", "conv4_2", "conv4_3", "conv4_4", "pool4", "conv5_1")
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_LAYER = "conv4_2"
# jaxstyle's default preset (objective.PRESETS["default"]); bench.py passes the live values explicitly
WEIGHTS = {"content": 1.0, "style": 10.0, "tv": 1e-5}
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def load_vgg(path: str | Path = ROOT / "weights" / "vgg19.npz", device="cpu") -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """conv layers up to conv5_1 as (OIHW kernel, bias) float32 tensors from a jaxstyle .npz (HWIO)."""
    z = np.load(path, allow_pickle=False)
    out = {}
    for name in CONV:
        if name.startswith("conv"):
            k = np.ascontiguousarray(z[f"{name}/kernel"].transpose(3, 2, 0, 1))
            out[name] = (torch.from_numpy(k).float().to(device),
                         torch.from_numpy(np.array(z[f"{name}/bias"])).float().to(device))
    return out


def preprocess(rgb: torch.Tensor) -> torch.Tensor:
    """(H, W, 3) RGB 0–255 -> (1, 3, H, W) Caffe input (BGR minus mean)."""
    mean = torch.tensor(CAFFE_MEAN_BGR, dtype=rgb.dtype, device=rgb.device)
    return (rgb.flip(-1) - mean).permute(2, 0, 1).unsqueeze(0)


def features(params, x: torch.Tensor, layers, channels_last: bool = False) -> dict[str, torch.Tensor]:
    """NCHW preprocessed input -> {layer: post-ReLU activations (float32)}, truncated at the deepest layer."""
    want = set(layers)
    last = max(CONV.index(l) for l in layers)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = {}
    for name in CONV[: last + 1]:
        if name.startswith("pool"):
            x = F.max_pool2d(x, 2, 2)
        else:
            k, b = params[name]
            x = F.relu(F.conv2d(x, k, b, padding=1))
            if name in want:
                out[name] = x.float()
    return out


def gram(f: torch.Tensor) -> torch.Tensor:
    c = f.shape[1]
    f2 = f.reshape(c, -1)
    return f2 @ f2.T / f2.shape[1]


def targets(params, content: torch.Tensor, style: torch.Tensor) -> dict:
    """{"style": {layer: Gram}, "content": conv4_2 features} from (H, W, 3) RGB images."""
    with torch.no_grad():
        fs = features(params, preprocess(style), STYLE_LAYERS)
        fc = features(params, preprocess(content), (CONTENT_LAYER,))
    return {"style": {l: gram(fs[l]) for l in STYLE_LAYERS}, "content": fc[CONTENT_LAYER]}


def make_objective(params, tg: dict, bf16: bool = False, channels_last: bool = False, weights: dict | None = None):
    """``f(x) -> (loss, terms)`` for an (H, W, 3) RGB tensor; ``bf16``: autocast the VGG pass."""
    W = dict(WEIGHTS, **(weights or {}))
    energy = {l: (tg["style"][l].square().mean() + 1e-8) for l in STYLE_LAYERS}
    c_energy = tg["content"].square().mean() + 1e-8
    layers = STYLE_LAYERS + (CONTENT_LAYER,)

    def f(x: torch.Tensor):
        if bf16:
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                feats = features(params, preprocess(x), layers, channels_last)
        else:
            feats = features(params, preprocess(x), layers, channels_last)
        style = sum(0.2 * (gram(feats[l]) - tg["style"][l]).square().mean() / energy[l] for l in STYLE_LAYERS)
        content = (feats[CONTENT_LAYER] - tg["content"]).square().mean() / c_energy
        tv = (x[1:] - x[:-1]).square().mean() + (x[:, 1:] - x[:, :-1]).square().mean()
        total = W["content"] * content + W["style"] * style + W["tv"] * tv
        return total, {"content": content.detach(), "style": style.detach(), "tv": tv.detach()}

    return f


def value_and_grad(f, x: torch.Tensor):
    """One function evaluation: loss and d loss / d x (what one L-BFGS iteration costs)."""
    x = x.detach().requires_grad_(True)
    loss, terms = f(x)
    loss.backward()
    return loss.detach(), x.grad


def load_image(path, size: int | None) -> np.ndarray:
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if size is not None:
        w, h = img.size
        s = size / max(w, h)
        img = img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    return np.asarray(img, np.float32)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="PyTorch Gatys baseline (same objective as jaxstyle --method gatys)")
    p.add_argument("--content", default=str(EXAMPLES / "dog.jpg"))
    p.add_argument("--style", default=str(EXAMPLES / "starry_night.jpg"))
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--weights", default=os.environ.get("JAXSTYLE_WEIGHTS") or str(ROOT / "weights" / "vgg19.npz"),
                   help="VGG-19 .npz (default $JAXSTYLE_WEIGHTS, else weights/vgg19.npz, as jaxstyle)")
    p.add_argument("--bf16", action="store_true", help="autocast the VGG pass to bfloat16")
    p.add_argument("--content-weight", type=float, default=WEIGHTS["content"])
    p.add_argument("--style-weight", type=float, default=WEIGHTS["style"])
    p.add_argument("--tv-weight", type=float, default=WEIGHTS["tv"])
    p.add_argument("--out", default=None, help="write the result (PNG) here")
    a = p.parse_args(argv)
    t0 = time.time()
    params = load_vgg(a.weights)
    content = torch.from_numpy(load_image(a.content, a.size))
    # as jaxstyle: style read at 2x, then resized (antialiased bilinear) to the content's long side
    style = torch.from_numpy(load_image(a.style, max(2 * a.size, 64)))
    h, w = style.shape[:2]
    s = a.size / max(h, w)
    style = F.interpolate(style.permute(2, 0, 1)[None], size=(round(h * s), round(w * s)), mode="bilinear",
                          antialias=True, align_corners=False)[0].permute(1, 2, 0).contiguous()
    f = make_objective(params, targets(params, content, style), bf16=a.bf16,
                       weights={"content": a.content_weight, "style": a.style_weight, "tv": a.tv_weight})
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=a.iterations, max_eval=None, tolerance_grad=-1,
                            tolerance_change=-1, history_size=10, line_search_fn=None)
    evals = [0]
    last = {}

    def closure():
        opt.zero_grad()
        loss, terms = f(x)
        loss.backward()
        evals[0] += 1
        last.update(loss=float(loss), **{k: float(v) for k, v in terms.items()})
        return loss

    opt.step(closure)
    with torch.no_grad():
        loss, _ = f(x.clamp(0, 255))
    if a.out:
        from PIL import Image

        Image.fromarray(x.detach().clamp(0, 255).round().byte().numpy()).save(a.out)
    print(f"torch_gatys: {a.iterations} iterations, {evals[0]} evaluations, final loss {float(loss):.6g} "
          f"(unclamped {last['loss']:.6g}), {time.time() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
