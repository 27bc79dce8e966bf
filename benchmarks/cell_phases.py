"""Where a training cell's time goes: timers wrapped around the engine's pieces (in the calling
process only, restored afterwards) and the FLOPs of the models trained. Used by
``benchmarks/ablation_throughput.py``; see its docstring for what each phase holds.

Each second inside a cell is attributed to exactly one phase: a stack of phases where an *opaque*
phase (:data:`PHASES`) keeps everything nested in it (a collate during validation is validation)
and a *transparent* one (``cell``, ``fit:<Learner>``) hands nested time to the nested phase and
keeps the rest as its own. The timers add a few microseconds per module call.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import time
from collections import defaultdict

PHASES = {  # name -> label; every opaque phase keeps the time of whatever runs inside it
    "data": "data + augmentation (loader, collate, batch transform)", "forward": "forward (training)",
    "backward": "backward", "optimizer": "optimiser step", "validation": "validation + train-accuracy checks",
    "batchnorm": "BatchNorm re-estimation", "test": "test evaluation", "prep": "remedy preparation",
}
EVAL_PHASES = ("validation", "batchnorm", "test")


class PhaseClock:
    """Self time per phase: a stack of ``[name, start, child_seconds]``; an opaque phase (``PHASES``)
    keeps everything nested in it, other phases (``cell``, ``fit:...``) give nested phases their time."""

    def __init__(self, sync=None) -> None:
        self.stack, self.skip, self.sync = [], 0, sync or (lambda: None)
        self.seconds, self.details = defaultdict(float), defaultdict(float)

    def top(self) -> str | None:
        return self.stack[-1][0] if self.stack else None

    def enter(self, name: str) -> None:
        if self.skip or (name != "cell" and (not self.stack or self.top() in PHASES)):
            self.skip += 1  # outside cells, or inside an opaque phase: the outer phase keeps the time
            return
        self.sync()
        self.stack.append([name, time.perf_counter(), 0.0])

    def exit(self) -> None:
        if self.skip:
            self.skip -= 1
            return
        self.sync()
        name, start, child = self.stack.pop()
        elapsed = time.perf_counter() - start
        self.seconds[name] += elapsed - child
        if self.stack:
            self.stack[-1][2] += elapsed

    @contextlib.contextmanager
    def phase(self, name: str):
        self.enter(name)
        try:
            yield
        finally:
            self.exit()

    @contextlib.contextmanager
    def detail(self, name: str):
        """Inclusive time of a part of the data phase (not part of the sum)."""
        inside, start = self.top() == "data", time.perf_counter()
        try:
            yield
        finally:
            if inside:
                self.details[name] += time.perf_counter() - start


class ModelTally:
    """Samples through each top-level model call by context, and one snapshot per model class."""

    def __init__(self, clock: PhaseClock) -> None:
        self.clock, self.depth = clock, 0
        self.samples, self.snapshots = defaultdict(int), {}

    def pre(self, module, args, copies: int = 1) -> None:
        """A model call (``copies`` > 1: a wide stack of that many copies of ``module``)."""
        self.depth += 1
        if self.depth > 1 or not self.clock.stack:
            return
        top = self.clock.top()
        context = top if top in PHASES else "train"
        key = type(module).__qualname__
        x = args[0] if args else None
        if context != "prep" and hasattr(x, "shape") and x.dim() > 0:
            self.samples[key, context] += copies * int(x.shape[0])
            if key not in self.snapshots:
                snapshot = copy.deepcopy(module)
                for m in snapshot.modules():  # hooks of whoever called it (e.g. BatchNorm re-estimation)
                    m._forward_pre_hooks.clear()
                    m._forward_hooks.clear()
                self.snapshots[key] = (snapshot, tuple(a.detach().clone() if hasattr(a, "detach") else a
                                                       for a in args))
        self.clock.enter("forward")

    def post(self, module, args, output) -> None:
        self.depth -= 1
        if self.depth == 0 and self.clock.stack:
            self.clock.exit()


@contextlib.contextmanager
def _patched(owner, name: str, make, missing: list):
    """Replace ``owner.name`` by ``make(original)`` for the block (noted in ``missing`` if absent)."""
    original = getattr(owner, name, None) if owner is not None else None
    if original is None:
        missing.append(f"{getattr(owner, '__qualname__', '?')}.{name}")
        yield
        return
    setattr(owner, name, make(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def _timed(clock: PhaseClock, phase: str | None, detail: str | None = None):
    def make(fn):
        def wrapper(*a, **k):
            with clock.phase(phase) if phase else contextlib.nullcontext(), \
                    clock.detail(detail) if detail else contextlib.nullcontext():
                return fn(*a, **k)
        return wrapper
    return make


def _fit_wrapper(clock: PhaseClock):
    def make(fit):
        def wrapper(*a, **k):
            setup = a[0] if a and hasattr(a[0], "batch_transform") else None  # fit_setup(setup, ...)
            if setup is not None:
                timed = {"collate": _timed(clock, None, "collate")(setup.collate) if setup.collate else None,
                         "batch_transform": _timed(clock, "data", "batch transform")(setup.batch_transform)
                         if setup.batch_transform else None}
                a = (dataclasses.replace(setup, **{n: f for n, f in timed.items() if f is not None}), *a[1:])
            if k.get("collate") is not None:
                k["collate"] = _timed(clock, None, "collate")(k["collate"])
            if k.get("batch_transform") is not None:
                k["batch_transform"] = _timed(clock, "data", "batch transform")(k["batch_transform"])
            return fit(*a, **k)
        return wrapper
    return make


def _stack_call(tally: ModelTally):
    def make(call):
        def wrapper(self, x):
            tally.pre(self.models[0], (x,), copies=len(self.models))
            try:
                return call(self, x)
            finally:
                tally.post(None, None, None)
        return wrapper
    return make


def _clock_fit(clock: PhaseClock):
    def make(fn):
        def wrapper(self, *a, **k):
            with clock.phase(f"fit:{type(self.learner).__name__}"):
                return fn(self, *a, **k)
        return wrapper
    return make


def _looked_up(*candidates: tuple) -> tuple:
    """The first ``(module, name)`` that exists: where a revision's engine looks the function up at
    call time (``scarce.train._val_score`` before 0.1, ``scarce.train.val_score`` after; ``evaluate``
    in ``scarce.train`` before the re-exports were dropped, in ``scarce.inference`` after)."""
    for owner, name in candidates:
        if owner is not None and getattr(owner, name, None) is not None:
            return owner, name
    return candidates[-1]


@contextlib.contextmanager
def instrument(clock: PhaseClock, tally: ModelTally):
    """Wrap the engine's pieces with ``clock`` timers and count model calls in ``tally`` for the
    block (this process only); yields the names of the targets this commit does not have."""
    import torch
    from torch.nn.modules import module as nn_module
    from torch.optim import optimizer as optim_module
    from torch.utils.data import dataloader

    def load(name):
        try:
            return importlib.import_module(name)
        except ImportError:
            return None

    train, inference, cells, steps, selection, checks = (load(f"scarce.{m}") for m in (
        "train", "inference", "experiment.cells", "steps", "experiment.selection", "checkpoints"))
    wide = load("scarce.wide_model") or load("scarce._stack")  # the wide-model trainer (named _stack before 12/2026)
    missing: list[str] = []
    with contextlib.ExitStack() as stack:
        targets = [(cells, "run_task", _timed(clock, "cell")),
                   (*_looked_up((train, "_val_score"), (checks, "val_score")), _timed(clock, "validation")),
                   (*_looked_up((train, "_fit_score"), (checks, "fit_score")), _timed(clock, "validation")),
                   (*_looked_up((checks, "recompute_batchnorm"), (train, "recompute_batchnorm")),
                    _timed(clock, "batchnorm")),
                   (*_looked_up((train, "evaluate"), (inference, "evaluate")), _timed(clock, "test")),
                   (train, next((n for n in ("fit_setup", "fit_points") if hasattr(train, n)), "fit"), _fit_wrapper(clock)),
                   (getattr(steps, "Draws", None), "__getitem__", _timed(clock, None, "per-sample (read + transform)")),
                   (getattr(selection, "_Clock", None), "prepare", _timed(clock, "prep")),
                   (getattr(selection, "_Clock", None), "fit", _clock_fit(clock)),
                   (dataloader._BaseDataLoaderIter, "__next__", _timed(clock, "data")),
                   (torch.Tensor, "backward", _timed(clock, "backward"))]
        if wide is not None:  # a grid trained as one wide model: one model call of G copies
            targets.append((wide.ModelStack, "__call__", _stack_call(tally)))
        for owner, name, make in targets:
            stack.enter_context(_patched(owner, name, make, missing))
        handles = [nn_module.register_module_forward_pre_hook(tally.pre),
                   nn_module.register_module_forward_hook(tally.post, always_call=True),
                   optim_module.register_optimizer_step_pre_hook(lambda *a: clock.enter("optimizer")),
                   optim_module.register_optimizer_step_post_hook(lambda *a: clock.exit())]
        stack.callback(lambda: [h.remove() for h in handles])
        yield missing


def count_flops(tally: ModelTally) -> dict:
    """Forward and forward+backward FLOPs per sample of each snapshot, and the grid's totals."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    per_sample = {}
    for key, (model, args) in tally.snapshots.items():
        batch = int(args[0].shape[0])
        with FlopCounterMode(display=False) as fwd, torch.no_grad():
            model.eval()(*args)
        with FlopCounterMode(display=False) as both:
            out = model.train()(*args)
            if isinstance(out, torch.Tensor) and out.requires_grad:
                out.float().sum().backward()
        per_sample[key] = {"forward": fwd.get_total_flops() / batch, "train": both.get_total_flops() / batch}
    train = sum(n * per_sample[k]["train"] for (k, ctx), n in tally.samples.items() if ctx == "train")
    evals = sum(n * per_sample[k]["forward"] for (k, ctx), n in tally.samples.items() if ctx in EVAL_PHASES)
    return {"per_sample": per_sample, "train_flops": train, "eval_flops": evals,
            "samples": {f"{k}/{ctx}": n for (k, ctx), n in sorted(tally.samples.items())}}
