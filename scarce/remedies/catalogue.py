"""The catalogue of remedies a config can name: the families whose import registers them.

Remedy classes live in this package, one module per family (they wrap the libraries in
``scarce.augment``, ``scarce.synth``, ``scarce.balance``, ``scarce.backbones``); each class joins
:data:`~scarce.remedies.base.REMEDIES` with :func:`~scarce.remedies.base.register_remedy`, which
writes its name once. Importing the families is cheap: none imports torch, albumentations, timm or
another heavy backend at module level (they do so inside the methods that need them), so that
``scarce list remedies`` stays quick. A new family is one import line here. The package
(:mod:`scarce.remedies`) imports this module, so importing any ``scarce.remedies`` module
registers the whole catalogue.
"""

from scarce.remedies import (  # noqa: F401 (registers)
    audio, balance, fixmatch, image, semi_supervised, synthetic, synthetic_control, text, transfer)
from scarce.remedies.base import REMEDIES

__all__ = ["REMEDIES"]
