"""Training the MNIST feature network (``ganjax.models.classifier``) and measuring it.

Splits: with TFDS MNIST, train on 'train' (60,000) and hold out 'test' (10,000); with the
embedded MNIST (5,000 digits, one split), train on 'train[:90%]' and hold out
'train[90%:]' (500 digits, 38–59 per class). The data source, splits, seed, optimiser
and held-out accuracy (overall and per class) go into the record saved beside the
weights.

Training: softmax cross-entropy, AdamW (weight decay 1e-4) with a cosine-decayed learning
rate, and random translations of up to ``max_shift`` pixels (zero padding), which a
classifier of generated digits needs more than a classifier of centred MNIST does.
"""
import time

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from ganjax import errors
from ganjax.data import datasets
from ganjax.data import pipeline
from ganjax.models import classifier
from ganjax.reporting import writers

_EVAL_BATCH = 1000


def splits_for(source: str) -> tuple[str, str]:
    """(training split, held-out split) for data.source 'embedded' or 'tfds'."""
    return ('train[:90%]', 'train[90%:]') if source == 'embedded' else ('train', 'test')


def random_shift(key: jax.Array, images: jax.Array, max_shift: int) -> jax.Array:
    """Translates each image by its own uniform (dy, dx) in [−max_shift, max_shift]²,
    filling with the background value −1."""
    if not max_shift:
        return images
    _, height, width, _ = images.shape
    padded = jnp.pad(images, [(0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)],
                     constant_values=-1.0)
    offsets = jax.random.randint(key, (images.shape[0], 2), 0, 2 * max_shift + 1)

    def crop(image, offset):
        return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0),
                                     (height, width, image.shape[-1]))
    return jax.vmap(crop)(padded, offsets)


@jax.jit
def _predict(params, images: jax.Array) -> jax.Array:
    return jnp.argmax(classifier.MnistClassifier().apply({'params': params}, images)[0], -1)


def accuracy(params, images: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Overall accuracy and accuracy per class (10,) of the classifier on a labelled set."""
    predictions = np.concatenate([np.asarray(_predict(params, images[i:i + _EVAL_BATCH]))
                                  for i in range(0, len(images), _EVAL_BATCH)])
    correct = predictions == labels
    per_class = np.array([correct[labels == c].mean() for c in range(10)])
    return float(correct.mean()), per_class


def validate(config: ml_collections.ConfigDict) -> None:
    """Raises ``errors.ConfigError`` naming the first key of a classifier config
    (``experiments/configs/mnist_classifier.py``) that is missing or out of range."""
    for key in ('epochs', 'batch_size'):
        errors.positive_int(config, key)
    seed = errors.config_value(config, 'seed')
    errors.require(errors.is_int_at_least(seed, 0), 'seed', seed, 'be an integer >= 0')
    errors.require_finite_positive(errors.config_value(config, 'learning_rate'),
                                   'learning_rate')
    errors.require_finite_nonnegative(errors.config_value(config, 'weight_decay'),
                                      'weight_decay')
    shift = errors.config_value(config, 'max_shift')
    errors.require(errors.is_int_at_least(shift, 0), 'max_shift', shift,
                   'be an integer >= 0')
    errors.require(errors.config_value(config, 'data.name') == 'mnist', 'data.name',
                   config.data.name, "be 'mnist' (the feature network reads MNIST digits)")
    clusters = datasets.num_clusters(config.data)
    errors.require(clusters is None, 'data.clusters', clusters,
                   "be None (the network learns the digits' labels)")


def train(config: ml_collections.ConfigDict) -> tuple[dict, dict]:
    """Trains the classifier as ``config`` says (``validate``); returns (params, record).

    ``config``: ``data`` (a ``ganjax.data`` config for MNIST), ``seed``, ``epochs``,
    ``batch_size``, ``learning_rate``, ``weight_decay``, ``max_shift``.
    """
    validate(config)
    data_config = pipeline.pin_source(config.data, pipeline.prepare(config.data))
    train_split, heldout_split = splits_for(data_config.source)
    train_set, train_source = pipeline.load_examples(data_config, train_split)
    heldout, heldout_source = pipeline.load_examples(data_config, heldout_split)
    num_train = len(train_set['label'])
    steps_per_epoch = num_train // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    model = classifier.MnistClassifier()
    key = jax.random.key(config.seed)
    init_key, order_key, shift_key = jax.random.split(key, 3)
    params = model.init(init_key, jnp.zeros((1, 28, 28, 1)))['params']
    tx = optax.adamw(optax.cosine_decay_schedule(config.learning_rate, total_steps),
                     weight_decay=config.weight_decay)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, images, labels, step_key):
        def loss_fn(p):
            logits, _ = model.apply({'params': p}, random_shift(step_key, images,
                                                                 config.max_shift))
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    logging.info('Training the MNIST classifier on %s (%d digits) for %d epochs, held out: '
                 '%s (%d digits).', train_source, num_train, config.epochs, heldout_source,
                 len(heldout['label']))
    progress = writers.ProgressReporter(total_steps, config.batch_size)
    start = time.perf_counter()
    for epoch in range(config.epochs):
        order = np.asarray(jax.random.permutation(jax.random.fold_in(order_key, epoch),
                                                  num_train))
        losses = []
        for i in range(steps_per_epoch):
            batch = order[i * config.batch_size:(i + 1) * config.batch_size]
            params, opt_state, loss = step(
                params, opt_state, train_set['image'][batch], train_set['label'][batch],
                jax.random.fold_in(shift_key, epoch * steps_per_epoch + i))
            losses.append(loss)
        heldout_accuracy, _ = accuracy(params, heldout['image'], heldout['label'])
        progress.update((epoch + 1) * steps_per_epoch,
                        {'epoch': epoch + 1, 'loss': float(np.mean(losses)),
                         'heldout_accuracy': heldout_accuracy})
    heldout_accuracy, per_class = accuracy(params, heldout['image'], heldout['label'])
    record = dict(
        architecture='ganjax.models.classifier.MnistClassifier',
        train_data=train_source, num_train=num_train,
        heldout_data=heldout_source, num_heldout=int(len(heldout['label'])),
        heldout_accuracy=heldout_accuracy,
        heldout_accuracy_per_class=[float(a) for a in per_class],
        seed=config.seed, epochs=config.epochs, batch_size=config.batch_size,
        learning_rate=config.learning_rate, weight_decay=config.weight_decay,
        max_shift=config.max_shift, train_seconds=round(time.perf_counter() - start, 1),
        jax_version=jax.__version__)
    return params, record
