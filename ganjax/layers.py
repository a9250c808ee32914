"""Building blocks for GAN models: a fast transposed convolution, spectral norm, maxout.

Why the transposed convolution is rewritten here
------------------------------------------------
XLA lowers a stride-s transposed convolution to a convolution over an input dilated
with s − 1 zeros between pixels (``lhs_dilation``). On XLA:CPU the *kernel* gradient of
that convolution is pathologically slow: for DCGAN-28's 7×7×128 → 14×14×64, 5×5,
stride-2 layer at batch 64 it takes ~27× its forward pass (``python -m
experiments.benchmark --config=experiments/configs/mnist_dcgan.py --layers``), most
of it spent multiplying inserted zeros.

``conv_transpose`` computes exactly ``jax.lax.conv_transpose`` (Flax's convention) as
a sub-pixel convolution (Shi et al. 2016, "Real-Time Single Image and Video
Super-Resolution Using an Efficient Sub-Pixel CNN"): output pixel ``y[s·q + r]`` only
ever meets the kernel taps ``t ≡ pad_lo − r (mod s)``, so the s² output phases are s²
small stride-1 convolutions of the *undilated* input. They are stacked into one
stride-1 convolution with s²·C_out output channels and interleaved by a depth-to-space
shuffle. Only undilated stride-1 convolutions remain, whose forward pass and both
gradients are fast on every backend; the kernel is rearranged by strided slices, whose
gradient is as cheap.

(The analogous space-to-depth rewrite of strided *convolutions* was measured slower
than XLA's own on CPU, so discriminators use ``flax.linen.Conv``.)
"""
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Padding = str | Sequence[tuple[int, int]]
_DIMENSION_NUMBERS = ('NHWC', 'HWIO', 'NHWC')


def dcgan_init() -> nn.initializers.Initializer:
    """N(0, 0.02²) weight init of the DCGAN family (Radford et al. 2016, §4)."""
    return nn.initializers.normal(stddev=0.02)


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(v < 1 for v in pair):
        raise ValueError(f'{name} must be a positive int or a pair of them, got {value!r}')
    return pair


def _padding_pairs(padding: Padding, name: str = 'padding') -> Padding:
    if isinstance(padding, str):
        if padding not in ('SAME', 'VALID'):
            raise ValueError(f"{name} must be 'SAME', 'VALID' or (lo, hi) pairs, got {padding!r}")
        return padding
    pairs = tuple(tuple(p) for p in padding)
    if len(pairs) != 2 or any(len(p) != 2 for p in pairs):
        raise ValueError(f'{name} must be two (lo, hi) pairs, got {padding!r}')
    return pairs


# ----------------------------------------------------------------------------------
# Transposed convolution as a sub-pixel convolution.
# ----------------------------------------------------------------------------------


