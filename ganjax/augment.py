"""DiffAugment: differentiable, per-example random augmentations for GAN training.

Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(NeurIPS, arXiv:2006.10738). The same policy of random transforms is applied to every batch
the discriminator sees, real and generated, in both the D and the G step; because every
transform is differentiable with respect to the images, G's gradient flows through it.
``diff_augment`` computes exactly the transforms of the authors' reference implementation
(mit-han-lab/data-efficient-gans, ``DiffAugment_pytorch.py``), re-derived here for JAX and
channels-last images. The draws come from JAX's PRNG, so outputs follow the reference's
distributions, not its ``torch.rand`` streams.

Conventions shared by the whole module:

* Images are NHWC, ``(B, H, W, C)``, of any floating dtype (integer and boolean images are
  accepted by ``translation`` and ``cutout`` only). Any B, H, W, C; the output has the input's
  shape and dtype.
* Every random quantity is drawn independently for each example (never one draw for the whole
  batch), in the images' dtype for the colour factors. ``U[a, b)`` is uniform on [a, b);
  ``randint[a, b)`` is uniform over the integers a, ..., b − 1.
* A policy is a comma-separated string of names from ``POLICIES``, applied left to right in
  the order written (a name may repeat). ``''`` is the identity. The transform at position i of
  the policy draws from ``jax.random.fold_in(key, i)``, so each transform has its own
  randomness and the output is a pure function of ``(images, key, policy)``.

The transforms, for example b with pixel x[h, w, c]:

* ``color``: three steps in this order, with independent draws.

  - brightness: ``x + β``, β ~ U[−0.5, 0.5).
  - saturation: ``(x − m) · s + m``, s ~ U[0, 2), m[h, w] the mean of x over the C channels at
    that pixel (with C = 1 the step is the identity).
  - contrast: ``(x − μ) · k + μ``, k ~ U[0.5, 1.5), μ the mean of x over all of H, W, C.

* ``translation``: an integer shift per axis, with zero fill. With
  ``S_H = int(H · 1/8 + 0.5)`` and ``S_W = int(W · 1/8 + 0.5)``, draw
  t_h ~ randint[−S_H, S_H + 1) and t_w ~ randint[−S_W, S_W + 1); then
  ``out[h, w] = x[h + t_h, w + t_w]`` where that index lies in the image, else 0 (positive
  offsets move the content up and left).
* ``cutout``: one axis-aligned rectangle set to 0 in every channel. The square's side is
  ``L_H = int(H · 1/2 + 0.5)`` rows by ``L_W = int(W · 1/2 + 0.5)`` columns; its position is
  o_h ~ randint[0, H + (1 − L_H mod 2)) (likewise o_w), its first row r = ``o_h − L_H // 2``,
  and it is clipped to the image: rows ``max(0, r) ... min(H, r + L_H) − 1`` (likewise
  columns). The clipped rectangle is never empty.

Gradients: colour is smooth in x; translation is a per-example slice of the zero-padded batch
(its gradient routes each output cotangent back to the pixel it came from); cutout passes
cotangents through unmasked pixels and sends 0 to masked ones. The random draws do not depend
on x, so nothing is stochastic inside the gradient.
"""
from collections.abc import Callable

import jax
import jax.numpy as jnp

#: Valid names in a policy string, for config validation.
POLICIES = ('color', 'translation', 'cutout')

#: The largest translation, as a fraction of the side (the reference's ``ratio=0.125``).
TRANSLATION_RATIO = 0.125

#: The cutout square's side, as a fraction of the image's side (the reference's ``ratio=0.5``).
CUTOUT_RATIO = 0.5


# ----------------------------------------------------------------------------------------------
# Sizes
# ----------------------------------------------------------------------------------------------


def _rounded_fraction(size: int, ratio: float) -> int:
    """``int(size · ratio + 0.5)``: round half up, exactly as the reference does.

    Python's ``round`` would round half to even (``round(2.5) == 2``), which is not the
    reference's rule for sides such as 5 · 1/2.
    """
    return int(size * ratio + 0.5)


def _translation_shift(size: int) -> int:
    """The largest translation along a side of ``size`` pixels."""
    return _rounded_fraction(size, TRANSLATION_RATIO)


def _cutout_size(size: int) -> int:
    """The cutout's extent along a side of ``size`` pixels."""
    return _rounded_fraction(size, CUTOUT_RATIO)


