"""The catalogue of remedies a config can name.

Remedy classes live in this package, one file per family (they wrap the libraries in
``scarce.augment``, ``scarce.synth``, ``scarce.balance``, ``scarce.backbones``); they are
registered here lazily, as ``"module:attr"`` strings, so that ``scarce list remedies`` imports
nothing heavy. Add one line per remedy. ``REMEDIES`` is defined here (and re-exported by
:mod:`scarce.remedies.base`), so that importing either module registers the whole catalogue.
"""

from scarce.registry import Registry

REMEDIES = Registry("remedy")

# REMEDIES.register("name", "scarce.remedies.family:Class", help="one line")
REMEDIES.register("baseline", "scarce.remedies.base:Baseline", help="no remedy: the reference every gain is measured against")
REMEDIES.register("chain", "scarce.remedies.base:chain", help="several remedies in order: {name: chain, remedies: [...]}")
REMEDIES.register("balanced_sampler", "scarce.remedies.balance:BalancedSampler", help="class-balanced sampler (strategy: inverse, sqrt, power(q), effective_number(b))")
REMEDIES.register("oversample", "scarce.remedies.balance:Oversample", help="random over-sampling of the training rows (strategy: auto, ratio, {class: count})")
REMEDIES.register("undersample", "scarce.remedies.balance:Undersample", help="random under-sampling of the training rows (strategy: auto, ratio, {class: count})")
REMEDIES.register("class_weights", "scarce.remedies.balance:ClassWeights", help="cross-entropy with class-balanced weights (inverse or effective number)")
REMEDIES.register("focal", "scarce.remedies.balance:Focal", help="focal loss (gamma)")
REMEDIES.register("logit_adjust", "scarce.remedies.balance:LogitAdjust", help="logit adjustment by tau*log prior, in the loss or post-hoc (mode)")
REMEDIES.register("balanced_softmax", "scarce.remedies.balance:BalancedSoftmax", help="Balanced Softmax: cross-entropy on logits + log prior")
REMEDIES.register("drw", "scarce.remedies.balance:DRW", help="deferred re-weighting: class-balanced weights from `start` of training on")
REMEDIES.register("crt", "scarce.remedies.balance:CRT", help="classifier re-training: freeze features at `start`, retrain the head class-balanced")
REMEDIES.register("augment", "scarce.remedies.image:Augment", help="per-sample image augmentation: preset light/medium/strong or randaugment/trivialaugment")
REMEDIES.register("mixup", "scarce.remedies.image:MixUpRemedy", help="batch MixUp (per-sample lambda, soft targets)")
REMEDIES.register("cutmix", "scarce.remedies.image:CutMixRemedy", help="batch CutMix (per-sample box, soft targets)")
REMEDIES.register("augment_balance", "scarce.remedies.image:AugmentBalance", help="oversample minority classes with augmented copies")
REMEDIES.register("linear_probe", "scarce.remedies.transfer:LinearProbe", help="frozen pretrained features (disk-cached) + linear head")
REMEDIES.register("finetune", "scarce.remedies.transfer:Finetune", help="fine-tune a pretrained backbone (last n stages or all) at a lower rate")
REMEDIES.register("truncate", "scarce.remedies.transfer:truncate", help="only the first n stages of a pretrained backbone + new head")
REMEDIES.register("gradual_unfreeze", "scarce.remedies.transfer:gradual_unfreeze", help="head first, then one more pretrained stage every k steps")
REMEDIES.register("eda", "scarce.remedies.text:EDARemedy", help="text: EDA (synonym replace/insert, swap, delete) expansion, offline WordNet")
REMEDIES.register("aeda", "scarce.remedies.text:AEDARemedy", help="text: AEDA (random punctuation insertion) expansion")
REMEDIES.register("char_noise", "scarce.remedies.text:CharNoiseRemedy", help="text: keyboard/OCR/random character-noise expansion (nlpaug)")
REMEDIES.register("duplicate", "scarce.remedies.text:Duplicate", help="control: the training rows repeated as often as an expansion remedy adds rows")
REMEDIES.register("sentence_encoder", "scarce.remedies.text:SentenceEncoderRemedy", help="text: frozen all-MiniLM-L6-v2 embeddings + linear head (cached)")
REMEDIES.register("waveform", "scarce.remedies.audio:Waveform", help="audio: audiomentations preset light/medium/strong per clip")
REMEDIES.register("specaugment", "scarce.remedies.audio:SpecAugmentRemedy", help="audio: SpecAugment masks (+ warp) on log-mel batches, on device")
REMEDIES.register("synthetic", "scarce.remedies.synthetic:Synthetic", help="add class-conditional DCGAN samples fitted on the training subset only (share: their fraction of every batch)",
                  preflight={"steps": 1, "cache_dir": None})
REMEDIES.register("synthetic_control", "scarce.remedies.synthetic_control:SyntheticControl", help="control for `synthetic`: as many augmented copies of the real images, at the same share of every batch")
