"""The catalogue of remedies a config can name.

Remedy classes live in this package, one file per family (they wrap the libraries in
``scarce.augment``, ``scarce.synth``, ``scarce.balance``, ``scarce.backbones``); they are
registered here lazily, as ``"module:attr"`` strings, so that ``scarce list remedies`` imports
nothing heavy. Add one line per remedy.
"""

from scarce.experiment.setup import REMEDIES

# REMEDIES.register("name", "scarce.experiment.remedies.family:Class", help="one line")
REMEDIES.register("augment", "scarce.experiment.remedies.image_aug:Augment", help="per-sample image augmentation: preset light/medium/strong or randaugment/trivialaugment")
REMEDIES.register("mixup", "scarce.experiment.remedies.image_aug:MixUpRemedy", help="batch MixUp (per-sample lambda, soft targets)")
REMEDIES.register("cutmix", "scarce.experiment.remedies.image_aug:CutMixRemedy", help="batch CutMix (per-sample box, soft targets)")
REMEDIES.register("augment_balance", "scarce.experiment.remedies.image_aug:AugmentBalance", help="oversample minority classes with augmented copies")
