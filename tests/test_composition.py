"""The composition contract: every ordered pair of registered remedies either composes with both
effects observable, or is refused by the declarations (naming both) before any work.

A setup's behavioural fingerprint is what it does on fixed inputs: its training rows, the classes
its sampler draws in one epoch early and late in training (the engine's plain shuffle draws the
class counts), and a fixed batch pushed through transform → collate →
batch transform → a model built under a fixed seed → the loss (value and gradient size) at
progress 0 and 0.95, plus the model's eval-mode logits. ``Chain(A, B).apply(setup, seed=0)`` is
``B.apply(A.apply(setup, seed=0), seed=1)``; the pair is compared with ``A`` alone (seed 0) and
``B`` alone (seed 1), so a difference is never just a different seed.
"""

import itertools
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fixtures import ROWS, SPECS, skip_unless_buildable, spec_name, tiny_setup, tiny_transfer_backbones
from scarce.data.datasets import MODALITIES
from scarce.inference import image_collate
from scarce.remedies.base import REMEDIES, Chain, Remedy, TrainSetup, create_remedy, list_remedies, register_remedy
from scarce.remedies.composition import PARTS, UNDECLARED, Changes, check_composition, check_remedy, declared

pytest.importorskip("timm")
pytest.importorskip("albumentations")
pytest.importorskip("audiomentations")
pytest.importorskip("nlpaug")


def test_every_registered_remedy_is_covered():
    assert {spec_name(s) for s in SPECS.values()} == set(list_remedies()) - {"chain"}, \
        "a registered remedy has no entry in SPECS: add cheap options for it so that its pairs are tested"


def _build(label):
    skip_unless_buildable(SPECS[label])
    return create_remedy(SPECS[label])


@pytest.fixture(scope="module", autouse=True)
def _cheap():
    """One torch thread (the models are tiny; two cores are shared) and a tiny 3-stage backbone in
    place of resnet18 for the transfer remedies (the real backbones are tested elsewhere; here only
    how the remedies compose matters)."""
    with tiny_transfer_backbones():
        yield


@pytest.fixture(scope="module")
def remedies():
    out = {}
    for label in SPECS:
        try:
            out[label] = _build(label)
        except pytest.skip.Exception:
            continue
    return out


SETUPS = {m: (lambda rows=rows: tiny_setup(rows())) for m, rows in ROWS.items()}


def _progress(loss, fraction):
    hook = getattr(loss, "set_progress", None)
    if hook is not None:
        hook(fraction)


def _r(v):
    return round(float(v), 4)


def fingerprint(setup: TrainSetup) -> tuple:
    """What the setup does on fixed inputs (see the module docstring)."""
    labels = np.asarray(setup.train.labels)
    fp = [len(setup.train), hash(labels.tobytes()), repr(setup.self_training), repr(setup.consistency)]
    sampler = setup.sampler_fn(labels, seed=0) if setup.sampler_fn is not None else None
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(0)
    for p in (0.0, 0.95):  # the classes one epoch draws (no sampler, or a plain shuffle: the class counts)
        _progress(setup.loss_fn, p)
        drawn = labels if sampler is None else labels[list(itertools.islice(iter(sampler), len(labels)))]
        fp.append(tuple(np.bincount(drawn, minlength=setup.num_classes).tolist()))
    idx = np.random.default_rng(0).choice(len(setup.train), size=min(8, len(setup.train)), replace=False)
    items = []
    for i in idx:
        x, y = setup.train[int(i)]
        if setup.transform is not None:
            x = setup.transform(x, rng=np.random.default_rng([0, int(i)]))
        items.append((x, y))
    x, y = (setup.collate or image_collate)(items)
    if setup.batch_transform is not None:
        x, y = setup.batch_transform(x, y, generator=torch.Generator().manual_seed(0))
    fp.append(_r(x.float().abs().sum()))
    loss_fn = setup.loss_fn or F.cross_entropy
    torch.manual_seed(0)
    model = setup.model_fn(setup.num_classes)
    for p in (0.0, 0.95):  # no optimiser step: the weights stay those built under the seed
        model.train()
        model.zero_grad()
        _progress(setup.loss_fn, p)
        loss = loss_fn(model(x), y)
        loss.backward()
        grads = [q.grad.abs().sum() for q in model.parameters() if q.grad is not None]
        fp += [_r(loss.detach()), _r(sum(grads)), len(grads)]
        model.eval()
        with torch.no_grad():
            fp.append(_r(model(x).sum()))
    return tuple(fp)


