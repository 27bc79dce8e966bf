"""The catalogue of remedies a config can name.

Remedy classes live in this package, one file per family (they wrap the libraries in
``scarce.augment``, ``scarce.synth``, ``scarce.balance``, ``scarce.backbones``); they are
registered here lazily, as ``"module:attr"`` strings, so that ``scarce list remedies`` imports
nothing heavy. Add one line per remedy.
"""

from scarce.experiment.setup import REMEDIES

# REMEDIES.register("name", "scarce.experiment.remedies.family:Class", help="one line")
REMEDIES.register("synthetic", "scarce.experiment.remedies.synthetic:Synthetic", help="add class-conditional DCGAN samples fitted on the training subset only")
