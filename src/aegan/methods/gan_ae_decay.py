"""GAN+AE+alpha_L (000 Sec. 3, Algorithm 1): two stages and the adaptive decay alpha_L."""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import PositiveFloat

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from aegan.losses.adaptive import generator_decayed_minimax
from aegan.methods.base import Batch, Nets, Scratch, log_diagnostics, register
from aegan.methods.gan_ae import GANAE, GANAEConfig


class GANAEDecayConfig(GANAEConfig):
    """As gan_ae, plus alpha (the decay rate).

    alpha: 0.1 (000 Sec. 4.5 and Fig. 6). Stage 1 ends once the batch's mean reconstruction
      error L (the same L that lambda multiplies: the l2 norm of a sample's error, 000 App. D)
      is < 1/alpha = 10, a per-pixel RMS error of ~0.21 on 28x84 images; in stage 2,
      alpha_L = min(alpha * L, 1), which falls below 1 once L < 10 and with L after it. On
      the 2D mixtures L is ~0.03, so alpha = 0.1 ends stage 1 at once and keeps alpha_L near
      3e-3: the method is then nearly an AE; the configs/toy variant ``gan_ae_decay_a100``
      (alpha = 100, not the paper's) decays alpha_L in the range of 2D errors.
    generator_loss: "minimax" is Algorithm 1 line 14, log(1 - alpha_L D(H(x)));
      "nonsaturating" scales -log D(H(x)) by alpha_L (not the paper's).
    """

    alpha: PositiveFloat = 0.1


@register
class GANAEDecay(GANAE):
    """Stage 1: E,G on reconstruction only (D still trained) until mean L < 1/alpha.
    Stage 2: gan_ae with G's adversarial term weighted by alpha_L = min(alpha L, 1), computed
    from this step's error before the update, detached; D always uses alpha_L = 1.
    ``stage`` and ``alpha_l`` are logged every step and saved in checkpoints; the stage it
    ended in, the step it switched and the last alpha_L are in the run's metrics (``method/``)."""

    name = "gan_ae_decay"
    summary = "GAN+AE+alpha_L: AE pre-training, then adversarial term decayed by min(alpha L, 1) (000 Alg. 1)"
    Config = GANAEDecayConfig
    schedule_changes = True

    def __init__(self, config, latent_dim: int):
        super().__init__(config, latent_dim)
        self.decay = shared.AdaptiveDecay(config.alpha)
        self._step = 0

    def autoencoder_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """Line 6 (stage 1: L, unweighted) or line 13 (stage 2: lambda L), plus latent matching."""
        terms = super().autoencoder_terms(nets, batch, scratch)
        stage = self.decay.stage
        if stage == 1:
            terms["reconstruction"] = terms["reconstruction"] / self.config.reconstruction_weight
        error = self.batch_mean(scratch["recon_error"].detach())  # the error of the whole (all-rank) batch
        scratch["alpha_l"] = self.decay.observe(error, self._step)  # line 12 (or line 8's test)
        log_diagnostics(scratch, stage=stage, alpha_l=scratch["alpha_l"])
        return terms

    def adversarial(self, fake_logits, scratch: Scratch):
        alpha_l = scratch["alpha_l"]
        if self.config.generator_loss == "minimax":
            return generator_decayed_minimax(fake_logits, alpha_l)
        return alpha_l * adv.generator_nonsaturating(fake_logits)

    def phases(self, step: int):
        self._step = step
        if self.decay.stage == 1:  # lines 6-7: no adversarial update of G
            return self.autoencoder_phases() + self.discriminator_phases() + self.latent_phases()
        return super().phases(step)

    def state_dict(self) -> dict[str, Any]:
        return self.decay.state_dict()

    def final_metrics(self) -> dict[str, float | None]:
        """The schedule's end: stage (1 or 2), the first step of stage 2 (None: never), alpha_L."""
        switch = self.decay.switch_step
        return {"stage": float(self.decay.stage), "switch_step": None if switch is None else float(switch),
                "alpha_l": self.decay.alpha_l}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.decay.load_state_dict(state)
