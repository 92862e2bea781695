"""`make demo` (benchmarks/demo.py): the ring at a budget where the methods separate, its table
printed beside the committed full-protocol rows (marked as such), and the committed demo set
(benchmarks/results/toy2d_demo) recorded with the demo's own settings and saying what the
README says it shows, in every seed."""

import subprocess
import sys
from pathlib import Path

import pytest

from aegan.results.tables import build_tables

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
try:
    import demo
finally:
    sys.path.pop(0)


def test_make_demo_runs_the_demo_script_with_the_scripts_settings():
    done = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    command = " ".join(done.stdout.replace("\\\n", " ").split())
    assert (f"benchmarks/demo.py --methods {demo.METHODS} --seeds 1 --steps {demo.STEPS} --out results/demo"
            in command)


def test_the_demo_prints_its_table_then_the_committed_full_protocol_rows_marked_as_such(tmp_path, capsys):
    assert demo.main(["--methods", "nsgan,vlgan", "--steps", "4", "--workers", "1", "--out", str(tmp_path / "out"),
                      "--no-progress"]) == 0
    out = capsys.readouterr().out
    mine, _, full = out.partition("## Beside it: the committed full protocol (benchmarks/results/toy2d: 10,000 steps")
    assert mine.startswith("## This demo: ring8, 4 steps, seed(s) 0") and "| nsgan | 1 |" in mine and full
    assert "committed records, not run now)" in full and "10000 steps" in full
    first_table = full.split("\n\n| ", 1)[1].split("\n\n", 1)[0]  # the rows table (a vs-baseline table follows)
    rows = [line.split(" | ")[0] for line in ("| " + first_table).splitlines() if line.startswith("| ")]
    rows = [r[2:] for r in rows]
    assert rows[1:3] == ["nsgan", "vlgan"]  # the demo's rows alone, in its order (rows[0]: the header)
    assert all(r.startswith("*") and r.endswith("(published)*") for r in rows[3:])  # published rows, marked


def test_the_committed_demo_records_are_the_demos_and_show_what_the_readme_says():
    """Every seed of the committed demo set: MDGAN and VLGAN hold all 8 modes strictly, NS-GAN
    fewer (the README's reading of the demo), at the demo's settings."""
    tables, problems = build_tables([ROOT / "benchmarks" / "results" / "toy2d_demo"])
    assert not problems and [t.benchmark for t in tables] == ["ring8"]
    records = [r for _, r in tables[0].records]
    assert not tables[0].refused and {r["steps"] for r in records} == {demo.STEPS}
    assert list(dict.fromkeys(r["label"] for r in records)) == demo.METHODS.split(",")
    strict = {}
    for r in records:
        strict.setdefault(r["label"], []).append(r["metrics"]["mixture/strict_modes"])
    assert all(len(v) == 2 for v in strict.values())  # two seeds of each row
    assert strict["mdgan"] == strict["vlgan"] == [8.0, 8.0]
    assert max(strict["nsgan"]) <= 5.0
    kl = {r["label"]: [] for r in records}
    for r in records:
        kl[r["label"]].append(r["metrics"]["mixture/kl"])
    assert max(kl["mdgan"] + kl["vlgan"]) < 0.05 < 0.3 < min(kl["nsgan"])
    off = [r["metrics"]["mixture/high_quality"] for r in records if r["label"] == "gan_ae_decay"]
    assert max(off) < 0.01  # GAN+AE+alpha_L's samples lie off the modes
    assert sorted(r["metrics"]["mixture/modes"] for r in records if r["label"] == "gan_rl")[0] == 0  # one seed lost all


@pytest.mark.parametrize("labels,expected", [(["nope"], "hold none of these rows")])
def test_beside_says_when_there_is_nothing_to_show(tmp_path, labels, expected):
    assert "no committed records of ring8" in demo.beside(tmp_path, "ring8", ["nsgan"])
    assert expected in demo.beside(ROOT / "benchmarks" / "results" / "toy2d", "ring8", labels)
