"""The fault battery (``python benchmarks/faults.py``): its runner (``runner``: the CLI, the table),
what its trials share (``processes``, ``outcomes``, ``runs``) and one module per row family
(``kill_resume``, ``kill_compare``, ``config_fuzz`` with its cases in ``config_cases``,
``storage``, ``tampered_checkpoint``, ``divergence``, ``run_lock``)."""
