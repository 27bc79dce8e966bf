"""Pretrained backbones for transfer learning: registry + factory, preprocessing, stage-wise
freezing, feature extraction with a disk cache, probes, fine-tuning strategies and the strategy
advisor. Importing this package loads torch (not ``import scarce``); timm loads on first use.
"""

from scarce.backbones.base import Backbone, Collate, DataConfig, Preprocess
from scarce.backbones.registry import BACKBONES, create_backbone, list_backbones

__all__ = ["BACKBONES", "Backbone", "Collate", "DataConfig", "Preprocess", "create_backbone", "list_backbones"]
