"""PyTorch eager implementations of ganjax models and step, for the benchmark only.

The same architecture and the same work per step as ``ganjax.train.gan_step`` with one critic
update and the non-saturating loss: one G(z), a D update on a real batch and
G(z).detach(), a G update through the updated D on the same G(z) (PyTorch's DCGAN
example), then the EMA of G's parameters. D's parameters are frozen during G's backward
pass, so that neither side computes gradients it does not use. The 2-D mixtures' twin
(``make_mixture_step``) steps one such pair per seed in turn, the obvious PyTorch loop
beside ganjax's vmapped program. ``torch`` is imported lazily; it is not a
dependency of ganjax.
"""
import copy
import dataclasses

import jax
import numpy as np

from ganjax import models
from ganjax.data import mixtures
from ganjax.evaluation import mode_collapse


def _dcgan28(torch, latent_dim: int, channels: int, dropout_rate: float, slope: float = 0.3):
    nn = torch.nn
    generator = nn.Sequential(
        nn.Linear(latent_dim, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256),
        nn.LeakyReLU(slope), nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(slope),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64),
        nn.LeakyReLU(slope),
        nn.ConvTranspose2d(64, channels, 5, 2, 2, output_padding=1), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(channels, 64, 5, 2, 2), nn.LeakyReLU(slope), nn.Dropout(dropout_rate),
        nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(slope), nn.Dropout(dropout_rate),
        nn.Flatten(), nn.Linear(7 * 7 * 128, 1))
    return generator, discriminator, (channels, 28, 28)


def _mlp(torch, latent_dim: int, channels: int, dropout_rate: float, slope: float = 0.2):
    nn = torch.nn
    generator = nn.Sequential(
        nn.Linear(latent_dim, 256), nn.LeakyReLU(slope),
        nn.Linear(256, 512), nn.BatchNorm1d(512), nn.LeakyReLU(slope),
        nn.Linear(512, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(slope),
        nn.Linear(1024, 784 * channels), nn.Tanh(), nn.Unflatten(1, (channels, 28, 28)))
    layers = [nn.Flatten()]
    for width_in, width in ((784 * channels, 1024), (1024, 512), (512, 256)):
        layers += [nn.Linear(width_in, width), nn.LeakyReLU(slope), nn.Dropout(dropout_rate)]
    discriminator = nn.Sequential(*layers, nn.Linear(256, 1))
    return generator, discriminator, (channels, 28, 28)


def _toy2d(torch, latent_dim: int, hidden: int, depth: int, d_hidden: int, pieces: int,
           d_depth: int, packing: int):
    """PacGAN's networks (``ganjax.models.toy2d``): G of ``depth`` × (Linear, BatchNorm,
    ReLU), D of ``d_depth`` maxout layers over packs of ``packing`` points."""
    nn = torch.nn

    class Maxout(nn.Module):
        def __init__(self, width_in, width):
            super().__init__()
            self.linear = nn.Linear(width_in, width * pieces)

        def forward(self, x):
            return self.linear(x).unflatten(-1, (-1, pieces)).amax(-1)

    g_layers, width = [], latent_dim
    for _ in range(depth):
        g_layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU()]
        width = hidden
    generator = nn.Sequential(*g_layers, nn.Linear(width, 2))
    d_layers, width = [nn.Unflatten(0, (-1, packing)), nn.Flatten()], 2 * packing
    for _ in range(d_depth):
        d_layers.append(Maxout(width, d_hidden))
        width = d_hidden
    return generator, nn.Sequential(*d_layers, nn.Linear(width, 1))


ARCHITECTURES = {'dcgan28': _dcgan28, 'mlp': _mlp}
# The network options a twin follows; any other must keep its class's default. D's
# first-layer bias range changes its initial values only, not its work.
_TWIN_OPTIONS = {'dcgan28': {'dropout_rate'}, 'mlp': {'dropout_rate'},
                 'toy2d': {'hidden', 'depth', 'pieces', 'packing', 'input_bias_range'}}


def _changed_options(model_config) -> list[str]:
    """The ``model.generator`` / ``model.discriminator`` keys set away from the model
    class's default, other than those the twins follow."""
    changed = []
    for side, cls in zip(('generator', 'discriminator'), models.GANS[model_config.name][:2]):
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        changed += [f'model.{side}.{key}' for key, value in model_config[side].items()
                    if key not in _TWIN_OPTIONS[model_config.name]
                    and value != defaults.get(key)]
    return changed


