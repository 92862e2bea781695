"""Results as data: each run's record.json, records directories, refusal of another protocol,
merging, and the markdown tables regenerated from records alone (aegan.results.records, aegan.results.tables)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from aegan import __version__
from aegan.cli import main
from aegan.results.records import MAX_POINTS, canonical_hash, protocol_of, read_record, thin_series
from aegan.results.tables import build_tables, tables_markdown
from tests.conftest import TINY

HOT = {"hot": {"name": "reg_gan", "geometric_weight": 1.0e30, "mode_weight": 1.0e30}}  # diverges at step 1

T_975_1DF = 12.706204736174707  # Student t's 97.5 % quantile at 1 degree of freedom (tan(0.475 pi))


def _config(tmp_path, **extra):
    """TINY with wide modes (std 0.3), so that 6 steps already give seeds different numbers."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, "data": {"name": "ring8", "std": 0.3}, **extra}))
    return str(path)


def _compare(config, out, *args):
    return main(["compare", config, "--workers", "1", "--no-progress", "--out", str(out), *args])


TIMING_COLUMNS = ("ms/step", "training seconds", "training CPU seconds")  # clock readings: they differ between runs of one job


def _without_timing(text):
    """The tables without their timing columns (each table's header names them)."""
    lines, keep = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            lines.append(line)
            keep = None
            continue
        cells = line.strip().strip("|").split("|")
        if keep is None:  # a table's header row
            keep = [i for i, cell in enumerate(cells) if cell.strip() not in TIMING_COLUMNS]
        lines.append("|".join(cells[i] for i in keep if i < len(cells)))
    return lines


def _expected_row(records: Path, label: str) -> tuple[str, str]:
    """A table row of the mixture columns worked out here from the records' own values: mean and
    its 95 % Student-t interval over seeds (mean ± t_{0.975, n-1} s / sqrt n, s with ddof 1), the worst seed's high-quality share, whether every seed
    found all modes (``aegan.results.cells.COLUMNS``; the ms/step column is left out)."""
    import statistics

    runs = [read_record(p) for p in sorted((records / "tiny" / label).glob("seed*.json"))]
    values = {key: [r["metrics"][f"mixture/{key}"] for r in runs] for key in ("modes", "high_quality",
                                                                              "strict_modes", "kl", "total_modes")}
    assert len(runs) == 2 and values["modes"][0] != values["modes"][1]  # seeds differ: the spread is not 0

    def mean_std(key, digits):
        mean, half = statistics.mean(values[key]), T_975_1DF * statistics.stdev(values[key]) / math.sqrt(len(runs))
        return f"{mean:.{digits}f} [{mean - half:.{digits}f}, {mean + half:.{digits}f}]"

    every = all(m == t for m, t in zip(values["modes"], values["total_modes"]))
    cells = [label, str(len(runs)), mean_std("modes", 2), mean_std("high_quality", 3),
             f"{min(values['high_quality']):.3f}", mean_std("strict_modes", 2), mean_std("kl", 3)]
    return "| " + " | ".join(cells) + " |", "yes" if every else "no"


def _assert_row(table: str, records: Path, label: str) -> None:
    """``table``'s row of ``label`` begins with the cells worked out by ``_expected_row`` and has
    the expected "all modes in every seed" cell (the compute columns sit between them)."""
    head, every = _expected_row(records, label)
    header = next(line for line in table.splitlines() if line.startswith("| method |"))
    row = next(line for line in table.splitlines() if line.startswith(f"| {label} | "))
    assert row.startswith(head), (row, head)
    column = [c.strip() for c in header.split("|")].index("all modes in every seed")
    assert row.split("|")[column].strip() == every


