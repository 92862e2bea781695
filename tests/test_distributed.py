"""Data parallelism on the CPU (Gloo): two ranks stay identical, agree on batch-derived method
state, resume exactly, and only rank 0 writes."""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.conftest import tiny_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, run_dir, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from aegan.train import Trainer

    # GAN+AE+alpha_L with a tiny alpha: stage 2 from the second step, alpha_L = alpha * error,
    # a method state that follows a batch statistic (it must agree across ranks)
    trainer = Trainer(tiny_config(**{"train.steps": 4, "method.name": "gan_ae_decay", "method.alpha": 1e-3}), run_dir)
    first_batch = trainer.data.next_batch(4).x
    trainer.fit(progress=False)
    torch.save({"params": [p.detach() for p in trainer.nets.parameters()], "batch": first_batch,
                "alpha_l": torch.tensor(trainer.method.decay.alpha_l)}, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def test_two_ranks_stay_in_sync(tmp_path):
    run_dir = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), str(run_dir), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert not torch.equal(r0["batch"], r1["batch"]), "ranks must draw different batches"
    for a, b in zip(r0["params"], r1["params"]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert r0["alpha_l"] > 0 and r0["alpha_l"] == r1["alpha_l"]  # from the error of the all-rank batch
    assert (run_dir / "checkpoints" / "last.pt").exists() and (run_dir / "metrics.json").exists()


def _resume_worker(rank, world, port, run_dir, out_dir, steps, resume):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from aegan.train import Trainer, open_run

    if resume:
        trainer = open_run(run_dir, {"train.steps": steps})
    else:
        trainer = Trainer(tiny_config(**{"train.steps": steps, "train.checkpoint_every": 2}), run_dir)
    trainer.fit(progress=False)
    torch.save({"params": [p.detach() for p in trainer.nets.parameters()], "next_batch": trainer.data.next_batch(4).x},
               os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def _run_ranks(run_dir, out_dir, steps, resume=False):
    out_dir.mkdir(parents=True, exist_ok=True)
    mp.spawn(_resume_worker, args=(2, _free_port(), str(run_dir), str(out_dir), steps, resume), nprocs=2, join=True)
    return [torch.load(out_dir / f"rank{r}.pt", weights_only=True) for r in (0, 1)]


def test_two_rank_resume_is_exact_on_every_rank(tmp_path):
    straight = _run_ranks(tmp_path / "straight", tmp_path / "out_straight", steps=4)
    _run_ranks(tmp_path / "resumed", tmp_path / "out_half", steps=2)
    checkpoint = torch.load(tmp_path / "resumed" / "checkpoints" / "last.pt", weights_only=True)
    assert len(checkpoint["ranks"]) == 2  # every rank's RNG streams are in the checkpoint
    resumed = _run_ranks(tmp_path / "resumed", tmp_path / "out_resumed", steps=4, resume=True)
    for rank in (0, 1):
        torch.testing.assert_close(resumed[rank]["next_batch"], straight[rank]["next_batch"], rtol=0, atol=0)
        for a, b in zip(resumed[rank]["params"], straight[rank]["params"]):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_resuming_on_another_number_of_ranks_warns_and_uses_rank_zero(tmp_path):
    import pytest

    from aegan.train import Trainer

    trainer = Trainer(tiny_config(**{"train.steps": 2}), tmp_path / "run")
    trainer.fit(progress=False)
    state = trainer.state_dict()
    expected = trainer.data.next_batch(4).x
    state["ranks"] = [{k: state[k] for k in ("method", "data", "rng")}, {}]  # as if written by two ranks
    fresh = Trainer(tiny_config(**{"train.steps": 2}), tmp_path / "other")
    with pytest.warns(UserWarning, match="written by 2 rank"):
        fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.data.next_batch(4).x, expected, rtol=0, atol=0)
