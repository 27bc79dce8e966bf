"""``scarce preview``: what each remedy of a recipe does to a handful of the user's training
examples, through the same code path and seeds as the ablation, without training.

* :mod:`~scarce.preview.base`: :class:`Block`, :class:`PreviewContext` and ``PREVIEWS``,
  the makers keyed by the part of the setup a remedy changes;
* :mod:`~scarce.preview.run`: the cell's setup and each row's remedy applied to it
  (:func:`preview_config`);
* the makers: ``rows`` (training rows), ``samples`` (per-sample and batch transforms, the model's
  input), ``balance`` (sampler, per-class loss and model terms), drawn by ``draw``; how each
  modality's examples look is its :mod:`~scarce.preview.display` (image grids, text tables, log-mels);
* :mod:`~scarce.preview.page`: ``preview.html`` and its PNGs (:func:`write_preview`).

Example:
    >>> from scarce.experiment.config import ExperimentConfig
    >>> p = preview_config(ExperimentConfig(sizes=[5], seeds=[0], remedies=["baseline", "balanced_sampler"]))
    >>> [(r.label, [b.title for b in r.blocks]) for r in p.rows]
    [('baseline', ['Training examples']), ('balanced_sampler', ['Sampling'])]
"""

from __future__ import annotations

from scarce.preview.base import PREVIEWS, Block, PreviewContext
from scarce.preview.command import preview_command
from scarce.preview.page import render_page, write_preview
from scarce.preview.run import Preview, RowPreview, preview_config

__all__ = ["PREVIEWS", "Block", "Preview", "PreviewContext", "RowPreview", "preview_command", "preview_config",
           "render_page", "write_preview"]
