"""The benchmark's report, and that its PyTorch twin is the same architecture.

No timing is asserted: timings are measured by ``python -m experiments.benchmark``.
"""
import importlib.util
import json

import chex
import jax
import pytest

from experiments.configs import mnist_dcgan_tutorial
from experiments.configs import mnist_mlp_gan
from experiments.configs import toy2d
from experiments.support import conv_timing
from experiments.support import tables
from experiments.support import timing
from ganjax import errors
from ganjax.evaluation import mode_collapse
from ganjax.reporting import machine
from ganjax.train import parallel
from ganjax.train import setup as setup_lib

import run_helpers


def test_report_fields():
    config = mnist_mlp_gan.get_config('smoke')
    result = timing.time_ganjax_step(config, (28, 28, 1), 10, num_steps=2, warmup=1)
    assert set(result) == {'step_ms', 'images_per_sec', 'batch_size', 'devices', 'backend',
                           'compiler_options', 'first_step_s', 'steps_per_call'}
    assert result['steps_per_call'] == 1
    assert result['first_step_s'] > result['step_ms'] / 1e3  # it compiles
    assert result['compiler_options'] == parallel.compiler_options()
    assert result['step_ms'] > 0 and result['batch_size'] == 8
    assert result['images_per_sec'] == pytest.approx(8 / (result['step_ms'] / 1e3), rel=1e-2)


def test_a_timed_call_is_a_cycle_of_lazy_penalties(monkeypatch):
    # R1 on every 3rd and R2 on every 2nd D update: 6 steps a call hold each schedule's
    # due updates in proportion, so the step time is their mean, not a skipping step's.
    config = mnist_mlp_gan.get_config('smoke')
    config.loss.penalties.r1.update(weight=0.1, every=3)
    config.loss.penalties.r2.update(weight=0.1, every=2)
    steps_run = []
    compile_jit = parallel.compile_jit

    def counting_compile_jit(fn, **kwargs):
        compiled = compile_jit(fn, **kwargs)

        def step(*args):
            steps_run.append(1)
            return compiled(*args)
        return step
    monkeypatch.setattr(parallel, 'compile_jit', counting_compile_jit)
    run_once, info = timing.ganjax_step_runner(config, (28, 28, 1), 10)
    assert info['steps_per_call'] == 6 and len(steps_run) == 1  # the compiling step
    run_once()
    assert len(steps_run) == 7


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


def test_convolution_flops_count_every_tap_at_every_position():
    g1, g2, _, d1, d2 = conv_timing.DCGAN28_LAYERS
    assert g1.multiply_adds(64) == 64 * 7 * 7 * 25 * 256 * 128  # 5.14 GFLOP a pass
    assert g2.multiply_adds(64) == 64 * 7 * 7 * 25 * 128 * 64  # per input position
    assert d1.multiply_adds(64) == 64 * 14 * 14 * 25 * 1 * 64  # per output position
    assert d2.multiply_adds(1) == 7 * 7 * 25 * 64 * 128
    # A transposed convolution's count is the convolution's that it transposes.
    assert g2.multiply_adds(3) == conv_timing.ConvLayer('D', False, (14, 14, 64), 128,
                                                       2).multiply_adds(3)


def test_layer_rows_time_every_pass_of_every_implementation():
    small = (conv_timing.ConvLayer('G', True, (4, 4, 3), 2, 2),
             conv_timing.ConvLayer('D', False, (8, 8, 2), 3, 2))
    rows = conv_timing.time_layers(2, 1, peak_gflops=1.0, conv_layers=small)
    implementations = ['ganjax', 'flax'] + (
        ['torch'] if importlib.util.find_spec('torch') is not None else [])
    assert [row['layer'] for row in rows] == [
        'G transposed conv 4x4x3 -> 2 ch, 5x5, stride 2', 'D conv 8x8x2 -> 3 ch, 5x5, stride 2']
    for row, layer in zip(rows, small):
        assert row['gflop_per_pass'] == round(2 * layer.multiply_adds(2) / 1e9, 3)
        for impl in implementations:
            for what in conv_timing.PASSES:
                label = f'{impl}_{what}'
                assert row[f'{label}_ms'] > 0
                assert row[f'{label}_of_peak'] == pytest.approx(
                    row[f'{label}_gflops'], abs=0.01)