def _check_supported(config, names) -> None:
    """Raises NotImplementedError unless a twin of ``config`` exists among ``names``."""
    name, loss = config.model.name, config.loss
    changed = _changed_options(config.model) if name in names else []
    if (name not in names or loss.name != 'non_saturating' or loss.n_critic != 1
            or loss.penalty != 'none' or config.model.conditional
            or any(p.weight > 0 for p in (loss.get('penalties') or {}).values())
            or loss.get('unroll_steps', 0) or (config.get('augment') or {}).get('policy')
            or changed):
        raise NotImplementedError(
            f'a PyTorch reference exists for unconditional {"/".join(names)} as their '
            'classes define them by default (but for '
            f'{sorted(set().union(*(_TWIN_OPTIONS[n] for n in names)))}), with the '
            'non-saturating loss, n_critic=1 and no penalty, unrolling or augmentation, '
            f'not model.name={name!r}, loss={loss.name!r}'
            + (f', {changed}' if changed else ''))


def _pair_step(torch, config, generator, discriminator):
    """``step(real)``: one D and one G update of this pair, then G's EMA."""
    # ganjax updates its EMA every step, also at decay 0 (an exact copy of G).
    ema = copy.deepcopy(generator).requires_grad_(False)

    def adam(module, opt):
        return torch.optim.Adam(module.parameters(), lr=opt.learning_rate,
                                betas=(opt.b1, opt.b2))
    g_opt, d_opt = adam(generator, config.optimizer.g), adam(discriminator, config.optimizer.d)
    bce = torch.nn.BCEWithLogitsLoss()
    ema_params, g_params = list(ema.parameters()), list(generator.parameters())

    def step(real):
        fake = generator(torch.randn(real.shape[0], config.model.latent_dim))
        d_opt.zero_grad(set_to_none=True)
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        d_loss = (bce(real_logits, torch.ones_like(real_logits))
                  + bce(fake_logits, torch.zeros_like(fake_logits)))
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        discriminator.requires_grad_(False)  # G's backward needs no D parameter gradients
        fake_logits = discriminator(fake)
        g_loss = bce(fake_logits, torch.ones_like(fake_logits))
        g_loss.backward()
        discriminator.requires_grad_(True)
        g_opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, g_params, 1.0 - config.ema_decay)  # pylint: disable=protected-access
        return d_loss, g_loss
    return step


def make_step(config):
    """Returns ``(step, batch_shape)``: ``step(real)`` does one eager D and G update.

    Raises:
      NotImplementedError: no reference exists for this model, loss or n_critic.
    """
    import torch  # pylint: disable=import-outside-toplevel
    _check_supported(config, tuple(ARCHITECTURES))
    torch.manual_seed(config.seed)
    generator, discriminator, image_shape = ARCHITECTURES[config.model.name](
        torch, config.model.latent_dim, 1, config.model.discriminator.get('dropout_rate', 0.0))
    return _pair_step(torch, config, generator, discriminator), image_shape


def make_mixture_step(config):
    """``step()``: one step of every seed's pair of a 2-D mixture config, in turn, each
    on a batch drawn uniformly from its own training set.

    Raises:
      NotImplementedError: no reference exists for this model, loss or n_critic.
    """
    import torch  # pylint: disable=import-outside-toplevel
    _check_supported(config, ('toy2d',))
    g, d = config.model.generator, config.model.discriminator
    mixture = mixtures.MIXTURES[config.mixture]()
    runs = []
    for seed in mode_collapse.config_seeds(config):
        torch.manual_seed(seed)
        generator, discriminator = _toy2d(torch, config.model.latent_dim, g.hidden, g.depth,
                                          d.hidden, d.pieces, d.depth, d.packing)
        points = np.array(mixture.sample(jax.random.key(seed), config.num_train))
        runs.append((_pair_step(torch, config, generator, discriminator),
                     torch.from_numpy(points)))

    def step():
        for pair_step, train_set in runs:
            pair_step(train_set[torch.randint(len(train_set), (config.batch_size,))])
    return step
