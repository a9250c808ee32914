r"""ganjax.inception against pytorch-fid's network on the same random weights.

    python -m experiments.compare_inception   # needs torch, torchvision and pytorch-fid

Not part of the tests: PyTorch is not a dependency of ganjax. Builds pytorch-fid's
FID Inception (its ``fid_inception_v3`` without the weight download), gives every
BatchNorm the running statistics of a batch of images (so that each whitens its input
and the features depend on the image, as a trained network's do; with arbitrary
statistics the random network's output is a constant), saves the state dict with
``torch.save``, reads it back with ``ganjax.inception.load_weights`` and prints the
largest difference of pool3 features and logits for inputs that are upsampled (32²),
used as they are (299²) and shrunk (512²), in float32 (``inception.features``) and in
float64 (both networks in float64: what is left is the formulas, not rounding).
"""
import os
import tempfile

from absl import app
import jax
import jax.numpy as jnp
import numpy as np

from ganjax import inception

SIZES = (32, 299, 512)


def _pytorch_fid_network(torch, fid):
    """pytorch-fid 0.3's fid_inception_v3 with random weights and measured statistics."""
    torch.manual_seed(0)
    net = fid._inception_v3(num_classes=1008, aux_logits=False, weights=None)  # pylint: disable=protected-access
    for name, block in (('Mixed_5b', fid.FIDInceptionA(192, pool_features=32)),
                        ('Mixed_5c', fid.FIDInceptionA(256, pool_features=64)),
                        ('Mixed_5d', fid.FIDInceptionA(288, pool_features=64)),
                        ('Mixed_6b', fid.FIDInceptionC(768, channels_7x7=128)),
                        ('Mixed_6c', fid.FIDInceptionC(768, channels_7x7=160)),
                        ('Mixed_6d', fid.FIDInceptionC(768, channels_7x7=160)),
                        ('Mixed_6e', fid.FIDInceptionC(768, channels_7x7=192)),
                        ('Mixed_7b', fid.FIDInceptionE_1(1280)),
                        ('Mixed_7c', fid.FIDInceptionE_2(2048))):
        setattr(net, name, block)
    calibration = np.random.default_rng(1).uniform(-1, 1, (32, 3, 299, 299))
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0  # running statistics := this batch's
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(calibration.astype(np.float32)))
    return net.eval()


def main(argv):
    del argv
    import torch  # pylint: disable=import-outside-toplevel
    import pytorch_fid.inception as fid  # pylint: disable=import-outside-toplevel

    net = _pytorch_fid_network(torch, fid)
    fid.fid_inception_v3 = lambda: net  # InceptionV3 would download the real weights
    wrapper = fid.InceptionV3([3]).eval()  # resize to 299, [0, 1] → [−1, 1], pool3
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'random.pth')
        torch.save(net.state_dict(), path)
        variables = inception.load_weights(path)
    rng = np.random.default_rng(0)
    images = {size: rng.uniform(0, 1, (4, 3, size, size)) for size in SIZES}

    def reference(images01, dtype):
        with torch.no_grad():
            pool3 = wrapper(torch.from_numpy(images01).to(dtype))[0][:, :, 0, 0]
            return pool3.numpy(), net.fc(pool3).numpy()

    def show(precision, size, ours, theirs):
        for name, a, b in zip(('pool3', 'logits'), ours, theirs):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            print(f'{precision} {size}×{size} {name}: max |diff| {np.abs(a - b).max():.2g} '
                  f'(max |value| {np.abs(b).max():.2g}, spread over images '
                  f'{np.abs(b - b.mean(0)).max():.2g})')

    for size, images01 in images.items():
        show('float32', size, inception.features(
            variables, jnp.asarray(2 * images01.transpose(0, 2, 3, 1) - 1, jnp.float32)),
            reference(images01, torch.float32))
    jax.config.update('jax_enable_x64', True)
    net.double()
    wrapper.double()
    variables64 = jax.tree.map(lambda v: jnp.asarray(v, jnp.float64), variables)
    for size, images01 in images.items():
        resized = inception.resize(jnp.asarray(2 * images01.transpose(0, 2, 3, 1) - 1))
        show('float64', size, inception.FIDInceptionV3().apply(variables64, resized),
             reference(images01, torch.float64))


if __name__ == '__main__':
    app.run(main)
