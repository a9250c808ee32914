"""β-VAE on MNIST (Kingma & Welling 2014; Higgins et al. 2017), the non-adversarial baseline.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_vae.py
    python -m experiments.mnist --config=experiments/configs/mnist_vae.py:conv

Arg ``mlp`` (default: the 784→400→2·20 encoder and 20→400→784 decoder of the tutorial
"图像生成：深度学习的实践经验") or ``conv``; ``smoke`` shrinks it for tests (``conv,smoke`` both). Bernoulli likelihood on
pixels in [0, 1], β = 1 (the ELBO); Adam 1e-3, batch 128. Samples decode z ~ N(0, I).

Runtime on a 2-core CPU (mlp): the whole 3,000-step run took 37 s here. What we saw
(embedded MNIST, seed 0): the loss (negative ELBO, nats per image) fell to ~106
(reconstruction ~80, KL ~26); prior samples are blurry but mostly readable digits, the
usual look of a Gaussian-prior VAE.
"""
import ml_collections

from experiments.configs import defaults


def get_config(arg: str | None = None):
    architecture, _, smoke = defaults.parse_arg(arg, names=('mlp', 'conv'))
    config = defaults.gan_config(dataset='mnist', model='vae', total_steps=3000)
    config.batch_size = 128
    config.model = ml_collections.ConfigDict(dict(
        name='vae', architecture=architecture, latent_dim=20,
        conditional=False))
    config.optimizer = ml_collections.ConfigDict(dict(vae=defaults.adam(1e-3, b1=0.9)))
    config.loss = ml_collections.ConfigDict(dict(beta=1.0))
    del config['ema_decay']
    config.eval.generators = ('raw',)  # a VAE has no EMA decoder
    if smoke:
        defaults.shrink_for_smoke_test(config)
    return config
