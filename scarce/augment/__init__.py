"""Augmentation libraries for the remedies (this package imports ``scarce.data`` at most).

* :mod:`scarce.augment.registry`: the one registry of every modality's augmentations
  (``create_augment(name, **options)``, ``list_augments(modality=None)``), re-exported here;
* :mod:`scarce.augment.image`: albumentations-backed per-sample pipelines with seeded streams and
  the ``light`` / ``medium`` / ``strong`` presets;
* :mod:`scarce.augment.policies`: RandAugment and TrivialAugmentWide on albumentations ops;
* :mod:`scarce.augment.mix`: batch MixUp / CutMix on tensors with soft targets;
* :mod:`scarce.augment.expand`: offline augmented copies and minority oversampling by augmentation;
* :mod:`scarce.augment.text`: offline EDA / AEDA and nlpaug character noise (list[str] in and out);
* :mod:`scarce.augment.audio` / :mod:`scarce.augment.specaugment`: audiomentations waveform presets
  and vectorised SpecAugment on log-mel batches.

Nothing heavy is imported here: the registry names its entries lazily; import the submodule you need.
"""

from scarce.augment.registry import AUGMENTS, augment_info, create_augment, list_augments

__all__ = ["AUGMENTS", "augment_info", "create_augment", "list_augments"]
