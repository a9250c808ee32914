"""The FID Inception-v3 network in Flax: the features every CIFAR-10 / ImageNet FID, IS
and KID in the literature is computed on.

Heusel et al.'s FID code (TensorFlow) used the 2015 Inception-v3 graph
(``inception-2015-12-05.tgz``); pytorch-fid ported it as ``FIDInceptionA``/``C``/
``E_1``/``E_2`` blocks on torchvision's Inception-v3 with the weights
``pt_inception-2015-12-05-6726825d.pth``, and torch-fidelity and clean-fid reuse them.
``FIDInceptionV3`` computes the same function as pytorch-fid's ``InceptionV3`` (FID
variant): its differences from the torchvision network are the ones of the TF graph —
average pools that do not count padded zeros, a max pool in the last block's pooling
branch, and 1,008 logits.

* ``features(variables, images) -> (pool3, logits)``: images (N, H, W, 3) in [−1, 1], any
  size, resized to 299 × 299 as pytorch-fid does (``resize``: bilinear,
  ``align_corners=False``, no antialiasing, also when shrinking); pool3 (N, 2048) are the
  FID / KID / precision-recall features, logits (N, 1008) the network's outputs.
* ``unbiased_logits(variables, pool3)``: pool3 times the last layer's weights, without its
  bias: the logits of Salimans et al.'s Inception Score code (torch-fidelity's and
  torchmetrics' 'logits_unbiased'), which the literature's IS values come from.
* ``load_weights(path=None) -> variables``: pytorch-fid's ``.pth`` (read by
  ``ganjax.torch_checkpoint``, without PyTorch and without unrestricted unpickling) or a
  ``.npz`` written by ``save_weights``. With no path: the converted ``.npz`` in
  ``$GANJAX_CACHE_DIR`` (or ~/.cache/ganjax), made on first use from ``FID_WEIGHTS_URL``
  (downloaded, checked against the SHA-256 prefix in its name, as ``torch.hub`` does).
* ``init_variables(seed)``: random weights of the same shapes, for tests.

Convolutions and the final dense layer run at ``Precision.HIGHEST``: float32 on every
backend (TPUs would otherwise multiply in bfloat16).
"""
from collections.abc import Sequence
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
from ganjax.reporting import files

FID_WEIGHTS_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                   'pt_inception-2015-12-05-6726825d.pth')
SHA256_PREFIX = '6726825d'  # torch.hub's convention: the file name carries it
INPUT_SIZE = 299
NUM_LOGITS = 1008  # ImageNet's 1,000 classes and 8 unused outputs of the TF graph
_HIGHEST = jax.lax.Precision.HIGHEST


class BasicConv(nn.Module):
    """Convolution without bias → BatchNorm (ε = 0.001, running statistics) → ReLU."""
    features: int
    kernel: Sequence[int]
    strides: Sequence[int] = (1, 1)
    padding: Sequence[int] = (0, 0)  # zeros on each side of (height, width)

    @nn.compact
    def __call__(self, x):
        pad_h, pad_w = self.padding
        x = nn.Conv(self.features, tuple(self.kernel), tuple(self.strides),
                    padding=((pad_h, pad_h), (pad_w, pad_w)), use_bias=False,
                    precision=_HIGHEST, name='conv')(x)
        # Running statistics (``features``), except where the caller makes 'batch_stats'
        # mutable (``init_variables``, or ``apply(..., mutable=True)``): then this batch's
        # statistics normalise and replace them.
        x = nn.BatchNorm(use_running_average=not self.is_mutable_collection('batch_stats'),
                         momentum=0.0, epsilon=1e-3, name='bn')(x)
        return nn.relu(x)


def _average_pool(x):
    """3×3, stride 1, padding 1, averaging only the real (not padded) entries."""
    return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x, strides=(2, 2), padding='VALID'):
    return nn.max_pool(x, (3, 3), strides, padding=padding)


