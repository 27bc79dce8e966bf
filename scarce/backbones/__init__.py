"""Pretrained backbones and frozen encoders (feature extraction with caches)."""
