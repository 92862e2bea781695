"""Data parallelism on the CPU (Gloo): two ranks stay identical and only rank 0 writes."""

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

    trainer = Trainer(tiny_config(**{"train.steps": 4}), run_dir)
    first_batch = trainer.data.next_batch(4).x
    trainer.fit(progress=False)
    torch.save({"params": [p.detach() for p in trainer.nets.parameters()], "batch": first_batch},
               os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def test_two_ranks_stay_in_sync(tmp_path):
    run_dir = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), str(run_dir), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert not torch.equal(r0["batch"], r1["batch"]), "ranks must draw different batches"
    for a, b in zip(r0["params"], r1["params"]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert (run_dir / "checkpoints" / "last.pt").exists() and (run_dir / "metrics.json").exists()