class InceptionA(nn.Module):  # pytorch-fid's FIDInceptionA
    pool_features: int

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv(64, (1, 1), name='branch1x1')(x)
        b5 = BasicConv(48, (1, 1), name='branch5x5_1')(x)
        b5 = BasicConv(64, (5, 5), padding=(2, 2), name='branch5x5_2')(b5)
        b3 = BasicConv(64, (1, 1), name='branch3x3dbl_1')(x)
        b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
        b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
        bp = BasicConv(self.pool_features, (1, 1), name='branch_pool')(_average_pool(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):  # torchvision's InceptionB (Mixed_6a)

    @nn.compact
    def __call__(self, x):
        b3 = BasicConv(384, (3, 3), strides=(2, 2), name='branch3x3')(x)
        bd = BasicConv(64, (1, 1), name='branch3x3dbl_1')(x)
        bd = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
        bd = BasicConv(96, (3, 3), strides=(2, 2), name='branch3x3dbl_3')(bd)
        return jnp.concatenate([b3, bd, _max_pool(x)], axis=-1)


class InceptionC(nn.Module):  # pytorch-fid's FIDInceptionC
    channels_7x7: int

    @nn.compact
    def __call__(self, x):
        c7 = self.channels_7x7
        b1 = BasicConv(192, (1, 1), name='branch1x1')(x)
        b7 = BasicConv(c7, (1, 1), name='branch7x7_1')(x)
        b7 = BasicConv(c7, (1, 7), padding=(0, 3), name='branch7x7_2')(b7)
        b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7_3')(b7)
        bd = BasicConv(c7, (1, 1), name='branch7x7dbl_1')(x)
        bd = BasicConv(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_2')(bd)
        bd = BasicConv(c7, (1, 7), padding=(0, 3), name='branch7x7dbl_3')(bd)
        bd = BasicConv(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_4')(bd)
        bd = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7dbl_5')(bd)
        bp = BasicConv(192, (1, 1), name='branch_pool')(_average_pool(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):  # torchvision's InceptionD (Mixed_7a)

    @nn.compact
    def __call__(self, x):
        b3 = BasicConv(192, (1, 1), name='branch3x3_1')(x)
        b3 = BasicConv(320, (3, 3), strides=(2, 2), name='branch3x3_2')(b3)
        b7 = BasicConv(192, (1, 1), name='branch7x7x3_1')(x)
        b7 = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
        b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
        b7 = BasicConv(192, (3, 3), strides=(2, 2), name='branch7x7x3_4')(b7)
        return jnp.concatenate([b3, b7, _max_pool(x)], axis=-1)


class InceptionE(nn.Module):
    """pytorch-fid's FIDInceptionE_1 (``max_pool=False``: Mixed_7b, an average pool
    without padded zeros) and FIDInceptionE_2 (``max_pool=True``: Mixed_7c)."""
    max_pool: bool

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv(320, (1, 1), name='branch1x1')(x)
        b3 = BasicConv(384, (1, 1), name='branch3x3_1')(x)
        b3 = jnp.concatenate([
            BasicConv(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(b3),
            BasicConv(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(b3)], axis=-1)
        bd = BasicConv(448, (1, 1), name='branch3x3dbl_1')(x)
        bd = BasicConv(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
        bd = jnp.concatenate([
            BasicConv(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(bd),
            BasicConv(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(bd)], axis=-1)
        pooled = (_max_pool(x, (1, 1), ((1, 1), (1, 1))) if self.max_pool
                  else _average_pool(x))
        bp = BasicConv(192, (1, 1), name='branch_pool')(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(nn.Module):
    """299 × 299 × 3 images in [−1, 1] → (pool3 (N, 2048), logits (N, 1008))."""

    @nn.compact
    def __call__(self, x):
        x = BasicConv(32, (3, 3), strides=(2, 2), name='Conv2d_1a_3x3')(x)
        x = BasicConv(32, (3, 3), name='Conv2d_2a_3x3')(x)
        x = BasicConv(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
        x = _max_pool(x)
        x = BasicConv(80, (1, 1), name='Conv2d_3b_1x1')(x)
        x = BasicConv(192, (3, 3), name='Conv2d_4a_3x3')(x)
        x = _max_pool(x)
        x = InceptionA(32, name='Mixed_5b')(x)
        x = InceptionA(64, name='Mixed_5c')(x)
        x = InceptionA(64, name='Mixed_5d')(x)
        x = InceptionB(name='Mixed_6a')(x)
        for name, channels in (('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160),
                               ('Mixed_6e', 192)):
            x = InceptionC(channels, name=name)(x)
        x = InceptionD(name='Mixed_7a')(x)
        x = InceptionE(max_pool=False, name='Mixed_7b')(x)
        x = InceptionE(max_pool=True, name='Mixed_7c')(x)
        pool3 = jnp.mean(x, axis=(1, 2))
        return pool3, nn.Dense(NUM_LOGITS, precision=_HIGHEST, name='fc')(pool3)


def resize_matrix(in_size: int, out_size: int, dtype=np.float32) -> np.ndarray:
    """(out_size, in_size) weights of 1-D bilinear resizing with ``align_corners=False``
    and no antialiasing (PyTorch's ``F.interpolate(mode='bilinear')``): output ``i``
    reads source position ``(i + 0.5) · in/out − 0.5``, clamped at 0, from its two
    neighbours (the last index repeated at the edge).

    PyTorch's CPU kernel computes that position from the float32 scale in/out as one
    fused multiply-add, rounded once. In float64 the product of two float32 numbers and
    the subtraction of 0.5 are exact, so the position computed in float64 and rounded
    once to float32 is PyTorch's: float32 weights are PyTorch's to the last bit (the
    tests compare them where PyTorch is installed). For any other ``dtype`` the position
    is computed the same way, in float64 rounded once to ``dtype``."""
    dtype = np.dtype(dtype).type
    scale = dtype(in_size) / dtype(out_size)
    exact = np.float64(scale) * (np.arange(out_size, dtype=np.float64) + 0.5) - 0.5
    source = np.maximum(exact.astype(dtype), dtype(0))
    low = source.astype(np.int64)  # floor: source >= 0
    weight_high = np.clip(source - low.astype(dtype), dtype(0), dtype(1))
    high = np.minimum(low + 1, in_size - 1)
    matrix = np.zeros((out_size, in_size), dtype)
    np.add.at(matrix, (np.arange(out_size), low), dtype(1) - weight_high)
    np.add.at(matrix, (np.arange(out_size), high), weight_high)
    return matrix


def resize(images: jax.Array, size: int = INPUT_SIZE) -> jax.Array:
    """(N, H, W, C) → (N, size, size, C), bilinear as pytorch-fid resizes."""
    rows = jnp.asarray(resize_matrix(images.shape[1], size, images.dtype))
    columns = jnp.asarray(resize_matrix(images.shape[2], size, images.dtype))
    return jnp.einsum('ih,nhwc,jw->nijc', rows, images, columns, precision=_HIGHEST)


@jax.jit
def features(variables, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(pool3 (N, 2048), logits (N, 1008)) of images (N, H, W, 3) in [−1, 1]."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f'images must be (N, H, W, 3), got {images.shape}')
    return FIDInceptionV3().apply(variables, resize(images.astype(jnp.float32)))


@jax.jit
def unbiased_logits(variables, pool3: jax.Array) -> jax.Array:
    """(N, 1008) = pool3 (N, 2048) @ W, the last layer without its bias (Salimans et al.'s
    ``inception_score/model.py`` multiplies pool3 by the softmax layer's weight matrix)."""
    return jnp.dot(pool3, variables['params']['fc']['kernel'], precision=_HIGHEST)


def init_variables(seed: int = 0):
    """Random weights of the network's shapes, for tests (not for metrics): kernels
    N(0, 1/fan_in), and every BatchNorm's statistics measured on a batch of smooth noise
    images, so that each layer standardises its input and the features depend on the image
    as a trained network's do (with arbitrary statistics they hardly do). Drawn by
    NumPy: XLA:CPU takes ~15 s to compile Flax's ``init`` of this network."""
    rng = np.random.default_rng(seed)
    variables = {}
    for path, shape in flax.traverse_util.flatten_dict(_variable_shapes()).items():
        if path[-1] == 'kernel':
            value = rng.standard_normal(shape.shape) / np.sqrt(np.prod(shape.shape[:-1]))
        else:  # BatchNorm's scale and variance 1, biases and means 0
            value = np.full(shape.shape, 1.0 if path[-1] in ('scale', 'var') else 0.0)
        variables[path] = jnp.asarray(value, jnp.float32)
    variables = flax.traverse_util.unflatten_dict(variables)
    noise = rng.uniform(-1, 1, (4, 16, 16, 3)).astype(np.float32)
    return {**variables, **_measured_batch_statistics(variables, noise)}


@functools.cache  # the network's shapes: traced once (~0.7 s), not per load
def _variable_shapes():
    # The network's variables do not depend on the image size: 75², its smallest.
    return jax.eval_shape(FIDInceptionV3().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3)))


@jax.jit
def _measured_batch_statistics(variables, images):
    _, measured = FIDInceptionV3().apply(variables, resize(images), mutable=['batch_stats'])
    return measured


def from_state_dict(state: dict[str, np.ndarray]):
    """Flax variables from pytorch-fid's state dict (torch names, OIHW kernels).

    Raises:
      errors.ConfigError: a tensor the network lacks, or one it needs that is missing.
    """
    template = flax.traverse_util.flatten_dict(_variable_shapes(), sep='/')
    variables, unused = {}, []
    for name, value in state.items():
        path, converted = _flax_entry(name, value)
        if path is None:
            continue
        if path not in template:
            unused.append(name)
            continue
        if converted.shape != template[path].shape:
            raise errors.ConfigError(f'{name} has shape {value.shape}, the network expects '
                                     f'{template[path].shape} (after transposing)')
        variables[path] = converted.astype(np.float32)
    missing = sorted(template.keys() - variables.keys())
    if unused or missing:
        raise errors.ConfigError(
            f'not FID Inception weights: unexpected {unused[:5]}, missing {missing[:5]}')
    return flax.traverse_util.unflatten_dict(variables, sep='/')


def _flax_entry(name: str, value: np.ndarray) -> tuple[str | None, np.ndarray]:
    """A torch state-dict entry's Flax path ('params/Mixed_5b/branch1x1/conv/kernel')
    and value, or (None, _) for entries without one (BatchNorm's step counter)."""
    *module, leaf = name.split('.')
    module = '/'.join(module)
    if leaf == 'num_batches_tracked':
        return None, value
    if leaf == 'weight' and value.ndim == 4:  # OIHW → HWIO
        return f'params/{module}/kernel', value.transpose(2, 3, 1, 0)
    if leaf == 'weight' and value.ndim == 2:  # (out, in) → (in, out)
        return f'params/{module}/kernel', value.T
    renamed = {'weight': ('params', 'scale'), 'bias': ('params', 'bias'),
               'running_mean': ('batch_stats', 'mean'), 'running_var': ('batch_stats', 'var')}
    if leaf not in renamed:
        return f'unknown/{name}', value
    collection, leaf = renamed[leaf]
    return f'{collection}/{module}/{leaf}', value


def save_weights(path: epath.PathLike, variables) -> None:
    """Writes ``variables`` as an ``.npz`` that ``load_weights`` reads back (whole or not
    at all: ``ganjax.reporting.files.replacing``)."""
    flat = flax.traverse_util.flatten_dict(jax.device_get(variables), sep='/')
    with files.replacing(path) as partial:
        np.savez(partial, **{key: np.asarray(value) for key, value in flat.items()})


def load_weights(path: epath.PathLike | None = None):
    """The network's variables from a ``.pth`` (pytorch-fid's), an ``.npz``
    (``save_weights``'s), or, with ``path=None``, the cache (downloading once)."""
    if path is None:
        path = _cached_weights()
    path = epath.Path(path)
    if path.suffix == '.npz':
        with path.open('rb') as f, np.load(f, allow_pickle=False) as stored:
            stored = dict(stored)
        expected = {key: value.shape for key, value in
                    flax.traverse_util.flatten_dict(_variable_shapes(), sep='/').items()}
        if {key: value.shape for key, value in stored.items()} != expected:
            raise errors.ConfigError(f'{path} is not FID Inception weights written by '
                                     f'ganjax (arrays {sorted(stored)[:3]}…)')
        return flax.traverse_util.unflatten_dict(stored, sep='/')
    return from_state_dict(torch_checkpoint.loads(path.read_bytes(), name=os.fspath(path)))


def _cached_weights() -> epath.Path:
    """The converted weights in the cache, made on first use from the ``.pth``
    (``downloads.cached``: in the cache, else downloaded there and checked)."""
    converted = files.cache_dir() / 'inception' / f'pt_inception-2015-12-05-{SHA256_PREFIX}.npz'
    if not converted.exists():
        data = downloads.cached(FID_WEIGHTS_URL, 'inception', SHA256_PREFIX)
        save_weights(converted, from_state_dict(torch_checkpoint.loads(data, name=FID_WEIGHTS_URL)))
    return converted
