"""Remedies: the :class:`TrainSetup` a remedy transforms, the :class:`Remedy` base, the composition
rules (:mod:`~scarce.remedies.composition`) and the catalogue (:data:`REMEDIES`, one module per
family: ``balance``, ``image``, ``text``, ``audio``, ``transfer``, ``synthetic``), filled by
:func:`register_remedy` when :mod:`~scarce.remedies.catalogue` imports the families (this package
does, so importing any of its modules registers them all).

Example:
    >>> from scarce.remedies import create_remedy
    >>> create_remedy({"name": "augment", "preset": "light"}).name
    'augment'
"""

from scarce.remedies.base import (Baseline, Chain, NoPreview, Remedy, TrainSetup, create_remedy, list_remedies,
                                  register_remedy)
from scarce.remedies.catalogue import REMEDIES

__all__ = ["REMEDIES", "Baseline", "Chain", "NoPreview", "Remedy", "TrainSetup", "create_remedy", "list_remedies",
           "register_remedy"]
