"""The VAE's pure train step, the non-adversarial baseline.

Loss per batch (``ganjax.losses``): ``beta_vae_loss(bernoulli_reconstruction_loss +
β·gaussian_kl)``, the negative ELBO for β = 1 (Kingma & Welling 2014) and the β-VAE
objective otherwise (Higgins et al. 2017). Images in [−1, 1] are mapped to Bernoulli
targets in [0, 1] as (x + 1)/2.

The batch layout matches the GAN step's, ``{'image': (1, B, ...)}``: the leading axis
counts the updates a step makes, and a VAE makes one.
"""
import flax.linen as nn
import jax
import optax

from ganjax import losses
from ganjax.train import parallel
from ganjax.train import state as state_lib


def make_vae_train_step(model: nn.Module, tx: optax.GradientTransformation, beta: float,
                        axis_name: str | None = None):
    """Returns ``train_step(state, batch) -> (state, metrics)`` for a ``models.vae.VAE``.

    Metrics: ``loss`` (the β-weighted total), ``reconstruction``, ``kl``, ``grad_norm``.
    Under pmap (``axis_name``) gradients and metrics are averaged across devices.
    """
    def loss_fn(params, images, key):
        targets = (images + 1.0) / 2.0
        logits, mean, log_var = model.apply({'params': params}, images, rngs={'reparam': key})
        reconstruction = losses.bernoulli_reconstruction_loss(logits, targets)
        kl = losses.gaussian_kl(mean, log_var)
        return losses.beta_vae_loss(reconstruction, kl, beta), dict(reconstruction=reconstruction,
                                                                     kl=kl)

    def train_step(state: state_lib.VAEState, batch):
        if batch['image'].shape[0] != 1:
            raise ValueError("a VAE step makes one update: batch['image'] must have shape "
                             f"(1, B, ...), got {batch['image'].shape}")
        key = parallel.per_device_key(jax.random.fold_in(state.rng, state.step), axis_name)
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, batch['image'][0], key)
        grads = parallel.maybe_pmean(grads, axis_name)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        metrics = parallel.maybe_pmean(dict(metrics, loss=loss, grad_norm=optax.tree.norm(grads)),
                                       axis_name)
        return state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                             opt_state=opt_state), metrics

    return train_step
