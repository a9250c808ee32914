"""GFLOP/s of DCGAN-28's convolutions against this machine's matrix-product rate
(``python -m experiments.benchmark --layers``).

Each layer is timed as three programs: the forward pass, the input gradient and the
kernel gradient (each gradient alone, from a fixed output cotangent), for ganjax's layer
(``ganjax.layers``), Flax's, and, where PyTorch is installed, PyTorch's eager layer
(the gradients by re-running the backward pass of one recorded forward pass). All of
them are timed in alternating blocks (``timing.interleaved_median_seconds``).

A pass's FLOPs are the dense convolution's: 2 × the multiply-adds of every kernel tap
at every position it visits, taps that land on padding included — for a convolution
B·H_out·W_out·k_h·k_w·C_in·C_out multiply-adds, for a transposed convolution
B·H_in·W_in·k_h·k_w·C_in·C_out; each gradient pass counts the same. The reference rate
is ``timing.matmul_gflops``'s.
"""
import dataclasses

import flax.linen as nn
import jax

from experiments.support import timing
from ganjax import layers
from ganjax.train import parallel

KERNEL = 5


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    """One of DCGAN-28's 5×5 'SAME' convolutions, by its input (H, W, C_in)."""
    network: str
    transposed: bool
    in_shape: tuple[int, int, int]
    features: int
    stride: int

    def multiply_adds(self, batch_size: int) -> int:
        height, width, channels = self.in_shape
        positions = height * width if self.transposed else (
            -(-height // self.stride) * -(-width // self.stride))
        return batch_size * positions * KERNEL * KERNEL * channels * self.features

    @property
    def name(self) -> str:
        kind = 'transposed conv' if self.transposed else 'conv'
        return (f'{self.network} {kind} {"x".join(map(str, self.in_shape))} -> '
                f'{self.features} ch, 5x5, stride {self.stride}')


DCGAN28_LAYERS = (
    ConvLayer('G', True, (7, 7, 256), 128, 1),
    ConvLayer('G', True, (7, 7, 128), 64, 2),
    ConvLayer('G', True, (14, 14, 64), 1, 2),
    ConvLayer('D', False, (28, 28, 1), 64, 2),
    ConvLayer('D', False, (14, 14, 64), 128, 2),
)
PASSES = ('forward', 'd_input', 'd_kernel')


def _jax_passes(layer: ConvLayer, cls, batch_size: int) -> dict:
    """The three passes of a Flax-style layer class, compiled, as argument-free runners."""
    module = cls(layer.features, (KERNEL, KERNEL), (layer.stride, layer.stride), 'SAME')
    x = jax.random.normal(jax.random.key(0), (batch_size, *layer.in_shape))
    params = module.init(jax.random.key(1), x)
    cotangent = jax.random.normal(jax.random.key(2), module.apply(params, x).shape)
    forward = parallel.jit(module.apply)
    d_input = parallel.jit(lambda p, x, g: jax.vjp(lambda x: module.apply(p, x), x)[1](g)[0])
    d_kernel = parallel.jit(lambda p, x, g: jax.vjp(lambda p: module.apply(p, x), p)[1](g)[0])
    calls = {'forward': (forward, (params, x)), 'd_input': (d_input, (params, x, cotangent)),
             'd_kernel': (d_kernel, (params, x, cotangent))}
    return {what: lambda fn=fn, args=args: jax.block_until_ready(fn(*args))
            for what, (fn, args) in calls.items()}


def _torch_passes(torch, layer: ConvLayer, batch_size: int) -> dict:
    """The same passes of PyTorch's eager layer (NCHW, PyTorch's padding for 'SAME')."""
    height, width, channels = layer.in_shape
    if layer.transposed:
        module = torch.nn.ConvTranspose2d(channels, layer.features, KERNEL, layer.stride,
                                          KERNEL // 2, output_padding=layer.stride - 1)
    else:
        module = torch.nn.Conv2d(channels, layer.features, KERNEL, layer.stride, KERNEL // 2)
    x = torch.randn(batch_size, channels, height, width, requires_grad=True)
    y = module(x)
    cotangent = torch.randn_like(y)

    def forward():
        with torch.no_grad():
            module(x)

    def gradient(wrt):
        return lambda: torch.autograd.grad(y, wrt, cotangent, retain_graph=True)
    return {'forward': forward, 'd_input': gradient(x), 'd_kernel': gradient(module.weight)}


def time_layers(batch_size: int, num_steps: int, peak_gflops: float,
                conv_layers: tuple[ConvLayer, ...] = DCGAN28_LAYERS) -> list[dict]:
    """A row per convolution: each implementation's milliseconds, GFLOP/s and share of
    ``peak_gflops`` for each pass."""
    try:
        import torch  # pylint: disable=import-outside-toplevel
    except ImportError:
        torch = None
    rows = []
    for layer in conv_layers:
        passes = {'ganjax': _jax_passes(layer, layers.ConvTranspose if layer.transposed
                                        else layers.Conv, batch_size),
                  'flax': _jax_passes(layer, nn.ConvTranspose if layer.transposed
                                      else nn.Conv, batch_size)}
        if torch is not None:
            passes['torch'] = _torch_passes(torch, layer, batch_size)
        runners = {f'{impl}_{what}': run for impl, by_pass in passes.items()
                   for what, run in by_pass.items()}
        seconds = timing.interleaved_median_seconds(runners, num_steps, warmup=2)
        gflop = 2 * layer.multiply_adds(batch_size) / 1e9
        row = {'layer': layer.name, 'gflop_per_pass': round(gflop, 3)}
        for label, s in seconds.items():
            row[f'{label}_ms'] = round(s * 1e3, 3)
            row[f'{label}_gflops'] = round(gflop / s, 2)
            row[f'{label}_of_peak'] = round(gflop / s / peak_gflops, 2)
        rows.append(row)
    return rows
