"""The catalogue of remedies a config can name.

Remedy classes live in this package, one file per family (they wrap the libraries in
``scarce.augment``, ``scarce.synth``, ``scarce.balance``, ``scarce.backbones``); they are
registered here lazily, as ``"module:attr"`` strings, so that ``scarce list remedies`` imports
nothing heavy. Add one line per remedy.
"""

from scarce.experiment.setup import REMEDIES

# REMEDIES.register("name", "scarce.experiment.remedies.family:Class", help="one line")
REMEDIES.register("linear_probe", "scarce.experiment.remedies.transfer:LinearProbe", help="frozen pretrained features (disk-cached) + linear head")
REMEDIES.register("finetune", "scarce.experiment.remedies.transfer:Finetune", help="fine-tune a pretrained backbone (last n stages or all) at a lower rate")
REMEDIES.register("truncate", "scarce.experiment.remedies.transfer:truncate", help="only the first n stages of a pretrained backbone + new head")
REMEDIES.register("gradual_unfreeze", "scarce.experiment.remedies.transfer:gradual_unfreeze", help="head first, then one more pretrained stage every k steps")
