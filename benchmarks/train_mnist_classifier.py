"""Train the project's MNIST classifier and write its weights to aegan/assets/.

    nice -n 10 python benchmarks/train_mnist_classifier.py --epochs 2 --threads 2

Prints the test accuracy and the SHA-256 of the written file; put the hash (and the
accuracy) in ``CLASSIFIER_SHA256`` / ``TEST_ACCURACY`` of src/aegan/metrics/classifier.py.
Refuses to write weights below 99% test accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from aegan.metrics.classifier import ASSET, sha256_file, train_classifier


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ASSET))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    net, stats = train_classifier(args.epochs, args.batch_size, args.lr, args.seed, log=lambda m: print(m, flush=True))
    print(json.dumps(stats))
    if stats["test_accuracy"] < 0.99:
        print(f"test accuracy {stats['test_accuracy']:.4f} < 0.99: not writing {args.out}", file=sys.stderr)
        return 1
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    torch.save(state, args.out)
    print(f"wrote {args.out}\nsha256 {sha256_file(args.out)}\ntest_accuracy {stats['test_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
