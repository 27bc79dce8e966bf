"""Training engine: ``fit`` / ``predict`` / ``evaluate`` for any ``nn.Module``, device-agnostic.

Fair baselines are the point of this module:

* every run trains for the same number of optimisation **steps** (a remedy that only adds copies
  of the data gets no extra updates);
* after training (and before every validation check) BatchNorm running statistics are recomputed
  on the **clean** training subset, since with 10-50 examples per class the running averages
  collected during training are stale and cost several points;
* ``fit_tuned`` picks learning rate and weight decay from the same grid on the validation split
  for every remedy, and keeps the best validation checkpoint;
* ``fit(..., stop_at=s)`` trains on the same schedule but keeps the model after step ``s`` (a step
  count chosen by cross-validation, see ``scarce.experiment.selection``);
* every run reports a :meth:`FitResult.summary` (final training loss and accuracy on the clean
  subset, where validation peaked, whether it was still rising late) so that an under-trained
  baseline is visible.

On CUDA, training uses AMP (float16 autocast + GradScaler) and ``channels_last``; on CPU neither.
Randomness comes from ``seed`` only: the global RNG state is forked and restored.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scarce._checks import check_choice, check_float, check_int
from scarce._torch import labels_to_tensor, resolve_device  # resolve_device re-exported
from scarce.data.datasets import LabelledDataset
from scarce.metrics import classification_metrics
from scarce.steps import Draws, StepBatches, cosine_with_warmup

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


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run.

    Attributes:
        steps: optimisation steps (the same for every remedy in a cell).
        batch_size: examples per step (capped at the training-set size).
        optimizer: ``"adamw"`` or ``"sgd"`` (momentum 0.9, Nesterov); cosine schedule.
        lr, weight_decay: for ``fit``; ``fit_tuned`` takes grids instead.
        warmup: share of steps with a linear warm-up.
        eval_every: validation check period in steps (also at the last step).
        patience: stop after this many checks without improvement (``None``: run all steps).
        recompute_bn: recompute BatchNorm statistics on the clean training data.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        num_workers: DataLoader workers for the per-sample transform.
    """

    steps: int = 300
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: float = 0.05
    eval_every: int = 50
    patience: int | None = None
    recompute_bn: bool = True
    device: str = "auto"
    num_workers: int = 0

    def __post_init__(self) -> None:
        check_int("steps", self.steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_choice("optimizer", self.optimizer, ("adamw", "sgd"))
        check_float("lr", self.lr, low=0.0, low_inclusive=False)
        check_float("weight_decay", self.weight_decay, low=0.0)
        check_float("warmup", self.warmup, low=0.0, high=1.0, high_inclusive=False)
        check_int("eval_every", self.eval_every, minimum=1)
        if self.patience is not None:
            check_int("patience", self.patience, minimum=1)
        check_int("num_workers", self.num_workers, minimum=0)


@dataclass
class FitResult:
    """The trained model (best validation checkpoint) and how it was chosen.

    Attributes:
        model: the kept model (eval mode).
        best_step: the step of the kept model.
        val_score: ``(accuracy, -NLL)`` on the validation data at ``best_step`` (``None`` without).
        lr, weight_decay: the point trained with.
        history: one entry per check: ``step``, ``loss`` (mean training loss since the previous
            check) and, with validation data, ``val_accuracy`` and ``val_nll``.
        steps: optimisation steps actually run (``stop_at`` or patience may end a run early).
        train_accuracy: accuracy of the kept model on the clean training data (eval mode).
        last_train_accuracy: the same for the model at the last step run: a model that fits its
            training data by the end but was kept from an early checkpoint is not under-trained.
    """

    model: nn.Module
    best_step: int
    val_score: tuple[float, float] | None
    lr: float
    weight_decay: float
    history: list[dict] = field(default_factory=list)
    steps: int = 0
    train_accuracy: float | None = None
    last_train_accuracy: float | None = None

    @property
    def summary(self) -> dict:
        """``steps``, ``best_step``, ``final_train_loss``, ``train_accuracy``, ``last_train_accuracy``,
        ``val_improving_late``."""
        return {"steps": self.steps, "best_step": self.best_step,
                "final_train_loss": self.history[-1]["loss"] if self.history else None,
                "train_accuracy": self.train_accuracy, "last_train_accuracy": self.last_train_accuracy,
                "val_improving_late": still_improving(self.history, best_step=self.best_step, steps=self.steps)}


def still_improving(checks: Sequence[dict], *, best_step: int, steps: int) -> bool | None:
    """Whether validation accuracy was still rising at the end of a run.

    True when the best check (``best_step``) lies in the last quarter of ``steps`` and its
    ``val_accuracy`` is higher than that of every check before it (a plateau whose NLL still
    creeps down is not "rising"); ``None`` when ``checks`` hold no validation score.

    Example:
        >>> still_improving([{"step": 5, "val_accuracy": .5}, {"step": 10, "val_accuracy": .8}],
        ...                 best_step=10, steps=10)
        True
    """
    scored = [c for c in checks if c.get("val_accuracy") is not None]
    best = next((c for c in scored if c["step"] == best_step), None)
    if best is None:
        return None
    return best_step > 0.75 * steps and all(c["val_accuracy"] < best["val_accuracy"] for c in scored
                                            if c["step"] < best_step)


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
            model(_to_device(x, device))
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


def _to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    if device.type == "cuda" and x.dim() == 4:
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
            out.append(model(_to_device(x, device)).float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def evaluate(model: nn.Module, data: LabelledDataset, *, collate: Callable = image_collate,
             device: str | torch.device = "auto") -> dict:
    """Accuracy, balanced accuracy, macro-F1 and per-class recall of ``model`` on ``data``."""
    logits = predict(model, data, collate=collate, device=device)
    return classification_metrics(data.labels, logits.argmax(1), num_classes=data.num_classes)


def _val_score(model, val, collate, device) -> tuple[float, float]:
    logits = torch.from_numpy(predict(model, val, collate=collate, device=device))
    y = torch.as_tensor(val.labels)
    return float((logits.argmax(1) == y).float().mean()), -float(F.cross_entropy(logits, y))


def fit(
    model_fn: Callable[[], nn.Module],
    train: LabelledDataset,
    *,
    config: TrainConfig,
    seed: int,
    val: LabelledDataset | None = None,
    bn_data: LabelledDataset | None = None,
    transform: Callable | None = None,
    batch_transform: Callable | None = None,
    sampler: Any = None,
    loss_fn: Callable | None = None,
    collate: Callable = image_collate,
    param_groups_fn: Callable[[nn.Module], list] | None = None,
    stop_at: int | None = None,
) -> FitResult:
    """Train ``model_fn()`` on ``train`` for ``config.steps`` steps and return the best checkpoint.

    Args:
        model_fn: builds a fresh model (called under ``seed``).
        train: training data (possibly with remedy additions).
        config: a :class:`TrainConfig`.
        seed: seeds initialisation, order, dropout and augmentation draws.
        val: validation data; without it the last step is kept.
        bn_data: clean data for BatchNorm re-estimation (defaults to ``train``).
        transform: per-sample ``transform(x, rng=np.random.Generator) -> x``.
        batch_transform: ``batch_transform(x, y, generator=torch.Generator) -> (x, y)`` on device.
        sampler: an iterable of indices into ``train`` (``set_epoch`` is called if present).
        loss_fn: ``loss_fn(logits, targets) -> scalar``; default cross-entropy (soft targets ok).
            If it has ``set_progress(fraction)``, that is called before every step with
            ``(step - 1) / config.steps`` (schedules such as deferred re-weighting).
        collate: turns a list of ``(x, y)`` into tensors.
        param_groups_fn: ``model -> list of param groups`` (e.g. discriminative rates); default all
            trainable parameters. A group's ``lr_scale`` sets its rate to ``lr_scale * config.lr``.
        stop_at: end training after this step (1..``config.steps``) on the unchanged
            ``config.steps`` schedule; BatchNorm is re-estimated on ``bn_data`` there and, without
            ``val``, that model is kept.

    Returns:
        A :class:`FitResult`; its ``summary`` describes how far training got.

    Raises:
        ValueError: empty ``train``, ``stop_at`` outside 1..``config.steps``.

    Example:
        >>> from scarce.data import load_dataset
        >>> from scarce.models import create_model
        >>> b = load_dataset("digits")
        >>> r = fit(lambda: create_model("small_cnn", num_classes=10, in_channels=1, image_size=8),
        ...         b.train, config=TrainConfig(steps=2), seed=0)
        >>> r.best_step
        2
    """
    if len(train) == 0:
        raise ValueError("`train` must hold at least one example.")
    last = config.steps if stop_at is None else check_int("stop_at", stop_at, minimum=1, maximum=config.steps)
    device = resolve_device(config.device)
    bn_data = train if bn_data is None else bn_data
    loss_fn = loss_fn or F.cross_entropy
    progress_hook = getattr(loss_fn, "set_progress", None)
    batch = min(config.batch_size, len(train))
    cuda_ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_ids):
        torch.manual_seed(seed)
        model = model_fn().to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        params = param_groups_fn(model) if param_groups_fn else [p for p in model.parameters() if p.requires_grad]
        if config.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay, momentum=0.9, nesterov=True)
        for group in opt.param_groups:  # relative rates (discriminative fine-tuning): lr_scale × lr
            if "lr_scale" in group:
                group["lr"] = config.lr * float(group["lr_scale"])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_with_warmup(config.steps, config.warmup))
        scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
        gen = torch.Generator(device=device).manual_seed(seed)
        loader = torch.utils.data.DataLoader(
            Draws(train, transform, seed),
            batch_sampler=StepBatches(len(train), steps=config.steps, batch_size=batch, seed=seed, sampler=sampler),
            collate_fn=collate, num_workers=config.num_workers, pin_memory=device.type == "cuda",
        )
        best, best_state, best_step, history, stale = None, None, last, [], 0
        period_loss, period_n, step = 0.0, 0, 0
        model.train()
        for step, (x, y) in enumerate(loader, start=1):
            x, y = _to_device(x, device), y.to(device)
            if progress_hook is not None:
                progress_hook((step - 1) / config.steps)
            if batch_transform is not None:
                x, y = batch_transform(x, y, generator=gen)
            with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
                loss = loss_fn(model(x), y)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"Training loss became {loss.item()} at step {step}; lower the learning rate.")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            period_loss, period_n = period_loss + float(loss.detach()), period_n + 1
            if step % config.eval_every and step != last:
                continue
            if config.recompute_bn:
                recompute_batchnorm(model, bn_data, collate=collate, device=device)
            entry = {"step": step, "loss": period_loss / period_n}
            period_loss, period_n = 0.0, 0
            if val is not None and len(val):
                score = _val_score(model, val, collate, device)
                entry["val_accuracy"], entry["val_nll"] = score[0], -score[1]
                if best is None or score >= best:
                    best, best_step, stale = score, step, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    stale += 1
            else:
                best_step = step
            history.append(entry)
            if step == last or (config.patience is not None and stale >= config.patience):
                break
        hard_labels = len(bn_data) and np.ndim(bn_data.labels) == 1
        last_accuracy = None
        if best_state is not None and best_step != step and hard_labels:
            last_accuracy = _val_score(model, bn_data, collate, device)[0]  # did it fit by the end?
        if best_state is not None:
            model.load_state_dict(best_state)
    model.eval()
    train_accuracy = _val_score(model, bn_data, collate, device)[0] if hard_labels else None
    return FitResult(model, best_step, best, config.lr, config.weight_decay, history, steps=step,
                     train_accuracy=train_accuracy,
                     last_train_accuracy=train_accuracy if last_accuracy is None else last_accuracy)


def fit_tuned(model_fn, train, *, config: TrainConfig, lrs: Sequence[float], weight_decays: Sequence[float],
              seed: int, val: LabelledDataset | None = None, **kwargs) -> FitResult:
    """Run :func:`fit` for every (lr, weight decay) in the grid and keep the best on ``val``.

    Every remedy is tuned on the same grid and the same validation split, so no remedy wins
    because the baseline was trained with a poor learning rate. Without a validation split the
    grid must hold one point.
    """
    grid = list(itertools.product(lrs, weight_decays))
    if not grid:
        raise ValueError("`lrs` and `weight_decays` must each hold at least one value.")
    if (val is None or len(val) == 0) and len(grid) > 1:
        raise ValueError(f"A grid of {len(grid)} (lr, weight_decay) points needs a validation split; got none.")
    best = None
    for lr, wd in grid:
        result = fit(model_fn, train, config=replace(config, lr=lr, weight_decay=wd), seed=seed, val=val, **kwargs)
        if best is None or (result.val_score is not None and result.val_score > best.val_score):
            best = result
    return best
