"""The adversarial train step: one pure function ``(state, batch) -> (state, metrics)``.

One call performs ``n_critic`` discriminator updates, each on its own real batch with
fresh z (Gulrajani et al. 2017, Algorithm 1), then one generator update against the
updated discriminator, then the EMA update of G's parameters (Yazıcı et al. 2019):

    for i in 1..n_critic:   θ_D ← opt_D(∇_θD [L_D(D(x_i), D(sg(G(z_i)))) + w·penalty + aux])
    θ_G ← opt_G(∇_θG [L_G(D(G(z_n))) + aux]);   θ_EMA ← β_t·θ_EMA + (1 − β_t)·θ_G

G's update reuses the last critic update's latents z_n (and fake labels), as PyTorch's
DCGAN example and TensorFlow's DCGAN tutorial reuse their fake batch: G's parameters
have not changed in between, so G's forward pass (a sixth of DCGAN-28's step on CPU;
docs/performance.md) is run once and its VJP carries D's gradient back to θ_G. (Its
activations are kept through all n_critic updates: memory, not time, for n_critic > 1.)

with the warm-up β_t = min(β, (1 + t)/(10 + t)) at step t (the ``num_updates`` convention
of TensorFlow's ExponentialMovingAverage), so that early in a run the average is not
dominated by the random initial weights. A G whose code's prior is learned
(``ganjax.train.code_prior``) draws its codes from it, and the prior takes its EM step
after the D updates, from D's code head read on their real batches.

``batch`` is ``{'image': (n_critic, B, ...), 'label': (n_critic, B)}`` (labels only for
class-conditional models). The same function is compiled by ``ganjax.train.parallel`` with
``jax.jit`` or ``jax.pmap``. Under pmap (``axis_name`` set) gradients and metrics are
averaged over devices with ``lax.pmean`` and BatchNorm statistics are synchronised by
the models' ``bn_axis_name``. Latents and fake labels are drawn for the *global* batch
and sliced per device, so pmap reproduces jit exactly for models without dropout; keys
for dropout and penalty interpolation are folded with the device index, since those
must differ between devices.

The generator's BatchNorm running averages are updated by its own update only; the
fakes shown to D are made in train mode (batch statistics), as in PyTorch DCGAN code.
D's collections (BatchNorm averages, spectral-norm vectors) are updated by D's updates
only.
"""
from collections.abc import Callable
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganjax import augment
from ganjax import losses
from ganjax.train import code_prior as code_prior_lib
from ganjax.train import objectives
from ganjax.train import parallel
from ganjax.train import state as state_lib

Metrics = dict[str, jax.Array]
# fold_in constants that give augmentation and unrolling keys of their own, apart from
# the dropout and penalty keys (which they leave unchanged).
_AUGMENT_STREAM = 0x41554720
_UNROLL_STREAM = 0x554e524c
# The D updates' mean code posterior on their real batches, passed with their metrics.
_REAL_POSTERIOR = '_real_code_posterior'


def _global_sample(sample: Callable[[jax.Array, int], jax.Array], key: jax.Array,
                   local_batch: int, axis_name: str | None) -> jax.Array:
    """Draws for the global batch with one key, then keeps this device's slice."""
    if axis_name is None:
        return sample(key, local_batch)
    index = jax.lax.axis_index(axis_name)
    full = sample(key, local_batch * jax.lax.axis_size(axis_name))
    return jax.lax.dynamic_slice_in_dim(full, index * local_batch, local_batch)


def lazy_value(due: jax.Array, value: Callable[[], jax.Array], on_cpu: bool) -> jax.Array:
    """``value()`` where ``due``, else 0, in value and gradient.

    A ``lax.cond`` runs ``value`` only when due, except on CPU: XLA:CPU runs a
    convolution's kernel gradient inside a conditional's branch about 80× slower than
    outside it, which made DCGAN-28's due updates with R1 and R2 take 300 ms against 44
    ms with both on every update (docs/performance.md). On CPU the value is computed on
    every update and kept on the due ones, so there laziness saves nothing.
    """
    if on_cpu:
        return jnp.where(due, value(), 0.0)
    return jax.lax.cond(due, value, lambda: jnp.zeros(()))


