"""Every row of a shipped config (each registered method, each variant under ``methods:``)
trains with the same data range, generator output and initialisation, and each paper's
configs have that paper's (Fidelity II, 3)."""

from pathlib import Path

import pytest
import yaml

from aegan.results.rows import Job
from aegan.config import SHARED_METHOD_KEY
from aegan.methods import METHODS
from aegan.nets.init import run_init

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").rglob("*.yaml"))
OUTPUT = {"unit": "sigmoid", "symmetric": "tanh", "standard": "linear"}
_000 = ("unit", "default")  # 000 Table 3: "Deconv, Sigmoid" on [0, 1]; no init stated
CONFIGS_000 = ["compositional_mnist", "compositional_mnist_cpu", "compositional_mnist_e50", "mnist",
               "oscillation_mnist", "oscillation_mnist_cpu"]
_DCGAN = ("symmetric", "dcgan")  # Radford et al.: [-1, 1], tanh, N(0, 0.02)
PAPERS = {
    **dict.fromkeys(CONFIGS_000, _000),
    **dict.fromkeys(["celeba_mdgan", "celeba_mdgan_cpu", "mnist_number_001", "mnist_number_001_cpu"],
                    _DCGAN),  # 001 App. B: "the same as DCGAN"
    "mnist_grid_cpu": ("symmetric", "default"),  # 001's MLP grid: our reading
    **dict.fromkeys(["vanishing_mnist", "vanishing_mnist_cpu", "celeba_vlgan", "celeba_vlgan_cpu"],
                    ("standard", "xavier")),  # 002 Sec. 4.1
    **dict.fromkeys(["cifar10_table3", "cifar10_table3_cpu", "celeba_table6", "celeba_table6_cpu",
                     "fashion_mnist_standin", "fashion_mnist_standin_cpu"], _DCGAN),  # 003 Fig. 4: "the DCGAN [3]"
    **dict.fromkeys(["cifar10_resnet", "cifar10_resnet_cpu"], ("symmetric", "default")),  # WGAN-GP's ResNet
    **dict.fromkeys(["stacked_mnist", "stacked_mnist_cpu", "stacked_mnist_unequal"], _DCGAN),  # VEEGAN/PacGAN
    **dict.fromkeys(["ring8", "ring8_nsgan", "grid25"], ("unit", "default")),  # 2D points: as they are
}


def row_labels(raw: dict) -> list[str]:
    return sorted((set(METHODS) | set(raw.get("methods") or {})) - {SHARED_METHOD_KEY})


def row_settings(path: Path) -> dict[str, tuple[str, str | None, str]]:
    """label -> (data.range, model.output, the init the Trainer applies) for every row."""
    raw = yaml.safe_load(path.read_text())
    out = {}
    for label in row_labels(raw):
        cfg = Job(str(path), label, 0, "", ()).config()
        out[label] = (cfg.data.params.range, getattr(cfg.model.params, "output", None),
                      run_init(cfg.model.params, cfg.method.params))
    return out


def test_every_paper_config_is_listed():
    stems = {p.stem for p in CONFIGS}
    assert set(PAPERS) <= stems, set(PAPERS) - stems


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_row_gets_the_same_range_output_and_init(path):
    settings = row_settings(path)
    assert len(set(settings.values())) == 1, {s: [k for k, v in settings.items() if v == s]
                                              for s in set(settings.values())}
    data_range, output, init = next(iter(settings.values()))
    if path.stem in PAPERS:
        assert (data_range, init) == PAPERS[path.stem]
        image = "toy" not in path.parts
        assert output == (OUTPUT[data_range] if image else "auto")  # 2D points stay linear (unresolved)


def test_a_variant_with_its_own_init_is_caught(tmp_path):
    """The guard can fail: VLGAN's own init as a variant differs from the table's."""
    raw = yaml.safe_load(next(p for p in CONFIGS if p.stem == "vanishing_mnist_cpu").read_text())
    raw["methods"]["vlgan_default_init"] = {"name": "vlgan", "init": "default"}
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    settings = row_settings(path)
    assert settings["vlgan_default_init"][2] == "default" and settings["nsgan"][2] == "xavier"


@pytest.mark.parametrize("stem", CONFIGS_000)
def test_000s_autoencoding_rows_have_sigmoid_codes_on_the_priors_support(stem):
    """000 Table 3's encoder "FC, Sigmoid 50" and App. C's uniform prior, on [0, 1]^d, for ae,
    gan_ae, gan_ae_decay and each of their variants."""
    path = next(p for p in CONFIGS if p.stem == stem)
    raw = yaml.safe_load(path.read_text())
    rows = [label for label in row_labels(raw)
            if Job(str(path), label, 0, "", ()).config().method.name in ("ae", "gan_ae", "gan_ae_decay")]
    assert len(rows) >= 3
    for label in rows:
        assert Job(str(path), label, 0, "", ()).config().method.params.prior == "unit_uniform", label
