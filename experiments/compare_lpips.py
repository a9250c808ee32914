r"""ganjax.lpips against the ``lpips`` package on the same weights.

    python -m experiments.compare_lpips   # needs torch, torchvision and lpips

Not part of the tests: PyTorch is not a dependency of ganjax. For AlexNet and VGG-16:
a torchvision backbone with random weights (the ImageNet weights are a download) saved
with ``torch.save``, and the ``lpips`` package's own fitted heads (its
``weights/v0.1/*.pth``), both read by ``ganjax.lpips.load_weights``; prints the largest
difference of the distances of random image pairs at 32², 64² and 100 × 72 pixels, in
float32 and in float64 (both implementations in float64: what is left is the formulas,
not rounding).
"""
import os
import tempfile

from absl import app
import jax
import jax.numpy as jnp
import numpy as np

from ganjax import lpips as ganjax_lpips

SHAPES = ((32, 32), (64, 64), (100, 72))


def main(argv):
    del argv
    import torch  # pylint: disable=import-outside-toplevel
    import torchvision  # pylint: disable=import-outside-toplevel
    import lpips  # pylint: disable=import-outside-toplevel
    from lpips import pretrained_networks  # pylint: disable=import-outside-toplevel

    rng = np.random.default_rng(0)
    pairs = {shape: rng.uniform(-1, 1, (2, 4, 3, *shape)) for shape in SHAPES}
    for net, builder in (('alex', torchvision.models.alexnet),
                         ('vgg', torchvision.models.vgg16)):
        torch.manual_seed(0)
        backbone = builder(weights=None)
        # The package asks torchvision for `pretrained=` backbones; hand it this one.
        setattr(pretrained_networks.tv, builder.__name__, lambda **kwargs: backbone)
        reference = lpips.LPIPS(net=net, pnet_rand=True, verbose=False).eval()
        heads = os.path.join(os.path.dirname(lpips.__file__), 'weights', 'v0.1', f'{net}.pth')
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, 'backbone.pth')
            torch.save(backbone.state_dict(), path)
            variables = ganjax_lpips.load_weights(net, backbone=path, heads=heads)
        for dtype in (torch.float32, torch.float64):
            reference.to(dtype)
            with jax.enable_x64(dtype == torch.float64):
                cast = jax.tree.map(lambda v: jnp.asarray(v, jnp.dtype(str(dtype)[6:])),
                                    variables)
                for shape, (x, y) in pairs.items():
                    with torch.no_grad():
                        theirs = reference(torch.from_numpy(x).to(dtype),
                                           torch.from_numpy(y).to(dtype)).numpy().ravel()
                    nhwc = [jnp.asarray(a.transpose(0, 2, 3, 1), cast['params']['lin0'][
                        'kernel'].dtype) for a in (x, y)]
                    ours = np.asarray(ganjax_lpips.LPIPS(net).apply(cast, *nhwc))
                    print(f'LPIPS-{net} {str(dtype)[6:]} {shape[0]}×{shape[1]}: max |diff| '
                          f'{np.abs(ours - theirs).max():.2g} (distances {theirs.min():.3g}'
                          f'–{theirs.max():.3g})')


if __name__ == '__main__':
    app.run(main)
