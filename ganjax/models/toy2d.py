"""PacGAN's networks for the 2-D mixture benchmarks (Lin et al. 2018, Appendix).

G: z ∈ R² → 4 × (Dense 400, BatchNorm, ReLU) → Dense 2. D: 3 maxout layers of 200
units × 5 pieces → Dense 1 (a logit).

Options of G beyond the paper's, for ablations (docs/benchmarks.md): ``batch_norm=False``
drops its BatchNorm and ``activation`` picks 'relu' (the paper's), 'tanh' or 'gelu'. On
the grid neither removed the rays of samples that run out from the modes away from the
origin; D's ``input_bias_range`` did (below).

D's first layer: Flax initialises biases to zero, so every unit of a piecewise-linear D
(maxout, ReLU) starts positively homogeneous, D(αx) = αD(x) for α > 0: its gradient
is the same all along each ray from the origin, and D cannot tell a sample from one
farther out on its ray. On the grid, G's samples then trail from the modes along rays
away from the origin (ganjax's grid recipe before it had this option: 17 % high
quality).
``input_bias_range = r`` draws the first layer's biases from U(−r, r) instead; its
weights have norm about 1 (LeCun normal), so its units' boundaries lie at distances up
to about r from the origin and cut the data anywhere (r = 3 on the grid, whose modes
reach 5.7; docs/benchmarks.md has the ablation). 0 is the paper's zeros.

Packing (PacGAN, §3; ``ganjax.layers.pack``): with ``packing = m`` the discriminator
judges m samples at once, concatenated into one input of 2m numbers, so a batch of B
samples gives B / m logits.
All samples of a pack come from the same source (all real or all fake), which is what
lets D see a lack of diversity. m = 1 is the ordinary discriminator. An auxiliary head
(InfoGAN's code, ACGAN's classes) gives each member of a pack its own class logits
(``conditioning.DiscriminatorHead``); a projection head, which reads one label per
input, takes m = 1 only.
"""
import flax.linen as nn
import jax

from ganjax import layers
from ganjax.models import conditioning


ACTIVATIONS = {'relu': nn.relu, 'tanh': nn.tanh, 'gelu': nn.gelu}


class Generator(nn.Module):
    """z (B, 2) → points (B, 2)."""
    hidden: int = 400
    depth: int = 4
    output_dim: int = 2
    num_classes: int = 0
    class_factors: tuple[int, ...] = ()  # see conditioning.ConditionalLatent
    batch_norm: bool = True
    activation: str = 'relu'
    bn_axis_name: str | None = None

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f'config.model.generator.activation must be one of '
                             f'{sorted(ACTIVATIONS)}, got {self.activation!r}')
        super().__post_init__()

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *,
                 train: bool) -> jax.Array:
        h = conditioning.ConditionalLatent(self.num_classes,
                                           class_factors=self.class_factors)(z, labels)
        for _ in range(self.depth):
            h = nn.Dense(self.hidden)(h)
            if self.batch_norm:
                h = nn.BatchNorm(use_running_average=not train,
                                 axis_name=self.bn_axis_name)(h)
            h = ACTIVATIONS[self.activation](h)
        return nn.Dense(self.output_dim)(h)


class Discriminator(nn.Module):
    """points (B, 2) → (logits (B / packing,), class_logits)."""
    hidden: int = 200
    pieces: int = 5
    depth: int = 3
    num_classes: int = 0
    conditioning: str = 'none'
    class_factors: tuple[int, ...] = ()  # see conditioning.DiscriminatorHead
    spectral_norm: bool = False
    packing: int = 1
    input_bias_range: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool):
        h = layers.pack(x, self.packing, reads_labels=self.conditioning == 'projection')
        for depth in range(self.depth):
            bias_init = (layers.symmetric_uniform(self.input_bias_range)
                         if depth == 0 else nn.initializers.zeros)
            h = layers.maybe_spectral_norm(
                layers.Maxout(self.hidden, self.pieces, bias_init=bias_init), h,
                spectral_norm=self.spectral_norm, train=train)
        return conditioning.DiscriminatorHead(
            self.num_classes, self.conditioning, self.spectral_norm,
            class_factors=self.class_factors, packing=self.packing)(h, labels, train=train)
