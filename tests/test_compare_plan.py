"""The plan of a comparison as a scheduler sees it: `--list` (one job per line with its index),
`--job-index I` (job I alone, in its own process), `--dry-run` (state and estimated time of
each job); jobs run by index and then tabulated give the plain comparison's table."""

import json
import subprocess
import sys

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
    assert "ms/step x 600" in lines[1] and f"{ms:.1f} ms/step" in lines[1]  # nsgan seed 1: measured by seed 0
    assert lines[2].endswith("cost unknown")  # gan: no finished run
    assert lines[-1].startswith("4 jobs: 0 finished, 2 to run with a measured cost")
    assert not (out / "tiny" / "gan").exists()
    assert main(["compare", config, *ARGS, "--out", str(out), "--dry-run"]) == 0
    assert "\tfinished" in capsys.readouterr().out.splitlines()[0]  # seed 0 at its 6 steps is done


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