def _transpose_pads(kernel: int, stride: int, padding) -> tuple[int, int]:
    """(lo, hi) padding of the dilated input, by ``jax.lax.conv_transpose``'s rule.

    'SAME' gives an output of exactly size·stride; 'VALID' one of
    (size − 1)·stride + max(kernel, stride).
    """
    if padding == 'SAME':
        total = kernel + stride - 2
        lo = kernel - 1 if stride > kernel - 1 else -(-total // 2)
    elif padding == 'VALID':
        total = kernel + stride - 2 + max(kernel - stride, 0)
        lo = kernel - 1
    else:
        return padding
    return lo, total - lo


def _phase_taps(kernel: int, stride: int, pad_lo: int) -> tuple[list[tuple[int, int]], int, int]:
    """For one spatial axis, which kernel taps each output phase applies, and where.

    Output ``y[s·q + r] = Σ_t K[t]·x[q + (r + t − pad_lo) / s]`` over the taps with
    ``(r + t − pad_lo) % s == 0``: the arithmetic progression ``t = t0, t0 + s, …``.
    Every phase is placed in a common window of input offsets ``d_min … d_min + window − 1``.

    Returns:
      ``(placements, d_min, window)``, where ``placements[r] = (t0, lo)``: phase r uses
      ``K[t0::s]``, starting at window position ``lo`` (zero taps elsewhere).
    """
    starts = [(pad_lo - r) % stride for r in range(stride)]
    first = [(r + t0 - pad_lo) // stride for r, t0 in enumerate(starts)]
    counts = [len(range(t0, kernel, stride)) for t0 in starts]
    d_min = min(d for d, n in zip(first, counts) if n)
    window = max(d + n for d, n in zip(first, counts) if n) - d_min
    # A phase with no taps (kernel < stride) is all zeros; place its empty slice at 0.
    return [(t0, d - d_min if n else 0) for t0, d, n in zip(starts, first, counts)], d_min, window


def _phase_kernel(kernel: jax.Array, taps_h, taps_w) -> jax.Array:
    """Stacks every phase's taps into one (win_h, win_w, C_in, s_h·s_w·C_out) kernel.

    Built from strided slices and pads rather than a gather, so that its gradient is a
    cheap pad/slice too and not a scatter-add over the kernel.
    """
    (places_h, _, win_h), (places_w, _, win_w) = taps_h, taps_w
    phases = []
    for t0_h, lo_h in places_h:
        for t0_w, lo_w in places_w:
            taps = kernel[t0_h::len(places_h), t0_w::len(places_w)]
            phases.append(jnp.pad(taps, ((lo_h, win_h - lo_h - taps.shape[0]),
                                         (lo_w, win_w - lo_w - taps.shape[1]),
                                         (0, 0), (0, 0))))
    stacked = jnp.stack(phases, axis=-2)  # (win_h, win_w, C_in, s_h·s_w, C_out)
    return stacked.reshape(*stacked.shape[:3], -1)


def conv_transpose(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                   padding: Padding) -> jax.Array:
    """Exactly ``jax.lax.conv_transpose(x, kernel, strides, padding)`` for NHWC/HWIO.

    (``transpose_kernel=False``, the convention of ``flax.linen.ConvTranspose``.)
    Computed as one stride-1 convolution producing all s_h·s_w output phases as
    channels, then a depth-to-space shuffle; see the module docstring.

    Args:
      x: input, shape (B, H, W, C_in).
      kernel: shape (k_h, k_w, C_in, C_out).
      strides: (s_h, s_w).
      padding: 'SAME', 'VALID' or ((lo_h, hi_h), (lo_w, hi_w)) of the dilated input.

    Returns:
      (B, H_out, W_out, C_out) with H_out = (H − 1)·s_h + 1 + lo_h + hi_h − k_h + 1.
    """
    padding = _padding_pairs(padding)
    in_sizes, kernel_sizes = x.shape[1:3], kernel.shape[:2]
    c_in, c_out = kernel.shape[2:]
    per_axis = (padding, padding) if isinstance(padding, str) else padding
    pads = [_transpose_pads(k, s, p) for k, s, p in zip(kernel_sizes, strides, per_axis)]
    out_sizes = [(n - 1) * s + 1 + lo + hi - k + 1
                 for n, k, s, (lo, hi) in zip(in_sizes, kernel_sizes, strides, pads)]
    taps_h, taps_w = [_phase_taps(k, st, lo)
                      for k, st, (lo, _) in zip(kernel_sizes, strides, pads)]
    phase_kernel = _phase_kernel(kernel, taps_h, taps_w)
    (s_h, s_w), windows, d_mins = strides, (taps_h[2], taps_w[2]), (taps_h[1], taps_w[1])

    # Phase grids cover ceil(out / s) positions per axis; pad the input (crop it, where
    # negative) so that the stride-1 convolution yields exactly that many.
    q_sizes = [-(-o // s) for o, s in zip(out_sizes, strides)]
    conv_pads = [(-d_min, q + win - 1 - n + d_min)
                 for q, win, n, d_min in zip(q_sizes, windows, in_sizes, d_mins)]
    phases = jax.lax.conv_general_dilated(x, phase_kernel, (1, 1), conv_pads,
                                          dimension_numbers=_DIMENSION_NUMBERS)
    batch, q_h, q_w = phases.shape[:3]
    y = phases.reshape(batch, q_h, q_w, s_h, s_w, c_out).transpose(0, 1, 3, 2, 4, 5)
    y = y.reshape(batch, q_h * s_h, q_w * s_w, c_out)
    return y[:, :out_sizes[0], :out_sizes[1], :]


class ConvTranspose(nn.Module):
    """Drop-in for ``flax.linen.ConvTranspose`` (NHWC) that is fast to differentiate.

    Same attributes, parameter names, shapes and initialisers as Flax's layer (for the
    options listed here), and the same function: see ``conv_transpose``.
    """
    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] = 1
    padding: Padding = 'SAME'
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel_size = _pair(self.kernel_size, 'kernel_size')
        strides = _pair(self.strides, 'strides')
        kernel = self.param('kernel', self.kernel_init,
                            (*kernel_size, x.shape[-1], self.features))
        y = conv_transpose(x, kernel.astype(x.dtype), strides, self.padding)
        if self.use_bias:
            y = y + self.param('bias', self.bias_init, (self.features,)).astype(y.dtype)
        return y


def maybe_spectral_norm(layer: nn.Module, x: jax.Array, *, spectral_norm: bool,
                        train: bool) -> jax.Array:
    """Applies ``layer``, spectrally normalised if asked (Miyato et al. 2018).

    W is divided by its largest singular value, estimated by one step of power
    iteration per call; convolution kernels are reshaped to (k_h·k_w·C_in, C_out) first,
    as in the paper. The power-iteration vector ``u`` (and the last ``sigma``) live in
    the explicit ``'spectral'`` collection and are updated only when ``train`` is true;
    in eval mode the stored ``u`` is used without being written.
    """
    if not spectral_norm:
        return layer(x)
    return nn.SpectralNorm(layer, collection_name='spectral')(x, update_stats=train)


class Maxout(nn.Module):
    """Maxout layer (Goodfellow et al. 2013): max over ``pieces`` affine maps per unit.

    ``y_i = max_j (W_ij x + b_ij)`` for ``i < features``, ``j < pieces``.
    """
    features: int
    pieces: int
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = nn.Dense(self.features * self.pieces, kernel_init=self.kernel_init)(x)
        return jnp.max(y.reshape(*y.shape[:-1], self.features, self.pieces), axis=-1)