def test_a_finished_run_leaves_a_record_of_everything_a_table_and_a_report_need(tmp_path):
    out, records = tmp_path / "out", tmp_path / "records"
    assert _compare(_config(tmp_path), out, "--methods", "gan_ae_decay", "--seeds", "1", "--records",
                    str(records)) == 0
    run = out / "tiny" / "gan_ae_decay" / "seed0"
    record = read_record(run / "record.json")
    config = yaml.safe_load((run / "config.yaml").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert record["config"] == config
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    assert record["config_hash"] == hashlib.sha256(text.encode()).hexdigest()
    assert (record["benchmark"], record["label"], record["method"], record["seed"]) == ("tiny", "gan_ae_decay",
                                                                                         "gan_ae_decay", 0)
    assert (record["status"], record["exit_code"], record["reason"], record["step"]) == ("ok", 0, None, 6)
    assert record["metrics"] == metrics["metrics"] and record["metric_params"] == metrics["metric_params"]
    assert record["metric_params"]["mixture"]["k_std"] == 3.0
    assert record["warnings"] == metrics["warnings"] and record["inception_sha256"] is None
    series = record["series"]
    assert series["step"] == [1, 2, 3, 4, 5, 6]  # 6 logged steps: fewer than MAX_POINTS, one point each
    for key in ("diag/alpha_l", "diag/d_real", "diag/d_fake", "loss/autoencoder/reconstruction",
                "grad/discriminator/discriminator"):
        assert len(series[key]) == 6, key
    first_log = json.loads((run / "log.jsonl").read_text().splitlines()[0])
    assert series["diag/d_real"][0] == pytest.approx(first_log["diag/d_real"], rel=1e-3)
    assert record["time_per_step_ms"] == pytest.approx(metrics["time_per_step_ms"])
    assert record["wall_seconds"] >= record["train_seconds"] > 0 and record["train_cpu_seconds"] > 0
    assert record["peak_memory_mb"]["cpu_rss"] > 10
    env = record["environment"]
    assert (env["aegan"], env["torch"], env["device"]) == (__version__, torch.__version__, "cpu")
    assert env["machine"]["cpus"] >= 1 and env["python"].count(".") == 2
    assert env["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # e.g. AVX2: the kernels used
    assert env["machine"]["processor"] not in ("", "x86_64") or not Path("/proc/cpuinfo").is_file()  # the CPU's model
    assert env["git"]["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", env["git"]["commit"])
    copied = list((records / "tiny" / "gan_ae_decay").glob("seed0-*.json"))
    assert len(copied) == 1 and read_record(copied[0]) == record  # compare --records: the same record
    stored = json.loads((records / "tiny" / "protocol.json").read_text())
    assert stored["protocol_hash"] == record["protocol_hash"] and stored["rows"] == ["gan_ae_decay"]
    assert main(["eval", str(run), "--eval.params.mixture.k_std=1.0"]) == 0  # a re-evaluation rewrites the record
    again = read_record(run / "record.json")
    assert again["metric_params"]["mixture"]["k_std"] == 1.0 and again["label"] == "gan_ae_decay"
    assert again["metrics"] == json.loads((run / "metrics.json").read_text())["metrics"]


def test_thinned_series_are_bin_means_of_at_most_max_points():
    rows = [{"step": s, "loss/g/a": float(s), "diag/d_fake": 0.5, "other": 1.0} for s in range(1, 1001)]
    series = thin_series(rows)
    assert len(series["step"]) == MAX_POINTS == 200 and "other" not in series
    assert series["step"][0] == 5 and series["loss/g/a"][0] == 3.0  # steps 1..5: mean 3
    assert series["step"][-1] == 1000 and series["loss/g/a"][-1] == 998.0  # steps 996..1000
    assert set(series["diag/d_fake"]) == {0.5}


def test_the_protocol_leaves_out_method_seed_bookkeeping_and_grid_keys_only():
    raw = {**TINY, "method": {"name": "gan_ae_decay", "alpha": 1.0}}
    base = protocol_of(raw)
    assert "method" not in base["config"] and "seed" not in base["config"]["train"]
    assert "device" not in base["config"]["train"] and base["config"]["train"]["steps"] == 6
    same = {**raw, "method": {"name": "nsgan"}, "train": {**raw["train"], "seed": 7, "device": "cuda", "log_every": 1}}
    assert canonical_hash(protocol_of(same)) == canonical_hash(base)
    for key, value in (("steps", 60), ("lr", 1e-2), ("batch_size", 64)):
        other = {**raw, "train": {**raw["train"], key: value}}
        assert canonical_hash(protocol_of(other)) != canonical_hash(base), key
    other_data = {**raw, "data": {"name": "ring8", "std": 0.02}}
    assert canonical_hash(protocol_of(other_data)) != canonical_hash(base)
    lr = {**raw, "train": {**raw["train"], "lr": 0.5}}  # a grid over train.lr: rows differ in it, the table does not
    assert protocol_of(lr, ["train.lr"]) == protocol_of(raw, ["train.lr"]) != protocol_of(raw)


def test_a_plan_that_would_train_a_recorded_seed_again_is_refused_before_training(tmp_path, capsys):
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "a", "--methods", "nsgan", "--seeds", "1-1", "--records", str(records)) == 0
    stored = records / "tiny" / "nsgan"
    before = {p.name: p.read_bytes() for p in stored.iterdir()}
    # the same command again reuses the finished run: its record is the stored one, nothing changes
    assert _compare(config, tmp_path / "a", "--methods", "nsgan", "--seeds", "1-1", "--records", str(records)) == 0
    assert {p.name: p.read_bytes() for p in stored.iterdir()} == before
    capsys.readouterr()
    # "--seeds 2" (a count: seeds 0 and 1) from another --out would train seed 1 again and replace its record
    assert _compare(config, tmp_path / "b", "--methods", "nsgan", "--seeds", "2", "--records", str(records)) == 2
    err = capsys.readouterr().err
    assert "already holds 1 of this plan's runs" in err and "nsgan seed 1" in err and "--seeds A-B" in err
    assert not (tmp_path / "b").exists() and {p.name: p.read_bytes() for p in stored.iterdir()} == before
    # the seeds not yet recorded run and are added beside it
    assert _compare(config, tmp_path / "b", "--methods", "nsgan", "--seeds", "0-0", "--records", str(records)) == 0
    assert sorted(p.name.split("-")[0] for p in stored.iterdir()) == ["seed0", "seed1"]


def test_a_record_of_another_protocol_is_refused_never_mixed_in(tmp_path, capsys):
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "a", "--methods", "nsgan", "--seeds", "2", "--records", str(records)) == 0
    capsys.readouterr()
    # compare refuses, before training, to append runs of another protocol to the directory
    assert _compare(config, tmp_path / "b", "--methods", "nsgan", "--seeds", "2", "--records", str(records),
                    "--train.steps=8") == 2
    err = capsys.readouterr().err
    assert "is not the protocol of its table tiny" in err and "train.steps: 6 (table) != 8" in err
    assert not (tmp_path / "b").exists()
    # a record copied in by hand is left out of the table with a message naming the difference
    assert _compare(config, tmp_path / "b", "--methods", "nsgan", "--seeds", "1", "--train.steps=8") == 0
    stray = records / "tiny" / "nsgan" / "seed0-stray.json"
    shutil.copy(tmp_path / "b" / "tiny" / "nsgan" / "seed0" / "record.json", stray)
    text, messages = tables_markdown([records])
    assert any(str(stray) in m and "refused from table tiny" in m and "train.steps: 6 (table) != 8" in m
               for m in messages)
    assert "| nsgan | 2 |" in text and "(2 records)" in text
    [table] = build_tables([records])[0]
    assert [r["step"] for _, r in table.records] == [6, 6]
    assert main(["tables", str(records)]) == 0
    assert "refused from table tiny" in capsys.readouterr().err
    # --strict makes the refusal an error (the table is still printed), with or without --update
    assert main(["tables", "--strict", str(records)]) == 1
    out, err = capsys.readouterr()
    assert "| nsgan | 2 |" in out and "--strict: 1 problem(s)" in err
    page = tmp_path / "page.md"
    page.write_text("<!-- aegan tables records -->\n<!-- /aegan tables -->\n")
    assert main(["tables", "--update", str(page), "--strict"]) == 1
    assert "| nsgan | 2 |" in page.read_text()
    stray.unlink()  # the table's own "refused" line goes with it
    assert main(["tables", "--update", str(page), "--strict"]) == 0
    assert "refused" not in page.read_text()


