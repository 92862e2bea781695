"""An autoencoder used as a discriminator (EBGAN, BEGAN): D(x) = decode(encode(x))."""

from __future__ import annotations

from torch import Tensor, nn


class AutoencoderDiscriminator(nn.Module):
    """x -> reconstruction of x. ``encode`` gives the code (EBGAN's pulling-away term uses it).

    Built from a factory's encoder (data -> code) and generator (code -> data, as a decoder),
    so it has the same layers as every other method's networks.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))
