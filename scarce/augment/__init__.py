"""Augmentation libraries for the remedies (this package imports ``scarce.data`` at most).

* :mod:`scarce.augment.image`: albumentations-backed per-sample pipelines with seeded streams and
  the ``light`` / ``medium`` / ``strong`` presets (``create_augment``, ``list_augments``);
* :mod:`scarce.augment.policies`: RandAugment and TrivialAugmentWide on albumentations ops;
* :mod:`scarce.augment.mix`: batch MixUp / CutMix on tensors with soft targets;
* :mod:`scarce.augment.expand`: offline augmented copies and minority oversampling by augmentation;
* :mod:`scarce.augment.text`: offline EDA / AEDA and nlpaug character noise (list[str] in and out);
* :mod:`scarce.augment.audio` / :mod:`scarce.augment.specaugment`: audiomentations waveform presets
  and vectorised SpecAugment on log-mel batches.

Nothing heavy is imported here: import the submodule you need.
"""
