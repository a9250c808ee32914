"""The benchmark's report, and that its PyTorch twin is the same architecture.

No timing is asserted: timings are measured by ``python -m experiments.benchmark``.
"""
import chex
import jax
import pytest

from experiments.configs import mnist_dcgan_tutorial
from experiments.configs import mnist_mlp_gan
from experiments.support import timing
from ganjax.train import parallel
from ganjax.train import setup as setup_lib


def test_report_fields():
    config = mnist_mlp_gan.get_config('smoke')
    result = timing.time_ganjax_step(config, (28, 28, 1), 10, num_steps=2, warmup=1)
    assert set(result) == {'step_ms', 'images_per_sec', 'batch_size', 'devices', 'backend',
                           'compiler_options'}
    assert result['compiler_options'] == parallel.compiler_options()
    assert result['step_ms'] > 0 and result['batch_size'] == 8
    assert result['images_per_sec'] == pytest.approx(8 / (result['step_ms'] / 1e3), rel=1e-2)


@pytest.mark.parametrize('get_config', [mnist_dcgan_tutorial.get_config,
                                        mnist_mlp_gan.get_config])
def test_torch_twin_has_the_same_parameters(get_config):
    torch = pytest.importorskip('torch')
    from experiments.support import torch_twin  # pylint: disable=import-outside-toplevel
    config = get_config()
    setup = setup_lib.make_setup(config, (28, 28, 1), 10)
    state = jax.eval_shape(setup.init_state, jax.random.key(0))
    ours = sum(x.size for x in jax.tree.leaves((state.g_params, state.d_params)))
    generator, discriminator, _ = torch_twin.ARCHITECTURES[config.model.name](
        torch, config.model.latent_dim, 1, 0.3)
    theirs = sum(p.numel() for m in (generator, discriminator) for p in m.parameters())
    assert ours == theirs


def test_compiler_options_are_valid_for_this_jaxlib():
    options = parallel.compiler_options()
    if jax.default_backend() == 'cpu':
        assert options == parallel._CPU_COMPILER_OPTIONS  # pylint: disable=protected-access
    # Whatever they are, a step compiles with them and computes the same as without.
    f = lambda x: jax.numpy.tanh(x @ x.T)
    x = jax.random.normal(jax.random.key(0), (16, 16))
    chex.assert_trees_all_close(jax.jit(f, compiler_options=options)(x), jax.jit(f)(x),
                                rtol=1e-6)


def test_torch_twin_refuses_a_network_option_it_does_not_build():
    pytest.importorskip('torch')
    from experiments.support import torch_twin  # pylint: disable=import-outside-toplevel
    config = mnist_dcgan_tutorial.get_config()
    config.model.discriminator.dropout_rate = 0.5  # a twin option: still built
    torch_twin.make_step(config)
    with config.unlocked():
        config.model.generator.base_features = 32
    with pytest.raises(NotImplementedError, match=r'model\.generator\.base_features'):
        torch_twin.make_step(config)
