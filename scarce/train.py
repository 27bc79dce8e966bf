"""Training engine: ``fit`` / ``fit_points`` / ``fit_tuned`` for any ``nn.Module``, device-agnostic
(``predict`` / ``evaluate`` / ``image_collate`` live in :mod:`scarce.inference`).

Fair baselines are the point of this module:

* every run trains for the same number of optimisation **steps** (a remedy that only adds copies
  of the data gets no extra updates);
* after training (and before every validation check) BatchNorm running statistics are recomputed
  on the **clean** training subset, since with 10-50 examples per class the running averages
  collected during training are stale and cost several points;
* ``fit_tuned`` picks learning rate and weight decay from the same grid on the validation split
  for every remedy, and keeps the best validation checkpoint; ``fit_points`` trains the points of
  such a grid together, as one wide model over the same batches (:mod:`scarce.wide_model`), so a
  grid of six costs far less than six runs;
* ``fit(..., stop_at=s)`` trains on the same schedule but keeps the model after step ``s`` (a step
  count chosen by cross-validation, see ``scarce.experiment.selection``);
* every run reports a :meth:`FitResult.summary` (final training loss and accuracy on the clean
  subset, where validation peaked, whether it was still rising late) so that an under-trained
  baseline is visible.

On CUDA, training uses AMP (float16 autocast + GradScaler); image batches and convolution weights
are ``channels_last`` on every device (faster convolutions and pooling on CPU and GPU alike).
Randomness comes from ``seed`` only: the global RNG state is forked and restored.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from scarce._checks import check_choice, check_float, check_int
from scarce.wide_model import ModelStack, stackable
from scarce._torch import resolve_device
from scarce.data.datasets import LabelledDataset
from scarce.checkpoints import FitResult, Track
from scarce.consistency import unlabelled_term
from scarce.inference import image_collate, to_device
from scarce.metrics import METRICS
from scarce.steps import Draws, StepBatches, cosine_with_warmup
from scarce.train_setup import TrainSetup


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
        select_by: the metric of the validation score that keeps the best checkpoint
            (``scarce.metrics.METRICS``; ties broken by the lower NLL).
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
    select_by: str = "accuracy"

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
        check_choice("select_by", self.select_by, METRICS)


_SHARED = ("steps", "batch_size", "optimizer", "warmup", "eval_every", "patience", "recompute_bn", "device",
           "num_workers", "select_by")


def _optimizer(models: Sequence[nn.Module], configs: Sequence[TrainConfig], param_groups_fn) -> torch.optim.Optimizer:
    """One optimiser over every copy: each copy's groups carry its point's rate and decay."""
    groups = []
    for model, config in zip(models, configs):
        parts = param_groups_fn(model) if param_groups_fn else [p for p in model.parameters() if p.requires_grad]
        parts = parts if parts and isinstance(parts[0], dict) else [{"params": parts}]
        for part in parts:  # a group's own settings win; relative rates (discriminative fine-tuning): lr_scale × lr
            group = {"lr": config.lr, "weight_decay": config.weight_decay, **part}
            if "lr_scale" in part:
                group["lr"] = config.lr * float(part["lr_scale"])
            groups.append(group)
    config = configs[0]  # foreach on CPU too: one pass per group, the same arithmetic bit for bit (tests/test_stack.py)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    return torch.optim.SGD(groups, lr=config.lr, weight_decay=config.weight_decay, momentum=0.9, nesterov=True,
                           foreach=True)


def fit(model_fn: Callable[[], nn.Module], train: LabelledDataset, *, config: TrainConfig, seed: int,
        **kwargs: Any) -> FitResult:
    """Train ``model_fn()`` on ``train`` for ``config.steps`` steps and return the best checkpoint.

    The keyword arguments are those of :func:`fit_points` (``val``, ``bn_data``, ``transform``,
    ``batch_transform``, ``sampler``, ``loss_fn``, ``collate``, ``param_groups_fn``, ``stop_at``,
    ``select_from``).

    Example:
        >>> from scarce.data import load_dataset
        >>> from scarce.models import create_model
        >>> b = load_dataset("digits")
        >>> r = fit(lambda: create_model("small_cnn", num_classes=10, in_channels=1, image_size=8),
        ...         b.train, config=TrainConfig(steps=2), seed=0)
        >>> r.best_step
        2
    """
    return fit_points(model_fn, train, configs=[config], seed=seed, **kwargs)[0]


def fit_points(
    model_fn: Callable[[], nn.Module],
    train: LabelledDataset,
    *,
    configs: Sequence[TrainConfig],
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
    select_from: float = 0.0,
    stack: bool = True,
) -> list[FitResult]:
    """Train one copy of ``model_fn()`` per config (the points of a grid) and return each best checkpoint.

    The configs may differ in ``lr`` and ``weight_decay`` only. Every copy starts from the same
    initialisation and sees the same batches and augmentation draws, as separate runs with the
    same ``seed`` would. With two or more configs (and ``stack``) the copies are trained together
    as one wide model (:class:`scarce.wide_model.ModelStack`), so data work and per-step overhead are
    paid once and the kernels run on larger tensors; dropout then draws its masks per copy. A model
    the stack cannot run (:func:`scarce.wide_model.stackable`: not a plain ``nn.Sequential`` of known
    layers) is trained point by point; both agree up to float rounding. On CUDA the points share
    one gradient scaler: a step whose float16 gradients overflow is skipped for every point, where
    separate runs would skip it for that point only.

    Args:
        model_fn: builds a fresh model (called under ``seed``).
        train: training data (possibly with remedy additions).
        configs: one :class:`TrainConfig` per point.
        seed: seeds initialisation, order, dropout and augmentation draws.
        val: validation data; without it the last step is kept.
        bn_data: clean data for BatchNorm re-estimation (defaults to ``train``).
        transform: per-sample ``transform(x, rng=np.random.Generator) -> x``.
        batch_transform: ``batch_transform(x, y, generator=torch.Generator) -> (x, y)`` on device.
        sampler: an iterable of indices into ``train``; ``set_epoch`` is called before each epoch
            (it must make the order a function of the epoch: points trained one after another share it).
        loss_fn: ``loss_fn(logits, targets) -> scalar``; default cross-entropy (soft targets ok).
            If it has ``set_progress(fraction)``, that is called before every step with
            ``(step - 1) / steps`` (schedules such as deferred re-weighting).
        collate: turns a list of ``(x, y)`` into tensors.
        param_groups_fn: ``model -> list of param groups`` (e.g. discriminative rates); default all
            trainable parameters. A group's ``lr_scale`` sets its rate to ``lr_scale * lr``.
        stop_at: end training after this step (1..``steps``) on the unchanged ``steps`` schedule;
            BatchNorm is re-estimated on ``bn_data`` there and, without ``val``, that model is kept.
        select_from: no checkpoint before this share of ``steps`` is kept (its checks are in the
            history with ``selectable: False``); the last step always may be.
        stack: train two or more points as one wide model where possible (False: one after the other).

    Returns:
        One :class:`FitResult` per config, in order; each ``summary`` describes how far training got.

    Raises:
        ValueError: empty ``train`` or ``configs``, configs differing in more than ``lr`` and
            ``weight_decay``, ``stop_at`` outside 1..``steps``.
    """
    if len(train) == 0:
        raise ValueError("`train` must hold at least one example.")
    setup = TrainSetup(train=train, num_classes=train.num_classes, model_fn=lambda _: model_fn(), transform=transform,
                       batch_transform=batch_transform, loss_fn=loss_fn, collate=collate,
                       param_groups_fn=param_groups_fn, clean_train=bn_data, select_from=select_from)
    return _fit(setup, sampler=sampler, configs=configs, seed=seed, val=val, stop_at=stop_at, stack=stack)


def fit_setup(setup: TrainSetup, *, configs: Sequence[TrainConfig], seed: int, val: LabelledDataset | None = None,
              stop_at: int | None = None, stack: bool = True) -> list[FitResult]:
    """Train what a remedy produced: :func:`fit_points` on ``setup`` (its model, data, transforms,
    sampler, loss, collate, parameter groups, clean data for BatchNorm and ``select_from``), plus its
    unlabelled term when it has one (``setup.consistency``, :mod:`scarce.consistency`): every step
    then also draws ``ratio`` × batch examples of ``setup.unlabelled``, forwards their weak and strong
    views with the labelled batch (the batch transform acts on the labelled part only) and adds the
    term to each point's loss; each result's ``notes`` say what share of them counted.

    Example:
        >>> from scarce.data import load_dataset
        >>> from scarce.models import create_model
        >>> train = load_dataset("digits").train
        >>> setup = TrainSetup(train=train, num_classes=10, model_fn=lambda n: create_model(
        ...     "small_cnn", num_classes=n, in_channels=1, image_size=8))
        >>> [r.best_step for r in fit_setup(setup, configs=[TrainConfig(steps=2)], seed=0)]
        [2]
    """
    if len(setup.train) == 0:
        raise ValueError("`setup.train` must hold at least one example.")
    sampler = setup.sampler_fn(setup.train.labels, seed=seed) if setup.sampler_fn is not None else None
    return _fit(setup, sampler=sampler, configs=configs, seed=seed, val=val, stop_at=stop_at, stack=stack)


def _fit(setup: TrainSetup, *, sampler: Any, configs: Sequence[TrainConfig], seed: int, val: LabelledDataset | None,
         stop_at: int | None, stack: bool) -> list[FitResult]:
    configs = list(configs)
    if not configs:
        raise ValueError("`configs` must hold at least one TrainConfig.")
    config = configs[0]
    for i, c in enumerate(configs[1:], start=1):
        differ = [k for k in _SHARED if getattr(c, k) != getattr(config, k)]
        if differ:
            raise ValueError(f"`configs[{i}]` differs from `configs[0]` in {differ}; the points of a grid may "
                             "differ in lr and weight_decay only.")
    last = config.steps if stop_at is None else check_int("stop_at", stop_at, minimum=1, maximum=config.steps)
    first = min(last, int(check_float("select_from", setup.select_from, low=0.0, high=1.0) * config.steps) + 1)
    results = _train(setup, sampler, configs=configs, seed=seed, last=last, first=first, stack=stack, val=val)
    if results is None:  # a model the stack cannot run: point by point
        return [_fit(setup, sampler=sampler, configs=[c], seed=seed, val=val, stop_at=stop_at, stack=stack)[0]
                for c in configs]
    return results


def _train(setup: TrainSetup, sampler: Any, *, configs, seed, last, first, stack, val) -> list[FitResult] | None:
    """The training loop for one or more points (``None``: several points and a model that cannot be stacked)."""
    config, train = configs[0], setup.train
    device = resolve_device(config.device)
    bn_data = train if setup.clean_train is None else setup.clean_train
    loss_fn, collate, batch_transform = setup.loss_fn or F.cross_entropy, setup.collate or image_collate, setup.batch_transform
    progress_hook = getattr(loss_fn, "set_progress", None)
    batch = min(config.batch_size, len(train))
    cuda_ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    done = dict(bn_data=bn_data, collate=collate, device=device)
    with torch.random.fork_rng(devices=cuda_ids):
        torch.manual_seed(seed)
        model = setup.model_fn(setup.num_classes)
        if len(configs) > 1 and not (stack and stackable(model)):
            return None
        model = to_device(model, device)
        models = [model] + [copy.deepcopy(model) for _ in configs[1:]]
        tracks = [Track(m, c, last, first) for m, c in zip(models, configs)]
        forward = ModelStack(models) if len(models) > 1 else (lambda x: model(x)[None])
        opt = _optimizer(models, configs, setup.param_groups_fn)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_with_warmup(config.steps, config.warmup))
        scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
        gen = torch.Generator(device=device).manual_seed(seed)
        loader = torch.utils.data.DataLoader(
            Draws(train, setup.transform, seed),
            batch_sampler=StepBatches(len(train), steps=config.steps, batch_size=batch, seed=seed, sampler=sampler),
            collate_fn=collate, num_workers=config.num_workers, pin_memory=device.type == "cuda",
        )
        term = unlabelled_term(setup, steps=config.steps, batch=batch, seed=seed, collate=collate, copies=len(models),
                               num_workers=config.num_workers, pin_memory=device.type == "cuda")
        views = iter(term) if term is not None else None
        step = 0
        for m in models:
            m.train()
        for step, (x, y) in enumerate(loader, start=1):
            x, y = to_device(x, device), y.to(device)
            if progress_hook is not None:
                progress_hook((step - 1) / config.steps)
            if batch_transform is not None:  # the labelled batch only
                x, y = batch_transform(x, y, generator=gen)
            with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
                if term is None:
                    logits = forward(x)
                    losses = [loss_fn(logits[g], y) for g in range(len(models))]
                else:  # labelled + weak + strong views in one forward where shapes allow
                    logits, extra = term.losses(forward, x, *(to_device(v, device) for v in next(views)))
                    losses = [loss_fn(logits[g], y) + extra[g] for g in range(len(models))]
            for loss in losses:
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"Training loss became {loss.item()} at step {step}; "
                                             "lower the learning rate.")
            opt.zero_grad(set_to_none=True)
            scaler.scale(losses[0] if len(losses) == 1 else torch.stack(losses).sum()).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            for track, loss in zip(tracks, losses):
                track.loss, track.n = track.loss + float(loss.detach()), track.n + 1
            if step % config.eval_every and step != last:
                continue
            for track in tracks:
                if track.result is None and track.check(step, val=val, **done):
                    track.finish(step, detach=len(models) > 1 and step != last, **done)
            if all(t.result is not None for t in tracks):
                break
        for track in tracks:
            if track.result is None:
                track.finish(step, detach=False, **done)
    if term is not None:  # the share of unlabelled examples that counted, up to each point's last step
        for g, track in enumerate(tracks):
            track.result.notes.update(term.notes(g, steps=track.result.steps))
    return [t.result for t in tracks]


def fit_tuned(model_fn, train, *, config: TrainConfig, lrs: Sequence[float], weight_decays: Sequence[float],
              seed: int, val: LabelledDataset | None = None, **kwargs) -> FitResult:
    """Train every (lr, weight decay) of the grid (together, see :func:`fit_points`) and keep the best on ``val``.

    Every remedy is tuned on the same grid and the same validation split, so no remedy wins
    because the baseline was trained with a poor learning rate. Without a validation split the
    grid must hold one point.
    """
    grid = list(itertools.product(lrs, weight_decays))
    if not grid:
        raise ValueError("`lrs` and `weight_decays` must each hold at least one value.")
    if (val is None or len(val) == 0) and len(grid) > 1:
        raise ValueError(f"A grid of {len(grid)} (lr, weight_decay) points needs a validation split; got none.")
    results = fit_points(model_fn, train, configs=[replace(config, lr=lr, weight_decay=wd) for lr, wd in grid],
                         seed=seed, val=val, **kwargs)
    return max(results, key=lambda r: r.val_score or ())  # the first of equals
