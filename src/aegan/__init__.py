"""aegan: GANs stabilised by autoencoding, and the protocols that measure what that fixes."""

__version__ = "0.1.0"
