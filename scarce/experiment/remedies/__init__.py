"""The catalogue of remedies a config can name.

Remedy classes live in this package, one file per family (they wrap the libraries in
``scarce.augment``, ``scarce.synth``, ``scarce.balance``, ``scarce.backbones``); they are
registered here lazily, as ``"module:attr"`` strings, so that ``scarce list remedies`` imports
nothing heavy. Add one line per remedy.
"""

from scarce.experiment.setup import REMEDIES

# REMEDIES.register("name", "scarce.experiment.remedies.family:Class", help="one line")
REMEDIES.register("waveform", "scarce.experiment.remedies.audio:Waveform", help="audio: audiomentations preset light/medium/strong per clip")
REMEDIES.register("specaugment", "scarce.experiment.remedies.audio:SpecAugmentRemedy", help="audio: SpecAugment masks (+ warp) on log-mel batches, on device")
