"""Adversarial losses, penalties, a mode-seeking term and VAE terms, as exact pure functions.

Every function here computes exactly the formula in its docstring (no dropped constants, no
hidden label smoothing) and is safe under ``jax.jit``, ``jax.vmap`` and ``jax.grad``.

Conventions shared by the whole module:

* Discriminator / critic outputs are raw values (logits, critic scores), never
  probabilities, of shape ``(B,)`` or ``(B, 1)``. Every loss returns a scalar: the mean over
  the batch of the per-example terms.
* ``BCE(x, t)`` is the binary cross-entropy of a logit ``x`` against a target ``t``,
  ``−t·log σ(x) − (1 − t)·log(1 − σ(x))``, computed as ``t·softplus(−x) + (1 − t)·softplus(x)``
  (via ``optax.losses.sigmoid_binary_cross_entropy``), so values and gradients stay finite in
  float32 for logits up to ±1e4. ``BCE(v, t)`` of a vector means its mean over the batch.
* Real and fake batches may have different sizes wherever a loss only averages each of them
  separately: every adversarial loss here except the relativistic pairing ones (the
  relativistic average losses use only the mean of the other batch). The relativistic pairing
  losses compare real example i with fake example i, and ``gradient_penalty`` pairs real and
  fake examples to interpolate between them, so there the two shapes must be identical
  ((B,) and (B, 1) do not mix).
* Shapes are static, so bad shapes are caught at trace time: a ``ValueError`` that names the
  argument, the shape it got and the shape it needed, never a silent broadcast. Python-number
  hyper-parameters (``target``, ``label_smoothing``, ...) are range-checked when they are
  concrete; traced values are taken as given.
* Penalties take ``critic_fn``, a function from a batch ``(B, ...)`` to critic values ``(B,)``
  or ``(B, 1)``. Per-example input gradients are taken as the gradient of the *sum* of the
  critic values with respect to the batch. That is exact only because example ``i``'s output
  then depends on example ``i``'s input alone: ``critic_fn`` must not mix examples (a
  BatchNorm in training mode, minibatch discrimination or minibatch standard deviation would
  make these penalties silently wrong).
"""
from collections.abc import Callable, Sequence
import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import optax

CriticFn = Callable[[jax.Array], jax.Array]
Shape = tuple[int, ...]


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


def _validated(
    name: str, value: jax.typing.ArrayLike, requirement: str, is_valid: Callable[[Shape], bool]
) -> jax.Array:
    """Returns ``value`` as an array if its static shape passes ``is_valid``.

    Raises:
        ValueError: naming the argument, the requirement and the shape it got.
    """
    array = jnp.asarray(value)
    if not is_valid(array.shape):
        raise ValueError(f'{name} must {requirement}, got shape {array.shape}.')
    return array


def _batch_vector(name: str, value: jax.typing.ArrayLike) -> jax.Array:
    """Returns discriminator outputs of shape (B,) or (B, 1) as a (B,) vector."""
    array = _validated(
        name, value, 'have shape (B,) or (B, 1) with B >= 1',
        lambda shape: len(shape) in (1, 2) and shape[0] > 0 and shape[1:] in ((), (1,)))
    return array.reshape(array.shape[0])


def _batch_of_examples(name: str, value: jax.typing.ArrayLike, min_ndim: int) -> jax.Array:
    """Returns a (B, ...) batch with at least ``min_ndim`` axes and B >= 1."""
    return _validated(
        name, value, f'have a leading batch axis and at least {min_ndim} axes, (B, ...), B >= 1',
        lambda shape: len(shape) >= min_ndim and shape[0] > 0)


def _same_shape(name: str, value: jax.typing.ArrayLike, other_name: str,
                other: jax.Array) -> jax.Array:
    """Returns ``value`` as an array if it has exactly the shape of ``other``."""
    return _validated(name, value, f'have the shape of {other_name}, {other.shape}',
                      lambda shape: shape == other.shape)


def _check_number(name: str, value: Any, requirement: str,
                  is_valid: Callable[[float], bool]) -> None:
    """Range-checks a hyper-parameter when it is a concrete number (traced values pass)."""
    if isinstance(value, numbers.Real) and not is_valid(value):
        raise ValueError(f'{name} must be {requirement}, got {value!r}.')


# ----------------------------------------------------------------------------------------------
# Shared pieces
# ----------------------------------------------------------------------------------------------


def _mean_bce(logits: jax.Array, target: jax.typing.ArrayLike) -> jax.Array:
    """Mean over the batch of BCE(logits, target), in the stable log-sigmoid form."""
    return jnp.mean(optax.losses.sigmoid_binary_cross_entropy(logits, target))


