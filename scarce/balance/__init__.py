"""Class balancing: samplers that scale to 10^8 labels and shard across ranks, imblearn-style
resampling on indices, and loss-side remedies (class-balanced weights, focal loss, logit
adjustment / Balanced Softmax, DRW, cRT).

Example:
    >>> from scarce.balance import ClassBalancedSampler, fit_resample
    >>> len(ClassBalancedSampler([0, 0, 0, 1], strategy="sqrt", seed=0))
    4
"""

from scarce.balance.resample import RandomOverSampler, RandomUnderSampler, fit_resample, target_counts
from scarce.balance.strategies import Strategy, effective_number, power, resolve_strategy

_SAMPLERS = ("ClassAwareBatchSampler", "ClassBalancedSampler", "ProgressiveSampler")
_LOSSES = ("FocalLoss", "LogitAdjustedLoss", "PosthocAdjusted", "DeferredReweighting", "WeightedCrossEntropy",
           "class_balanced_weights", "posthoc_adjust")


def __getattr__(name: str):
    """The samplers and losses import torch: they are imported when first asked for, so that the
    resampling and strategies (and the remedy catalogue, which reads them) stay light."""
    if name in _SAMPLERS:
        from scarce.balance import samplers

        return getattr(samplers, name)
    if name in _LOSSES:
        from scarce.balance import losses

        return getattr(losses, name)
    raise AttributeError(f"module 'scarce.balance' has no attribute {name!r}")


__all__ = ["RandomOverSampler", "RandomUnderSampler", "Strategy", "effective_number", "fit_resample", "power",
           "resolve_strategy", "target_counts", *_SAMPLERS, *_LOSSES]
