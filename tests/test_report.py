"""`aegan report`: one self-contained HTML file with the protocol header, the tables, a per-seed
drill-down, published rows, embedded figures, curves, diverged runs and links to configs."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from aegan.cli import main
from tests.conftest import TINY

HOT = {"hot": {"name": "reg_gan", "geometric_weight": 1.0e30, "mode_weight": 1.0e30}}  # diverges at step 1
REFERENCES = [{"config": "tiny", "method": "-", "metric": "mixture/modes", "value": 7.9, "source": "PacGAN (Lin 2018)"},
              {"config": "tiny", "method": "-", "metric": "mixture/high_quality", "value": 0.956, "std": 0.01,
               "source": "PacGAN (Lin 2018)"},
              {"config": "other", "method": "-", "metric": "mixture/modes", "value": 1.0, "source": "elsewhere"}]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A comparison of three rows over two seeds (one row diverges) with its records directory."""
    root = tmp_path_factory.mktemp("report")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "data": {"name": "ring8", "std": 0.3}, "methods": HOT}))
    out, records = root / "out", root / "records"
    assert main(["compare", str(config), "--methods", "nsgan,gan_ae_decay,hot", "--seeds", "2", "--workers", "1",
                 "--no-progress", "--out", str(out), "--records", str(records)]) == 0
    (root / "references.yaml").write_text(yaml.safe_dump(REFERENCES))
    return out, records


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def _section(html: str, title: str) -> str:
    start = html.index(f"<h3>{title}</h3>")
    end = html.find("<h3>", start + 4)
    return html[start:end if end > 0 else None]


def test_the_report_of_a_comparison_holds_every_part(compared, capsys):
    out, _ = compared
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    header = _section(html, "Protocol")
    assert "evaluation samples</dt><dd>200 (eval seed 1234)" in header
    assert f"torch {torch.__version__}" in header and "k_std" in header and "protocol hash" in header
    assert "no Inception-based metric" in header and "git commit" in header
    results = _section(html, "Results")
    rows = re.findall(r'<tr(?: class="diverged")?><td class="label">(\w+)</td><td>(\d)</td>', results)
    assert rows == [("nsgan", "2"), ("gan_ae_decay", "2"), ("hot", "2")]  # compare's order, seeds per row
    # a mean with its interval, each seed's value on hover; the worst seed
    assert re.search(r'<td title="seed 0: [-0-9.]+; seed 1: [-0-9.]+">[-0-9.]+ \[[-0-9.]+, [-0-9.]+\]</td>', results)
    assert re.search(r"seed [01] \(\d\.\d{3}\)", results) and "confidence interval of the mean" in results
    against = _section(html, "Against the baseline")  # nsgan is the baseline by default
    assert "vs baseline nsgan" in against and re.findall(r'<tr><td class="label">(\w+)</td>', against) == [
        "gan_ae_decay", "hot"]
    assert "Holm-adjusted" in against and "(no value: no test)" not in against.split("hot")[0]
    assert "No published reference rows" in results  # this directory has no references.json
    per_seed = _section(html, "Per seed")
    assert per_seed.count("<details><summary><b>") == 3 and "<b>hot</b>: 2 seeds" in per_seed
    links = re.findall(r'<a href="([^"]+config\.yaml)">', per_seed)
    assert len(links) == 6 and all((out / link).is_file() for link in links)  # relative to the report
    pngs = _pngs(html)
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)  # compare's samples, curves
    assert "<img" in _section(html, "Samples") and "<img" in _section(html, "Training curves")
    diverged = _section(html, "Diverged runs")
    assert diverged.count('<tr class="diverged"><td class="label">hot</td>') == 2
    assert "non-finite value at step 1" in diverged
    assert "http://" not in html and "https://" not in html and "<script" not in html  # self-contained


def test_the_report_of_a_records_directory_marks_published_rows_and_needs_no_run_directories(compared, tmp_path):
    out, records = compared
    copy = tmp_path / "records"
    shutil.copytree(records, copy)
    shutil.copy(records.parent / "references.yaml", tmp_path / "refs.yaml")
    with open(tmp_path / "refs.yaml", "a") as refs:  # a row we measured (real data), not a paper's
        refs.write("- {config: tiny, method: '-', metric: mixture/modes, value: 8, source: real data, kind: measured}\n")
    report = tmp_path / "r.html"
    assert main(["report", str(copy), "--out", str(report)]) == 0  # the runs are here: each row's samples.png
    samples = _section(report.read_text(), "Samples")
    assert re.findall(r'alt="(\w+) samples"', samples) == ["nsgan", "gan_ae_decay"]  # hot diverged: no figure
    moved = out.with_name("out_moved")
    out.rename(moved)  # the run directories are not here: the report is made of records alone
    try:
        assert main(["report", str(copy), "--out", str(report), "--references", str(copy.parent / "refs.yaml")]) == 0
    finally:
        moved.rename(out)
    html = report.read_text()
    published = re.findall(r'<tr class="published"><td class="label">([^<]+)<span class="badge">published', html)
    assert published == ["PacGAN (Lin 2018) "]  # one row of its two numbers; "other" is not this table's
    measured = re.findall(r'<tr class="published"><td class="label">([^<]+)<span class="badge">measured', html)
    assert measured == ["real data "] and "were measured by us outside the runs" in html
    assert "<td>7.90</td><td>0.956 ± 0.010</td>" in _section(html, "Results")
    assert "config (from the record)" in _section(html, "Per seed")
    samples = _section(html, "Samples")  # drawn from the records' previews of the last snapshot
    assert re.findall(r'alt="(\w+) samples"', samples) == ["nsgan", "gan_ae_decay"]
    assert len(_pngs(html)) == 3  # the two rows' previews and the curves, drawn from the records' series
    for record in map(json.loads, (p.read_text() for p in copy.glob("tiny/nsgan/*.json"))):
        preview = record["samples_preview"]
        assert preview["step"] == 6 and len(preview["points"]) == 300 and len(preview["points"][0]) == 2
    without = tmp_path / "without"
    shutil.copytree(copy, without)
    for path in without.glob("tiny/*/*.json"):
        if path.name != "protocol.json":
            path.write_text(json.dumps({**json.loads(path.read_text()), "samples_preview": None}))
    out.rename(moved)
    try:
        assert main(["report", str(without), "--out", str(report)]) == 0
    finally:
        moved.rename(out)
    assert "No sample figures" in _section(report.read_text(), "Samples")
    assert "non-finite value at step 1" in _section(html, "Diverged runs")


