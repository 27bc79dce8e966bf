"""The catalogue of remedies a config can name.

Remedy classes live in this package, one file per family (they wrap the libraries in
``scarce.augment``, ``scarce.synth``, ``scarce.balance``, ``scarce.backbones``); they are
registered here lazily, as ``"module:attr"`` strings, so that ``scarce list remedies`` imports
nothing heavy. Add one line per remedy.
"""

from scarce.experiment.setup import REMEDIES

# REMEDIES.register("name", "scarce.experiment.remedies.family:Class", help="one line")
REMEDIES.register("eda", "scarce.experiment.remedies.text:EDARemedy", help="text: EDA (synonym replace/insert, swap, delete) expansion, offline WordNet")
REMEDIES.register("aeda", "scarce.experiment.remedies.text:AEDARemedy", help="text: AEDA (random punctuation insertion) expansion")
REMEDIES.register("char_noise", "scarce.experiment.remedies.text:CharNoiseRemedy", help="text: keyboard/OCR/random character-noise expansion (nlpaug)")
REMEDIES.register("duplicate", "scarce.experiment.remedies.text:Duplicate", help="control: the training rows repeated as often as an expansion remedy adds rows")
REMEDIES.register("sentence_encoder", "scarce.experiment.remedies.text:SentenceEncoderRemedy", help="text: frozen all-MiniLM-L6-v2 embeddings + linear head (cached)")
