"""TensorBoard receives every ``train.tensorboard_every``-th step; log.jsonl keeps every step."""

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from aegan.train import Trainer
from tests.conftest import tiny_config


def test_tensorboard_thinned_jsonl_complete(tmp_path):
    config = tiny_config(**{"train.steps": 12, "train.log_every": 5, "train.tensorboard": True,
                            "train.tensorboard_every": 4, "eval.metrics": []})
    Trainer(config, tmp_path).fit(progress=False)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 13))
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tag = next(t for t in events.Tags()["scalars"] if t.startswith("loss/"))
    assert [e.step for e in events.Scalars(tag)] == [4, 8, 12]
