"""Issue 28 item 3: ``Trainer.fit`` reads as the plain loop on one screen; what is not the loop
lives in ``aegan.training`` (state, compile, warm start, evaluation, outputs, optimisers)."""

import inspect

from aegan.train import Trainer

SCREEN = 40  # lines


def test_fit_fits_on_one_screen():
    lines = inspect.getsource(Trainer.fit).splitlines()
    assert len(lines) <= SCREEN, f"Trainer.fit is {len(lines)} lines; move what is not the loop to aegan.training"


def test_fit_is_the_loop_itself():
    # the loop's steps are in fit, not hidden behind a helper that holds the while loop
    source = inspect.getsource(Trainer.fit)
    for part in ("while self.step < cfg.steps", "self.train_step()", "log_step", "self.save()", "self.finish()"):
        assert part in source, part