def ema_decay_at(step: jax.Array, decay: float) -> jax.Array:
    """β_t = min(β, (1 + t)/(10 + t)): the EMA decay after warm-up at step t."""
    return jnp.minimum(decay, (1.0 + step) / (10.0 + step))


def half_life_ema_decay_at(step: jax.Array, batch_size: int, half_life_kimg: float,
                           rampup: float | None = None) -> jax.Array:
    """β_t = 0.5^(B / h_t): the EMA decay for a half-life of h_t images at step t.

    h = 1000 · ``half_life_kimg`` images, so G's EMA forgets half of its value every h
    images shown to G (B per step); with ``rampup`` = r, h_t = min(h, r · B · t), so the
    average starts as a copy and its horizon grows with training (Karras et al.,
    StyleGAN2-ADA's ``ema_kimg`` / ``ema_rampup``; R3GAN).
    """
    half_life = jnp.asarray(1000.0 * half_life_kimg, jnp.float32)
    if rampup:
        half_life = jnp.minimum(half_life, rampup * batch_size * step)
    return 0.5 ** (batch_size / jnp.maximum(half_life, 1e-8))


def make_gan_train_step(generator: nn.Module, discriminator: nn.Module,
                        g_tx: optax.GradientTransformation,
                        d_tx: optax.GradientTransformation, loss_config, *,
                        latent_dim: int, num_classes: int = 0,
                        code_prior: code_prior_lib.CodePrior = code_prior_lib.CodePrior(),
                        ema_decay: float = 0.999,
                        ema_half_life_kimg: float | None = None,
                        ema_rampup: float | None = None,
                        total_steps: int = 1, augment_policy: str = '',
                        axis_name: str | None = None):
    """Returns the pure train step for these networks, optimizers and losses.

    Args:
      generator, discriminator: Flax modules (see ``ganjax.models``).
      g_tx, d_tx: the two optimizers.
      loss_config: ``config.loss``: ``name`` (a key of ``objectives.OBJECTIVES``),
        ``label_smoothing`` (minimax/non-saturating D), ``penalty`` (one of
        ``objectives.PENALTY_NAMES``), ``penalty_weight`` (multiplies the penalty as
        ``ganjax.losses`` returns it: λ for the gradient penalty, γ/2 for R1),
        ``penalties`` (scheduled and lazy penalties, ``objectives.make_penalties``),
        ``n_critic``, ``unroll_steps``, ``auxiliary_weight`` (ACGAN class loss; 0
        disables it), ``auxiliary_on_real`` (False: D's class head learns only the
        labels G was given, never the data's: InfoGAN's categorical code, Chen et al.
        2016, with λ = ``auxiliary_weight``) and ``mode_seeking_weight`` (λ of MSGAN's
        term in G's loss, ``losses.mode_seeking_loss``, on G's batch in adjacent pairs
        that share their label; 0 disables it). A D whose class head reads the label's
        factors (``class_factors``) is scored on each factor
        (``losses.factorized_auxiliary_classifier_loss``).
      latent_dim: size of z ~ N(0, I).
      num_classes: > 0 for class-conditional models; fake labels are uniform, or drawn
        from ``state.code_prior`` for a G whose code's prior is learned.
      code_prior: the prior of G's code (``ganjax.train.code_prior``); a learned one is
        updated after the D updates from D's code head read on their real batches.
      ema_decay: β of the EMA of G's parameters (with the warm-up above); 0 makes it an
        exact copy.
      ema_half_life_kimg, ema_rampup: if ``ema_half_life_kimg`` is set, the EMA's decay
        comes from this half-life in thousands of images instead
        (``half_life_ema_decay_at``, with the ramp-up ``ema_rampup``), and
        ``ema_decay`` is not used.
      total_steps: the run's length, for penalty weight schedules.
      augment_policy: the DiffAugment policy (``ganjax.augment``) applied to every batch
        D sees; '' for none.
      axis_name: the pmap axis name, or None under jit.

    Returns:
      ``train_step(state, batch) -> (state, metrics)``; metrics are scalars:
      ``d_loss``, ``g_loss``, ``d_real``/``d_fake`` (mean D output on the last critic
      iteration's real and fake batch), ``penalty`` (and ``penalty_<name>`` for each
      section of ``loss.penalties`` that is on; un-weighted values, 0 on updates a lazy
      penalty skips), ``d_grad_norm``, ``g_grad_norm`` (and ``d_aux_loss``/``g_aux_loss``
      for an auxiliary classifier, ``g_mode_seeking`` for MSGAN's term).
    """
    objective = objectives.make_objective(loss_config)
    penalties = objectives.make_penalties(loss_config)
    unroll_steps = loss_config.get('unroll_steps', 0)
    auxiliary = getattr(discriminator, 'conditioning', 'none') == 'auxiliary'
    auxiliary_on_real = loss_config.get('auxiliary_on_real', True)
    mode_seeking_weight = loss_config.get('mode_seeking_weight', 0.0)
    class_factors = tuple(getattr(discriminator, 'class_factors', ()))
    score_classes = (functools.partial(losses.factorized_auxiliary_classifier_loss,
                                       factors=class_factors)
                     if class_factors else losses.auxiliary_classifier_loss)

    def ema_decay_of(step, local_batch):
        if ema_half_life_kimg is None:
            return ema_decay_at(step, ema_decay)
        batch_size = local_batch * (1 if axis_name is None else jax.lax.axis_size(axis_name))
        return half_life_ema_decay_at(step, batch_size, ema_half_life_kimg, ema_rampup)

    def sample_fakes(key, local_batch, prior, paired=False):
        """z and labels for a batch; ``paired``: examples 2i and 2i + 1 share a label
        (G's batch under MSGAN's term; the local batch is even, so pairs never straddle
        pmap's devices)."""
        z_key, label_key = jax.random.split(key)
        z = _global_sample(lambda k, n: jax.random.normal(k, (n, latent_dim)), z_key,
                           local_batch, axis_name)
        if not num_classes:
            return z, None

        def draw(k, n):
            if paired:
                return jnp.repeat(code_prior_lib.sample(k, prior, (n // 2,), num_classes), 2)
            return code_prior_lib.sample(k, prior, (n,), num_classes)
        return z, _global_sample(draw, label_key, local_batch, axis_name)

    def generate(g_params, g_state, z, labels):
        """G in train mode; returns fakes and G's updated collections."""
        fakes, g_state = generator.apply({'params': g_params, **g_state}, z, labels,
                                         train=True, mutable=list(g_state))
        return fakes, g_state

    def augmented(x, key):
        """DiffAugment of a batch D is about to see. Example i draws from fold_in(key, its
        index in the global batch), so pmap's devices augment exactly as one jit does."""
        if not augment.parse_policy(augment_policy):
            return x
        index = jnp.arange(x.shape[0])
        if axis_name is not None:
            index = index + jax.lax.axis_index(axis_name) * x.shape[0]
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, index)
        return jax.vmap(lambda example, k: augment.diff_augment(
            example[None], k, augment_policy)[0])(x, keys)

    def discriminate(d_params, d_state, x, labels, key):
        """D in train mode on augmented ``x``; returns ((logits, class_logits), D's
        updated collections)."""
        dropout_key = parallel.per_device_key(key, axis_name)
        return discriminator.apply({'params': d_params, **d_state},
                                   augmented(x, jax.random.fold_in(key, _AUGMENT_STREAM)),
                                   labels, train=True, rngs={'dropout': dropout_key},
                                   mutable=list(d_state))

    def class_loss(class_logits, labels):
        if not auxiliary:
            return jnp.zeros(())
        return loss_config.auxiliary_weight * score_classes(class_logits, labels)

    def penalty_terms(d_params, d_state, real, fake, labels, key, step, update):
        """(Σ weight·penalty, {metric: un-weighted penalty}) of D update ``update``."""
        total, values = jnp.zeros(()), {'penalty': jnp.zeros(())}
        for index, scheduled in enumerate(penalties):
            # The first penalty keeps the key of the one-penalty step this generalises.
            penalty_key = key if index == 0 else jax.random.fold_in(key, index)
            dropout_key, mix_key = jax.random.split(penalty_key)
            # Interpolation and perturbation noise must differ between pmap's devices.
            mix_key = parallel.per_device_key(mix_key, axis_name)

            def critic(x, dropout_key=dropout_key):
                return discriminate(d_params, d_state, x, labels, dropout_key)[0][0]

            def value(scheduled=scheduled, critic=critic, mix_key=mix_key):
                return scheduled.penalty(critic, real, fake, mix_key)
            if scheduled.every == 1:
                values[scheduled.metric] = value()
            else:  # lazy: kept (and weighted ×k) on every k-th D update only
                values[scheduled.metric] = lazy_value(
                    scheduled.is_due(update), value, jax.default_backend() == 'cpu')
            total += (scheduled.weight_at(step, total_steps) * scheduled.every
                      * values[scheduled.metric])
        return total, values

    def d_loss_fn(d_params, d_state, real, real_labels, fake, fake_labels, key, step, update):
        real_key, fake_key, penalty_key = jax.random.split(key, 3)
        (real_logits, real_classes), d_state = discriminate(d_params, d_state, real,
                                                            real_labels, real_key)
        (fake_logits, fake_classes), d_state = discriminate(d_params, d_state, fake,
                                                            fake_labels, fake_key)
        adversarial = objective.discriminator_loss(real_logits, fake_logits)
        reg, penalty_values = penalty_terms(d_params, d_state, real, fake, real_labels,
                                            penalty_key, step, update)
        aux = class_loss(fake_classes, fake_labels)
        if auxiliary_on_real:
            aux = class_loss(real_classes, real_labels) + aux
        metrics = dict(d_loss=adversarial, d_real=jnp.mean(real_logits),
                       d_fake=jnp.mean(fake_logits), **penalty_values)
        if auxiliary:
            metrics['d_aux_loss'] = aux
        if code_prior.learned:  # EM's E-step on this real batch (not a scalar metric)
            metrics[_REAL_POSTERIOR] = code_prior_lib.mean_posterior(
                jax.lax.stop_gradient(real_classes), num_classes)
        return adversarial + reg + aux, (d_state, metrics)

    def d_update(carry, real, real_labels, fakes, fake_labels, key, step, update):
        """One optimizer update of D (params, collections, optimizer state)."""
        d_params, d_state, d_opt_state = carry
        grads, (d_state, metrics) = jax.grad(d_loss_fn, has_aux=True)(
            d_params, d_state, real, real_labels, fakes, fake_labels, key, step, update)
        grads = parallel.maybe_pmean(grads, axis_name)
        updates, d_opt_state = d_tx.update(grads, d_opt_state, d_params)
        metrics['d_grad_norm'] = optax.tree.norm(grads)
        return (optax.apply_updates(d_params, updates), d_state, d_opt_state), metrics

    def g_loss_fn(fakes, labels, z, d_carry, real, real_labels, key, step, update):
        """G's loss as a function of its fakes; G's VJP carries the gradient on.

        With ``unroll_steps`` = k (Metz et al. 2017, "Unrolled Generative Adversarial
        Networks"), the loss is against D after k further updates on this step's last
        real batch and these fakes, differentiated through those updates, D's optimizer
        included; the real D is not changed by them.
        """
        for j in range(unroll_steps):
            unroll_key = jax.random.fold_in(jax.random.fold_in(key, _UNROLL_STREAM), j)
            d_carry, _ = d_update(d_carry, real, real_labels, fakes, labels, unroll_key,
                                  step, update + j)
        d_params, d_state, _ = d_carry
        real_key, fake_key = jax.random.split(key)
        (fake_logits, fake_classes), _ = discriminate(d_params, d_state, fakes, labels, fake_key)
        # Real logits do not depend on G: computed only for losses that read them.
        real_logits = (discriminate(d_params, d_state, real, real_labels, real_key)[0][0]
                       if objective.generator_reads_real else None)
        adversarial = objective.generator_loss(real_logits, fake_logits)
        aux = class_loss(fake_classes, labels)
        metrics = dict(g_loss=adversarial)
        if auxiliary:
            metrics['g_aux_loss'] = aux
        total = adversarial + aux
        if mode_seeking_weight:
            metrics['g_mode_seeking'] = losses.mode_seeking_loss(fakes, z)
            total += mode_seeking_weight * metrics['g_mode_seeking']
        return total, metrics

    def train_step(state: state_lib.GANState, batch) -> tuple[state_lib.GANState, Metrics]:
        real_images = batch['image']
        real_labels = batch.get('label') if num_classes else None
        n_critic, local_batch = real_images.shape[:2]
        if n_critic != loss_config.n_critic:
            raise ValueError(f"batch['image'] must have leading axis loss.n_critic="
                             f'{loss_config.n_critic}, got shape {real_images.shape}')
        step_key = jax.random.fold_in(state.rng, state.step)
        keys = jax.random.split(step_key, 2 * n_critic + 1)
        sample_keys, d_keys, g_key = keys[:n_critic], keys[n_critic:-1], keys[-1]

        # The last critic update and G's update share their fakes (module docstring).
        z, g_labels = sample_fakes(sample_keys[-1], local_batch, state.code_prior,
                                   paired=bool(mode_seeking_weight))
        g_fakes, g_vjp, g_state = jax.vjp(
            lambda g_params: generate(g_params, state.g_state, z, g_labels),
            state.g_params, has_aux=True)

        # A Python loop, unrolled at trace time, not lax.scan: XLA:CPU ran the scanned
        # DCGAN-28 step several times slower (docs/performance.md), and n_critic is small.
        carry = (state.d_params, state.d_state, state.d_opt_state)
        per_update = []
        for i in range(n_critic):
            if i == n_critic - 1:
                fakes, fake_labels = g_fakes, g_labels
            else:
                z_i, fake_labels = sample_fakes(sample_keys[i], local_batch, state.code_prior)
                fakes = generate(state.g_params, state.g_state, z_i, fake_labels)[0]
            labels = None if real_labels is None else real_labels[i]
            carry, metrics_i = d_update(carry, real_images[i], labels,
                                        jax.lax.stop_gradient(fakes), fake_labels, d_keys[i],
                                        state.step, state.step * n_critic + i)
            per_update.append(metrics_i)
        d_metrics = jax.tree.map(lambda *values: jnp.stack(values), *per_update)
        prior = state.code_prior
        if code_prior.learned:
            real_posterior = parallel.maybe_pmean(
                jnp.mean(d_metrics.pop(_REAL_POSTERIOR), axis=0), axis_name)
            prior = code_prior.updated(prior, real_posterior, state.step, total_steps)

        last_labels = None if real_labels is None else real_labels[-1]
        fake_grads, g_metrics = jax.grad(g_loss_fn, has_aux=True)(
            g_fakes, g_labels, z, carry, real_images[-1], last_labels, g_key, state.step,
            (state.step + 1) * n_critic)
        d_params, d_state, d_opt_state = carry
        (grads,) = g_vjp(fake_grads)
        grads = parallel.maybe_pmean(grads, axis_name)
        updates, g_opt_state = g_tx.update(grads, state.g_opt_state, state.g_params)
        g_params = optax.apply_updates(state.g_params, updates)
        g_metrics['g_grad_norm'] = optax.tree.norm(grads)

        metrics = {name: jnp.mean(values) for name, values in d_metrics.items()}
        # Means over the batch are means of the critic iterations' last batch.
        for name in ('d_real', 'd_fake'):
            metrics[name] = d_metrics[name][-1]
        metrics.update(g_metrics)
        new_state = state.replace(
            step=state.step + 1, g_params=g_params, g_state=g_state, d_params=d_params,
            d_state=d_state, g_opt_state=g_opt_state, d_opt_state=d_opt_state, code_prior=prior,
            ema_params=optax.incremental_update(g_params, state.ema_params,
                                                1.0 - ema_decay_of(state.step, local_batch)))
        return new_state, parallel.maybe_pmean(metrics, axis_name)

    return train_step
