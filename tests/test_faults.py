"""Faults survived with nothing lost (the fast subset of benchmarks/faults.py): a failed write
is one line and exit 4 with the previous checkpoint intact, a run directory is used by one
process at a time (exit 5), a partial log line does not stop a resume, and `aegan compare`'s
workers die with their parent."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from aegan import checkpoint
from aegan.checkpoint import load_checkpoint
from aegan.cli import main
from aegan.runlock import RunBusy, run_lock
from tests.conftest import TINY


@pytest.fixture()
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def _fail_second_checkpoint(monkeypatch):
    """Make the second replace of last.pt fail as a full disk would."""
    real_replace, calls = os.replace, []

    def replace(src, dst):
        if Path(dst).name == "last.pt":
            calls.append(dst)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", replace)


def test_disk_full_during_a_save_is_exit_4_and_keeps_the_previous_checkpoint(tmp_path, config_file, capsys,
                                                                              monkeypatch):
    run = tmp_path / "run"
    _fail_second_checkpoint(monkeypatch)
    assert main(["train", str(config_file), "--run-dir", str(run), "--no-progress"]) == 4
    err = capsys.readouterr().err.strip()
    assert err.startswith("aegan: storage error: could not write ") and "\n" not in err
    assert f"{run / 'checkpoints' / 'last.pt'}: No space left on device" in err
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 3  # the save before the failure
    assert not list((run / "checkpoints").glob(".*tmp*"))  # no temporary file left behind
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0


def test_unwritable_run_directory_is_exit_4_naming_the_file(tmp_path, config_file, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    assert main(["train", str(config_file), "--run-dir", str(blocker / "run"), "--no-progress"]) == 4
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"aegan: storage error: could not write {blocker / 'run' / '.lock'}: Not a directory")


def _hold_lock_in_another_process(run: Path) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from aegan.runlock import run_lock
        with run_lock({str(run)!r}):
            print("held", flush=True)
            time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock semantics checked on Linux")
def test_a_run_directory_in_use_is_refused_until_its_holder_dies(tmp_path, config_file, capsys):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--run-dir", str(run), "--train.steps=3", "--no-progress"]) == 0
    holder = _hold_lock_in_another_process(run)
    try:
        assert main(["train", "--resume", str(run), "--train.steps=6", "--no-progress"]) == 5
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith(f"aegan: run directory busy: {run} is in use by another process (pid {holder.pid})")
        assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 3  # untouched
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert main(["train", "--resume", str(run), "--train.steps=6", "--no-progress"]) == 0  # the lock died with it


def test_run_lock_is_reentrant_within_a_process(tmp_path):
    with run_lock(tmp_path / "r"):
        with run_lock(tmp_path / "r"):
            pass
        with run_lock(tmp_path / "r"):  # still held after the inner exit
            pass
    with run_lock(tmp_path / "r"):  # released at the outer exit
        pass
    assert issubclass(RunBusy, RuntimeError)


def test_a_partial_log_line_does_not_stop_a_resume(tmp_path, config_file):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--run-dir", str(run), "--train.steps=3", "--no-progress"]) == 0
    log = run / "log.jsonl"
    with open(log, "a") as f:
        f.write('{"step": 4, "loss/gen')  # a kill or a full disk in the middle of an append
    assert main(["train", "--resume", str(run), "--train.steps=6", "--no-progress"]) == 0
    steps = [yaml.safe_load(line)["step"] for line in log.read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0")) == pid:
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_compare_workers_die_with_their_parent(tmp_path, config_file):
    out = tmp_path / "out"
    parent = subprocess.Popen([sys.executable, "-m", "aegan.cli", "compare", str(config_file), "--methods",
                               "nsgan,gan", "--workers", "2", "--out", str(out), "--no-progress",
                               "--train.steps=100000", "--train.checkpoint_every=1000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (out / "tiny" / "gan" / "seed0" / "config.yaml").exists():
            time.sleep(0.2)
        workers = [p for p in _children(parent.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert workers, "the comparison started no worker"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)], "orphaned workers kept running"
    finally:
        parent.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _tamper(run: Path, change) -> None:
    import torch

    path = run / "checkpoints" / "last.pt"
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)


def _nan_weights(state):
    for tensor in state["nets"]["generator"].values():
        tensor.fill_(float("nan"))


def _wrong_shape(state):
    import torch

    key = next(iter(state["nets"]["generator"]))
    state["nets"]["generator"][key] = torch.zeros(3, 3)


@pytest.mark.parametrize("tamper,reason", [
    (lambda run: (run / "checkpoints" / "last.pt").write_bytes(b""), "truncated or not a torch checkpoint"),
    (lambda run: _tamper(run, lambda s: s.pop("optimizers")), "does not fit this run's config (KeyError"),
    (lambda run: _tamper(run, _wrong_shape), "does not fit this run's config (RuntimeError: Error(s) in loading"),
    (lambda run: _tamper(run, _nan_weights), "net 'generator' holds non-finite weights"),
], ids=["empty", "missing_entry", "wrong_shape", "nan_weights"])
def test_a_damaged_checkpoint_is_one_line_exit_2(tmp_path, config_file, capsys, tamper, reason):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--run-dir", str(run), "--train.steps=3", "--no-progress"]) == 0
    tamper(run)
    capsys.readouterr()
    for args in (["sample", str(run), "--n", "5", "--out", str(tmp_path / "x.npy")],
                 ["train", "--resume", str(run), "--train.steps=6", "--no-progress"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("aegan: checkpoint error: ") and reason in err
    assert not (tmp_path / "x.npy").exists()


def test_device_and_warm_start_mistakes_are_config_errors(tmp_path, config_file, capsys):
    import torch

    if not torch.cuda.is_available():
        assert main(["train", str(config_file), "--run-dir", str(tmp_path / "a"), "--train.device=cuda"]) == 2
        assert "train.device: 'cuda:0' asked for but CUDA is not available" in capsys.readouterr().err
    assert main(["train", str(config_file), "--run-dir", str(tmp_path / "b"), "--train.init_from=/nonexistent/x.pt"]) == 2
    assert "aegan: config error: train.init_from: /nonexistent/x.pt is neither" in capsys.readouterr().err


def test_a_stale_temporary_checkpoint_is_removed_by_the_next_save(tmp_path, config_file):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--run-dir", str(run), "--train.steps=3", "--no-progress"]) == 0
    stale = run / "checkpoints" / ".last.pt.tmp-99999"  # what a kill -9 during a save leaves
    stale.write_bytes(b"partial")
    assert main(["train", "--resume", str(run), "--train.steps=6", "--no-progress"]) == 0
    assert not stale.exists()


def test_the_fault_battery_covers_a_divergence_at_step_1_before_any_checkpoint(tmp_path):
    """Row 8 of benchmarks/faults.py (fault_battery/divergence.py), its step-1 case: exit 3 with one line, record.json strict
    JSON saying diverged, and no checkpoint (the first would have come at step 100)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        from fault_battery import divergence
    finally:
        sys.path.pop(0)
    case = divergence.DIVERGENCE_CASES["nsgan, adam lr 1e300, step 1 before any checkpoint"]
    labels, problem = divergence.divergence_trial(tmp_path, case)
    assert problem is None
    assert labels == [*divergence.DIVERGENCE_WANTED, "no checkpoint (diverged before the first)"]


def test_the_new_users_divergence_command_is_exit_3_and_one_line(tmp_path):
    """`python -m aegan train configs/toy/ring8_nsgan.yaml --train.lr=1e300` (as a new user ran it;
    50 steps: NaN sample snapshots at steps 10-40 come before the first log flush, at step 50)."""
    config = Path(__file__).resolve().parent.parent / "configs" / "toy" / "ring8_nsgan.yaml"
    done = subprocess.run([sys.executable, "-m", "aegan", "train", str(config), "--train.lr=1e300", "--train.steps=50",
                           "--run-dir", str(tmp_path / "run"), "--no-progress"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        "aegan: training diverged: non-finite value at step 1: phase 'generator', term 'adversarial' = nan; "
        "the last good checkpoint, if one was written, is kept"]
