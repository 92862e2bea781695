"""One batch of real data: what a dataset yields and a method's loss terms read.

Its own module so that ``aegan.data`` (which makes batches) does not import ``aegan.methods``
(which consumes them); ``aegan.methods`` re-exports it for a method's authors.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class Batch:
    """One batch of real data; ``y`` holds labels where the dataset has them."""

    x: Tensor
    y: Tensor | None = None

    def __len__(self) -> int:
        return self.x.shape[0]