def test_worst_seed_follows_the_metric_direction():
    from aegan.results.report import worst_seed

    seeds = [{"seed": 0, "status": "ok", "primary": 30.0}, {"seed": 1, "status": "ok", "primary": 50.0},
             {"seed": 2, "status": "diverged", "primary": None}]
    assert worst_seed(seeds, "fid/fid")["seed"] == 1  # a higher FID is worse
    assert worst_seed(seeds, "mixture/high_quality")["seed"] == 0  # a lower share is worse
    assert worst_seed(seeds[2:], "fid/fid") is None


def test_a_grid_comparison_gets_the_distribution_over_settings(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "data": {"name": "ring8", "std": 0.3}}))
    out = tmp_path / "out"
    assert main(["compare", str(config), "--methods", "nsgan,lsgan", "--seeds", "1", "--workers", "1", "--no-progress",
                 "--grid", "train.lr=[1e-3,2e-3]", "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    grid = _section((out / "report.html").read_text(), "Over the grid")
    assert "001 Fig. 3" in grid and len(_pngs(grid)) == 1
    assert _pngs(grid)[0].startswith(b"\x89PNG")
    from aegan.results.tables import tables_markdown

    text, _ = tables_markdown([out])  # the same distribution as a table
    assert "over the grid's settings" in text and re.search(r"\| nsgan \| 2 \| [0-9.]+ \| [0-9.]+ - [0-9.]+ \|", text)
    assert "Paired by setting and seed: nsgan is higher than lsgan in" in text
    cells = re.search(r"\| nsgan \| 2 \| ([0-9.]+) \| ([0-9.]+ - [0-9.]+) \| ([0-9.]+) \|", text).groups()
    assert re.search(r'<td class="label">nsgan</td><td>2</td><td>{}</td><td>{}</td><td>{}</td>'.format(
        *map(re.escape, cells)), grid)  # the report's table under the histogram: the same numbers
    assert "<th>all modes in every seed</th>" in (out / "report.html").read_text()  # ring8 counts modes


def test_a_plain_comparison_has_no_grid_section(compared):
    out, _ = compared
    assert main(["report", str(out)]) == 0
    assert "<h3>Over the grid</h3>" not in (out / "report.html").read_text()


def test_metrics_evaluated_during_training_get_their_curves(tmp_path, compared):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "data": {"name": "ring8", "std": 0.3},
                                      "eval": {**TINY["eval"], "every": 2, "every_n_samples": 100}}))
    out = tmp_path / "out"
    assert main(["compare", str(config), "--methods", "nsgan", "--seeds", "2", "--workers", "1", "--no-progress",
                 "--out", str(out)]) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "<h3>Metrics over training</h3>" in html and 'alt="tiny metrics over training"' in html
    plain = compared[0] / "report.html"  # evaluated at the end only: no such section
    assert main(["report", str(compared[0]), "--out", str(plain)]) == 0
    assert "Metrics over training" not in plain.read_text()


def test_a_records_metric_series_ends_with_its_final_metrics():
    from aegan.results.report import metric_series

    record = {"step": 6, "metrics": {"mixture/modes": 8.0},
              "eval_history": {"step": [2, 4], "mixture/modes": [3.0, 5.0]}}
    assert metric_series(record) == {"step": [2, 4, 6], "mixture/modes": [3.0, 5.0, 8.0]}
    assert metric_series({**record, "eval_history": {"step": []}}) == {"step": []}
    assert metric_series({"step": 6, "metrics": {}}) == {"step": []}  # an older record: no history


def test_a_large_table_gets_its_curves_in_several_figures(compared, monkeypatch):
    import aegan.results.figures as figures
    import aegan.results.report as report
    from aegan.results.tables import build_tables

    (table,), _ = build_tables([compared[1]])
    assert len(report.curves_figures(table)) == 1  # 3 rows: one figure
    monkeypatch.setattr(figures, "ROWS_PER_FIGURE", 2)
    assert [list(g) for g in figures.row_groups(table)] == [["nsgan", "gan_ae_decay"], ["hot"]]
    monkeypatch.setattr(figures, "ROWS_PER_FIGURE", 1)
    assert len(report.curves_figures(table)) == 2  # hot diverged at step 1: no series, no figure


def test_the_report_of_fid_records_has_no_mode_column(tmp_path):
    """The committed Fashion-MNIST stand-in records (FID/KID only): no "all modes" column, the
    published CIFAR-10 rows and the measured real-data floor with their badges."""
    records = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "natural_cpu"
    assert main(["report", str(records), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "<th>FID</th>" in html and "all modes in every seed" not in html
    assert 'badge">published' in html and 'real data, 500 test images (the floor at this n) <span class="badge">measured' in html