def test_two_record_directories_merge_into_the_table_of_one(tmp_path, capsys):
    config = _config(tmp_path)
    args = ["--methods", "nsgan,gan", "--seeds", "2"]
    for index, part in ((0, "a"), (1, "b"), (2, "a"), (3, "b")):  # two machines, two jobs each
        assert _compare(config, tmp_path / f"out_{part}", *args, "--job-index", str(index),
                        "--records", str(tmp_path / part)) == 0
    assert _compare(config, tmp_path / "out_all", *args, "--records", str(tmp_path / "all")) == 0
    merged, messages = tables_markdown([tmp_path / "a", tmp_path / "b"])
    whole, _ = tables_markdown([tmp_path / "all"])
    assert not messages
    assert _without_timing(merged) == _without_timing(whole)
    # modes [2, 3]: 2.5 ± t_{0.975, 1} x s / sqrt 2 = 2.5 ± 12.706 x 0.5
    assert "| nsgan | 2 | 2.50 [-3.85, 8.85] |" in merged
    for label in ("nsgan", "gan"):
        _assert_row(merged, tmp_path / "all", label)
    assert "(4 records)" in merged
    shutil.copytree(tmp_path / "b", tmp_path / "a", dirs_exist_ok=True)  # merging by copying files: the same
    assert _without_timing(tables_markdown([tmp_path / "a"])[0]) == _without_timing(whole)
    assert main(["tables", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "t.md")]) == 0
    assert _without_timing((tmp_path / "t.md").read_text()) == _without_timing(whole)


