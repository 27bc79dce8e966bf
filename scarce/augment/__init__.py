"""Augmentation libraries for the remedies (this package imports ``scarce.data`` at most).

* :mod:`scarce.augment.registry`: the one registry of every modality's augmentations
  (``create_augment(name, **options)``, ``list_augments(modality=None)``), re-exported here;
* :mod:`scarce.augment.image`: albumentations-backed per-sample pipelines with seeded streams and
  the ``light`` / ``medium`` / ``strong`` presets;
* :mod:`scarce.augment.policies`: RandAugment and TrivialAugmentWide on albumentations ops;
* :mod:`scarce.augment.mix`: batch MixUp / CutMix on tensors with soft targets, and
  :class:`~scarce.augment.mix.MixCollate` to run them as a DataLoader ``collate_fn``;
* :mod:`scarce.augment.dataset`: :class:`~scarce.augment.dataset.AugmentedDataset`, any
  per-sample augmentation on any ``(x, y)`` dataset with a stream reproducible from
  ``(seed, epoch, index)`` under any number of DataLoader workers (for a user's own loop);
* :mod:`scarce.augment.expand`: offline augmented copies and minority oversampling by augmentation;
* :mod:`scarce.augment.text`: offline EDA / AEDA and nlpaug character noise (list[str] in and out);
* :mod:`scarce.augment.audio` / :mod:`scarce.augment.specaugment`: audiomentations waveform presets
  and vectorised SpecAugment on log-mel batches.

Nothing heavy is imported here: the registry names its entries lazily; import the submodule you
need. ``AugmentedDataset`` and ``MixCollate`` are also importable from here (torch loads on first
access).
"""

from scarce.augment.registry import AUGMENTS, augment_info, create_augment, list_augments

__all__ = ["AUGMENTS", "AugmentedDataset", "MixCollate", "augment_info", "create_augment", "list_augments"]

_LAZY = {"AugmentedDataset": "scarce.augment.dataset", "MixCollate": "scarce.augment.mix"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scarce.augment' has no attribute {name!r}")
