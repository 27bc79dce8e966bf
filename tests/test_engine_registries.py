"""Contract tests over the engine's registries: selection strategies (``SELECTIONS``), executors
(``EXECUTORS``), preview makers (``PREVIEWS``) and the parts of a model card (``deliver.parts.PARTS``).

Each test is parametrised over the registry's names, so a new entry is collected automatically;
where an entry needs its own inputs (an executor's options, a remedy that changes the part a
preview maker is keyed on, a remedy that builds a card part) a registered name without a case
fails ``test_every_*_has_a_case``. The other registries are covered in test_registry_contracts.py
(datasets, models, remedies, backbones, reference learners) and test_augment_contract.py.
"""

import copy
import dataclasses
import json
import operator
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from fixtures import ROWS, SPECS, tiny_backbone, tiny_setup, tiny_transfer_backbones
from scarce.data import ArrayDataset
from scarce.data.datasets import Subset
from scarce.deliver.parts import PARTS as CARD_PARTS
from scarce.deliver.parts import check_deliverable, describe
from scarce.executors.local import EXECUTORS, create_executor
from scarce.experiment.config import RunSection
from scarce.experiment.selection import SELECTIONS, Learner, Selected, create_selection, grid_points
from scarce.inference import image_collate
from scarce.preview.base import PREVIEWS, Block, PreviewContext, pick_examples
from scarce.preview.run import apply_for_preview, changed_parts
from scarce.remedies.base import create_remedy
from scarce.remedies.composition import PARTS as SETUP_PARTS
from scarce.remedies.composition import combine


@pytest.fixture(scope="module", autouse=True)
def _cheap():
    with tiny_transfer_backbones():
        yield


# ------------------------------------------------------------------------------------ selections
def _positions(ds) -> frozenset:
    """Positions of a (nested) Subset's rows in the underlying dataset."""
    idx = np.arange(len(ds))
    while isinstance(ds, Subset):
        idx, ds = ds.indices[idx], ds.base
    return frozenset(idx.tolist())


@dataclass
class _Fit:
    call: tuple
    history: list
    val_score: tuple | None
    summary: dict


class GridLearner(Learner):
    """A learner whose validation accuracy peaks at ``lr=0.1`` and step 20 on any rows, plus a
    little noise drawn from the seed and the validation rows; it records every call."""

    axes = {"lr": [0.01, 0.1, 1.0], "weight_decay": [0.0]}
    checks = 3
    BEST = {"lr": 0.1, "weight_decay": 0.0}

    def __init__(self):
        self.calls, self.fits = [], []

    def prepare(self, part, *, seed):
        self.calls.append(("prepare", _positions(part), seed))
        return _positions(part)

    def fit(self, prepared, *, hparams, seed, val, stop_at=None):
        held = None if val is None else _positions(val)
        call = ("fit", prepared, dict(hparams), held, stop_at)
        self.calls.append(call)
        history = []
        if held is not None:
            rng = np.random.default_rng([seed, *sorted(held)])
            peak = {0.01: 0.5, 0.1: 0.8, 1.0: 0.4}[hparams["lr"]]
            history = [{"step": s, "val_score": peak - abs(s - 20) / 100 + rng.uniform(0, 0.005), "val_nll": 1.0}
                       for s in (10, 20, 30)]
        score = max((c["val_score"], -c["val_nll"]) for c in history) if history else None
        self.fits.append(_Fit(call, history, score, {"steps": stop_at or 30, "best_step": 20}))
        return self.fits[-1]

    def score(self, prepared, fitted, test):
        return {}


def _cell_parts():
    """A pool of 3 classes x 6 rows, its training part (even rows) and validation part (odd rows)."""
    labels = np.repeat([0, 1, 2], 6)
    pool = Subset(ArrayDataset(np.zeros((labels.size, 2, 2, 1), np.uint8), labels, class_names=["a", "b", "c"]),
                  np.arange(labels.size))
    return pool, pool.subset(range(0, 18, 2)), pool.subset(range(1, 18, 2))


def _select(name, *, seed=0, fixed=None):
    pool, train, val = _cell_parts()
    learner = GridLearner()
    return learner, create_selection(name, folds=3).select(learner, train=train, val=val, pool=pool, seed=seed,
                                                           fixed=fixed)


def _point(hparams) -> dict:
    return {k: v for k, v in hparams.items() if k != "step"}


@pytest.mark.parametrize("name", SELECTIONS.names())
def test_selection_contract(name):
    assert create_selection(name, folds=3).folds in (None, 3)  # recorded in each cell's `tuning`
    learner, sel = _select(name)
    assert isinstance(sel, Selected)
    assert _point(sel.hparams) in grid_points(learner.axes)
    assert _point(sel.hparams) == GridLearner.BEST, "the point with the best validation score must be chosen"
    assert any(sel.fitted is f for f in learner.fits), "the kept fit must be one the learner made"
    _, rows, hparams, _, stop_at = sel.fitted.call
    assert rows is sel.prepared and hparams == _point(sel.hparams)
    assert stop_at == sel.hparams.get("step"), "a chosen step count must be the step the kept model stops at"
    if "step" in sel.hparams:
        assert sel.hparams["step"] in (10, 20, 30)
    for _, rows, _, held, _ in (c for c in learner.calls if c[0] == "fit"):
        assert held is None or rows.isdisjoint(held), "a fit was scored on rows its preparation saw"
    assert sel.val_score is None or 0.0 <= sel.val_score <= 1.0
    assert isinstance(sel.summary, dict) and sel.prep_seconds >= 0 and sel.train_seconds >= 0


