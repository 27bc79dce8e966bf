"""``scarce advise``: the transfer strategy advisor's advice with the remedy that carries it out,
and ``--verify``, the small ablation that checks the advice (the four strategies against training
from scratch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scarce.backbones.advisor import Advice

REMEDY_SPECS = {
    "linear_probe": {"name": "linear_probe"},
    "finetune_last": {"name": "finetune", "strategy": "finetune_last", "n_stages": 2},
    "truncate": {"name": "truncate", "n_stages": 6},
    "finetune_all": {"name": "finetune", "strategy": "finetune_all"},
}
"""The remedy spec (for a config's ``remedies``) that carries out each strategy of the advisor."""


def remedy_for(advice: Advice) -> dict:
    """The remedy spec of the advised strategy."""
    return dict(REMEDY_SPECS[advice.strategy])


def advice_text(advice: Advice) -> str:
    """The advice as ``scarce advise`` prints it: case, strategy and its remedy, then the reasons."""
    headline, newline, reasons = str(advice).partition("\n")
    return f"{headline}  (remedy: {remedy_for(advice)}){newline}{reasons}"


def verification_config(dataset: str, *, per_class: int, options: dict | None = None, seeds=(0, 1), steps: int = 100,
                        size: int = 64, test_limit: int = 500, backbone: str = "efficientnet_lite0",
                        download: bool = False):
    """The ablation behind ``--verify``: scratch and the four strategies at ``per_class``."""
    from scarce.experiment.config import DatasetConfig, ExperimentConfig, ModelConfig, TrainSection

    remedies: list[Any] = [{"name": "baseline", "label": "scratch"}]
    for strategy, spec in REMEDY_SPECS.items():
        remedies.append({**spec, "label": strategy, "backbone": backbone, "size": size,
                         **({"download": True} if download else {})})
    return ExperimentConfig(
        name=f"advise_{dataset}_{per_class}", dataset=DatasetConfig(dataset, dict(options or {})),
        model=ModelConfig("small_cnn", {"width": 32}), sizes=[per_class], seeds=list(seeds),
        train=TrainSection(steps=steps, batch_size=32, lr=[3e-3], weight_decay=[1e-4], eval_every=max(1, steps // 2)),
        remedies=remedies, test_limit=test_limit)


def verify_advice(advice: Advice, config, *, out_dir: str | Path, data_root: str | None = None,
                  progress: bool = True) -> dict:
    """Run ``config`` (from :func:`verification_config`) and say whether the advised strategy won.

    Returns ``{"winner", "advised", "held", "table"}`` where ``table`` maps each strategy to its
    ``(mean, ci_low, ci_high)`` accuracy over seeds.
    """
    from scarce.report.ablation import ablate

    res = ablate(config, out_dir=out_dir, data_root=data_root, progress=progress)
    table = {r["remedy"]: (r["mean"], r["ci_low"], r["ci_high"]) for r in res.summary("accuracy")}
    winner = max(table, key=lambda k: table[k][0])
    return {"winner": winner, "advised": advice.strategy, "held": winner == advice.strategy, "table": table}
