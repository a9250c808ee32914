"""PyTorch eager implementations of ganjax models and step, for the benchmark only.

The same architecture and the same work per step as ``ganjax.train.gan_step`` with one critic
update and the non-saturating loss: one G(z), a D update on a real batch and
G(z).detach(), a G update through the updated D on the same G(z) (PyTorch's DCGAN
example), then the EMA of G's parameters. D's parameters are frozen during G's backward
pass, so that neither side computes gradients it does not use. ``torch`` is imported lazily; it is not a
dependency of ganjax.
"""
import copy
import dataclasses

from ganjax import models

# The network options a twin follows; any other must keep its class's default.
_TWIN_OPTIONS = {'dropout_rate'}


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


ARCHITECTURES = {'dcgan28': _dcgan28, 'mlp': _mlp}


def _changed_options(model_config) -> list[str]:
    """The ``model.generator`` / ``model.discriminator`` keys set away from the model
    class's default, other than those the twins follow."""
    changed = []
    for side, cls in zip(('generator', 'discriminator'), models.GANS[model_config.name][:2]):
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        changed += [f'model.{side}.{key}' for key, value in model_config[side].items()
                    if key not in _TWIN_OPTIONS and value != defaults.get(key)]
    return changed


def make_step(config):
    """Returns ``(step, batch_shape)``: ``step(real)`` does one eager D and G update.

    Raises:
      NotImplementedError: no reference exists for this model, loss or n_critic.
    """
    import torch  # pylint: disable=import-outside-toplevel
    name, loss = config.model.name, config.loss
    changed = _changed_options(config.model) if name in ARCHITECTURES else []
    if (name not in ARCHITECTURES or loss.name != 'non_saturating' or loss.n_critic != 1
            or loss.penalty != 'none' or config.model.conditional
            or any(p.weight > 0 for p in (loss.get('penalties') or {}).values())
            or loss.get('unroll_steps', 0) or (config.get('augment') or {}).get('policy')
            or changed):
        raise NotImplementedError(
            'a PyTorch reference exists for unconditional dcgan28/mlp as their classes '
            'define them by default (dropout may change), with the non-saturating loss, '
            'n_critic=1 and no penalty, unrolling or augmentation, not '
            f'model.name={name!r}, loss={loss.name!r}' + (f', {changed}' if changed else ''))
    torch.manual_seed(config.seed)
    generator, discriminator, image_shape = ARCHITECTURES[name](
        torch, config.model.latent_dim, 1, config.model.discriminator.get('dropout_rate', 0.0))
    ema = copy.deepcopy(generator).requires_grad_(False)

    def adam(module, opt):
        return torch.optim.Adam(module.parameters(), lr=opt.learning_rate,
                                betas=(opt.b1, opt.b2))
    g_opt, d_opt = adam(generator, config.optimizer.g), adam(discriminator, config.optimizer.d)
    bce = torch.nn.BCEWithLogitsLoss()
    ema_params, g_params = list(ema.parameters()), list(generator.parameters())

    def step(real):
        batch = real.shape[0]
        ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
        fake = generator(torch.randn(batch, config.model.latent_dim))
        d_opt.zero_grad(set_to_none=True)
        d_loss = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        discriminator.requires_grad_(False)  # G's backward needs no D parameter gradients
        g_loss = bce(discriminator(fake), ones)
        g_loss.backward()
        discriminator.requires_grad_(True)
        g_opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, g_params, 1.0 - config.ema_decay)  # pylint: disable=protected-access
        return d_loss, g_loss

    return step, image_shape