@pytest.mark.parametrize("name", SELECTIONS.names())
def test_selection_is_deterministic_for_a_seed(name):
    first, a = _select(name, seed=3)
    again, b = _select(name, seed=3)
    assert first.calls == again.calls
    assert (a.hparams, a.val_score, a.summary) == (b.hparams, b.val_score, b.summary)


@pytest.mark.parametrize("name", SELECTIONS.names())
def test_selection_with_a_fixed_point_trains_only_that_point(name):
    fixed = {"lr": 1.0, "weight_decay": 0.0}
    learner, sel = _select(name, fixed=fixed)
    assert _point(sel.hparams) == fixed
    assert [c[2] for c in learner.calls if c[0] == "fit"] == [fixed]


# ------------------------------------------------------------------------------------ executors
EXECUTOR_CASES = {  # name -> run-section options to build it with (each a case)
    "local": [{"jobs": 1}, {"jobs": 2}],
    "ray": [{"cpus_per_cell": 0.5}],
}
NEEDS = {"ray": ("ray", "pip install 'scarce[ray]'")}  # an executor's optional package and its extra


def test_every_executor_has_a_case():
    assert set(EXECUTOR_CASES) == set(EXECUTORS.names()), "add the new executor's options to EXECUTOR_CASES"


def _run_options() -> set:
    return {f.name for f in dataclasses.fields(RunSection)} - {"executor"}


@pytest.mark.parametrize("name", EXECUTORS.names())
def test_executor_declares_the_run_options_it_takes(name):
    options = EXECUTORS.meta(name).get("options")
    assert isinstance(options, tuple) and options, f"executor '{name}' must declare options=(...) at registration"
    assert set(options) <= _run_options(), f"executor '{name}' declares options that are not `run:` keys"
    assert set(options) >= set().union(*EXECUTOR_CASES[name])


def test_every_run_option_is_taken_by_an_executor():
    taken = set().union(*(EXECUTORS.meta(n)["options"] for n in EXECUTORS.names()))
    assert taken == _run_options()


@pytest.mark.parametrize("name", EXECUTORS.names())
def test_executor_contract(name):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name][0], reason=f"the {name} executor needs {NEEDS[name][1]}")
    tasks = [2, 7, 1, 8, 3]
    for options in EXECUTOR_CASES[name]:
        executor = create_executor(RunSection(executor=name, **options))
        done = list(executor.run(operator.neg, tasks))
        assert Counter(t for t, _ in done) == Counter(tasks), f"{name} {options}: every task must be yielded once"
        assert all(result == -task for task, result in done), f"{name} {options}: a task came with another's result"
        assert list(executor.run(operator.neg, [])) == []


# ------------------------------------------------------------------------------------ preview makers
PREVIEW_CASES = {  # part -> (modality, remedy spec) whose setup changes that part
    "train": [("image", "oversample"), ("text", SPECS["eda"])],
    "transform": [("image", SPECS["augment"]), ("audio", SPECS["waveform"])],
    "batch_transform": [("image", "mixup"), ("audio", SPECS["specaugment"])],
    "sampler_fn": [("image", "balanced_sampler")],
    "loss_fn": [("image", SPECS["class_weights"])],
    "model_fn": [("image", SPECS["logit_adjust_posthoc"])],
    "prior_correction": [("image", "logit_adjust")],
    "collate": [("image", SPECS["finetune"])],
    "self_training": [("image", SPECS["pseudo_label"]), ("text", SPECS["pseudo_label"])],
    "consistency": [("image", SPECS["fixmatch_image"]), ("text", SPECS["fixmatch"]), ("audio", SPECS["fixmatch_audio"])],
}


def test_every_preview_maker_has_a_case():
    assert set(PREVIEW_CASES) == set(PREVIEWS.names()), "add a remedy that changes the new part to PREVIEW_CASES"


def _check_block(block) -> None:
    assert isinstance(block, Block) and block.title.strip() and isinstance(block.text, str)
    assert re.fullmatch(r"[A-Za-z0-9_]+", block.name), f"picture name {block.name!r} is not a file stem"
    assert block.png is None or block.png.startswith(b"\x89PNG\r\n\x1a\n")
    if block.table is not None:
        assert block.table and len({len(row) for row in block.table}) == 1
        assert all(isinstance(cell, str) for row in block.table for cell in row)
    for caption, wav in block.audio:
        assert isinstance(caption, str) and wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"


