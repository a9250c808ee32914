"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a
Perceptual Metric") in Flax: the perceptual distance the ``lpips`` package computes, v0.1.

d(x, y) = Σ_l mean_{h,w} Σ_c w_{l,c} (x̂_{l,hwc} − ŷ_{l,hwc})², where x̂_l is layer l's
ReLU output of an ImageNet backbone (AlexNet: conv1–conv5; VGG-16: conv1_2, conv2_2,
conv3_3, conv4_3, conv5_3) on the input shifted and scaled by the ``lpips`` package's
constants, normalised to unit length over channels (‖·‖ + 1e-10), and w_l ≥ 0 the
linear heads the ``lpips`` authors fitted to human judgements. Images (N, H, W, 3) in
[−1, 1], not resized (the ``lpips`` package does not resize): AlexNet needs at least
31 × 31 pixels, VGG-16 at least 16 × 16.

* ``distance(variables, x, y, net='alex') -> (N,)``.
* ``load_weights(net='alex', backbone=None, heads=None) -> variables``: torchvision's
  ImageNet backbone (``BACKBONE_URLS``) and the ``lpips`` package's heads (``HEADS_URLS``),
  read from the given ``.pth`` paths by ``ganjax.torch_checkpoint`` (no PyTorch, no
  unrestricted unpickling), else from the cache, downloaded once where there is internet
  and checked against their SHA-256.
* ``init_variables(net, seed)``: random weights, for tests.

