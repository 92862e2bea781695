"""Packing (Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial
networks", Sec. 3): the discriminator decides on m samples at once.

A pack is m samples concatenated along the first data axis: the feature axis of vectors
((N, d) -> (N/m, m*d)), the channel axis of images ((N, C, H, W) -> (N/m, m*C, H, W)), as
the authors' code does (their 2D ``GaussianPackingMixture`` stacks m points side by side,
``np.hstack``; their stacked-MNIST DCGAN concatenates G's m outputs on the channel axis,
``tf.concat(self.G_sep, 3)``, and D's first convolution takes 3m channels). Consecutive
samples of a batch form a pack: samples i*m .. i*m + m - 1 are pack i, so a batch of real
samples gives real packs and a batch of generated ones generated packs, never mixed, as
long as each part has a multiple of m samples (``aegan.methods.base.discriminate`` splits
D's output at the real part's N/m packs).

Everything else of D is the family's own net, built for the packed shape
(``NetFactory.packed``): only its first layer is m times wider, as in the authors' code
(their packed discriminators keep every other layer and width of the unpacked one).
``attach_packing`` registers the reshape as a forward pre-hook on D's ``features`` (or on
D when it has none), so a method that reads ``D.features(x)`` directly sees packs too
(VAE/GAN's feature reconstruction: pack against pack), and ``D.pack`` holds m.
"""

from __future__ import annotations

import functools

from torch import Tensor, nn


def packed_shape(shape: tuple[int, ...], m: int) -> tuple[int, ...]:
    """The shape of one pack of m samples of ``shape``: the first axis m times longer."""
    return (m * shape[0], *shape[1:])


def pack(x: Tensor, m: int) -> Tensor:
    """(N, s0, s1, ...) -> (N/m, m*s0, s1, ...): samples i*m .. i*m + m - 1 side by side.

    ``pack(x, 1)`` is ``x`` itself. N must be a multiple of m.
    """
    if m == 1:
        return x
    n = x.shape[0]
    if n % m:
        raise ValueError(f"a batch of {n} samples does not split into packs of {m}: the batch size (and each "
                         f"part D sees, real and generated) must be a multiple of the method's pack")
    return x.reshape(n // m, m * x.shape[1], *x.shape[2:])


def _pack_inputs(m: int, module: nn.Module, args: tuple) -> tuple:
    return (pack(args[0], m), *args[1:])


def attach_packing(net: nn.Module, m: int) -> nn.Module:
    """Make ``net`` (a discriminator built for ``packed_shape``) take batches of samples and
    decide per pack: its ``features`` (or ``net``) pack their input first. Returns ``net``."""
    if m == 1:
        return net
    target = net.features if isinstance(getattr(net, "features", None), nn.Module) else net
    target.register_forward_pre_hook(functools.partial(_pack_inputs, m))
    net.pack = m
    return net


def pack_of(net: nn.Module) -> int:
    """How many samples ``net`` decides on at once: 1 unless ``attach_packing`` set it (a
    ``torch.compile`` wrapper answers for the net it wraps)."""
    return int(getattr(net, "pack", 1))
