"""The MNIST feature network that ships with ganjax: its weights, their hash, applying it.

The weights live in ``ganjax/evaluation/weights/mnist_classifier.npz`` (NumPy arrays named by their
Flax path, read with ``allow_pickle=False``: loading them runs no code) beside
``mnist_classifier.json``, the record of how they were trained and what held-out
accuracy they reach. ``python -m experiments.train_classifier`` writes both.

Every number computed with the network is stored with ``sha256``: a hash of the
parameters themselves (each array's path, dtype, shape and bytes, in path order), so it
names the function, not the file's zip metadata.
"""
import dataclasses
import hashlib
import json
import os
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np

from ganjax import errors
from ganjax.models import classifier

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'weights')
MNIST_CLASSIFIER = 'mnist_classifier'
_APPLY_BATCH = 500  # images per compiled call; the last call is padded to it


class WeightsError(errors.UserError, ValueError):
    """The weights files are missing, unreadable or do not match their record."""


def params_sha256(params: Any) -> str:
    """Hex SHA-256 of a parameter tree: path, dtype, shape and bytes of every array."""
    digest = hashlib.sha256()
    for path, array in sorted(flax.traverse_util.flatten_dict(params, sep='/').items()):
        array = np.ascontiguousarray(np.asarray(array))
        digest.update(f'{path}|{array.dtype.str}|{array.shape}|'.encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class FeatureNetwork:
    """A trained classifier used as a feature extractor.

    Attributes:
      name: e.g. 'mnist_classifier'.
      params: the Flax parameters.
      sha256: ``params_sha256(params)``.
      record: how the weights were trained, with their held-out accuracy.
    """
    name: str
    params: Any
    sha256: str
    record: dict

    @property
    def protocol(self) -> dict:
        """What a number computed with this network should be stored with."""
        return dict(name=self.name, sha256=self.sha256,
                    heldout_accuracy=self.record.get('heldout_accuracy'))

    def logits_and_features(self, images) -> tuple[np.ndarray, np.ndarray]:
        """Class logits (N, 10) and penultimate features (N, 128) of images
        (N, 28, 28, 1) in [−1, 1], as float32 NumPy arrays."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (28, 28, 1) or not len(images):
            raise ValueError(f'images must have shape (N > 0, 28, 28, 1), got {images.shape}')
        return in_batches(lambda batch: _apply(self.params, batch), _APPLY_BATCH, images)


def in_batches(function, batch_size: int, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``function(*batches)``'s outputs (a tuple of per-example arrays) over ``arrays``
    (equal lengths) in batches of ``batch_size``, the last padded with zeros to it so
    that a compiled function sees one shape; as NumPy arrays, the padding dropped."""
    outputs = []
    for start in range(0, len(arrays[0]), batch_size):
        chunks = [array[start:start + batch_size] for array in arrays]
        size = len(chunks[0])
        padded = [np.pad(chunk, [(0, batch_size - size)] + [(0, 0)] * (chunk.ndim - 1))
                  for chunk in chunks]
        outputs.append([np.asarray(out)[:size] for out in function(*padded)])
    return tuple(np.concatenate(parts) for parts in zip(*outputs))


@jax.jit
def _apply(params, images):  # one compilation for every network of this architecture
    return classifier.MnistClassifier().apply({'params': params}, images)


def save(params: Any, record: dict, directory: str = WEIGHTS_DIR,
         name: str = MNIST_CLASSIFIER) -> str:
    """Writes ``name.npz`` (the parameters) and ``name.json`` (``record`` with the hash);
    returns the .npz path."""
    os.makedirs(directory, exist_ok=True)
    arrays = {path: np.asarray(array) for path, array in
              flax.traverse_util.flatten_dict(jax.device_get(params), sep='/').items()}
    path = os.path.join(directory, f'{name}.npz')
    np.savez_compressed(path, **arrays)
    with open(os.path.join(directory, f'{name}.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(record, sha256=params_sha256(params)), f, indent=2, sort_keys=True)
    return path


def load(directory: str = WEIGHTS_DIR, name: str = MNIST_CLASSIFIER) -> FeatureNetwork:
    """Reads a network written by ``save``, checking its parameters against the hash
    in its record.

    Raises:
      WeightsError: a file is missing or the parameters do not match the record.
    """
    npz_path = os.path.join(directory, f'{name}.npz')
    json_path = os.path.join(directory, f'{name}.json')
    for path in (npz_path, json_path):
        if not os.path.isfile(path):
            raise WeightsError(f'{path} is missing: run `python -m '
                               'experiments.train_classifier` to create it')
    with np.load(npz_path, allow_pickle=False) as arrays:
        params = flax.traverse_util.unflatten_dict(
            {path: jnp.asarray(arrays[path]) for path in arrays.files}, sep='/')
    with open(json_path, encoding='utf-8') as f:
        record = json.load(f)
    sha256 = params_sha256(params)
    if record.get('sha256') != sha256:
        raise WeightsError(f'{npz_path} does not match {json_path} (sha256 {sha256} vs '
                           f"{record.get('sha256')}): retrain or restore both files")
    return FeatureNetwork(name, params, sha256, record)