Convolutions run at ``Precision.HIGHEST``: float32 on every backend.
"""
import functools
import os

from etils import epath
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganjax import downloads
from ganjax import errors
from ganjax import torch_checkpoint

NETS = ('alex', 'vgg')
BACKBONE_URLS = {'alex': 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth',
                 'vgg': 'https://download.pytorch.org/models/vgg16-397923af.pth'}
HEADS_URLS = {net: ('https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/'
                    f'weights/v0.1/{net}.pth') for net in NETS}
# torchvision's file names carry their SHA-256's first 8 hex digits; the heads' are the
# files of the lpips 0.1.4 wheel.
BACKBONE_SHA256 = {'alex': '7be5be79', 'vgg': '397923af'}
HEADS_SHA256 = {'alex': 'df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0',
                'vgg': 'a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868'}
MIN_SIZE = {'alex': 31, 'vgg': 16}

# The lpips package's ScalingLayer: x ↦ (x − shift) / scale per RGB channel.
_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], np.float32)
_HIGHEST = jax.lax.Precision.HIGHEST
# torchvision's ``features`` layers: (index, out channels, kernel, stride, padding),
# (index, 'pool', window, stride) for max pools, and 'tap' where LPIPS reads a ReLU output.
_LAYERS = {
    'alex': ((0, 64, 11, 4, 2), 'tap', (2, 'pool', 3, 2), (3, 192, 5, 1, 2), 'tap',
             (5, 'pool', 3, 2), (6, 384, 3, 1, 1), 'tap', (8, 256, 3, 1, 1), 'tap',
             (10, 256, 3, 1, 1), 'tap'),
    'vgg': ((0, 64, 3, 1, 1), (2, 64, 3, 1, 1), 'tap', (4, 'pool', 2, 2),
            (5, 128, 3, 1, 1), (7, 128, 3, 1, 1), 'tap', (9, 'pool', 2, 2),
            (10, 256, 3, 1, 1), (12, 256, 3, 1, 1), (14, 256, 3, 1, 1), 'tap',
            (16, 'pool', 2, 2), (17, 512, 3, 1, 1), (19, 512, 3, 1, 1), (21, 512, 3, 1, 1),
            'tap', (23, 'pool', 2, 2), (24, 512, 3, 1, 1), (26, 512, 3, 1, 1),
            (28, 512, 3, 1, 1), 'tap'),
}


class Backbone(nn.Module):
    """The ReLU outputs LPIPS reads, of AlexNet's or VGG-16's ``features``."""
    net: str

    @nn.compact
    def __call__(self, x):
        taps = []
        for layer in _LAYERS[self.net]:
            if layer == 'tap':
                taps.append(x)
            elif layer[1] == 'pool':
                _, _, window, stride = layer
                x = nn.max_pool(x, (window, window), (stride, stride))
            else:
                index, channels, kernel, stride, padding = layer
                x = nn.relu(nn.Conv(channels, (kernel, kernel), (stride, stride),
                                    padding=((padding, padding), (padding, padding)),
                                    precision=_HIGHEST, name=f'features_{index}')(x))
        return taps


class LPIPS(nn.Module):
    """(x, y), each (N, H, W, 3) in [−1, 1] → the LPIPS distance of each pair (N,)."""
    net: str = 'alex'

    @nn.compact
    def __call__(self, x, y):
        images = (jnp.concatenate([x, y]) - _SHIFT) / _SCALE
        distance = 0.0
        for layer, features in enumerate(Backbone(self.net, name='backbone')(images)):
            unit = features / (jnp.sqrt(jnp.sum(features ** 2, axis=-1, keepdims=True))
                               + 1e-10)
            unit_x, unit_y = jnp.split(unit, 2)
            weighted = nn.Dense(1, use_bias=False, precision=_HIGHEST, name=f'lin{layer}')(
                (unit_x - unit_y) ** 2)
            distance = distance + jnp.mean(weighted[..., 0], axis=(1, 2))
        return distance


def distance(variables, x, y, net: str = 'alex') -> jax.Array:
    """LPIPS of each pair (x_i, y_i): x, y (N, H, W, 3) in [−1, 1] → (N,)."""
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    if net not in NETS:
        raise ValueError(f'net must be one of {NETS}, got {net!r}')
    if x.shape != y.shape or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f'x and y must both be (N, H, W, 3), got {x.shape} and {y.shape}')
    if min(x.shape[1:3]) < MIN_SIZE[net]:
        raise ValueError(f'LPIPS-{net} needs images of at least {MIN_SIZE[net]} x '
                         f'{MIN_SIZE[net]} pixels, got {x.shape[1]} x {x.shape[2]}')
    return _distance(variables, x, y, net)


@functools.partial(jax.jit, static_argnames='net')
def _distance(variables, x, y, net):
    return LPIPS(net).apply(variables, x, y)


def init_variables(net: str = 'alex', seed: int = 0):
    """Random weights of the network's shapes, for tests (not for metrics): kernels
    N(0, 2/fan_in), biases N(0, 0.01), heads |N(0, 1)| (the fitted heads are ≥ 0)."""
    rng = np.random.default_rng(seed)
    flat = {}
    for path, shape in flax.traverse_util.flatten_dict(_variable_shapes(net)).items():
        if path[-1] == 'bias':
            value = 0.1 * rng.standard_normal(shape.shape)
        elif path[-2].startswith('lin'):
            value = np.abs(rng.standard_normal(shape.shape))
        else:
            value = rng.standard_normal(shape.shape) * np.sqrt(2 / np.prod(shape.shape[:-1]))
        flat[path] = jnp.asarray(value, jnp.float32)
    return flax.traverse_util.unflatten_dict(flat)


@functools.cache  # traced once per net, not per load
def _variable_shapes(net: str):
    images = jnp.zeros((1, 32, 32, 3))
    return jax.eval_shape(LPIPS(net).init, jax.random.key(0), images, images)


def from_state_dicts(backbone: dict[str, np.ndarray], heads: dict[str, np.ndarray],
                     net: str = 'alex'):
    """Flax variables from torchvision's state dict of AlexNet or VGG-16 (its
    ``features.*`` entries; the classifier's are not used) and the ``lpips`` package's
    heads (``lin{l}.model.1.weight``, (1, C, 1, 1)).

    Raises:
      errors.ConfigError: a tensor the network needs is missing or has another shape.
    """
    template = flax.traverse_util.flatten_dict(_variable_shapes(net), sep='/')
    variables = {}
    for path, expected in template.items():
        module, leaf = path.split('/')[-2:]
        if module.startswith('lin'):
            name = f'{module}.model.1.weight'
            source = heads
        else:
            name = f"features.{module.split('_')[1]}.{'weight' if leaf == 'kernel' else 'bias'}"
            source = backbone
        if name not in source:
            raise errors.ConfigError(f'not the LPIPS-{net} weights: {name} is missing')
        value = np.asarray(source[name], np.float32)
        if module.startswith('lin'):
            value = value.reshape(-1, 1)  # (1, C, 1, 1) → (C, 1)
        elif leaf == 'kernel':
            value = value.transpose(2, 3, 1, 0)  # OIHW → HWIO
        if value.shape != expected.shape:
            raise errors.ConfigError(f'{name} has shape {source[name].shape}; LPIPS-{net} '
                                     f'expects {expected.shape} (after transposing)')
        variables[path] = value
    return flax.traverse_util.unflatten_dict(variables, sep='/')


def load_weights(net: str = 'alex', backbone: epath.PathLike | None = None,
                 heads: epath.PathLike | None = None):
    """The variables of LPIPS-``net`` from torchvision's backbone ``.pth`` and the
    ``lpips`` package's heads ``.pth``: each the path given (read as it is), else the
    cache, downloading once and checking the file's SHA-256.

    Raises:
      downloads.WeightsUnavailableError: a file is neither given, cached nor
        downloadable, or not the expected one.
    """
    if net not in NETS:
        raise errors.ConfigError(f'net must be one of {NETS}, got {net!r}')
    states = []
    for path, url, sha256 in ((backbone, BACKBONE_URLS[net], BACKBONE_SHA256[net]),
                              (heads, HEADS_URLS[net], HEADS_SHA256[net])):
        if path is None:
            data, name = downloads.cached(url, 'lpips', sha256), url
        else:
            data, name = epath.Path(path).read_bytes(), os.fspath(path)
        states.append(torch_checkpoint.loads(data, name=name))
    return from_state_dicts(*states, net=net)