@pytest.mark.parametrize('variant', ['grid,paper_gan', 'ring,pacgan2', 'ring,best'])
def test_torch_mixture_twin_has_the_same_parameters(variant):
    torch = pytest.importorskip('torch')
    from experiments.support import torch_twin  # pylint: disable=import-outside-toplevel
    config = toy2d.get_config(variant)
    setup = mode_collapse.make_setup(config)
    state = jax.eval_shape(setup.init_state, jax.random.key(0))
    g, d = config.model.generator, config.model.discriminator
    generator, discriminator = torch_twin._toy2d(  # pylint: disable=protected-access
        torch, config.model.latent_dim, g.hidden, g.depth, d.hidden, d.pieces, d.depth,
        d.packing)
    assert (sum(x.size for x in jax.tree.leaves(state.g_params))
            == sum(p.numel() for p in generator.parameters()))
    assert (sum(x.size for x in jax.tree.leaves(state.d_params))
            == sum(p.numel() for p in discriminator.parameters()))
    logits = discriminator(torch.zeros(config.batch_size, 2))
    assert logits.shape == (config.batch_size // d.packing, 1)


def test_mixture_runner_steps_every_seed_and_counts_flops():
    config = toy2d.get_config('grid,paper_gan,smoke')
    run_once, info = timing.mixture_training_runner(config, steps_per_call=3)
    assert info['num_seeds'] == 2 and info['batch_size'] == 100 and info['compile_s'] > 0
    # PacGAN's networks: about 0.96 GFLOP per seed-step (G 4 × 400, D 3 maxout × 200 × 5).
    assert 0.5 < info['gflop_per_seed_step'] < 2.0
    run_once()
    if importlib.util.find_spec('torch') is not None:
        step_all, _ = timing.torch_mixture_runner(config, steps_per_call=1)
        step_all()


def test_benchmark_entry_point_times_a_mixture_config_and_writes_a_speed_row(tmp_path):
    out = tmp_path / 'speed' / 'ring.json'
    result = run_helpers.run_module(
        'experiments.benchmark', '--config=experiments/configs/toy2d.py:ring,paper_gan,smoke',
        '--num_steps=1', f'--out={out}')
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report['num_seeds'] == 2 and report['seed_steps_per_sec'] > 0
    assert report['gflops'] == pytest.approx(
        report['gflop_per_seed_step'] * report['seed_steps_per_sec'], rel=0.01)
    assert json.loads(out.read_text()) == report
    assert report['command'] == ('python -m experiments.benchmark '
                                 '--config=experiments/configs/toy2d.py:ring,paper_gan,smoke '
                                 '--num_steps=1')
    assert report['cpu'] == machine.cpu_description()
    row = tables.speed_table([report]).splitlines()[-1]
    assert row.startswith(f"| toy2d.py:ring,paper_gan,smoke | {report['cpu']} | ")
    assert f"{report['seed_steps_per_sec']:.0f} seed-steps/s (2 seeds" in row
    unwritable = run_helpers.run_module(
        'experiments.benchmark', '--config=experiments/configs/toy2d.py:ring,smoke',
        f'--out={out}/x.json')
    assert unwritable.returncode == 2 and 'Traceback' not in unwritable.stderr
    assert f'error: --out={out}/x.json cannot be written' in unwritable.stderr
    no_steps = run_helpers.run_module(
        'experiments.benchmark', '--config=experiments/configs/toy2d.py:ring,smoke',
        '--num_steps=0')
    assert no_steps.returncode == 2 and 'Traceback' not in no_steps.stderr
    assert 'error: flag --num_steps=0' in no_steps.stderr
    vae = run_helpers.run_module(
        'experiments.benchmark', '--config=experiments/configs/mnist_vae.py:conv,smoke')
    assert vae.returncode == 2 and 'Traceback' not in vae.stderr
    assert "config.model.name must be a GAN's (the benchmark times GAN" in vae.stderr
    image_only = run_helpers.run_module(
        'experiments.benchmark', '--config=experiments/configs/toy2d.py:ring,smoke',
        '--compare_xla_defaults')
    assert image_only.returncode == 2 and 'Traceback' not in image_only.stderr
    assert ("error: --compare_xla_defaults times an image config's train step"
            in image_only.stderr)


def test_a_swept_mixture_config_is_refused():
    config = toy2d.get_config('ring,paper_gan,smoke')
    config.sweep.key, config.sweep.values = 'optimizer.d.learning_rate', (1e-4, 2e-4)
    with pytest.raises(errors.ConfigError, match=r'config\.sweep\.key must be empty'):
        timing.mixture_training_runner(config, steps_per_call=1)


def test_speed_table_rows_of_a_step_and_of_a_config_without_twin():
    step = dict(config='experiments/configs/mnist_dcgan_tutorial.py', cpu='CPU X',
                step_ms=219.5, images_per_sec=291.6, torch_step_ms=211.7,
                speedup_vs_torch=0.96, first_step_s=7.21,
                command='python -m experiments.benchmark --config=c.py')
    untwinned = dict(step, config='experiments/configs/mnist_wgan_gp.py', torch='none')
    del untwinned['torch_step_ms'], untwinned['speedup_vs_torch']
    rows = tables.speed_table([step, untwinned]).splitlines()[2:]
    assert rows == [
        '| mnist_dcgan_tutorial.py | CPU X | 220 ms (292 images/s) | 212 ms | 0.96× | 7.2 s '
        '| `python -m experiments.benchmark --config=c.py` |',
        '| mnist_wgan_gp.py | CPU X | 220 ms (292 images/s) | no twin | — | 7.2 s '
        '| `python -m experiments.benchmark --config=c.py` |']
