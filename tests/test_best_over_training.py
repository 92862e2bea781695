"""Best over training (003 Tables 3, 6: "the best FIDs and the iterations") beside the final value."""

from aegan.results.cells import columns_for
from aegan.results.records import best_over_training


def test_best_picks_the_minimum_fid_with_its_step_and_the_maximum_modes():
    history = [{"step": 100, "fid/fid": 50.0, "mnist_modes/modes": 700.0},
               {"step": 200, "fid/fid": 40.0, "mnist_modes/modes": 650.0},
               {"step": 300, "fid/fid": 45.0, "mnist_modes/modes": 820.0}]
    final = {"fid/fid": 47.0, "mnist_modes/modes": 810.0}
    best = best_over_training(history, final, 400)
    assert best == {"best/fid/fid": 40.0, "best_step/fid/fid": 200.0,
                    "best/mnist_modes/modes": 820.0, "best_step/mnist_modes/modes": 300.0}


def test_the_final_value_counts_and_ties_take_the_earliest_step():
    history = [{"step": 100, "fid/fid": 30.0}, {"step": 200, "fid/fid": None}]
    assert best_over_training(history, {"fid/fid": 20.0}, 300) == {"best/fid/fid": 20.0, "best_step/fid/fid": 300.0}
    tie = best_over_training([{"step": 100, "fid/fid": 20.0}], {"fid/fid": 20.0}, 300)
    assert tie["best_step/fid/fid"] == 100.0


def test_no_history_no_best_and_metrics_without_a_direction_are_left_out():
    assert best_over_training([], {"fid/fid": 20.0}, 300) == {}
    assert best_over_training([{"step": 1, "dynamics/x": 3.0}], {"dynamics/x": 1.0}, 2) == {}


def test_tables_show_best_and_its_step_beside_the_final_value():
    results = [{"metrics": {"fid/fid": 47.0, "fid/kid": 0.1, "best/fid/fid": 40.0, "best_step/fid/fid": 200.0}}]
    names = [c[0] for c in columns_for(results)]
    assert names[:2] == ["FID", "KID"]
    assert "best FID over training" in names and "step of best FID" in names