def _accepts(remedy, modality):
    mods = remedy.changes.modalities
    return mods is None or modality in mods


def test_every_remedy_declares_its_changes(remedies):
    for label, r in remedies.items():
        assert r.changes is not None, label
        assert r.changes.modalities is None or r.changes.modalities <= set(MODALITIES)


@pytest.mark.parametrize("modality", sorted(SETUPS))
def test_every_pair_composes_with_both_effects_or_is_refused(modality, remedies):
    start = time.time()
    base = SETUPS[modality]()
    mine = {k: r for k, r in remedies.items() if _accepts(r, modality)}
    first = {k: r.apply(base, seed=0) for k, r in mine.items()}  # what Chain(A, ...) hands to B
    alone_a = {k: fingerprint(s) for k, s in first.items()}
    alone_b = {k: fingerprint(r.apply(base, seed=1)) for k, r in mine.items()}
    untouched = fingerprint(base)
    problems, composed, refused = [], 0, 0
    for k, fp in alone_a.items():
        if k != "baseline" and fp == untouched:
            problems.append(f"{k} alone has no observable effect")
    for (ka, a), (kb, b) in itertools.product(mine.items(), mine.items()):
        if "baseline" in (ka, kb):
            continue
        try:
            check_remedy(Chain(a, b), modality=modality)
        except ValueError as err:
            refused += 1
            if a.name not in str(err) or b.name not in str(err):
                problems.append(f"{ka}->{kb}: refusal does not name both: {err}")
            continue
        composed += 1
        try:
            fp = fingerprint(b.apply(first[ka], seed=1))
        except Exception as err:  # noqa: BLE001  (report every failing pair at once)
            problems.append(f"{ka}->{kb}: passed the check but failed: {type(err).__name__}: {err}")
            continue
        if fp == alone_b[kb]:
            problems.append(f"{ka}->{kb}: the effect of {ka} is lost")
        if fp == alone_a[ka]:
            problems.append(f"{ka}->{kb}: the effect of {kb} is lost")
    assert not problems, "\n".join(problems)
    assert composed and refused
    print(f"{modality}: {len(mine)} remedies, {composed} pairs composed, {refused} refused, "
          f"{time.time() - start:.1f}s")


def test_modality_refusals_name_the_remedy_and_the_modality(remedies):
    refused = 0
    for label, r in remedies.items():
        for m in sorted(set(MODALITIES) - (r.changes.modalities or set(MODALITIES))):
            with pytest.raises(ValueError, match=f"'{r.name}' works on .* modality is '{m}'"):
                check_remedy(r, modality=m)
            refused += 1
        check_remedy(r, modality=sorted(r.changes.modalities or MODALITIES)[0])
    assert refused >= 15


def test_chain_of_the_issue_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"'crt' and 'focal' both change `loss_fn`.*Put 'focal' before 'crt'"):
        create_remedy({"name": "chain", "remedies": ["crt", "focal"]})
    with pytest.raises(ValueError, match=r"`model_fn`.*Put 'linear_probe' before 'logit_adjust'"):
        Chain(create_remedy({"name": "logit_adjust", "mode": "posthoc"}), create_remedy(SPECS["linear_probe"]))
    with pytest.raises(ValueError, match=r"'balanced_sampler' and 'crt' both change `sampler_fn`.*keep one"):
        create_remedy({"name": "chain", "remedies": ["balanced_sampler", "crt"]})
    with pytest.raises(ValueError, match=r"`prior_correction`"):
        create_remedy({"name": "chain", "remedies": ["balanced_softmax", {"name": "logit_adjust", "mode": "posthoc"}]})
    with pytest.raises(ValueError, match=r"'linear_probe' and 'augment'.*`finetune` instead"):
        create_remedy({"name": "chain", "remedies": ["augment", {"name": "linear_probe", "cache_dir": None}]})
    with pytest.raises(ValueError, match=r"'augment' and 'aeda' share no data modality"):
        create_remedy({"name": "chain", "remedies": ["augment", "aeda"]})