# ----------------------------------------------------------------------------------------------
# Color
# ----------------------------------------------------------------------------------------------


def _color_draws(key: jax.Array, batch_size: int,
                 dtype: jnp.dtype) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-example (brightness β, saturation s, contrast k) of ``color``, each (B, 1, 1, 1).

    β ~ U[−0.5, 0.5), s ~ U[0, 2), k ~ U[0.5, 1.5), all independent. Drawn in ``dtype``, as the
    reference draws in the images' dtype. One call for the three: each random call is a
    separate threefry computation, and compile time grows with their number.
    """
    uniform = jax.random.uniform(key, (3, batch_size, 1, 1, 1), dtype)
    return uniform[0] - 0.5, uniform[1] * 2, uniform[2] + 0.5


def _brightness(images: jax.Array, offset: jax.Array) -> jax.Array:
    """``x + β``."""
    return images + offset


def _saturation(images: jax.Array, factor: jax.Array) -> jax.Array:
    """``(x − m) · s + m``, m the mean over channels at each pixel."""
    mean = jnp.mean(images, axis=-1, keepdims=True)
    return (images - mean) * factor + mean


def _contrast(images: jax.Array, factor: jax.Array) -> jax.Array:
    """``(x − μ) · k + μ``, μ the mean of each example over H, W and C."""
    mean = jnp.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - mean) * factor + mean


def _color(images: jax.Array, key: jax.Array) -> jax.Array:
    """Brightness, then saturation, then contrast (the reference's order)."""
    if not jnp.issubdtype(images.dtype, jnp.floating):
        # Adding a fractional brightness to integers would silently truncate it.
        raise ValueError(
            f"images must have a floating dtype for the 'color' policy, got {images.dtype}.")
    brightness, saturation, contrast = _color_draws(key, images.shape[0], images.dtype)
    images = _brightness(images, brightness)
    images = _saturation(images, saturation)
    return _contrast(images, contrast)


# ----------------------------------------------------------------------------------------------
# Translation
# ----------------------------------------------------------------------------------------------


def _translation_draws(key: jax.Array, batch_size: int, height: int, width: int) -> jax.Array:
    """Per-example integer offsets (t_h, t_w), shape (B, 2), t ~ randint[−S, S + 1) per axis."""
    shifts = jnp.array([_translation_shift(height), _translation_shift(width)])
    # Bounds broadcast against the last axis: independent draws, each with its own axis' range.
    return jax.random.randint(key, (batch_size, 2), -shifts, shifts + 1)


def _translate(images: jax.Array, offsets: jax.Array) -> jax.Array:
    """``out[b, h, w] = x[b, h + t_h, w + t_w]``, 0 outside the image.

    ``offsets`` (B, 2) must lie within ±(S_H, S_W): the batch is zero-padded by exactly that
    much, and each example is one static-size slice of its padded copy. Under ``vmap`` the
    slices become a single gather of whole (H, W, C) windows: exact (no arithmetic on the
    pixels), and on XLA:CPU faster, forward and backward, than gathering pixel by pixel.
    Multiplying by one-hot shift matrices would be neither: 0 · inf turns one inf into a row
    of NaNs.
    """
    _, height, width, channels = images.shape
    shift_h, shift_w = _translation_shift(height), _translation_shift(width)
    padded = jnp.pad(images, ((0, 0), (shift_h, shift_h), (shift_w, shift_w), (0, 0)))

    def window(example: jax.Array, offset: jax.Array) -> jax.Array:
        start = (shift_h + offset[0], shift_w + offset[1], jnp.zeros_like(offset[0]))
        return jax.lax.dynamic_slice(example, start, (height, width, channels))

    return jax.vmap(window)(padded, offsets)


def _translation(images: jax.Array, key: jax.Array) -> jax.Array:
    _, height, width, _ = images.shape
    return _translate(images, _translation_draws(key, images.shape[0], height, width))


# ----------------------------------------------------------------------------------------------
# Cutout
# ----------------------------------------------------------------------------------------------


def _cutout_draws(key: jax.Array, batch_size: int, height: int, width: int) -> jax.Array:
    """Per-example positions (o_h, o_w), shape (B, 2), o ~ randint[0, size + (1 − L mod 2)).

    The reference's range: an odd side L is centred on one of the ``size`` pixels, an even side
    also on the boundary past the last one, so the positions are symmetric about the image's
    centre and the clipped square touches either edge equally often.
    """
    ends = jnp.array([height + 1 - _cutout_size(height) % 2, width + 1 - _cutout_size(width) % 2])
    return jax.random.randint(key, (batch_size, 2), 0, ends)


def _cutout_mask(height: int, width: int, positions: jax.Array) -> jax.Array:
    """Boolean (B, H, W), True inside each example's clipped cutout rectangle.

    The reference clamps the square's indices into the image before scattering zeros; the
    clamped indices land on rows and columns the square already covers, so the scattered set is
    exactly the square intersected with the image, an interval test per axis.
    """
    size_h, size_w = _cutout_size(height), _cutout_size(width)
    top = positions[:, 0:1] - size_h // 2
    left = positions[:, 1:2] - size_w // 2
    rows = jnp.arange(height)
    columns = jnp.arange(width)
    in_rows = (rows >= top) & (rows < top + size_h)  # (B, H)
    in_columns = (columns >= left) & (columns < left + size_w)  # (B, W)
    return in_rows[:, :, None] & in_columns[:, None, :]


def _cutout(images: jax.Array, key: jax.Array) -> jax.Array:
    _, height, width, _ = images.shape
    mask = _cutout_mask(height, width, _cutout_draws(key, images.shape[0], height, width))
    # A select rather than the reference's multiplication by a 0/1 mask: the same values and
    # gradients for finite images (XLA makes that rewrite itself under jit), and a masked pixel
    # is 0 even where the input was inf or NaN.
    return jnp.where(mask[..., None], jnp.zeros((), images.dtype), images)


# ----------------------------------------------------------------------------------------------
# Policy
# ----------------------------------------------------------------------------------------------

_TRANSFORMS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    'color': _color,
    'translation': _translation,
    'cutout': _cutout,
}
assert tuple(_TRANSFORMS) == POLICIES


