"""Winograd F(m x m, 3 x 3) convolution: VGG's 3x3 "SAME" convolutions with fewer multiplies.

A direct 3x3 convolution costs 9 multiplies per output and input channel; F(4x4, 3x3)
costs 36/16 = 2.25 and F(2x2, 3x3) 16/4 = 4 (Lavin & Gray 2016, "Fast Algorithms for
Convolutional Neural Networks"). The input is cut into overlapping (m+2)^2 tiles,
each tile and each kernel is transformed (``B^T d B``, ``G g G^T``), the channel sum becomes
(m+2)^2 batched matrix products, and ``A^T M A`` gives the m x m outputs of each tile.

Every 2-D tile transform ``M X M^T`` is one matrix product with ``M ⊗ M`` over the
flattened tile positions (36 x 36 at most), so a Winograd layer's forward is three matrix
products (input transform, channel sums, output transform) plus strided copies, and its
backward three more: XLA compiles that ~3x faster than the same transforms written as
sums of strided slices (~0.5 s instead of ~1.3 s per layer's forward and backward), and
runs it as fast.

On the 2-core CPU XLA's direct convolutions already run near the FMA peak, so this is the
only way to a faster VGG pass there (docs/BENCHMARKS.md, "Winograd convolutions"). The kernel
transform is done once, in numpy, by :func:`transform_kernel` (``vgg.prepare``), never in
the hot loop. The backward pass is written out (``custom_vjp``) as the same three steps
transposed: autodiff of the tiling gave a gradient 3-7x slower than the forward.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# m -> (B^T (a, a), G (a, 3), A^T (m, a)), a = m + 2; interpolation points 0, ±1 (, ±2), inf.
MATRICES: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {
    2: (np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64),
        np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float64),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)),
    4: (np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], np.float64),
        np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float64),
        np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                 np.float64)),
}


def transform_kernel(kernel, m: int) -> np.ndarray:
    """(3, 3, in, out) HWIO kernel -> ((m+2)^2, in, out) float32 ``G g G^T``."""
    if m not in MATRICES:
        raise ValueError(f"Winograd tile m={m} not supported; use one of {sorted(MATRICES)}")
    k = np.asarray(kernel, np.float32)
    if k.ndim != 4 or k.shape[:2] != (3, 3):
        raise ValueError(f"expected a (3, 3, in, out) kernel, got shape {k.shape}")
    g = MATRICES[m][1].astype(np.float32)
    cin, cout = k.shape[2:]
    u = np.kron(g, g) @ k.reshape(9, cin * cout)  # row (i, j) of G g G^T: sum over (k, l) of G[i, k] G[j, l] g[k, l]
    return u.reshape((m + 2) ** 2, cin, cout)


def tile_size(u: jax.Array) -> int:
    """The m of a transformed kernel from its leading axis ((m+2)^2)."""
    a = int(round(u.shape[0] ** 0.5))
    if a * a != u.shape[0] or a - 2 not in MATRICES:
        raise ValueError(f"not a Winograd kernel: leading axis {u.shape[0]}")
    return a - 2


def _kron(mat: np.ndarray, dtype) -> jax.Array:
    """``mat ⊗ mat``: a 2-D transform ``M X M^T`` of every tile as one matrix product."""
    return jnp.asarray(np.kron(mat, mat), dtype)


def _transform(k2: jax.Array, t: jax.Array) -> jax.Array:
    """``k2 @ t`` over the leading (tile-position) axis of ``t``, the rest flattened."""
    return jnp.tensordot(k2, t.reshape(t.shape[0], -1), 1).reshape((k2.shape[0],) + t.shape[1:])


def _tiles(x, axis: int, m: int, t: int):
    """The m+2 strided views of ``x`` (length m*(t+1) on ``axis``): view k holds x[m*i + k], i < t."""
    shp = x.shape
    xr = x.reshape(shp[:axis] + (t + 1, m) + shp[axis + 1:])
    out = []
    for k in range(m + 2):
        blk, off = divmod(k, m)
        s = jax.lax.slice_in_dim(xr, blk, blk + t, axis=axis)
        out.append(jax.lax.index_in_dim(s, off, axis=axis + 1, keepdims=False))
    return out


def _untile(views, axis: int, m: int):
    """Adjoint of :func:`_tiles`: scatter-add the m+2 views back to length m*(t+1)."""
    z = []
    for off in range(m):
        s = views[off]
        pad = [(0, 0)] * s.ndim
        pad[axis] = (0, 1)
        s = jnp.pad(s, pad)
        if m + off < len(views):  # views m, m+1 start one tile later
            pad[axis] = (1, 0)
            s = s + jnp.pad(views[m + off], pad)
        z.append(s)
    z = jnp.stack(z, axis=axis + 1)
    shp = z.shape
    return z.reshape(shp[:axis] + (shp[axis] * m,) + shp[axis + 2:])


def _geometry(x, m):
    n, h, w, c = x.shape
    return n, h, w, c, -(-h // m), -(-w // m)


def _input_transform(x, m):
    """(n, h, w, c) -> V ((m+2)^2, n*th*tw, c): ``B^T d B`` of every tile."""
    n, h, w, c, th, tw = _geometry(x, m)
    xp = jnp.pad(x, ((0, 0), (1, m * (th + 1) - h - 1), (1, m * (tw + 1) - w - 1), (0, 0)))
    d = jnp.stack([jnp.stack(_tiles(r, 2, m, tw)) for r in _tiles(xp, 1, m, th)])  # (a, a, n, th, tw, c)
    return _transform(_kron(MATRICES[m][0], x.dtype), d.reshape((m + 2) ** 2, n * th * tw, c))


def _forward(x, u):
    m = tile_size(u)
    n, h, w, _, th, tw = _geometry(x, m)
    mm = jax.lax.dot_general(_input_transform(x, m), u, (((2,), (1,)), ((0,), (0,))))
    y = _transform(_kron(MATRICES[m][2], mm.dtype), mm)                 # (m*m, P, out): A^T M A
    y = y.reshape(m, m, n, th, tw, -1).transpose(2, 3, 0, 4, 1, 5)
    return y.reshape(n, m * th, m * tw, u.shape[-1])[:, :h, :w]


@jax.custom_vjp
def conv3x3(x: jax.Array, u: jax.Array) -> jax.Array:
    """3x3 stride-1 "SAME" cross-correlation of NHWC ``x`` with a :func:`transform_kernel` kernel.

    Equals ``lax.conv_general_dilated(x, kernel, (1, 1), "SAME")`` up to float32 rounding
    (relative error ~1e-6 for m=2, ~1e-5 for m=4 on VGG-like weights).
    """
    return _forward(x, u)


def _fwd(x, u):
    return _forward(x, u), (x, u)


def _bwd(res, dy):
    x, u = res
    m = tile_size(u)
    a = m + 2
    n, h, w, c, th, tw = _geometry(x, m)
    dy = jnp.pad(dy, ((0, 0), (0, m * th - h), (0, m * tw - w), (0, 0))).reshape(n, th, m, tw, m, -1)
    bt, _, at = MATRICES[m]
    # adjoint of the output transform: dM = (A ⊗ A) dy, dy's tiles ordered (row, column) like y's
    dy = dy.transpose(2, 4, 0, 1, 3, 5).reshape(m * m, n * th * tw, -1)
    dm = _transform(_kron(at.T, dy.dtype), dy)                             # (a*a, P, out)
    dv = jax.lax.dot_general(dm, u, (((2,), (2,)), ((0,), (0,))))          # (a*a, P, c)
    # adjoint of the input transform: (B ⊗ B) dV per tile, then the overlapping tiles summed back
    dd = _transform(_kron(bt.T, dv.dtype), dv).reshape(a, a, n, th, tw, c)
    dxp = _untile([_untile([dd[k, l] for l in range(a)], 2, m) for k in range(a)], 1, m)
    dx = dxp[:, 1:1 + h, 1:1 + w]
    du = jax.lax.dot_general(_input_transform(x, m), dm, (((1,), (1,)), ((0,), (0,))))  # dropped unless used
    return dx, du


conv3x3.defvjp(_fwd, _bwd)