def _shown(blocks) -> list:
    return [(b.title, b.text, b.table, b.png, b.audio) for b in blocks]


@pytest.mark.parametrize("part", PREVIEWS.names())
def test_preview_maker_contract(part):
    assert part in SETUP_PARTS, f"preview makers are keyed on the composition vocabulary, got '{part}'"
    assert isinstance(PREVIEWS.meta(part).get("order"), int)
    maker = PREVIEWS.get(part)
    for modality, spec in PREVIEW_CASES[part]:
        train = ROWS[modality](counts=(6, 4, 3))
        base = tiny_setup(train)
        after, applied, skipped = apply_for_preview(create_remedy(spec), base, seed=0)
        assert not skipped
        ctx = PreviewContext("row", base, after, pick_examples(train.labels, 3), 0, 2, combine(applied))
        assert part in changed_parts(base, after, ctx.changes), f"the case {spec!r} does not change `{part}`"
        blocks = maker(ctx)
        assert isinstance(blocks, list) and blocks, f"{part} on {modality}: no block"
        for block in blocks:
            _check_block(block)
        assert _shown(maker(ctx)) == _shown(blocks), f"{part} on {modality}: the same row and seed showed otherwise"


# ------------------------------------------------------------------------------------ model-card parts
CARD_CASES = {  # kind -> (remedy spec on image rows, the setup attribute that holds the part)
    "probe_head": (SPECS["linear_probe"], "model_fn"),
    "frozen_features": (SPECS["linear_probe"], "collate"),
    "transfer_model": (SPECS["finetune"], "model_fn"),
    "backbone_preprocess": (SPECS["finetune"], "collate"),
    "posthoc_logit_adjust": (SPECS["logit_adjust_posthoc"], "model_fn"),
    "crt": (SPECS["crt"], "model_fn"),
}
ROLES = {"model_fn": "model", "collate": "collate"}


def test_every_card_part_has_a_case():
    assert set(CARD_CASES) == set(CARD_PARTS.names()), "add a remedy that builds the new part to CARD_CASES"


@pytest.fixture
def no_pretrained_backbones(monkeypatch):
    """Rebuilding a part builds backbones by name: the same tiny one the remedies were given."""
    tiny = tiny_backbone()
    monkeypatch.setattr("scarce.backbones.create_backbone", lambda name, **kw: copy.deepcopy(tiny))


def _eval(module, x):
    with torch.no_grad():
        return module.eval()(x)


@pytest.mark.parametrize("kind", CARD_PARTS.names())
def test_card_part_round_trips(kind, no_pretrained_backbones):
    """``card_part`` describes the part as JSON with its ``kind``; ``from_card`` rebuilds from that
    description alone a part that, given the saved weights, computes what the trained one did."""
    spec, attr = CARD_CASES[kind]
    role = CARD_PARTS.meta(kind).get("role")
    assert role == ROLES[attr], f"card part '{kind}' must declare role='{ROLES[attr]}'"
    remedy = create_remedy(spec)
    check_deliverable(remedy, kind)  # the remedy that builds it says it can be delivered
    base = tiny_setup(ROWS["image"](counts=(6, 4, 3)))
    setup = remedy.apply(base, seed=0)
    part = getattr(setup, attr)
    description = describe(part, base=base)
    assert description["kind"] == kind
    saved = json.loads(json.dumps(description))  # as the card file holds it

    def build(d):
        return base.model_fn if d["kind"] == "pipeline" else CARD_PARTS.get(d["kind"]).from_card(d, build)

    rebuilt = CARD_PARTS.get(kind).from_card(saved, build)
    batch = [setup.train[i] for i in range(4)]
    collate = setup.collate or image_collate
    if role == "model":
        x, _ = collate(batch)
        trained = part(3)
        model = rebuilt(3)
        model.load_state_dict(trained.state_dict())  # strict: the saved weights fill the rebuilt architecture
        torch.testing.assert_close(_eval(model, x), _eval(trained, x))
        return
    want_x, want_y = part(batch)
    raw, front = part.delivered() if hasattr(part, "delivered") else (part, None)
    new_collate, new_front = rebuilt
    assert (new_front is None) == (front is None)
    x, y = new_collate(batch)
    if front is not None:
        module = new_front()
        module.load_state_dict(front.state_dict())
        x = _eval(module, x)
    torch.testing.assert_close(x, torch.as_tensor(want_x), atol=1e-5, rtol=1e-5)
    assert torch.equal(torch.as_tensor(y), torch.as_tensor(want_y))


@pytest.mark.parametrize("name", SELECTIONS.names())
def test_selection_declares_what_its_kept_model_trains_on_and_accepts_a_cell_it_can_tune(name):
    """The runner and the preview read these instead of testing the strategy's name."""
    strategy = create_selection(name, folds=3)
    assert isinstance(strategy.refits_on_pool, bool) and strategy.trains_on.strip()
    strategy.check_cell(size=10, smallest=10, n_val=6, grid_points=4, val_fraction=0.2)  # nothing to refuse
