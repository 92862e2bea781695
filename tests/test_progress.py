"""--no-progress turns every bar off (dataset decoding, Inception features, training, the
comparison), in worker processes too, and only for the command it was given to."""

from __future__ import annotations

import os

from aegan import progress


def test_bars_are_off_when_asked_and_tqdms_own_choice_otherwise(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    assert progress.disable() is None and progress.disable(True) is None  # tqdm: on a terminal only
    assert progress.disable(False) is True
    with progress.turned_off():
        assert progress.disable() is True and progress.disable(True) is True
        assert os.environ[progress.ENV] == "1"  # inherited by the processes a comparison starts
    assert progress.ENV not in os.environ and progress.disable() is None
    with progress.turned_off(False):
        assert progress.disable() is None


def test_the_cli_turns_the_bars_off_for_its_command_alone(monkeypatch, tmp_path):
    import aegan.cli

    monkeypatch.delenv(progress.ENV, raising=False)
    seen = []
    monkeypatch.setattr(aegan.cli, "_run", lambda args, rest: seen.append(progress.disable()) or 0)
    assert aegan.cli.main(["compare", "x.yaml", "--methods", "nsgan", "--no-progress"]) == 0
    assert aegan.cli.main(["compare", "x.yaml", "--methods", "nsgan"]) == 0
    assert seen == [True, None] and progress.ENV not in os.environ