def _sum_per_example(values: jax.Array) -> jax.Array:
    """Sums a (B, ...) array over every axis but the batch axis, giving (B,)."""
    return jnp.sum(values, axis=tuple(range(1, values.ndim)))


def _squared_input_gradient_norms(critic_fn: CriticFn, inputs: jax.Array) -> jax.Array:
    """‖∇ₓ critic_fn(x)‖₂² for each example of ``inputs``, shape (B,).

    The gradient of Σᵢ critic_fn(x)ᵢ with respect to the batch gives every example's own input
    gradient at once; exact because critic_fn must not mix examples (module docstring).
    """
    batch_size = inputs.shape[0]

    def summed_critic(batch: jax.Array) -> jax.Array:
        values = _validated(
            'critic_fn output', critic_fn(batch),
            f'have shape ({batch_size},) or ({batch_size}, 1) to match its input batch',
            lambda shape: shape in ((batch_size,), (batch_size, 1)))
        return jnp.sum(values)

    return _sum_per_example(jnp.square(jax.grad(summed_critic)(inputs)))


def _safe_sqrt(squared_norms: jax.Array) -> jax.Array:
    """sqrt with a finite (zero) gradient at 0, and the exact value everywhere.

    The double-where trick: sqrt only ever sees positive inputs, so its derivative 1/(2√s) is
    never inf, and the outer where routes zero cotangent to the s == 0 entries. Unlike
    sqrt(s + tiny), the value is untouched.
    """
    is_zero = squared_norms == 0
    safe_squared_norms = jnp.where(is_zero, 1.0, squared_norms)
    return jnp.where(is_zero, 0.0, jnp.sqrt(safe_squared_norms))


def _gradient_norm_penalty(critic_fn: CriticFn, points: jax.Array, target: float,
                           one_sided: bool) -> jax.Array:
    """E[(‖∇critic_fn(x̂)‖₂ / target − 1)²] over ``points``, the deviation clipped at 0 if
    ``one_sided``."""
    _check_number('target', target, '> 0', lambda t: t > 0)
    norms = _safe_sqrt(_squared_input_gradient_norms(critic_fn, points))
    deviations = norms / target - 1.0
    if one_sided:
        deviations = jax.nn.relu(deviations)
    return jnp.mean(jnp.square(deviations))


def _interpolate(key: jax.Array, start: jax.Array, end: jax.Array) -> jax.Array:
    """ε·start + (1 − ε)·end with one ε ~ U[0, 1) per example, broadcast over its other axes."""
    epsilon_shape = (start.shape[0],) + (1,) * (start.ndim - 1)
    epsilon = jax.random.uniform(key, epsilon_shape, dtype=start.dtype)
    return epsilon * start + (1.0 - epsilon) * end


# ----------------------------------------------------------------------------------------------
# Adversarial losses
# ----------------------------------------------------------------------------------------------


def minimax_discriminator_loss(real_logits: jax.typing.ArrayLike,
                               fake_logits: jax.typing.ArrayLike,
                               label_smoothing: float = 0.0) -> jax.Array:
    """Discriminator loss of the original GAN, with optional one-sided label smoothing.

    ``BCE(r, 1 − label_smoothing) + BCE(f, 0)``, i.e.
    ``−E[(1 − s)·log σ(r) + s·log(1 − σ(r))] − E[log(1 − σ(f))]``: the negated value function
    of Goodfellow et al. 2014, "Generative Adversarial Nets" (NeurIPS), to be minimised.
    ``label_smoothing`` = s lowers only the real target (one-sided label smoothing, Salimans et
    al. 2016, "Improved Techniques for Training GANs", NeurIPS, §3.4): s = 0.1 gives real
    target 0.9. The fake target stays 0. With s > 0 the minimum is no longer 0.

    Args:
        real_logits: D logits on real data, (B,) or (B, 1).
        fake_logits: D logits on generated data, (B',) or (B', 1); B' may differ from B.
        label_smoothing: s in [0, 1). Default 0: no smoothing.

    Returns:
        Scalar loss.
    """
    _check_number('label_smoothing', label_smoothing, 'in [0, 1)', lambda s: 0 <= s < 1)
    real = _batch_vector('real_logits', real_logits)
    fake = _batch_vector('fake_logits', fake_logits)
    return _mean_bce(real, 1.0 - label_smoothing) + _mean_bce(fake, 0.0)


