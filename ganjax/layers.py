"""Building blocks for GAN models: a fast transposed convolution, spectral norm, packing,
minibatch standard deviation, maxout.

Why the transposed convolution is rewritten here
------------------------------------------------
XLA lowers a stride-s transposed convolution to a convolution over an input dilated
with s − 1 zeros between pixels (``lhs_dilation``). On XLA:CPU the *kernel* gradient of
that convolution is pathologically slow, most of it spent multiplying inserted zeros
(docs/performance.md has the numbers and the command that measures them).

``conv_transpose`` computes exactly ``jax.lax.conv_transpose`` (Flax's convention) as
a sub-pixel convolution (Shi et al. 2016, "Real-Time Single Image and Video
Super-Resolution Using an Efficient Sub-Pixel CNN"): output pixel ``y[s·q + r]`` only
ever meets the kernel taps ``t ≡ pad_lo − r (mod s)``, so the s² output phases are s²
small stride-1 convolutions of the *undilated* input, each with exactly its taps
(k = 5, s = 2: 3×3, 3×2, 2×3 and 2×2), interleaved by a depth-to-space shuffle. Only
undilated stride-1 convolutions remain, whose forward pass and both gradients are fast
on every backend, and no tap is a multiplication by an inserted zero. The kernel is
split by strided slices, whose gradient is as cheap.

The same pathology, mirrored, slows the *input* gradient of a strided convolution
(what a discriminator passes back to its lower layers and to G): XLA computes it as a
convolution over the output gradient dilated with zeros. ``strided_conv`` keeps XLA's
forward pass and kernel gradient (both fast) and computes the input gradient, which is
exactly a transposed convolution, with ``conv_transpose``. (Rewriting the strided
convolution itself by space-to-depth was slower than XLA's own on CPU.)
"""
from collections.abc import Sequence
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

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