def parse_policy(policy: str) -> list[str]:
    """The policy's names in order; [] for an empty policy.

    Raises:
        TypeError: if ``policy`` is not a string.
        ValueError: if a name is not in ``POLICIES``.
    """
    if not isinstance(policy, str):
        raise TypeError(f'policy must be a comma-separated string, got {type(policy).__name__}.')
    if not policy.strip():
        return []
    # Surrounding spaces are forgiven ('color, cutout' from a config); empty names are not, so
    # a stray comma is caught rather than read as a no-op.
    names = [name.strip() for name in policy.split(',')]
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f'policy {policy!r} has unknown names {unknown}; valid names are '
                         f'{", ".join(POLICIES)}, comma-separated.')
    return names


def diff_augment(images: jax.typing.ArrayLike, key: jax.Array,
                 policy: str = 'color,translation,cutout') -> jax.Array:
    """Applies DiffAugment's random, differentiable transforms to a batch of images.

    Each transform in ``policy`` is applied in the order written, with per-example draws (see
    the module docstring for the exact formulas; Zhao et al. 2020, "Differentiable Augmentation
    for Data-Efficient GAN Training", NeurIPS). Apply it with one policy to every batch the
    discriminator sees, real and generated, in both the D and the G step (independent keys,
    e.g. ``fold_in``, as the reference draws afresh on each call), and differentiate through
    it. ``policy`` is a Python string: under ``jax.jit`` make it static
    (``static_argnames='policy'``).

    Args:
        images: batch of images, (B, H, W, C), floating for ``color``. With the empty policy any
            array is accepted and returned unchanged, e.g. (B, D) points of a 2-D toy problem.
        key: a JAX PRNG key (typed or raw). The transform at position i of the policy uses
            ``jax.random.fold_in(key, i)``.
        policy: comma-separated names from ``POLICIES`` (``'color'``, ``'translation'``,
            ``'cutout'``), or ``''`` for no augmentation. Default: all three, the paper's choice.

    Returns:
        The augmented batch, with the shape and dtype of ``images``; ``images`` itself (as an
        array) for the empty policy.

    Raises:
        ValueError: if ``policy`` names an unknown transform, if a non-empty policy gets images
            that are not 4-D, or if ``color`` gets non-floating images.
        TypeError: if ``policy`` is not a string.
    """
    names = parse_policy(policy)
    images = jnp.asarray(images)
    if not names:
        return images
    if images.ndim != 4:
        raise ValueError(f'images must have shape (B, H, W, C) for policy {policy!r}, got shape '
                         f'{images.shape}.')
    for index, name in enumerate(names):
        images = _TRANSFORMS[name](images, jax.random.fold_in(key, index))
    return images
