"""Cell head: is a cell of a photo's feature grid the class, its kin (another animal), a person or scene?

The learned map's decision (:mod:`jaxstyle.transfer.objectmap`, ``MapConfig.learned``). Its input
is a VGG-19 hypercolumn per ``conv5_4`` cell (1/16 of the photo): ``conv3_4``, ``conv4_4`` and
``conv5_4`` average-pooled to that grid (:func:`hypercolumns`, in the map's one jitted pass),
each layer divided by its mean cell norm on the photo (:func:`normalise`), so a cell is read
against the rest of its photo, as objectness reads it. Its output is a softmax over
:func:`group_names`: the class, then its kin (``animal``, any other animal, for an animal;
``conveyance`` for a car; :func:`jaxstyle.select.heads.cellpool.kin`), ``person``, ``scene``.

It is a small MLP trained by :mod:`jaxstyle.select.heads.cellpool` (on the cells of
:mod:`jaxstyle.train.cellpass`) on image-level labels only (no mask): the pools' images of the
class give their confident cells of today's probe-judged map, images of other animals, of people
and of things give their object cells as "not the class". Saved as a flat ``.npz`` (``mu``, ``sd``,
``W0``, ``b0``, ``W1``, ``b1``, ``groups``, ``meta`` JSON), read with ``allow_pickle=False``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ...errors import JaxstyleError

LAYERS = ("conv3_4", "conv4_4", "conv5_4")
KINDS = ("animal", "person", "scene")
DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "heads"


def group_names(target: str, kin: str = KINDS[0]) -> tuple[str, ...]:
    """The head's groups for ``target``: the target, its kin (:func:`cellpool.kin`; any other animal for an
    animal), then the rest of :data:`KINDS`."""
    return (target, kin) + KINDS[1:]


def hypercolumns(feats: Mapping, layers: Sequence[str] = LAYERS):
    """``feats[layer]`` (N, H_l, W_l, C_l) average-pooled to the last layer's grid and concatenated: (N, h, w, sum C)."""
    import jax.numpy as jnp

    last = feats[layers[-1]]
    h, w = last.shape[1:3]
    out = []
    for layer in layers:
        x = feats[layer]
        k = x.shape[1] // h
        x = x[:, : h * k, : w * k]
        out.append(x.reshape(x.shape[0], h, k, w, k, x.shape[-1]).mean((2, 4)))
    return jnp.concatenate(out, -1)


def normalise(grid: np.ndarray, dims: Sequence[int]) -> np.ndarray:
    """A hypercolumn grid (h, w, C) with each layer's block (``dims`` channels each) over its mean cell norm."""
    grid = np.asarray(grid, np.float32)
    out, s = [], 0
    for d in dims:
        x = grid[..., s: s + d]
        out.append(x / (np.linalg.norm(x, axis=-1).mean() + 1e-6))
        s += d
    return np.concatenate(out, -1)


@dataclass(frozen=True)
class CellHead:
    """MLP over normalised hypercolumn cells: ``relu(z @ W0 + b0) @ W1 + b1``, ``z = (x - mu) / sd``."""

    groups: tuple[str, ...]
    mu: np.ndarray
    sd: np.ndarray
    weights: tuple[tuple[np.ndarray, np.ndarray], ...]
    meta: Mapping
    judge: "CellHead | None" = None  # the patch judge (:mod:`jaxstyle.select.heads.patchjudge`), an MLP of this kind

    @property
    def target(self) -> str:
        return self.groups[0]

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.meta["dims"])

    def logits(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float32) - self.mu) / self.sd
        for i, (W, b) in enumerate(self.weights):
            z = z @ W + b
            if i < len(self.weights) - 1:
                z = np.maximum(z, 0.0)
        return z

    def probs(self, x: np.ndarray) -> np.ndarray:
        """Group probabilities (..., K) of normalised cells ``x`` (..., C)."""
        from ..probes.probe import softmax

        return softmax(self.logits(x))

    def grid_probs(self, grid: np.ndarray) -> np.ndarray:
        """Group probabilities (h, w, K) of a raw hypercolumn grid (h, w, C) of one photo."""
        return self.probs(normalise(grid, self.dims))