def test_a_diverged_run_is_recorded_with_its_reason_and_the_comparison_goes_on(tmp_path, capsys):
    config, out = _config(tmp_path, methods=HOT), tmp_path / "out"
    assert _compare(config, out, "--methods", "nsgan,hot", "--seeds", "1", "--records", str(tmp_path / "r")) == 0
    record = read_record(out / "tiny" / "hot" / "seed0" / "record.json")
    assert (record["status"], record["exit_code"], record["metrics"]) == ("diverged", 3, {})
    assert "non-finite value at step 1" in record["reason"] and record["label"] == "hot"
    assert record["method"] == "reg_gan" and record["config"]["method"]["geometric_weight"] == 1e30
    for text in ((out / "results.md").read_text(), tables_markdown([tmp_path / "r"])[0]):
        assert "diverged (exit 3; no metrics, counted as n/a above): hot seed 0 (non-finite value at step 1" in text
        assert "| nsgan | 1 |" in text
    capsys.readouterr()
    assert _compare(config, out, "--methods", "hot", "--seeds", "1", "--job-index", "0") == 3  # alone: exit 3


def test_unreadable_records_are_reported_and_nothing_is_unpickled(tmp_path):
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "out", "--methods", "nsgan", "--seeds", "1", "--records", str(records)) == 0
    (records / "tiny" / "nsgan" / "seed9-broken.json").write_text('{"kind": "aegan.run_record", ')
    torch.save({"kind": "aegan.run_record"}, records / "tiny" / "nsgan" / "seed8-0.pt")
    text, messages = tables_markdown([records])
    assert "| nsgan | 1 |" in text
    assert [m for m in messages if "seed9-broken.json: not a readable aegan record" in m]


def test_an_interrupted_comparison_keeps_the_records_of_its_finished_runs(tmp_path, monkeypatch):
    import aegan.compare as compare_module

    real, calls = compare_module.run_or_note_divergence, []

    def interrupted_after_the_first(job):
        calls.append(job.row)
        if len(calls) > 1:
            raise KeyboardInterrupt("the scheduler's time is up")
        return real(job)

    monkeypatch.setattr(compare_module, "run_or_note_divergence", interrupted_after_the_first)
    records = tmp_path / "records"
    assert _compare(_config(tmp_path), tmp_path / "out", "--methods", "nsgan,gan", "--seeds", "1", "--records",
                    str(records)) == 130
    assert [p.parent.name for p in records.glob("tiny/*/*.json")] == ["nsgan"]
    assert json.loads((records / "tiny" / "protocol.json").read_text())["rows"] == ["nsgan"]


def test_rows_arriving_out_of_order_keep_the_plans_order():
    from aegan.results.tables import insert_row

    order, rows = ["nsgan", "reg_gan", "mdgan", "vlgan"], ["other"]
    for label in ("vlgan", "nsgan", "mdgan", "other", "reg_gan", "extra"):  # as runs finish on two workers
        insert_row(rows, label, order)
    assert rows == ["other", "nsgan", "reg_gan", "mdgan", "vlgan", "extra"]