def minimax_generator_loss(fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Saturating generator loss of the original minimax game, to be minimised.

    ``E[log(1 − σ(f))] = −E[softplus(f)] = −BCE(f, 0)``: exactly the generator's term of the
    value function of Goodfellow et al. 2014, "Generative Adversarial Nets" (NeurIPS), not
    "up to a constant". It is ≤ 0 and tends to −∞ as D is fooled. Its gradient vanishes when D
    confidently rejects fakes (hence "saturating"); see ``non_saturating_generator_loss``.

    Args:
        fake_logits: D logits on generated data, (B,) or (B, 1).

    Returns:
        Scalar loss.
    """
    return -_mean_bce(_batch_vector('fake_logits', fake_logits), 0.0)


def non_saturating_generator_loss(fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Non-saturating generator loss: ``−E[log σ(f)] = E[softplus(−f)] = BCE(f, 1)``.

    The "−log D trick" of Goodfellow et al. 2014, "Generative Adversarial Nets" (NeurIPS), §3.
    It is ≥ 0 and 0 only when D assigns fakes probability 1.

    Args:
        fake_logits: D logits on generated data, (B,) or (B, 1).

    Returns:
        Scalar loss.
    """
    return _mean_bce(_batch_vector('fake_logits', fake_logits), 1.0)


def wasserstein_discriminator_loss(real_logits: jax.typing.ArrayLike,
                                   fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """WGAN critic loss: ``E[f] − E[r]``, on raw critic values.

    The negated Kantorovich-Rubinstein estimate of W₁ (Arjovsky et al. 2017, "Wasserstein
    Generative Adversarial Networks", ICML). Meaningful only with a Lipschitz constraint: see
    ``clip_weights`` and ``gradient_penalty``.

    Args:
        real_logits: critic values on real data, (B,) or (B, 1).
        fake_logits: critic values on generated data, (B',) or (B', 1); B' may differ from B.

    Returns:
        Scalar loss.
    """
    real = _batch_vector('real_logits', real_logits)
    fake = _batch_vector('fake_logits', fake_logits)
    return jnp.mean(fake) - jnp.mean(real)


def wasserstein_generator_loss(fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """WGAN generator loss: ``−E[f]`` (Arjovsky et al. 2017, "Wasserstein GAN", ICML).

    Args:
        fake_logits: critic values on generated data, (B,) or (B, 1).

    Returns:
        Scalar loss.
    """
    return -jnp.mean(_batch_vector('fake_logits', fake_logits))


def hinge_discriminator_loss(real_logits: jax.typing.ArrayLike,
                             fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Hinge discriminator loss: ``E[relu(1 − r)] + E[relu(1 + f)]``.

    Lim & Ye 2017, "Geometric GAN" (arXiv:1705.02894); the form used by Miyato et al. 2018,
    "Spectral Normalization for Generative Adversarial Networks" (ICLR). Zero once
    r ≥ 1 and f ≤ −1 for every example.

    Args:
        real_logits: D outputs on real data, (B,) or (B, 1).
        fake_logits: D outputs on generated data, (B',) or (B', 1); B' may differ from B.

    Returns:
        Scalar loss.
    """
    real = _batch_vector('real_logits', real_logits)
    fake = _batch_vector('fake_logits', fake_logits)
    return jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake))


def hinge_generator_loss(fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Hinge-GAN generator loss: ``−E[f]``, the same function as ``wasserstein_generator_loss``.

    Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018, "Spectral Normalization for GANs".

    Args:
        fake_logits: D outputs on generated data, (B,) or (B, 1).

    Returns:
        Scalar loss.
    """
    return wasserstein_generator_loss(fake_logits)


def least_squares_discriminator_loss(real_logits: jax.typing.ArrayLike,
                                     fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """LSGAN discriminator loss: ``½·E[(r − 1)²] + ½·E[f²]``, with the ½.

    Mao et al. 2017, "Least Squares Generative Adversarial Networks" (ICCV), with the 0-1
    coding a = 0 (fake), b = 1 (real), c = 1 (what G wants D to say).

    Args:
        real_logits: D outputs on real data, (B,) or (B, 1).
        fake_logits: D outputs on generated data, (B',) or (B', 1); B' may differ from B.

    Returns:
        Scalar loss.
    """
    real = _batch_vector('real_logits', real_logits)
    fake = _batch_vector('fake_logits', fake_logits)
    return 0.5 * jnp.mean(jnp.square(real - 1.0)) + 0.5 * jnp.mean(jnp.square(fake))


def least_squares_generator_loss(fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """LSGAN generator loss: ``½·E[(f − 1)²]``, with the ½ (Mao et al. 2017, ICCV; c = 1).

    Args:
        fake_logits: D outputs on generated data, (B,) or (B, 1).

    Returns:
        Scalar loss.
    """
    fake = _batch_vector('fake_logits', fake_logits)
    return 0.5 * jnp.mean(jnp.square(fake - 1.0))


def _relativistic_average_loss(real_logits: jax.typing.ArrayLike,
                               fake_logits: jax.typing.ArrayLike,
                               real_target: float) -> jax.Array:
    """BCE(r − E[f], real_target) + BCE(f − E[r], 1 − real_target)."""
    real = _batch_vector('real_logits', real_logits)
    fake = _batch_vector('fake_logits', fake_logits)
    return (_mean_bce(real - jnp.mean(fake), real_target)
            + _mean_bce(fake - jnp.mean(real), 1.0 - real_target))


def relativistic_average_discriminator_loss(real_logits: jax.typing.ArrayLike,
                                            fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Relativistic average (RaSGAN) discriminator loss.

    ``BCE(r − E[f], 1) + BCE(f − E[r], 0)``, i.e.
    ``−E_r[log σ(r − E[f])] − E_f[log(1 − σ(f − E[r]))]``: D says how much more real a real
    example looks than the average fake, and vice versa (Jolicoeur-Martineau 2018, "The
    relativistic discriminator: a key element missing from standard GAN", arXiv:1807.00734,
    ICLR 2019). The two terms are summed, not averaged. Gradients flow through both means.

    Args:
        real_logits: D logits on real data, (B,) or (B, 1).
        fake_logits: D logits on generated data, (B',) or (B', 1); B' may differ from B.

    Returns:
        Scalar loss.
    """
    return _relativistic_average_loss(real_logits, fake_logits, real_target=1.0)


def relativistic_average_generator_loss(real_logits: jax.typing.ArrayLike,
                                        fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Relativistic average (RaSGAN) generator loss: the discriminator's targets swapped.

    ``BCE(r − E[f], 0) + BCE(f − E[r], 1)`` (Jolicoeur-Martineau 2018, arXiv:1807.00734).
    Unlike the other generator losses it needs the real logits too.

    Args:
        real_logits: D logits on real data, (B,) or (B, 1).
        fake_logits: D logits on generated data, (B',) or (B', 1); B' may differ from B.

    Returns:
        Scalar loss.
    """
    return _relativistic_average_loss(real_logits, fake_logits, real_target=0.0)


def _relativistic_pairing_loss(real_logits: jax.typing.ArrayLike,
                               fake_logits: jax.typing.ArrayLike,
                               real_target: float) -> jax.Array:
    """BCE(r − f, real_target), pairing real example i with fake example i (equal shapes)."""
    real = _batch_vector('real_logits', real_logits)
    fake = _same_shape('fake_logits', fake_logits, 'real_logits', jnp.asarray(real_logits))
    return _mean_bce(real - fake.reshape(real.shape), real_target)


def relativistic_pairing_discriminator_loss(real_logits: jax.typing.ArrayLike,
                                            fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Relativistic pairing (RpGAN) discriminator loss: ``E_i[softplus(−(r_i − f_i))]``.

    ``= BCE(r − f, 1) = −E_i[log σ(r_i − f_i)]``, since ``softplus(−x) = BCE(x, 1)``: D says
    how much more real the i-th real example looks than the i-th fake one, positive meaning
    "real" (Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element missing
    from standard GAN", arXiv:1807.00734, ICLR 2019, RSGAN; the loss of Huang et al. 2024,
    "The GAN is dead; long live the GAN! A Modern GAN Baseline", NeurIPS, R3GAN, who add the
    R1 and R2 penalties, see ``r1_penalty`` and ``r2_penalty``). It is ≥ 0, log 2 when
    r_i = f_i for all i, and tends to 0 as every r_i − f_i → +∞.

    Unlike the other adversarial losses, real and fake are paired element by element, so
    ``fake_logits`` must have exactly the shape of ``real_logits``, (B,) with (B,) or (B, 1)
    with (B, 1); otherwise a ``ValueError`` names ``fake_logits`` and both shapes. Permuting
    the fake batch alone changes the loss.

    Args:
        real_logits: D logits on real data, (B,) or (B, 1).
        fake_logits: D logits on generated data, the same shape as ``real_logits``.

    Returns:
        Scalar loss.
    """
    return _relativistic_pairing_loss(real_logits, fake_logits, real_target=1.0)


def relativistic_pairing_generator_loss(real_logits: jax.typing.ArrayLike,
                                        fake_logits: jax.typing.ArrayLike) -> jax.Array:
    """Relativistic pairing (RpGAN) generator loss: ``E_i[softplus(−(f_i − r_i))]``.

    ``= BCE(f − r, 1) = BCE(r − f, 0) = −E_i[log σ(f_i − r_i)]``, since
    ``softplus(−x) = BCE(x, 1)``: the discriminator's loss with the arguments swapped, G(r, f)
    = D(f, r). G wants each fake to look more real than its paired real example, positive D
    output meaning "real" (Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element
    missing from standard GAN", arXiv:1807.00734, ICLR 2019; Huang et al. 2024, "The GAN is
    dead; long live the GAN! A Modern GAN Baseline", NeurIPS). Like the relativistic average
    generator loss it needs the real logits too; gradients flow into both.

    Real and fake are paired element by element, so ``fake_logits`` must have exactly the
    shape of ``real_logits``, (B,) with (B,) or (B, 1) with (B, 1); otherwise a
    ``ValueError`` names ``fake_logits`` and both shapes.

    Args:
        real_logits: D logits on real data, (B,) or (B, 1).
        fake_logits: D logits on generated data, the same shape as ``real_logits``.

    Returns:
        Scalar loss.
    """
    return _relativistic_pairing_loss(real_logits, fake_logits, real_target=0.0)


def auxiliary_classifier_loss(class_logits: jax.typing.ArrayLike,
                              labels: jax.typing.ArrayLike) -> jax.Array:
    """ACGAN class loss: mean softmax cross-entropy ``E[−log softmax(class_logits)[label]]``.

    Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs" (ICML):
    −L_C in their notation. Both players minimise it, D on real data with the true labels
    (and, in the paper, on fakes with their sampled labels), G on fakes with the labels it
    was conditioned on. Labels must lie in [0, K); that cannot be checked at trace time, so
    a label outside it (negative, or K or more) makes the loss NaN.

    Args:
        class_logits: (B, K) unnormalised class scores.
        labels: (B,) integer class labels.

    Returns:
        Scalar loss.
    """
    logits = _validated('class_logits', class_logits, 'have shape (B, K) with B, K >= 1',
                        lambda shape: len(shape) == 2 and min(shape) > 0)
    labels = _integer_labels(labels, logits.shape)
    return _nan_unless_in_range(
        jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)),
        labels, logits.shape[1])


def _nan_unless_in_range(loss: jax.Array, labels: jax.Array, num_classes: int) -> jax.Array:
    """``loss``, or NaN if any label is outside [0, num_classes): a gather would read a
    negative label as counted from the end, which would hide the bad label."""
    in_range = jnp.all((labels >= 0) & (labels < num_classes))
    return jnp.where(in_range, loss, jnp.nan)


def _integer_labels(labels: jax.typing.ArrayLike, logits_shape: Shape) -> jax.Array:
    """``labels`` as an array, if it is an integer (B,) vector for (B, ·) logits."""
    labels = _validated('labels', labels, f'have shape ({logits_shape[0]},) to match '
                        f'class_logits {logits_shape}', lambda shape: shape == logits_shape[:1])
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f'labels must have an integer dtype, got {labels.dtype}.')
    return labels


def factorized_auxiliary_classifier_loss(class_logits: jax.typing.ArrayLike,
                                         labels: jax.typing.ArrayLike,
                                         factors: Sequence[int]) -> jax.Array:
    """Σ_i E[−log softmax(class_logits_i)[y_i]]: the class loss of a label made of
    several categorical factors, each read by its own softmax.

    A label y ∈ [0, K), K = K_1·…·K_n, is the mixed-radix number of its factors' values
    y_i ∈ [0, K_i), the first the most significant: y = (…(y_1·K_2 + y_2)·K_3 + …) + y_n
    (a Stacked MNIST mode 100·d_R + 10·d_G + d_B has factors (10, 10, 10)).
    ``class_logits`` holds the n heads side by side: columns [K_1 + … + K_{i−1},
    K_1 + … + K_i) score factor i. With G's label drawn uniformly this is InfoGAN's
    mutual-information term for n independent categorical codes, each with weight 1
    (Chen et al. 2016, "InfoGAN", §5). With ``factors`` = (K,) it equals
    ``auxiliary_classifier_loss``.

    Args:
        class_logits: (B, K_1 + … + K_n) unnormalised scores of each factor's values.
        labels: (B,) integer labels in [0, K_1·…·K_n); a label outside it makes the loss
            NaN, as in ``auxiliary_classifier_loss``.
        factors: (K_1, …, K_n), each ≥ 1.

    Returns:
        Scalar loss.
    """
    factors = tuple(int(k) for k in factors)
    if not factors or min(factors) < 1:
        raise ValueError(f'factors must be a non-empty sequence of integers >= 1, got {factors}.')
    logits = _validated('class_logits', class_logits,
                        f'have shape (B, {sum(factors)}) with B >= 1 for factors {factors}',
                        lambda shape: len(shape) == 2 and shape[0] > 0
                        and shape[1] == sum(factors))
    labels = _integer_labels(labels, logits.shape)
    total, start = jnp.zeros(()), 0
    for k, value in zip(factors, label_factors(labels, factors)):
        total += auxiliary_classifier_loss(logits[:, start:start + k], value)
        start += k
    return _nan_unless_in_range(total, labels, math.prod(factors))


def label_factors(labels: jax.typing.ArrayLike, factors: Sequence[int]) -> list[jax.Array]:
    """The factors' values [y_1, …, y_n] of labels y = (…(y_1·K_2 + y_2)·K_3 + …) + y_n,
    y_i ∈ [0, K_i), the first the most significant: the convention of
    ``factorized_auxiliary_classifier_loss``, which a generator's factorised label
    embedding shares (``ganjax.models.conditioning.ConditionalLatent``)."""
    labels = jnp.asarray(labels)
    return [labels // math.prod(factors[i + 1:]) % k for i, k in enumerate(factors)]


# ----------------------------------------------------------------------------------------------
# Lipschitz and gradient penalties
# ----------------------------------------------------------------------------------------------


def gradient_penalty(critic_fn: CriticFn, real: jax.typing.ArrayLike,
                     fake: jax.typing.ArrayLike, key: jax.Array, target: float = 1.0,
                     one_sided: bool = False) -> jax.Array:
    """WGAN-GP gradient penalty at random interpolates, unscaled (callers multiply by λ).

    ``x̂ = ε·x + (1 − ε)·x̃`` with one ``ε ~ U[0, 1)`` per example, broadcast over all its other
    axes, and the penalty ``E[(‖∇_x̂ critic_fn(x̂)‖₂ / target − 1)²]`` (Gulrajani et al. 2017,
    "Improved Training of Wasserstein GANs", NeurIPS, with target = 1 and λ = 10 there). With
    ``one_sided`` the deviation is clipped at zero, ``E[max(0, ‖∇‖₂ / target − 1)²]``, so only
    slopes above ``target`` are penalised (Petzka et al. 2018, "On the regularization of
    Wasserstein GANs", ICLR).

    The norm is taken over all non-batch axes. It uses the double-where trick, so its value
    is exactly ``sqrt(Σ g²)`` and its gradient is finite (zero) where the input gradient is
    zero, e.g. for a constant critic, where a plain sqrt would give NaN. Per-example
    gradients come from the gradient of the summed critic values, exact only if critic_fn
    does not mix examples (see the module docstring). Gradients flow into ``real`` and
    ``fake``; stop them yourself if the penalty must not reach the generator.

    Args:
        critic_fn: maps a batch shaped like ``real`` to critic values (B,) or (B, 1).
        real: real batch (B, ...).
        fake: generated batch, same shape as ``real``.
        key: PRNG key for ε.
        target: the Lipschitz target K > 0; the norm is divided by it.
        one_sided: penalise only norms above ``target``. A Python bool (it picks the
            formula at trace time).

    Returns:
        Scalar penalty.
    """
    real = _batch_of_examples('real', real, min_ndim=1)
    fake = _same_shape('fake', fake, 'real', real)
    interpolates = _interpolate(key, real, fake)
    return _gradient_norm_penalty(critic_fn, interpolates, target, one_sided)


def dragan_penalty(critic_fn: CriticFn, real: jax.typing.ArrayLike, key: jax.Array,
                   perturbation_scale: float = 0.5, target: float = 1.0) -> jax.Array:
    """DRAGAN gradient penalty around the real data, unscaled (callers multiply by λ).

    Kodali et al. 2017, "On Convergence and Stability of GANs" (arXiv:1705.07215). The paper
    writes the noise as δ ~ N(0, cI); this follows the authors' reference implementation
    (github.com/kodalinaveen3/DRAGAN), which is what "DRAGAN" means in practice:

    * ``x_p = x + perturbation_scale · std(x) · u``, ``u ~ U[0, 1)`` independently per element,
      ``std(x)`` the population standard deviation over the whole batch (all axes), treated
      as a constant (no gradient), as in the reference where x_p is computed in NumPy;
    * ``x̂ = x + α·(x_p − x)`` with one ``α ~ U[0, 1)`` per example;
    * penalty ``E[(‖∇_x̂ critic_fn(x̂)‖₂ / target − 1)²]``; the reference uses target = 1 and
      λ = 10.

    The norm, its zero-gradient safety and the critic_fn contract are as in
    ``gradient_penalty``.

    Args:
        critic_fn: maps a batch shaped like ``real`` to critic values (B,) or (B, 1).
        real: real batch (B, ...).
        key: PRNG key for the noise u and for α.
        perturbation_scale: c above (0.5 in the reference).
        target: the gradient-norm target K > 0.

    Returns:
        Scalar penalty.
    """
    real = _batch_of_examples('real', real, min_ndim=1)
    _check_number('perturbation_scale', perturbation_scale, '> 0', lambda c: c > 0)
    noise_key, alpha_key = jax.random.split(key)
    noise = jax.random.uniform(noise_key, real.shape, dtype=real.dtype)
    perturbed = real + perturbation_scale * jax.lax.stop_gradient(jnp.std(real)) * noise
    interpolates = _interpolate(alpha_key, perturbed, real)
    return _gradient_norm_penalty(critic_fn, interpolates, target, one_sided=False)


def _mean_squared_gradient_norm(critic_fn: CriticFn, name: str,
                                inputs: jax.typing.ArrayLike) -> jax.Array:
    """E[‖∇ₓ critic_fn(x)‖₂²] over a batch, the shared body of R1 and R2."""
    inputs = _batch_of_examples(name, inputs, min_ndim=1)
    return jnp.mean(_squared_input_gradient_norms(critic_fn, inputs))


def r1_penalty(critic_fn: CriticFn, real: jax.typing.ArrayLike) -> jax.Array:
    """R1 penalty on real data: ``E_real[‖∇ₓ critic_fn(x)‖₂²]``, unscaled.

    Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?" (ICML):
    R1 = (γ/2)·E[‖∇D(x)‖²]; callers multiply this by γ/2. Squared norm, so no sqrt and no
    zero-gradient issue. critic_fn must not mix examples (module docstring).

    Args:
        critic_fn: maps a batch shaped like ``real`` to critic values (B,) or (B, 1). For
            the paper's penalty, D's logits.
        real: real batch (B, ...).

    Returns:
        Scalar penalty.
    """
    return _mean_squared_gradient_norm(critic_fn, 'real', real)


def r2_penalty(critic_fn: CriticFn, fake: jax.typing.ArrayLike) -> jax.Array:
    """R2 penalty: ``r1_penalty`` on generated data, ``E_fake[‖∇ₓ critic_fn(x)‖₂²]``, unscaled.

    Mescheder et al. 2018, ICML; callers multiply by γ/2.

    Args:
        critic_fn: maps a batch shaped like ``fake`` to critic values (B,) or (B, 1).
        fake: generated batch (B, ...).

    Returns:
        Scalar penalty.
    """
    return _mean_squared_gradient_norm(critic_fn, 'fake', fake)


def clip_weights(params: Any, clip_value: float) -> Any:
    """Clips every leaf of a parameter pytree to [−clip_value, clip_value].

    The original WGAN Lipschitz constraint (Arjovsky et al. 2017, ICML, Algorithm 1, c = 0.01),
    applied to all critic parameters, biases included, after each critic update. Pass only
    the critic's trainable params, not optimizer state or batch statistics.

    Args:
        params: pytree of arrays.
        clip_value: c > 0.

    Returns:
        A pytree of the same structure with each leaf clipped.
    """
    _check_number('clip_value', clip_value, '> 0', lambda c: c > 0)
    return jax.tree.map(lambda leaf: jnp.clip(leaf, -clip_value, clip_value), params)


# ----------------------------------------------------------------------------------------------
# Generator regularisers
# ----------------------------------------------------------------------------------------------


def mode_seeking_loss(images: jax.typing.ArrayLike, latents: jax.typing.ArrayLike,
                      eps: float = 1e-5) -> jax.Array:
    """MSGAN's mode-seeking term, one ratio per pair of adjacent examples (2i, 2i + 1):

        L_ms = mean_i 1 / (d(x_2i, x_2i+1) / d(z_2i, z_2i+1) + ε),   x = G(z),

    where d(a, b) = mean |a − b| over an example's elements (L1) and ε = ``eps``.

    Mao et al. 2019, "Mode Seeking Generative Adversarial Networks for Diverse Image
    Synthesis" (CVPR), eq. 3: G maximises d(G(c, z₁), G(c, z₂)) / d(z₁, z₂) for two latents
    under one condition c, by minimising λ·L_ms beside its adversarial loss; λ = 1 in the
    paper. A pair of latents that G maps to nearly the same image costs most, so the term
    acts against collapse *within* a condition. The paper's code takes a single ratio of
    the means over two whole batches; here every pair has its own ratio, so the pairs G
    has collapsed are pushed apart hardest. For a conditional G, give each pair one
    condition (the paper's setting); ``ganjax.train.gan_step`` does so.

    Args:
        images: G's outputs (B, ...), B even; examples 2i and 2i + 1 form pair i.
        latents: the latents (B, D) they came from.
        eps: ε > 0, keeps the term finite for identical images.

    Returns:
        Scalar loss.
    """
    images = _validated('images', images, 'have an even batch of examples (B, ...), B >= 2',
                        lambda shape: len(shape) >= 2 and shape[0] >= 2 and shape[0] % 2 == 0)
    latents = _validated('latents', latents, f'have shape ({images.shape[0]}, D)',
                         lambda shape: len(shape) == 2 and shape[0] == images.shape[0])
    _check_number('eps', eps, '> 0', lambda e: e > 0)

    def pair_distance(batch: jax.Array) -> jax.Array:
        return jnp.mean(jnp.abs(batch[0::2] - batch[1::2]), axis=tuple(range(1, batch.ndim)))

    return jnp.mean(1.0 / (pair_distance(images) / pair_distance(latents) + eps))


# ----------------------------------------------------------------------------------------------
# VAE terms
# ----------------------------------------------------------------------------------------------


def gaussian_kl(mean: jax.typing.ArrayLike, log_var: jax.typing.ArrayLike) -> jax.Array:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per example, mean over the batch.

    ``½·Σ_j (μ_j² + σ_j² − 1 − log σ_j²)`` summed over all latent (non-batch) axes, with
    σ² = exp(log_var) (Kingma & Welling 2014, "Auto-Encoding Variational Bayes", ICLR,
    Appendix B). In nats.

    Args:
        mean: μ, (B, ...) with at least one latent axis.
        log_var: log σ², same shape as ``mean``.

    Returns:
        Scalar KL.
    """
    mean = _batch_of_examples('mean', mean, min_ndim=2)
    log_var = _same_shape('log_var', log_var, 'mean', mean)
    per_element = jnp.square(mean) + jnp.exp(log_var) - 1.0 - log_var
    return jnp.mean(0.5 * _sum_per_example(per_element))


def bernoulli_reconstruction_loss(logits: jax.typing.ArrayLike,
                                  x: jax.typing.ArrayLike) -> jax.Array:
    """Bernoulli negative log-likelihood of ``x`` under decoder ``logits``, per example.

    ``Σ BCE(logits, x)`` over all non-batch axes, mean over the batch, in nats (Kingma &
    Welling 2014). For binary x this is exactly −log p(x | z). For x in [0, 1] it is the usual
    cross-entropy, not a normalised likelihood (that would be the continuous Bernoulli of
    Loaiza-Ganem & Cunningham 2019), and its minimum is the entropy of x, not 0.

    Args:
        logits: decoder logits (B, ...).
        x: targets in [0, 1], same shape as ``logits``.

    Returns:
        Scalar loss.
    """
    logits = _batch_of_examples('logits', logits, min_ndim=2)
    x = _same_shape('x', x, 'logits', logits)
    return jnp.mean(_sum_per_example(optax.losses.sigmoid_binary_cross_entropy(logits, x)))


def gaussian_reconstruction_loss(x_hat: jax.typing.ArrayLike,
                                 x: jax.typing.ArrayLike) -> jax.Array:
    """Half squared error ``½·‖x̂ − x‖²``, summed over all non-batch axes, mean over the batch.

    This is the unit-variance Gaussian negative log-likelihood −log N(x; x̂, I) minus its
    constant (D/2)·log 2π, D the number of elements per example; so with ``gaussian_kl`` the
    total is the negative ELBO of a unit-variance Gaussian decoder up to that constant.

    Args:
        x_hat: decoder mean (B, ...).
        x: targets, same shape as ``x_hat``.

    Returns:
        Scalar loss.
    """
    x_hat = _batch_of_examples('x_hat', x_hat, min_ndim=2)
    x = _same_shape('x', x, 'x_hat', x_hat)
    return jnp.mean(0.5 * _sum_per_example(jnp.square(x_hat - x)))


def beta_vae_loss(recon_loss: jax.typing.ArrayLike, kl: jax.typing.ArrayLike,
                  beta: float = 1.0) -> jax.Array:
    """β-VAE objective ``recon_loss + β·kl`` (Higgins et al. 2017, "β-VAE", ICLR).

    β = 1 is the negative ELBO of Kingma & Welling 2014. Takes the two terms already reduced
    to scalars (e.g. from ``bernoulli_reconstruction_loss`` and ``gaussian_kl``) and returns
    only the total; a train step logs the parts it passed in. Typical use::

        recon = losses.bernoulli_reconstruction_loss(logits, x)
        kl = losses.gaussian_kl(mean, log_var)
        loss = losses.beta_vae_loss(recon, kl, beta)  # return loss, {'recon': recon, 'kl': kl}

    Args:
        recon_loss: scalar reconstruction loss.
        kl: scalar KL term.
        beta: β >= 0 (may be traced, e.g. for a KL warm-up schedule).

    Returns:
        Scalar total loss.
    """
    _check_number('beta', beta, '>= 0', lambda b: b >= 0)
    recon_loss = _validated('recon_loss', recon_loss, 'be a scalar', lambda shape: shape == ())
    kl = _validated('kl', kl, 'be a scalar', lambda shape: shape == ())
    return recon_loss + beta * kl