def fit(X: np.ndarray, y: np.ndarray, groups: Sequence[str], key, hidden: int = 64, steps: int = 400,
        lr: float = 3e-3, l2: float = 1e-4, *, meta: Mapping | None = None) -> CellHead:
    """Class-balanced cross-entropy of an MLP (one ``hidden`` layer) on cells ``X`` (n, C) with labels ``y``
    (n,) in ``range(len(groups))``, full-batch Adam (optax) for ``steps``; ``meta['loss']`` has the first and last loss."""
    import jax
    import jax.numpy as jnp
    import optax

    k = len(groups)
    counts = np.bincount(y, minlength=k)
    if counts[0] == 0:
        raise JaxstyleError(f"no cell of {groups[0]!r} to train on")
    mu, sd = X.mean(0).astype(np.float32), (X.std(0) + 1e-3).astype(np.float32)
    Z = jnp.asarray((X - mu) / sd, jnp.float32)
    w = jnp.asarray(np.where(counts[y] > 0, 1.0 / np.maximum(counts[y], 1), 0.0) / (counts > 0).sum(), jnp.float32)
    yj = jnp.asarray(y)
    k1, k2 = jax.random.split(key)
    c = X.shape[1]
    params = {"W0": jax.random.normal(k1, (c, hidden)) * np.sqrt(2.0 / c), "b0": jnp.zeros(hidden),
              "W1": jax.random.normal(k2, (hidden, k)) * np.sqrt(1.0 / hidden), "b1": jnp.zeros(k)}

    def loss_fn(p):
        z = jax.nn.relu(Z @ p["W0"] + p["b0"]) @ p["W1"] + p["b1"]
        ce = -jnp.take_along_axis(jax.nn.log_softmax(z), yj[:, None], 1)[:, 0]
        return jnp.sum(w * ce) + l2 * (jnp.sum(p["W0"] ** 2) + jnp.sum(p["W1"] ** 2))

    opt = optax.adam(lr)

    @jax.jit
    def step(p, s):
        loss, g = jax.value_and_grad(loss_fn)(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    state, losses = opt.init(params), []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    p = {n: np.asarray(v, np.float32) for n, v in params.items()}
    info = {"hidden": hidden, "steps": steps, "lr": lr, "l2": l2, "loss": [losses[0], losses[-1]],
            "counts": {g: int(n) for g, n in zip(groups, counts)}, **(meta or {})}
    return CellHead(tuple(groups), mu, sd, ((p["W0"], p["b0"]), (p["W1"], p["b1"])), info)


def _arrays(head: CellHead, prefix: str = "") -> dict[str, np.ndarray]:
    weights = {f"{prefix}{n}{i}": a for i, wb in enumerate(head.weights) for n, a in zip("Wb", wb)}
    return {f"{prefix}mu": head.mu, f"{prefix}sd": head.sd, f"{prefix}groups": np.array(head.groups), **weights}


def save(head: CellHead, path: str | Path) -> Path:
    """A flat ``.npz``: the head's arrays, its patch judge's under ``judge/`` and its metadata under ``judge``."""
    from ... import artifact

    arrays, meta = _arrays(head), dict(head.meta)
    if head.judge is not None:
        arrays.update(_arrays(head.judge, "judge/"))
        meta["judge"] = dict(head.judge.meta)
    artifact.write(path, arrays, meta)
    return Path(path)


def _mlp(path, what: str, z: Mapping, meta: Mapping, prefix: str = "") -> CellHead:
    """The MLP of ``z``'s arrays named ``prefix`` + ``mu``, ``sd``, ``groups``, ``W<i>``, ``b<i>``."""
    if "dims" not in meta:
        raise JaxstyleError(f"{path}: not a {what} (no dims in its {prefix or 'head '}metadata)")
    n = sum(1 for f in z if f.startswith(prefix + "W") and f[len(prefix) + 1:].isdigit())
    try:
        weights = tuple((z[f"{prefix}W{i}"], z[f"{prefix}b{i}"]) for i in range(n))
        head = CellHead(tuple(str(g) for g in z[f"{prefix}groups"]), z[f"{prefix}mu"], z[f"{prefix}sd"], weights,
                        {k: v for k, v in meta.items() if k != "judge"})
    except KeyError as e:
        raise JaxstyleError(f"{path}: not a {what} (no {e.args[0]})") from None
    c = head.mu.shape[0]
    if not weights or weights[0][0].shape[0] != c or weights[-1][0].shape[1] != len(head.groups) or sum(head.dims) != c:
        raise JaxstyleError(f"{path}: {prefix or 'cell head '}shapes disagree with its {len(head.groups)} groups "
                            f"and {c} inputs")
    return head


def load(path: str | Path) -> CellHead:
    from ... import artifact

    what = "jaxstyle cell head"
    z, meta = artifact.load(path, what)
    meta = artifact.require(path, what, z, meta, ("mu", "sd", "groups", "W0", "b0"))
    head = _mlp(path, what, z, meta)
    if "judge" in meta:
        head = replace(head, judge=_mlp(path, what, z, meta["judge"], "judge/"))
    return head


def map_fields(name: str, data_dir: Path | None = None) -> dict | None:
    """The learned map's ``MapConfig`` fields for class ``name`` (variant and refusal, chosen
    leave-one-source-out; ``data/heads/map.json``, written by ``scripts/map_loso.py --choice``), or None."""
    import json

    from ..classes import canonical

    path = (DATA_DIR if data_dir is None else Path(data_dir)) / "map.json"
    if not path.is_file():
        return None
    try:
        chosen = json.loads(path.read_text(encoding="utf-8"))["classes"]
    except (ValueError, KeyError, TypeError) as e:
        raise JaxstyleError(f"{path}: not a learned-map choice file ({e})") from None
    fields = chosen.get(canonical(name))
    return dict(fields) if fields is not None else None


def learned(name: str, params=None, data_dir: Path | None = None) -> tuple[dict | None, CellHead | None]:
    """Whether ``auto`` gives class ``name`` the learned map: ``(its MapConfig fields, its cell head)``
    (:func:`map_fields`, :func:`shipped`) where the class's head and choice ship (and, given VGG ``params``,
    the head :func:`fits` them); else ``(None, None)``, and the class gets the probe map. The one place
    that decides it."""
    fields = map_fields(name, data_dir)
    head = shipped(name, data_dir) if fields else None
    if head is None or (params is not None and not fits(head, params)):
        return None, None
    return fields, head


def learned_fields(name: str, params=None, data_dir: Path | None = None) -> dict | None:
    """:func:`learned`'s fields alone: the learned map's ``MapConfig`` fields for class ``name``, or None."""
    return learned(name, params, data_dir)[0]


def fits(head: CellHead, params) -> bool:
    """Whether ``head``'s hypercolumn layers have these VGG ``params``' widths (the tiny test VGGs do not)."""
    from ...model import vgg

    layers = head.meta.get("layers", ())
    return len(layers) == len(head.dims) and all(
        layer in params and vgg.num_channels(params, layer) == d for layer, d in zip(layers, head.dims))


def shipped(name: str, data_dir: Path | None = None) -> CellHead | None:
    """The shipped head for class ``name`` (``data/heads/<name>.npz``), or None."""
    from ..classes import canonical

    path = (DATA_DIR if data_dir is None else Path(data_dir)) / f"{canonical(name)}.npz"
    return load(path) if path.is_file() else None