def test_update_regenerates_the_marked_blocks_of_a_readme_and_keeps_the_rest(tmp_path, capsys):
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "out", "--methods", "nsgan", "--seeds", "1", "--records", str(records)) == 0
    readme = tmp_path / "README.md"
    before, after = "# title\n\nwritten by hand\n\n", "\n\nmore by hand <!-- not a block -->\n"
    readme.write_text(before + "<!-- aegan tables records -->\nold numbers\n<!-- /aegan tables -->" + after)
    assert main(["tables", "--update", str(readme), "--check"]) == 1  # stale: nothing written
    assert "old numbers" in readme.read_text()
    assert main(["tables", "--update", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(before) and text.endswith(after) and "old numbers" not in text
    assert tables_markdown([records])[0].strip() in text and "| nsgan | 1 |" in text
    assert main(["tables", "--update", str(readme), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    readme.write_text("no block here\n")
    assert main(["tables", "--update", str(readme)]) == 2
    assert "no '<!-- aegan tables DIR -->'" in capsys.readouterr().err


def test_the_readmes_tables_are_the_committed_records_tables():
    """A fresh clone regenerates the result tables of its README and docs pages from benchmarks/results alone."""
    from pathlib import Path

    from aegan.results.tables import holds_blocks, update_blocks

    root = Path(__file__).resolve().parent.parent
    pages = [p for p in [root / "README.md", *sorted((root / "docs").rglob("*.md"))] if holds_blocks(p.read_text())]
    assert {p.relative_to(root).as_posix() for p in pages} >= {
        "docs/results/images.md", "docs/results/toy2d.md", "docs/results/stability.md"}
    checked = {p.relative_to(root).as_posix(): update_blocks(p, check=True) for p in pages}
    stale = {page: blocks for page, (blocks, _) in checked.items() if blocks}
    assert stale == {}, f"tables differ from their records: run `make tables` ({stale})"
    # every committed record is in its table: a refused one (another protocol, or a row's setting
    # that no longer matches) would drop its seed from the table with a message on stderr only
    refused = [m for _, messages in checked.values() for m in messages if "refused from table" in m]
    assert refused == [], refused[:3]


def test_every_published_table_shows_intervals_and_its_tests_against_the_baseline():
    """Issue 27: each generated table of the README and docs (not a --versus matrix, not a grid's
    distribution) carries 95 % intervals and, per benchmark, the rows tested against a baseline."""
    from pathlib import Path

    from aegan.results.tables import BLOCK

    root = Path(__file__).resolve().parent.parent
    tables = 0
    for page in [root / "README.md", *sorted((root / "docs").rglob("*.md"))]:
        for block in BLOCK.finditer(page.read_text()):
            if "--versus" in block["args"] or "--grid-only" in block["args"]:
                continue
            for section in block["body"].split("\n### ")[1:]:  # one per benchmark
                tables += 1
                where = f"{page.name}: {block['args']}: {section.splitlines()[0]}"
                assert "95 % confidence interval of the mean over seeds" in section, where
                assert "\nvs baseline " in section and "Holm-adjusted" in section, where
    assert tables >= 10


def test_update_takes_several_files_and_skips_those_without_a_block(tmp_path, capsys):
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "out", "--methods", "nsgan", "--seeds", "1", "--records", str(records)) == 0
    (tmp_path / "sub").mkdir()
    pages = [tmp_path / "a.md", tmp_path / "sub" / "b.md", tmp_path / "plain.md"]
    pages[0].write_text("<!-- aegan tables records -->\nold\n<!-- /aegan tables -->\n")
    pages[1].write_text("<!-- aegan tables ../records -->\nold\n<!-- /aegan tables -->\n")  # relative to its file
    pages[2].write_text("no block\n")
    files = [str(p) for p in pages]
    assert main(["tables", "--update", *files, "--check"]) == 1
    assert main(["tables", "--update", *files]) == 0
    assert all("| nsgan | 1 |" in p.read_text() for p in pages[:2]) and pages[2].read_text() == "no block\n"
    assert main(["tables", "--update", *files, "--check"]) == 0
    assert main(["tables", "--update", str(pages[2]), str(pages[2])]) == 2
    assert "none of" in capsys.readouterr().err


def test_appends_to_one_records_directory_wait_for_each_other(tmp_path):
    """Array tasks append at the same time: each read-modify-write of protocol.json holds a lock."""
    import fcntl
    import threading

    from aegan.results.tables import LOCK_FILE, append_records

    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "out", "--methods", "nsgan,gan", "--seeds", "1", "--job-index", "0") == 0
    records.mkdir()
    with open(records / LOCK_FILE, "a") as other_task:
        fcntl.flock(other_task, fcntl.LOCK_EX)
        appender = threading.Thread(target=append_records, args=([tmp_path / "out" / "tiny" / "nsgan" / "seed0"],
                                                                 records))
        appender.start()
        appender.join(timeout=0.5)
        assert appender.is_alive() and not list(records.glob("tiny/*/*.json"))  # waits for the other task
        fcntl.flock(other_task, fcntl.LOCK_UN)
    appender.join(timeout=10)
    assert not appender.is_alive() and [p.parent.name for p in records.glob("tiny/*/*.json")] == ["nsgan"]


def test_a_records_sample_preview_is_the_last_snapshot_points_or_a_small_png(tmp_path):
    import base64
    import io

    import numpy as np
    from PIL import Image

    from aegan.results.records import samples_preview

    assert samples_preview(tmp_path) is None  # no snapshot
    (tmp_path / "samples").mkdir()
    np.save(tmp_path / "samples" / "step_0000004.npy", np.zeros((20, 1, 8, 8), np.float32))
    np.save(tmp_path / "samples" / "step_0000010.npy", np.ones((20, 1, 8, 8), np.float32))
    preview = samples_preview(tmp_path)
    image = Image.open(io.BytesIO(base64.b64decode(preview["png"])))
    assert preview["step"] == 10 and image.size == (37, 37)  # 4 x 4 of 8 px, 1 px apart
    assert np.asarray(image).min() == 255  # the last snapshot (ones), not the first (zeros)
    np.save(tmp_path / "samples" / "step_0000012.npy", np.full((700, 2), 1.23456, np.float32))
    preview = samples_preview(tmp_path)
    assert preview["step"] == 12 and len(preview["points"]) == 300 and preview["points"][0] == [1.235, 1.235]


def test_term_gradients_average_the_last_tenth_of_a_series_and_the_seeds():
    from aegan.results.cells import term_text
    from aegan.results.records import term_gradients

    series = {"step": list(range(1, 21)), "grad/generator/term/adversarial": [float(s) for s in range(1, 21)],
              "grad/generator/term/geometric": [10.0 * s for s in range(1, 21)], "grad/generator/total": [1.0] * 20,
              "loss/generator/adversarial": [1.0] * 20}
    balance = term_gradients(series)
    assert balance == {"generator": {"adversarial": 19.5, "geometric": 195.0}}  # points 19 and 20 only
    other = {"generator": {"adversarial": 0.5}, "discriminator": {"bce": 3.0}}
    assert term_text([balance, other]) == "generator: adversarial 10, geometric 195; discriminator: bce 3"
    assert term_gradients({"step": [1], "loss/x": [1.0]}) == {} and term_text([{}]) == "-"


def test_records_tables_show_the_loss_terms_balance_reference_kinds_and_one_benchmark(tmp_path, capsys):
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "out", "--methods", "reg_gan", "--seeds", "1", "--records", str(records),
                    "--train.grad_per_term=true") == 0
    (records / "references.yaml").write_text(
        "- {config: tiny, method: '-', metric: mixture/modes, value: 8, source: real data, kind: measured}\n"
        "- {config: tiny, method: '-', metric: mixture/modes, value: 7.5, source: Paper 2020}\n")
    text, _ = tables_markdown([records])
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    assert header.endswith("| gradient norm per loss term (last 10 % of steps) |")
    row = next(line for line in text.splitlines() if line.startswith("| reg_gan"))
    assert re.search(r"\| generator: adversarial [0-9.e+-]+, geometric [0-9.e+-]+, mode [0-9.e+-]+ \|$", row)
    assert "| *real data (measured)* |  | 8.00 |" in text and "| *Paper 2020 (published)* |  | 7.50 |" in text
    terms = row.rsplit("|", 2)[1]
    assert main(["report", str(records), "--out", str(tmp_path / "r.html")]) == 0  # the report shows the same cell
    html = (tmp_path / "r.html").read_text()
    assert "<th>gradient norm per loss term (last 10 % of steps)</th>" in html
    assert f'<td class="terms">{terms.strip()}</td>' in html and "real data <span class=\"badge\">measured" in html
    compared = (tmp_path / "out" / "results.md").read_text()  # compare's own table: the same cell, from the run's log
    assert next(line for line in compared.splitlines() if line.startswith("| reg_gan")).rsplit("|", 2)[1] == terms
    readme = tmp_path / "README.md"
    readme.write_text("<!-- aegan tables records --benchmark tiny -->\n<!-- /aegan tables -->\n")
    assert main(["tables", "--update", str(readme)]) == 0 and "| reg_gan | 1 |" in readme.read_text()
    readme.write_text("<!-- aegan tables records --benchmark cifar10 -->\n<!-- /aegan tables -->\n")
    capsys.readouterr()
    assert main(["tables", "--update", str(readme)]) == 2
    err = capsys.readouterr().err
    assert "no records of benchmark(s) cifar10" in err and "those have: tiny" in err


def test_third_party_missed_modes_get_a_column_per_noise_level():
    from aegan.results.cells import columns_for

    results = [{"metrics": {"mnist_modes/modes": 700.0, "third_party_fast/sigma0.5/missed_modes": 12.0,
                            "third_party_fast/sigma0.5/points": 40.0}}]
    titles = [c[0] for c in columns_for(results)]
    assert titles == ["modes", "KL", "third-party D: missed (sigma0.5)"]


def test_a_grid_tables_distribution_over_settings_is_worked_by_hand():
    from pathlib import Path

    from aegan.results.tables import Table, grid_summary

    def record(method, lr, seed, score):
        return (Path("x"), {"label": f"{method}[train.lr={lr}]", "status": "ok", "seed": seed,
                            "metrics": {"mode_score/mode_score": score}})

    scores = {"nsgan": [1.0, 2.0, 3.0, 4.0], "reg_gan": [2.0, 1.0, 5.0, 6.0]}
    table = Table("grid", "h", {"varied": ["train.lr"]},
                  records=[record(m, lr, seed, v[2 * i + seed]) for m, v in scores.items()
                           for i, lr in enumerate((0.01, 0.001)) for seed in (0, 1)])
    text = grid_summary(table, ("MODE score", "mode_score/mode_score", 2))
    assert "| nsgan | 4 | 2.50 | 1.75 - 3.25 | 4.00 |" in text  # numpy's linear quartiles of 1, 2, 3, 4
    assert "| reg_gan | 4 | 3.50 | 1.75 - 5.25 | 6.00 |" in text
    assert "nsgan is higher than reg_gan in 1 of 4, lower in 3." in text
    assert grid_summary(Table("plain", "h", {"varied": []}, records=[(Path("x"), {
        "label": "nsgan", "status": "ok", "seed": 0, "metrics": {"mode_score/mode_score": 1.0}})]),
        ("MODE score", "mode_score/mode_score", 2)) == ""
    # a measured real-data row of 6: the share of runs at least half of it (>= 3): 2 of 4, 2 of 4
    table.references = [{"label": "real data", "kind": "measured", "metrics": {"mode_score/mode_score": 6.0}, "std": {}},
                        {"label": "Paper", "kind": "published", "metrics": {"mode_score/mode_score": 9.0}, "std": {}}]
    text = grid_summary(table, ("MODE score", "mode_score/mode_score", 2))
    assert "| method | runs | median | quartiles | best | share >= 3.00 |" in text
    assert "| nsgan | 4 | 2.50 | 1.75 - 3.25 | 4.00 | 0.50 |" in text and "| reg_gan | 4 | 3.50 | 1.75 - 5.25 | 6.00 | 0.50 |" in text
    assert "| *real data (measured)* |  | 6.00 |" in text and "Paper" not in text
    fid = Table("grid", "h", {"varied": ["train.lr"]}, records=[(Path("x"), {
        "label": f"nsgan[train.lr={lr}]", "status": "ok", "seed": 0, "metrics": {"fid/fid": v}})
        for lr, v in ((0.1, 10.0), (0.01, 30.0), (0.001, 90.0))],
        references=[{"label": "real", "kind": "measured", "metrics": {"fid/fid": 20.0}, "std": {}}])
    assert "| nsgan | 3 | 30.00 | 20.00 - 60.00 | 10.00 | 0.67 |" in grid_summary(fid, ("FID", "fid/fid", 2))  # <= 40


def test_a_grid_only_table_has_no_row_per_setting(tmp_path):
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "out", "--methods", "gan", "--seeds", "1", "--records", str(records),
                    "--grid", "train.lr=[1e-3,2e-3]") == 0
    full, _ = tables_markdown([records])
    assert "| gan[train.lr=1e-3] | 1 |" in full and "over the grid's settings" in full
    readme = tmp_path / "README.md"
    readme.write_text("<!-- aegan tables records --grid-only -->\n<!-- /aegan tables -->\n")
    assert main(["tables", "--update", str(readme)]) == 0
    text = readme.read_text()
    assert "| gan[train.lr" not in text and "| gan | 2 |" in text and "protocol: `" in text


