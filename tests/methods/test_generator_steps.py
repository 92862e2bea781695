"""generator_steps: G updates per training step, one schedule for every method of a table (003 Sec. 6)."""

import pytest

from aegan.config import ConfigError, build_config
from tests.conftest import tiny_raw
from tests.methods._helpers import batch_of, tiny_trainer


@pytest.mark.parametrize("name", ["nsgan", "gan_rl", "lsgan", "wgan_gp", "gan_ae"])
def test_every_generator_phase_is_repeated_on_fresh_draws(name, tmp_path):
    one = tiny_trainer(name, tmp_path / "one").method.step_phases(0)
    trainer = tiny_trainer(name, tmp_path / "two", **{"method.generator_steps": 2})
    two = trainer.method.step_phases(0)
    g_only = [p.name for p in one if p.updates == ("generator",)]
    assert g_only, f"{name} has a generator-only phase"
    assert [p.name for p in two] == [n for p in one for n in
                                     ([p.name, f"{p.name}_2"] if p.updates == ("generator",) else [p.name])]
    repeat = next(p for p in two if p.name == f"{g_only[0]}_2")
    assert repeat.fresh_batch
    scratch = {"fake": "stale", "z": "stale"}  # what the first G phase cached
    repeat.terms(trainer.nets, batch_of(trainer), scratch)
    assert not isinstance(scratch.get("fake"), str) and not isinstance(scratch.get("z"), str), \
        "the repeat drops the first phase's G(z) (and draws its own where it uses one)"


def test_optimizer_steps_are_counted_and_recorded(tmp_path):
    """nsgan at 2 G steps: after 3 training steps G stepped 6 times and D 3 times; the record
    says 2 and 1 updates per step, with each net's lr and initialisation."""
    trainer = tiny_trainer("nsgan", tmp_path, **{"method.generator_steps": 2, "train.steps": 3,
                                                 "eval.metrics": ["mixture"], "eval.n_samples": 64})
    result = trainer.fit(progress=False)
    assert dict(trainer.optimizer_steps) == {"generator": 6, "discriminator": 3}
    setup = result["training"]
    assert setup["generator"]["updates_per_step"] == 2.0 and setup["discriminator"]["updates_per_step"] == 1.0
    assert setup["generator"]["lr"] == trainer.config.train.lr and setup["generator"]["init"]
    from aegan.results.records import read_record

    assert read_record(trainer.paths.record)["training"] == setup


def test_the_counts_survive_a_resume(tmp_path):
    trainer = tiny_trainer("nsgan", tmp_path, **{"method.generator_steps": 3, "train.steps": 2})
    trainer.fit(progress=False)
    from aegan.train import open_run

    resumed = open_run(tmp_path, {"train.steps": 3})
    assert dict(resumed.optimizer_steps) == {"generator": 6, "discriminator": 2}
    resumed.fit(progress=False)
    assert dict(resumed.optimizer_steps) == {"generator": 9, "discriminator": 3}


def test_methods_all_sets_every_row_and_a_row_may_override_it():
    raw = tiny_raw()
    raw["methods"] = {"all": {"generator_steps": 2}, "gan_rl": {"generator_steps": 1}}
    assert build_config({**raw, "method": {"name": "nsgan"}}).method.params.generator_steps == 2
    assert build_config({**raw, "method": {"name": "gan_rl"}}).method.params.generator_steps == 1
    # the default schedule is left out of a saved config, so configs saved before the setting still match
    assert "generator_steps" not in build_config({**raw, "method": {"name": "gan_rl"}}).to_dict()["method"]


def test_train_lr_scale_replaces_the_methods_own_factor(tmp_path):
    """002's tables: every row's D at 10x lr; VLGAN's own 10x is then not applied twice."""
    plain = tiny_trainer("vlgan", tmp_path / "a")
    d_lr = plain.optimizers["discriminator"].param_groups[0]["lr"]
    assert d_lr == pytest.approx(10 * plain.config.train.lr)
    table = tiny_trainer("vlgan", tmp_path / "b", **{"train.lr_scale": {"discriminator": 10.0}})
    assert table.optimizers["discriminator"].param_groups[0]["lr"] == pytest.approx(d_lr)
    nsgan = tiny_trainer("nsgan", tmp_path / "c", **{"train.lr_scale": {"discriminator": 10.0}})
    assert nsgan.optimizers["discriminator"].param_groups[0]["lr"] == pytest.approx(d_lr)
    assert nsgan.optimizers["generator"].param_groups[0]["lr"] == pytest.approx(nsgan.config.train.lr)


def test_a_table_of_two_g_steps_gives_age_two_not_four(tmp_path):
    """AGE's own default is two G steps per E step; ``methods.all: {generator_steps: 2}`` (003's
    tables) sets the same setting, so it does not double AGE's."""
    default = tiny_trainer("age", tmp_path / "a").method.step_phases(0)
    table = tiny_trainer("age", tmp_path / "b", **{"method.generator_steps": 2}).method.step_phases(0)
    assert [p.name for p in default] == [p.name for p in table] == ["encoder", "generator", "generator_2"]


def test_has_generator_phase_says_which_methods_have_a_phase_to_repeat(tmp_path):
    from aegan.methods import METHODS

    for name, cls in sorted(METHODS.items()):
        method = tiny_trainer(name, tmp_path / name).method
        if name == "gan_ae_decay":
            method.decay.stage = 2  # stage 1 has no G step yet
        has = any(p.updates == ("generator",) for p in method.phases(0))
        assert has == cls.has_generator_phase, name


def test_a_method_without_a_generator_phase_refuses_more_than_one_step():
    raw = {**tiny_raw(), "method": {"name": "reg_gan", "generator_steps": 2}}
    with pytest.raises(ConfigError, match="method.generator_steps: method 'reg_gan' has no phase"):
        build_config(raw)


def _repeatable_methods():
    from aegan.methods import METHODS

    names = []
    for name in sorted(METHODS):
        try:
            build_config({**tiny_raw(), "method": {"name": name, "generator_steps": 2}})
        except ConfigError:  # no generator-only phase: refuses more than one G step
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("name", _repeatable_methods())
def test_every_method_that_accepts_two_g_steps_trains_with_them(name, tmp_path):
    """003's shared schedule on every row of a table: alpha-GAN's repeat read the first G phase's
    cached z (KeyError) until its cache was keyed on z, which the repeat drops."""
    trainer = tiny_trainer(name, tmp_path, **{"method.generator_steps": 2, "train.steps": 1})
    phases = trainer.method.step_phases(0)  # read before the step: a stateful schedule may move in it
    trainer.fit(progress=False)  # the repeat of alpha-GAN's G phase raised KeyError here
    assert trainer.step == 1
    assert trainer.optimizer_steps["generator"] == sum("generator" in p.updates for p in phases), \
        f"{name}: G stepped once per phase that updates it"
    g_only = [p.name for p in phases if p.updates == ("generator",)]
    assert len(g_only) != 1, f"{name}: a G-only phase at step 0 without its repeat: {[p.name for p in phases]}"
