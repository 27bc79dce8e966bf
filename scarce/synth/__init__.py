"""Synthetic images: a (class-conditional) DCGAN with DiffAugment, its trainer and quality measures.

Import the submodules (``scarce.synth.dcgan``, ``.diffaugment``, ``.trainer``, ``.quality``);
this package imports nothing heavy by itself.
"""
