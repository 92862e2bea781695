"""The plan of a comparison as a scheduler sees it: `--list` (one job per line with its index),
`--job-index I` (job I alone, in its own process), `--dry-run` (state and estimated time of
each job); jobs run by index and then tabulated give the plain comparison's table."""

import json
import subprocess
import sys

import pytest
import torch
import yaml

from aegan.cli import main
from tests.conftest import TINY

ARGS = ["--methods", "nsgan,gan", "--seeds", "2", "--no-progress"]


def _config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return str(path)


def _metrics(out):
    rows = json.loads((out / "results.json").read_text())
    return {(r["label"], r["seed"]): r["metrics"] for r in rows}


def _table_without_timing(out):
    return [line.rsplit("|", 2)[0] for line in (out / "results.md").read_text().splitlines()]


def test_jobs_run_by_index_in_separate_processes_give_the_plain_table(tmp_path, capsys):
    config = _config(tmp_path)
    by_index, plain = tmp_path / "by_index", tmp_path / "plain"
    assert main(["compare", config, *ARGS, "--out", str(by_index), "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[:4] for line in lines] == [
        [str(i), config, method, f"seed {seed}"] for i, (method, seed) in
        enumerate([("nsgan", 0), ("nsgan", 1), ("gan", 0), ("gan", 1)])]
    assert not by_index.exists()  # listing runs nothing
    for index in range(len(lines)):
        done = subprocess.run([sys.executable, "-m", "aegan.cli", "compare", config, *ARGS, "--out", str(by_index),
                               "--job-index", str(index)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert main(["compare", config, *ARGS, "--out", str(by_index), "--workers", "1"]) == 0  # tabulates only
    assert main(["compare", config, *ARGS, "--out", str(plain), "--workers", "1"]) == 0
    assert _metrics(by_index) == _metrics(plain)
    assert _table_without_timing(by_index) == _table_without_timing(plain)


def test_job_index_outside_the_plan_is_a_config_error(tmp_path, capsys):
    assert main(["compare", _config(tmp_path), *ARGS, "--out", str(tmp_path / "o"), "--job-index", "4"]) == 2
    assert "--job-index: 4 is outside the plan's jobs 0..3" in capsys.readouterr().err


def _estimate(line):
    """(ms/step, source) of a --dry-run job line: ``...\t~X min (Y ms/step x N; SOURCE: detail)``."""
    inner = line.rsplit("\t", 1)[1]
    assert inner.startswith("~"), line
    ms = float(inner.split("(", 1)[1].split(" ms/step", 1)[0])
    return ms, inner.split("; ", 1)[1].split(":", 1)[0]


def test_dry_run_estimates_from_finished_runs(tmp_path, capsys):
    config, out = _config(tmp_path), tmp_path / "out"
    assert main(["compare", config, "--methods", "nsgan", "--seeds", "1", "--out", str(out), "--workers", "1",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["compare", config, *ARGS, "--out", str(out), "--dry-run", "--train.steps=600"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    record = json.loads((out / "tiny" / "nsgan" / "seed0" / "metrics.json").read_text())
    ms = record["time_per_step_ms"]
    assert record["peak_memory_mb"]["cpu_rss"] > 10  # issue 13 item 5: every run states its peak memory
    assert "ms/step x 600" in lines[1] and f"{ms:.2f} ms/step" in lines[1]  # nsgan seed 1: measured by seed 0
    assert _estimate(lines[1]) == (pytest.approx(ms, abs=0.006), "measured")
    # gan: no finished run of its own; the cost table's ratio x nsgan's measured ms/step
    from aegan.costs import cost_table

    gan_ms, source = _estimate(lines[2])
    assert source == "table" and "of nsgan's finished runs" in lines[2]
    assert gan_ms == pytest.approx(cost_table()["protocols"]["2d"]["ratios"]["gan"] * ms, rel=0.01)
    assert lines[-2] == ("4 jobs: 0 finished, 4 to run with an estimated cost (2 from finished runs, "
                         "2 from the cost table), 0 of unknown cost")
    assert lines[-1].startswith("estimated time: ~") and "on --workers 2" in lines[-1]
    assert not (out / "tiny" / "gan").exists()
    assert main(["compare", config, *ARGS, "--out", str(out), "--dry-run"]) == 0
    assert "\tfinished" in capsys.readouterr().out.splitlines()[0]  # seed 0 at its 6 steps is done


def test_dry_run_estimates_every_job_before_anything_ran(tmp_path, capsys):
    """No finished run: every job gets a positive estimate from the shipped cost table x an
    NS-GAN step timed here; variants take their own row or their base method's; the total on
    --workers is the plan's makespan."""
    raw = {**TINY, "methods": {"wgan_gp_lr1e3": {"name": "wgan_gp", "lr": 1e-3},
                               "mine": {"name": "unrolled", "unroll_steps": 2}}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    methods = "nsgan,gan_mb,wgan_gp,wgan_gp_lr1e3,mine"
    assert main(["compare", str(path), "--methods", methods, "--seeds", "2", "--out", str(out), "--dry-run",
                 "--workers", "3", "--train.steps=1000"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    jobs = [line for line in lines[:-2] if not line.startswith("calibration: ")]
    assert len(jobs) == 10 and not out.exists()
    assert lines[-3].startswith("calibration: nsgan on ring8, mlp nets, batch 32: ") and " CPU time on cpu" in lines[-3]
    estimates = [_estimate(line) for line in jobs]
    assert all(ms > 0 for ms, _ in estimates)
    assert [source for _, source in estimates[::2]] == ["table", "table", "table", "table", "table as unrolled"]
    assert "nsgan timed here, 20 steps" in jobs[0]
    ms = {line.split("\t")[2]: _estimate(line)[0] for line in jobs}
    assert ms["gan_mb"] > ms["nsgan"] and ms["wgan_gp"] > ms["nsgan"]
    assert lines[-2] == "10 jobs: 0 finished, 10 to run with an estimated cost (0 from finished runs, 10 from the " \
                        "cost table), 0 of unknown cost"
    from aegan.costs import makespan

    seconds = [ms[line.split("\t")[2]] for line in jobs]  # 1000 steps x ms / 1000
    total, wall = lines[-1].split("~")[1:3]
    assert float(total.split(" h")[0]) == pytest.approx(sum(seconds) / 3600, abs=0.006)
    assert float(wall.split(" h")[0]) == pytest.approx(makespan(seconds, 3) / 3600, abs=0.006)


def test_a_label_outside_the_cost_table_is_of_unknown_cost(tmp_path, capsys, monkeypatch):
    import aegan.costs

    monkeypatch.setattr(aegan.costs, "cost_table", lambda path=None: {"protocols": {"2d": {"ratios": {"nsgan": 1.0}}}})
    config = _config(tmp_path)
    assert main(["compare", config, *ARGS, "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert _estimate(lines[0])[1] == "table" and lines[2].endswith("cost unknown (gan is not in the cost table "
                                                                    "and has no finished run)")
    assert lines[-2].endswith("2 of unknown cost") and lines[-1].endswith("+ the jobs of unknown cost")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_config_nsgan_cannot_run_on_here_is_of_unknown_cost_not_an_error(tmp_path, capsys):
    """A dry run on a machine without the config's device (or data) still prints the plan."""
    config = _config(tmp_path)
    assert main(["compare", config, *ARGS, "--out", str(tmp_path / "o"), "--dry-run", "--train.device=cuda"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert all("cost unknown (nsgan could not be timed here: ConfigError: train.device: 'cuda" in line
               for line in lines[:4]), lines
    assert lines[-2].endswith("4 of unknown cost")


def test_makespan_takes_jobs_in_order_to_the_first_free_worker():
    from aegan.costs import makespan

    assert makespan([3, 1, 1, 1], 2) == 3
    assert makespan([1, 1, 1, 1], 2) == 2
    assert makespan([1, 1, 1, 1], 8) == 1
    assert makespan([], 2) == 0


def test_grid_expands_into_labelled_rows_and_sample_is_reproducible(tmp_path, capsys):
    config, out = _config(tmp_path), tmp_path / "out"
    grid = ["--grid", "train.lr=[1e-3,1e-2]", "--grid", "model.depth=[1,2,3]"]
    assert main(["compare", config, "--methods", "nsgan", "--seeds", "1", "--out", str(out), *grid, "--list"]) == 0
    rows = [line.split("\t")[2] for line in capsys.readouterr().out.strip().splitlines()]
    assert rows == [f"nsgan[train.lr={lr},model.depth={d}]" for lr in ("1e-3", "1e-2") for d in (1, 2, 3)]
    listed = []
    for _ in range(2):
        assert main(["compare", config, "--methods", "nsgan", "--out", str(out), *grid, "--sample", "3", "--list"]) == 0
        listed.append(capsys.readouterr().out)
    assert listed[0] == listed[1] and len(listed[0].strip().splitlines()) == 3 * 3  # 3 points x 3 seeds
    small = ["--grid", "model.depth=[1,2]"]
    assert main(["compare", config, "--methods", "nsgan", "--seeds", "1", "--out", str(out), *small,
                 "--workers", "1", "--no-progress"]) == 0
    table = (out / "results.md").read_text()
    assert "| nsgan[model.depth=1] | 1 |" in table and "| nsgan[model.depth=2] | 1 |" in table
    saved = yaml.safe_load((out / "tiny" / "nsgan[model.depth=2]" / "seed0" / "config.yaml").read_text())
    assert saved["model"]["depth"] == 2
    from aegan.compare import finished_runs

    jobs, _ = finished_runs([config], out)
    assert [(j.method, j.point) for j in jobs] == [("nsgan", (("model.depth", 1),)), ("nsgan", (("model.depth", 2),))]


def test_bad_grid_is_a_config_error(tmp_path, capsys):
    config = _config(tmp_path)
    for grid, message in [(["--grid", "lr=[1,2]"], "write section.key=[value"),
                          (["--grid", "train.lr=0.1"], "write section.key=[value"),
                          (["--grid", "train.betas=[[0.5,0.9]]"], "values must be numbers"),
                          (["--grid", "train.lr=[1,2]", "--sample", "3"], "--sample: 3 is not between 1 and")]:
        assert main(["compare", config, "--methods", "nsgan", "--out", str(tmp_path / "o"), *grid, "--list"]) == 2
        assert message in capsys.readouterr().err


def test_seeds_take_a_count_a_range_or_a_list_and_later_seeds_merge(tmp_path, capsys):
    from aegan.compare import parse_seeds
    from aegan.config import ConfigError
    from aegan.results.tables import tables_markdown

    assert parse_seeds("3") == [0, 1, 2] and parse_seeds("3-5") == [3, 4, 5] and parse_seeds("7,2") == [7, 2]
    for bad in ("0", "x", "2,2", "-1", "5-3"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)
    config, records = _config(tmp_path), tmp_path / "records"
    run = ["compare", config, "--methods", "nsgan", "--no-progress", "--workers", "1", "--records", str(records)]
    assert main([*run, "--seeds", "1", "--out", str(tmp_path / "laptop")]) == 0
    assert main([*run, "--seeds", "1-1", "--out", str(tmp_path / "cluster")]) == 0  # seed 1 alone, elsewhere
    assert not (tmp_path / "cluster" / "tiny" / "nsgan" / "seed0").exists()
    assert main(["compare", config, "--methods", "nsgan", "--no-progress", "--workers", "1", "--seeds", "2",
                 "--out", str(tmp_path / "both")]) == 0
    merged, _ = tables_markdown([records])
    both, _ = tables_markdown([tmp_path / "both"])
    row = [line.rsplit("|", 2)[0] for line in merged.splitlines() if line.startswith("| nsgan")]
    assert row and row == [line.rsplit("|", 2)[0] for line in both.splitlines() if line.startswith("| nsgan")]
    assert "| nsgan | 2 |" in merged
    assert main(["compare", config, "--methods", "nsgan", "--seeds", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--seeds '0'" in capsys.readouterr().err
