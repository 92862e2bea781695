"""What a joint discriminator D(x, z) (VEEGAN, BiGAN) tells its pairs apart by: the codes' norms
and D's mean logit on the two sets of pairs it trains on and on the two swaps of their codes.

If D's verdict follows the code and not the sample (real data with prior codes scored as
generator pairs, generated data with F's codes as reconstructor pairs), D separates the
pairs by z alone and its gradient tells G little about the data.

    python benchmarks/joint_d_probe.py RUN_DIR [--n 256] [--seed 0]
"""

from __future__ import annotations

import argparse

import torch

from aegan.nets.joint import JointDiscriminator
from aegan.train import open_run


def probe(run_dir: str, n: int = 256, seed: int = 0) -> dict[str, float]:
    """Codes' mean l2 norms and D's mean logits (class 1 = generator pair) of one finished run,
    nets in training mode (as D's phase scores them, batch statistics included)."""
    trainer = open_run(run_dir, {})
    nets, method = trainer.nets, trainer.method
    encoder = next((k for k in ("reconstructor", "encoder") if k in nets), None)
    if encoder is None or "discriminator" not in nets or not isinstance(nets["discriminator"], JointDiscriminator):
        raise SystemExit(f"{run_dir}: method {trainer.config.method.name!r} has no joint discriminator D(x, z) "
                         "(VEEGAN, BiGAN): nothing to probe")
    for net in nets.values():
        net.train()
    torch.manual_seed(seed)
    x = trainer.data.training_batch(n).x  # in data.range, as training sees it
    z = method.prior(n, x)
    d = nets["discriminator"]
    with torch.no_grad():
        codes, fake = nets[encoder](x), nets["generator"](z)
        return {"|z| (prior)": z.norm(dim=1).mean().item(),
                "|F(x)| (real data's codes)": codes.norm(dim=1).mean().item(),
                "D(G(z), z)  generator pairs": d(fake, z).mean().item(),
                "D(x, F(x))  reconstructor pairs": d(x, codes).mean().item(),
                "D(x, z)     real data, prior codes": d(x, z).mean().item(),
                "D(G(z), F(x)) generated data, F's codes": d(fake, codes).mean().item()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir")
    p.add_argument("--n", type=int, default=256, help="pairs per set")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for name, value in probe(args.run_dir, args.n, args.seed).items():
        print(f"{name:45s} {value:9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