def _axis_phases(kernel: int, stride: int, pad_lo: int) -> list[tuple[int, int, int]]:
    """For one spatial axis, what each output phase r of a transposed convolution reads.

    ``y[s·q + r] = Σ_t K[t]·x[q + (r + t − pad_lo) / s]`` over the taps with
    ``(r + t − pad_lo) % s == 0``: the progression ``t = t0, t0 + s, …``, which reads
    ``x[q + d0], x[q + d0 + 1], …``.

    Returns:
      ``[(t0, number of taps, d0) for r in range(stride)]``.
    """
    phases = []
    for r in range(stride):
        t0 = (pad_lo - r) % stride
        phases.append((t0, len(range(t0, kernel, stride)), (r + t0 - pad_lo) // stride))
    return phases


def _phase_output(x: jax.Array, taps: jax.Array, offsets: Sequence[int],
                  out_sizes: Sequence[int]) -> jax.Array:
    """``y[q] = Σ_m taps[m]·x[q + d0 + m]`` for q < out_size, per axis: a stride-1
    convolution whose (possibly negative) padding places the offset d0."""
    if 0 in taps.shape[:2]:  # a kernel smaller than the stride leaves this phase empty
        return jnp.zeros((x.shape[0], *out_sizes, taps.shape[-1]), x.dtype)
    pads = [(-d0, q + n - 1 - size + d0)
            for d0, q, n, size in zip(offsets, out_sizes, taps.shape[:2], x.shape[1:3])]
    return jax.lax.conv_general_dilated(x, taps, (1, 1), pads,
                                        dimension_numbers=_DIMENSION_NUMBERS)


def conv_transpose(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                   padding: Padding) -> jax.Array:
    """Exactly ``jax.lax.conv_transpose(x, kernel, strides, padding)`` for NHWC/HWIO.

    (``transpose_kernel=False``, the convention of ``flax.linen.ConvTranspose``.)
    Computed as one stride-1 convolution per output phase, each with exactly the taps
    that phase meets, interleaved by a depth-to-space shuffle; see the module docstring.

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
    per_axis = (padding, padding) if isinstance(padding, str) else padding
    pads = [_transpose_pads(k, s, p) for k, s, p in zip(kernel_sizes, strides, per_axis)]
    out_sizes = [(n - 1) * s + 1 + lo + hi - k + 1
                 for n, k, s, (lo, hi) in zip(in_sizes, kernel_sizes, strides, pads)]
    # Every phase covers ceil(out / s) positions; the interleaved result is cropped.
    q_sizes = [-(-o // s) for o, s in zip(out_sizes, strides)]
    (s_h, s_w) = strides
    phases_h, phases_w = [_axis_phases(k, s, lo)
                          for k, s, (lo, _) in zip(kernel_sizes, strides, pads)]
    rows = []
    for t0_h, _, d0_h in phases_h:
        row = [_phase_output(x, kernel[t0_h::s_h, t0_w::s_w], (d0_h, d0_w), q_sizes)
               for t0_w, _, d0_w in phases_w]
        rows.append(jnp.stack(row, axis=3))        # (B, Q_h, Q_w, s_w, C_out)
    y = jnp.stack(rows, axis=2)                     # (B, Q_h, s_h, Q_w, s_w, C_out)
    batch, q_h, _, q_w, _, c_out = y.shape
    y = y.reshape(batch, q_h * s_h, q_w * s_w, c_out)
    return y[:, :out_sizes[0], :out_sizes[1], :]


def _input_gradient_pads(in_size: int, kernel: int, stride: int, pad_lo: int,
                         out_size: int) -> tuple[int, int]:
    """Padding of the dilated output gradient whose convolution with the flipped kernel
    is the input gradient: k − 1 − lo before, the rest to size ``in_size`` after."""
    before = kernel - 1 - pad_lo
    return before, in_size + kernel - 1 - ((out_size - 1) * stride + 1) - before


def _conv(x: jax.Array, kernel: jax.Array, strides, pads) -> jax.Array:
    return jax.lax.conv_general_dilated(x, kernel, strides, pads,
                                        dimension_numbers=_DIMENSION_NUMBERS)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def strided_conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, int],
                 pads: tuple[tuple[int, int], tuple[int, int]]) -> jax.Array:
    """``lax.conv_general_dilated(x, kernel, strides, pads)`` (NHWC/HWIO) whose input
    gradient is computed as a sub-pixel transposed convolution (module docstring).

    The backward pass is itself made of differentiable JAX operations, so gradients of
    gradients (gradient penalties) work.
    """
    return _conv(x, kernel, strides, pads)


def _strided_conv_fwd(x, kernel, strides, pads):
    return _conv(x, kernel, strides, pads), (x, kernel)


def _strided_conv_bwd(strides, pads, residuals, grad_out):
    x, kernel = residuals
    # ∂L/∂x: the transposed convolution of ∂L/∂y with the spatially flipped kernel
    # whose input and output channels are swapped.
    flipped = jnp.flip(kernel, (0, 1)).swapaxes(2, 3)
    input_pads = [_input_gradient_pads(n, k, s, lo, m) for n, k, s, (lo, _), m in zip(
        x.shape[1:3], kernel.shape[:2], strides, pads, grad_out.shape[1:3])]
    grad_x = conv_transpose(grad_out, flipped, strides, input_pads)
    # ∂L/∂kernel: XLA's own, which is fast.
    _, kernel_vjp = jax.vjp(lambda k: _conv(x, k, strides, pads), kernel)
    return grad_x, kernel_vjp(grad_out)[0]


strided_conv.defvjp(_strided_conv_fwd, _strided_conv_bwd)


class _Convolution(nn.Module):
    """What ``Conv`` and ``ConvTranspose`` share with Flax's 2-D layers: attributes,
    parameter names, shapes, dtypes and initialisers. Subclasses define ``_apply``."""
    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] = 1
    padding: Padding = 'SAME'
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()
    param_dtype: jnp.dtype = jnp.float32  # as Flax's, also under jax_enable_x64

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel_size = _pair(self.kernel_size, 'kernel_size')
        kernel = self.param('kernel', self.kernel_init,
                            (*kernel_size, x.shape[-1], self.features), self.param_dtype)
        y = self._apply(x, kernel.astype(x.dtype), _pair(self.strides, 'strides'))
        if self.use_bias:
            y = y + self.param('bias', self.bias_init, (self.features,),
                               self.param_dtype).astype(y.dtype)
        return y

    def _apply(self, x: jax.Array, kernel: jax.Array, strides: tuple[int, int]) -> jax.Array:
        raise NotImplementedError


class Conv(_Convolution):
    """Drop-in for ``flax.linen.Conv`` (NHWC, 2-D) whose input gradient is fast when
    strided: same attributes (for the options listed here), parameter names, shapes,
    initialisers and function; see ``strided_conv``. An int ``kernel_size`` or
    ``strides`` applies to both spatial axes."""

    def _apply(self, x, kernel, strides):
        padding = _padding_pairs(self.padding)
        pads = (jax.lax.padtype_to_pads(x.shape[1:3], kernel.shape[:2], strides, padding)
                if isinstance(padding, str) else padding)
        pads = tuple(tuple(p) for p in pads)
        if strides == (1, 1):
            return _conv(x, kernel, strides, pads)
        return strided_conv(x, kernel, strides, pads)


class ConvTranspose(_Convolution):
    """Drop-in for ``flax.linen.ConvTranspose`` (NHWC) that is fast to differentiate.

    Same attributes, parameter names, shapes and initialisers as Flax's layer (for the
    options listed here), and the same function: see ``conv_transpose``.
    """

    def _apply(self, x, kernel, strides):
        return conv_transpose(x, kernel, strides, self.padding)


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


def pack(x: jax.Array, packing: int, reads_labels: bool = False) -> jax.Array:
    """PacGAN's packing (Lin et al. 2018, §3): m = ``packing`` consecutive samples of a
    batch become one, concatenated along the last (feature or channel) axis:
    (B, ..., C) → (B / m, ..., m·C). Points (B, d) give (B / m, m·d); images
    (B, H, W, C) give (B / m, H, W, m·C), as in PacDCGAN. m = 1 returns ``x``.

    Raises:
      ValueError: m < 1, m > 1 for a discriminator that ``reads_labels`` (a projection
        head; a pack has no single label), or a batch that does not split into packs.
    """
    if packing < 1 or (packing > 1 and reads_labels):
        raise ValueError(f'packing must be >= 1, and 1 for a discriminator that reads '
                         f'labels, got {packing}')
    if x.shape[0] % packing:
        raise ValueError(f'a batch of {x.shape[0]} does not split into packs of {packing}')
    if packing == 1:
        return x
    packs = x.reshape(x.shape[0] // packing, packing, *x.shape[1:])
    return jnp.moveaxis(packs, 1, -2).reshape(*packs.shape[:1], *x.shape[1:-1],
                                                packing * x.shape[-1])


def minibatch_stddev(x: jax.Array, group_size: int, epsilon: float = 1e-8) -> jax.Array:
    """Minibatch standard deviation (Karras et al. 2018, "Progressive Growing of GANs",
    §3): appends one feature map that tells D how varied its batch is.

    The batch (B, H, W, C) splits into groups of g = min(``group_size``, B) consecutive
    examples. In each group, each feature at each location has the standard deviation
    s = sqrt(mean_g (x − mean_g x)² + ε) over the group's members (the biased
    estimate, as in the paper); s averaged over all features and locations is one number
    per group, appended as a constant channel to each member: (B, H, W, C + 1).

    The statistic is computed in float32 at least: in float16, ε = 1e-8 rounds to 0, and
    a group whose members agree somewhere (ReLU zeros, a collapsed G) would then give
    sqrt(0), whose gradient is infinite. The appended feature has ``x``'s dtype.

    Groups are consecutive examples, where the paper's code strides through the batch
    (member j of group i is example i + j·B/g): the same statistic for a batch in random
    order, and a group then never spans two devices' shares of a batch, so pmap and
    a sharded jit compute the same function.

    Raises:
      ValueError: ``group_size`` < 1, or a batch that does not split into groups.
    """
    if group_size < 1:
        raise ValueError(f'group_size must be >= 1, got {group_size}')
    group = min(group_size, x.shape[0])
    if x.shape[0] % group:
        raise ValueError(f'a batch of {x.shape[0]} does not split into groups of {group}')
    groups = x.reshape(x.shape[0] // group, group, *x.shape[1:])
    groups = groups.astype(jnp.promote_types(x.dtype, jnp.float32))
    variance = jnp.mean(jnp.square(groups - jnp.mean(groups, axis=1, keepdims=True)), axis=1)
    stddev = jnp.mean(jnp.sqrt(variance + epsilon), axis=tuple(range(1, x.ndim)))
    per_example = jnp.repeat(stddev, group).reshape(-1, *([1] * (x.ndim - 1)))
    feature = jnp.broadcast_to(per_example, (*x.shape[:-1], 1)).astype(x.dtype)
    return jnp.concatenate([x, feature], axis=-1)


def symmetric_uniform(bound: float) -> nn.initializers.Initializer:
    """Initialiser drawing from U(−bound, bound); zeros for bound 0."""
    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)
    return init


class Maxout(nn.Module):
    """Maxout layer (Goodfellow et al. 2013): max over ``pieces`` affine maps per unit.

    ``y_i = max_j (W_ij x + b_ij)`` for ``i < features``, ``j < pieces``.
    """
    features: int
    pieces: int
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = nn.Dense(self.features * self.pieces, kernel_init=self.kernel_init,
                     bias_init=self.bias_init)(x)
        return jnp.max(y.reshape(*y.shape[:-1], self.features, self.pieces), axis=-1)
