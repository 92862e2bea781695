"""The parts of ``aegan.train.Trainer`` that are not the loop itself.

- ``optim``: optimisers, their learning rates and schedule, gradient norms;
- ``compiled``: the device, ``torch.compile`` / CUDA graphs, mixed precision;
- ``warm_start``: ``train.init_from``, ``train.freeze``, ``train.instance_noise``;
- ``state``: the run directory's layout, checkpoints (save, exact resume), per-rank RNG state;
- ``evaluation``: metrics during training (``eval.every``) and at the end, best over training;
- ``outputs``: what the loop writes as it goes (scalar log, live warnings, progress bar, snapshots).
"""