def test_init_from_enters_the_protocol_as_its_source_runs_identity_not_its_location():
    from aegan.results.records import canonical_hash, protocol_of

    def protocol(init_from):
        config = {"method": {"name": "nsgan"}, "train": {"steps": 5, "seed": 0, "init_from": init_from}}
        return canonical_hash(protocol_of(config))

    here = protocol("/home/a/aegan/results/stability/pretrain/vanishing_mnist_cpu/nsgan/seed0")
    there = protocol("/scratch/b/out/pretrain/vanishing_mnist_cpu/nsgan/seed0")  # the same source run, elsewhere
    assert here == there
    assert protocol("/home/a/aegan/results/stability/pretrain/vanishing_mnist_cpu/nsgan/seed1") != here
    assert protocol("/x/vanishing_mnist_cpu/nsgan/seed0/checkpoints/last.pt") != here  # a file names its checkpoint
    assert protocol("/y/vanishing_mnist_cpu/nsgan/seed0/checkpoints/last.pt") == \
        protocol("/x/vanishing_mnist_cpu/nsgan/seed0/checkpoints/last.pt")


def test_a_table_may_gain_a_metric_and_each_cell_counts_its_own_seeds(tmp_path, capsys):
    """Records that differ from the table only in which metrics they evaluated join it (a new
    metric's values are the old metrics' unchanged: each draws its samples by the eval seed);
    a metric's cell notes the seeds that lack it; another eval setting is still refused."""
    config, records = _config(tmp_path), tmp_path / "records"
    assert _compare(config, tmp_path / "a", "--methods", "nsgan", "--seeds", "0-1", "--records", str(records)) == 0
    assert _compare(config, tmp_path / "b", "--methods", "nsgan", "--seeds", "2-2", "--records", str(records),
                    "--eval.metrics=[mixture,vendi]") == 0
    capsys.readouterr()
    [table] = build_tables([records])[0]
    assert not table.refused and [r["seed"] for _, r in table.records] == [0, 1, 2]
    by_seed = {r["seed"]: r["metrics"] for _, r in table.records}
    assert "vendi/vendi" in by_seed[2] and "vendi/vendi" not in by_seed[0]
    # seed 2 evaluated without vendi: the mixture metrics are the same numbers
    assert _compare(config, tmp_path / "c", "--methods", "nsgan", "--seeds", "2-2") == 0
    alone = read_record(tmp_path / "c" / "tiny" / "nsgan" / "seed2" / "record.json")["metrics"]
    assert {k: v for k, v in by_seed[2].items() if k.startswith("mixture/")} == \
        {k: v for k, v in alone.items() if k.startswith("mixture/")}
    text, _ = tables_markdown([records])
    assert "2 n/a" in text  # the vendi cell: two of its three seeds lack it
    # another evaluation setting (more samples) is another protocol: refused before training
    assert _compare(config, tmp_path / "d", "--methods", "nsgan", "--seeds", "3-3", "--records", str(records),
                    "--eval.n_samples=300") == 2
    assert "eval.n_samples: 200 (table) != 300" in capsys.readouterr().err


def test_a_row_keeps_records_written_before_its_method_gained_a_field():
    """MDGAN's records from before ``encoder_loss`` and ``weight_on`` existed lack them: at their
    defaults (the behaviour before them) they are the same row; a record that sets one otherwise,
    names a field this aegan does not know, or sits at another grid point is another row."""
    from aegan.results.records import row_identity, same_row

    def record(method, point=None):
        config = {"method": {"name": "mdgan", "distance": "squared_l2", "manifold_weight": 0.1, **method}}
        return {"config": config, "point": point or {}, "row_hash": row_identity(config, point or {})}

    old = record({})
    now = record({"encoder_loss": "distance", "weight_on": "log_d1"})
    assert old["row_hash"] != now["row_hash"] and same_row(old, now) and same_row(now, old)
    assert not same_row(old, record({"weight_on": "distance"}))           # a setting, not a default
    assert not same_row(old, record({"manifold_weight": 10.0}))
    assert not same_row(old, record({"no_such_field": 1}))                # unreadable here: not the same
    assert not same_row(old, record({}, {"train.lr": 0.1}))               # another grid point
