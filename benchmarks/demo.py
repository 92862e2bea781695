"""`make demo`: the 2D mode-collapse comparison in a few minutes, beside the committed full protocol.

    python benchmarks/demo.py                    # what `make demo` runs: 6 methods, 1 seed, 3,000 steps
    python benchmarks/demo.py --seeds 2 --records benchmarks/results/toy2d_demo   # the committed demo set

Trains the seed papers' autoencoding methods and NS-GAN on the VEEGAN/PacGAN ring
(configs/toy/ring8.yaml at 3,000 steps instead of 10,000: the same as
``aegan compare configs/toy/ring8.yaml --methods ... --seeds 1 --train.steps=3000 --out results/demo``),
prints its table, then the same rows of the committed full protocol (``benchmarks/results/toy2d``:
10,000 steps, several seeds; records, not run now), marked as such, so that the first table a
newcomer sees can be read against the full one. Why the ring at 3,000 steps: at 1,500 steps no
method covered the grid25 and most high-quality shares were ~0.2, a table of failures; on the
ring at 3,000 steps MDGAN and VLGAN hold all 8 modes strictly where NS-GAN holds 4-5, as in the
full protocol (docs/results/toy2d.md, "The demo").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "toy" / "ring8.yaml"
METHODS = "nsgan,reg_gan,mdgan,vlgan,gan_ae_decay,gan_rl"
STEPS = 3000
FULL_PROTOCOL = ROOT / "benchmarks" / "results" / "toy2d"  # committed records of the full protocol


def main(argv: list[str] | None = None) -> int:
    from aegan.compare import SEEDS_HELP, compare, parse_seeds
    from aegan.results.rows import dataset_label
    from aegan.config import ConfigError

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default=METHODS, help=f"comma-separated methods (default {METHODS})")
    p.add_argument("--seeds", default="1", help=SEEDS_HELP + " (default 1)")
    p.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS}; full protocol 10,000)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="results/demo")
    p.add_argument("--records", help="also append each run's record here (benchmarks/results/toy2d_demo)")
    p.add_argument("--full-protocol", default=str(FULL_PROTOCOL), help="committed records printed beside the demo")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        seeds = parse_seeds(args.seeds)
        text = compare([str(CONFIG)], methods, seeds, args.out, args.workers, {"train.steps": args.steps},
                       not args.no_progress, records=args.records)
    except ConfigError as err:
        print(f"demo: {err}", file=sys.stderr)
        return 2
    print(f"## This demo: {dataset_label(str(CONFIG))}, {args.steps:,} steps, seed(s) "
          f"{', '.join(map(str, seeds))} (results in {args.out}/results.md, samples in {args.out}/ring8_samples.png)\n")
    print(text)
    print(beside(Path(args.full_protocol), dataset_label(str(CONFIG)), methods))
    return 0


def beside(records_dir: Path, benchmark: str, labels: list[str]) -> str:
    """The rows ``labels`` of ``benchmark`` in the committed records under ``records_dir``, under a
    heading that marks them as committed full-protocol results (steps and seeds from the records)."""
    from aegan.results.tables import build_tables, markdown

    tables, _ = build_tables([records_dir]) if records_dir.is_dir() else ([], [])
    table = next((t for t in tables if t.benchmark == benchmark), None)
    if table is None:
        return f"(no committed records of {benchmark} under {records_dir} to show beside it)"
    table.records = sorted(((path, r) for path, r in table.records if r["label"] in labels),
                           key=lambda pr: labels.index(pr[1]["label"]))  # the demo's row order (stable: seeds stay)
    if not table.records:
        return f"(the committed records under {records_dir} hold none of these rows)"
    steps = sorted({r["steps"] for _, r in table.records})
    seeds = sorted({r["seed"] for _, r in table.records})
    where = records_dir.resolve().relative_to(ROOT) if records_dir.resolve().is_relative_to(ROOT) else records_dir
    heading = (f"## Beside it: the committed full protocol ({where}: {'/'.join(f'{s:,}' for s in steps)} steps, "
               f"up to {len(seeds)} seeds per row; committed records, not run now)\n")
    return heading + "\n" + markdown(table)


if __name__ == "__main__":
    raise SystemExit(main())
