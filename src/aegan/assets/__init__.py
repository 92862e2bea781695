"""Files shipped with aegan, and the hashes that identify them.

The MNIST classifier's SHA-256 lives here, beside its file, so that the datasets (which
record it in their protocol) and the metrics (which check it before loading) both read it
from one place without importing each other.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CLASSIFIER_PATH = HERE / "mnist_classifier.pt"  # benchmarks/train_mnist_classifier.py writes it
CLASSIFIER_SHA256 = "fa62707a2046db944ebc8839370e9ff00bb17eb86db1dba5b30e97fcffdb7c01"
