"""The 2D benchmark: every autoencoding method of the seed papers and every baseline on ring8
and grid25, several seeds, one markdown table per dataset and one figure of samples per dataset.

A thin wrapper around ``aegan.compare.compare``; the protocol (data, nets, steps, batch,
lr) lives in configs/toy/ring8.yaml and configs/toy/grid25.yaml, the per-method defaults in
each method's Config (tuned for these configs). Finished runs are reused, so an
interrupted benchmark picks up where it stopped.

    python benchmarks/toy2d.py                        # full protocol: 10 seeds -> results/toy2d
    python benchmarks/toy2d.py --methods baselines --seeds 1   # the issue-5 baselines only
    python benchmarks/toy2d.py --seeds 3 --methods gan_rl,reg_gan --train.steps=2000
    python benchmarks/toy2d.py --quick                # demo: 3 methods, 2 seeds, 2000 steps
    python benchmarks/toy2d.py --seeds 3 --methods baselines --records benchmarks/results/toy2d
                                                      # docs/results/toy2d.md's tables: records kept run by run
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aegan.checkpoint import atomic_write_text
from aegan.compare import SEEDS_HELP, compare, figure, finished_runs, parse_seeds
from aegan.results.cells import table
from aegan.config import parse_overrides

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [str(ROOT / "configs" / "toy" / "ring8.yaml"), str(ROOT / "configs" / "toy" / "grid25.yaml")]
AUTOENCODING = ["nsgan", "ae", "gan_ae", "gan_ae_decay", "reg_gan", "mdgan", "vlgan",
                "gan_rl", "gan_gp", "dragan", "gan_gp_rl", "dragan_rl"]
# the baselines of issue 5, cheapest first (gan_mb costs ~0.3 s/step at batch 512 on a CPU
# core: its layer is O(batch^2); the MMD methods and unrolled GAN ~0.1 s/step)
BASELINES = ["gan", "lsgan", "instance_noise", "ebgan", "began", "aae", "age", "bigan", "vaegan", "alpha_gan",
             "wgan", "wgan_gp", "unrolled", "gmmn", "gan_mmd", "gan_mb"]
# issue 29's anchors (rows today's readers ask for): PacGAN, SN-GAN, VEEGAN, NS-GAN + R1 and R3GAN's objective
# on these nets; their labelled variants (pacgan_packs, sngan_adam_c) run by label
ANCHORS = ["pacgan", "sngan", "veegan", "r1", "r3gan"]
METHODS = AUTOENCODING + BASELINES + ANCHORS
# Published results on the same protocol (2,500 samples, high quality = within 3 std), as
# reported in the PacGAN paper (Lin et al. 2018) for PacGAN, VEEGAN and unrolled GAN.
PUBLISHED = {
    "ring8": [["*PacGAN (published)*", "", "7.9", "0.956"], ["*VEEGAN (published)*", "", "8", "0.529"],
              ["*unrolled GAN (published)*", "", "7.6", "0.356"]],
    "grid25": [["*PacGAN (published)*", "", "24.8", "0.936"], ["*VEEGAN (published)*", "", "24.6", "0.40"],
               ["*unrolled GAN (published)*", "", "23.6", "0.16"]],
}
HEADER = ("# 2D mode collapse: ring8 and grid25\n\n"
          "modes: modes with at least one high-quality sample (within 3 std of its centre) out of 2,500; "
          "strict modes: modes receiving at least 10 % of the high-quality samples their weight predicts; worst seed's high-quality: the minimum over seeds; KL: of the mode "
          "histogram to the true weights. Mean ± sample std (ddof 1) over seeds. Rows: the seed papers' methods (nsgan to dragan_rl), "
          "then the baselines (gan to gan_mb), then the anchors (pacgan, sngan), then published references.\n\n")
QUICK = {"methods": ["nsgan", "reg_gan", "gan_rl"], "seeds": 2, "overrides": {"train.steps": 2000}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default="all",
                   help="comma-separated method names or groups: autoencoding, baselines, anchors, all (default)")
    p.add_argument("--datasets", default="ring8,grid25", help="comma-separated mixtures to run (tables list every finished run)")
    p.add_argument("--seeds", type=parse_seeds, default="10", help=SEEDS_HELP)
    p.add_argument("--workers", type=int, default=2, help="parallel runs (one torch thread each)")
    p.add_argument("--out", default=str(ROOT / "results" / "toy2d"))
    p.add_argument("--quick", action="store_true", help="a few-minute demo: " + str(QUICK))
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--records", help="also append each finished run's record to this records directory "
                                     "(docs/results/toy2d.md's tables: benchmarks/results/toy2d)")
    args, rest = p.parse_known_args(argv)
    overrides = parse_overrides(rest)  # e.g. --train.steps=4000, the same for every method
    methods = expand_methods(args.methods)
    seeds = args.seeds
    if args.quick:
        methods, seeds, overrides = QUICK["methods"], QUICK["seeds"], {**QUICK["overrides"], **overrides}
    compare(select_configs(args.datasets), methods, seeds, args.out, args.workers, overrides, not args.no_progress,
            records=args.records)
    text = write_tables(args.out)
    print(text)
    print(f"results in {args.out}/results.md (figures: {args.out}/<dataset>_samples.png)")
    return 0


def expand_methods(text: str) -> list[str]:
    """"nsgan,baselines" -> method labels, the groups autoencoding/baselines/all expanded."""
    groups = {"autoencoding": AUTOENCODING, "baselines": BASELINES, "anchors": ANCHORS, "all": METHODS}
    labels = [m for part in text.split(",") if part.strip() for m in groups.get(part.strip(), [part.strip()])]
    return list(dict.fromkeys(labels))


def select_configs(text: str) -> list[str]:
    """"grid25" -> the path of configs/toy/grid25.yaml; an unknown name is an error naming the known ones."""
    by_name = {Path(c).stem: c for c in CONFIGS}
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        raise SystemExit(f"--datasets: unknown mixture(s) {unknown or text!r}; choose from {', '.join(by_name)}")
    return [by_name[n] for n in names]


def write_tables(out: str) -> str:
    """One table per mixture over every finished run in ``out`` (runs of earlier calls too,
    each method with its own number of seeds), with the published references below."""
    jobs, results = finished_runs(CONFIGS, out)
    rank = {m: i for i, m in enumerate(METHODS)}  # autoencoding methods first, then baselines, then variants
    pairs = sorted(zip(jobs, results), key=lambda p: (CONFIGS.index(p[0].config_path), rank.get(p[0].method, len(rank)),
                                                      p[0].method, p[0].seed))
    text = HEADER + table([j for j, _ in pairs], [r for _, r in pairs], PUBLISHED)
    atomic_write_text(Path(out) / "results.md", text)
    figure(jobs, Path(out))
    return text


if __name__ == "__main__":
    raise SystemExit(main())