def test_nested_chains_flatten_and_combine():
    inner = create_remedy({"name": "chain", "label": "weighted", "remedies": ["focal"]})
    with pytest.raises(ValueError, match="'crt' and 'focal'"):
        Chain(create_remedy("crt"), inner)
    ok = Chain(inner, create_remedy("logit_adjust"), create_remedy("mixup"))
    ch = ok.changes
    assert ch.replaces == {"loss_fn", "prior_correction"} and ch.wraps == {"batch_transform", "targets"}
    assert ch.modalities == {"image"} and ch.excludes == {"class_prior"}
    assert not create_remedy("baseline").changes.changed


class Plugin(Remedy):
    """A user's remedy without a declaration."""

    name = "my_plugin"

    def apply(self, setup, *, seed):
        return setup


class DuckTyped:
    """Has a name and an apply but is no Remedy."""

    name = "duck"

    def apply(self, setup, *, seed):
        return setup


def test_an_undeclared_remedy_runs_alone_and_is_refused_in_a_chain():
    assert Plugin.changes is UNDECLARED and not declared(Plugin())
    check_remedy(Plugin(), modality="image")
    check_composition([Plugin(), create_remedy("baseline")])
    with pytest.raises(ValueError, match=r"'my_plugin' does not declare.*`changes` attribute.*'focal'"):
        Chain(create_remedy("focal"), Plugin())
    with pytest.raises(ValueError, match=r"'my_plugin' does not declare"):
        Chain(Plugin(), create_remedy("oversample"))
    declaring_everything = type("Everything", (Plugin,), {"changes": Changes(replaces=PARTS)})()
    assert declared(declaring_everything)  # the same parts as UNDECLARED, but said on purpose
    with pytest.raises(ValueError, match=r"both change"):
        Chain(create_remedy("focal"), declaring_everything)


def test_something_that_is_not_a_remedy_is_refused_with_what_it_is():
    with pytest.raises(TypeError, match=r"`Chain` takes remedies .*got DuckTyped"):
        Chain(create_remedy("focal"), DuckTyped())
    with pytest.raises(TypeError, match=r"`Chain` takes remedies .*got str 'focal'"):
        Chain("focal")
    REMEDIES.register("duck", DuckTyped, help="test only")
    try:
        with pytest.raises(TypeError, match=r"catalogue entry 'duck' must build remedies .*got DuckTyped"):
            create_remedy("duck")
    finally:
        REMEDIES.unregister("duck")
    with pytest.raises(TypeError, match=r"decorates a subclass of scarce.remedies.Remedy, got <class .*DuckTyped"):
        register_remedy("duck")(DuckTyped)
    assert "duck" not in REMEDIES


def test_a_logit_adjusted_loss_wraps_the_base_loss_and_passes_the_schedule_on():
    from scarce.balance.losses import DeferredReweighting, FocalLoss, LogitAdjustedLoss, log_prior

    logits, y = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0, 0, 1])
    counts = [30, 10, 3]
    focal = FocalLoss(gamma=2.0)
    la = LogitAdjustedLoss(counts, tau=1.0, base=focal)
    assert torch.isclose(la(logits, y), focal(logits + log_prior(counts), y))
    drw = DeferredReweighting([0.2, 0.8, 2.0], start=0.5)
    wrapped = LogitAdjustedLoss(counts, tau=0.5, base=drw)
    early = wrapped(logits, y)
    wrapped.set_progress(0.9)
    assert drw.active and not torch.isclose(wrapped(logits, y), early)
    soft = F.one_hot(y, 3).float() * 0.8 + 0.2 / 3  # MixUp/CutMix targets reach every loss
    for loss in (la, wrapped, focal, LogitAdjustedLoss(counts)):
        assert torch.isfinite(loss(logits, soft))


def test_crt_keeps_its_phase_when_a_logit_adjustment_wraps_its_loss(remedies):
    setup = SETUPS["image"]()
    chained = Chain(create_remedy("crt"), create_remedy("logit_adjust")).apply(setup, seed=0)
    sampler = chained.sampler_fn(chained.train.labels, seed=0)
    sampler.set_epoch(0)
    chained.loss_fn.set_progress(0.95)
    late = np.bincount(chained.train.labels[list(sampler)], minlength=3)
    assert late.min() >= 3  # class-balanced draws in cRT's second phase (the rarest class has 3 of 21 rows)
    chained.loss_fn.set_progress(0.1)
    assert sorted(sampler) == list(range(21))  # first phase: a plain permutation
