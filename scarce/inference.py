"""Inference on a ``LabelledDataset``: the image collate, logits, metrics, the validation score and
exact ("precise") BatchNorm re-estimation; device-agnostic (AMP and ``channels_last`` on CUDA).

Used by the training engine (:mod:`scarce.train`) and by anything
that scores a trained model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scarce._torch import labels_to_tensor, resolve_device
from scarce.data.datasets import LabelledDataset
from scarce.metrics import classification_metrics

IMAGE_MEAN, IMAGE_STD = 0.5, 0.25


def image_collate(batch: Sequence[tuple[Any, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack uint8 HWC images into a float ``(B, C, H, W)`` tensor standardised as
    ``(x/255 - 0.5) / 0.25``; labels become int64 (or float soft targets if given as vectors)."""
    xs = np.stack([np.asarray(x) for x, _ in batch])
    if xs.ndim == 3:
        xs = xs[..., None]
    x = torch.from_numpy(np.ascontiguousarray(xs)).permute(0, 3, 1, 2)
    x = x.float().div_(255.0) if xs.dtype == np.uint8 else x.float()
    ys = [y for _, y in batch]
    y = labels_to_tensor(ys)
    return x.sub_(IMAGE_MEAN).div_(IMAGE_STD), y


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, data: LabelledDataset, *, collate: Callable, device: torch.device,
                        batch_size: int = 256) -> None:
    """Re-estimate BatchNorm running statistics exactly on ``data`` ("precise BN").

    Each BatchNorm layer's input is summed over the whole of ``data`` (forward passes in train
    mode, batch by batch), so the running mean and (unbiased) variance are those of all examples,
    not an average of per-batch estimates weighted by batch rather than by example.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not bns or len(data) == 0:
        return
    sums = {m: [0.0, 0.0, 0] for m in bns}

    def hook(module, inputs):
        x = inputs[0].detach().double().transpose(0, 1).reshape(module.num_features, -1)
        acc = sums[module]
        acc[0], acc[1], acc[2] = acc[0] + x.sum(1), acc[1] + (x * x).sum(1), acc[2] + x.shape[1]

    handles = [m.register_forward_pre_hook(hook) for m in bns]
    was_training = model.training
    model.train()
    try:
        for start in range(0, len(data), batch_size):
            x, _ = collate([data[i] for i in range(start, min(start + batch_size, len(data)))])
            model(to_device(x, device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for m in bns:
        s, ss, n = sums[m]
        mean = s / n
        var = (ss / n - mean * mean).clamp_min(0) * (n / max(n - 1, 1))
        m.running_mean.copy_(mean.to(m.running_mean.dtype))
        m.running_var.copy_(var.to(m.running_var.dtype))


def to_device(x, device: torch.device):
    """A batch (or a model) on ``device``, 4-D batches and convolution weights in ``channels_last``.

    On every device: cuDNN on GPUs and oneDNN on CPUs run convolutions, BatchNorm and pooling
    faster in that layout (a ``small_cnn`` training step on 32 px images: 14.8 ms instead of 25.3 ms
    on one CPU thread, ``benchmarks/stack_step.py``); the arithmetic is the same up to float rounding.
    """
    if isinstance(x, nn.Module):
        return x.to(device).to(memory_format=torch.channels_last)
    x = x.to(device, non_blocking=True)
    if x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


@torch.no_grad()
def predict(model: nn.Module, data: LabelledDataset, *, collate: Callable = image_collate,
            device: str | torch.device = "auto", batch_size: int = 256) -> np.ndarray:
    """Logits of ``model`` on every example of ``data`` (eval mode, AMP on CUDA)."""
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(data), batch_size):
        x, _ = collate([data[i] for i in range(start, min(start + batch_size, len(data)))])
        with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
            out.append(model(to_device(x, device)).float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def evaluate(model: nn.Module, data: LabelledDataset, *, collate: Callable = image_collate,
             device: str | torch.device = "auto") -> dict:
    """Accuracy, balanced accuracy, macro-F1 and per-class recall of ``model`` on ``data``."""
    logits = predict(model, data, collate=collate, device=device)
    return classification_metrics(data.labels, logits.argmax(1), num_classes=data.num_classes)


def fit_score(model, data, collate, device) -> float:
    """Class-balanced accuracy (mean recall over the classes present) of ``model`` on its training data.

    On a class-balanced subset this is the accuracy; on a long-tailed one a model that fits the head
    and ignores the tail does not count as having fit its data (the under-training flag reads this).
    """
    logits = predict(model, data, collate=collate, device=device)
    return classification_metrics(data.labels, logits.argmax(1), num_classes=data.num_classes)["balanced_accuracy"]


def val_score(model, val, collate, device, *, metric: str = "accuracy") -> tuple[float, float]:
    """``(score in metric, -NLL)`` of ``model`` on ``val`` (higher is better in both): the validation
    score model selection compares, ties broken by the NLL.

    ``metric`` is one of ``scarce.metrics.METRICS``; balanced accuracy and macro-F1 average over the
    classes present in ``val`` (:func:`scarce.metrics.classification_metrics`), so a validation part
    missing a class is scored on the others.
    """
    logits = torch.from_numpy(predict(model, val, collate=collate, device=device))
    y = torch.as_tensor(val.labels)
    nll = -float(F.cross_entropy(logits, y))
    if metric == "accuracy":  # float32 as it always was: logged choices and ties stay bit for bit the same
        return float((logits.argmax(1) == y).float().mean()), nll
    pred = logits.argmax(1).numpy()
    return classification_metrics(val.labels, pred, num_classes=logits.shape[1])[metric], nll
