import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scarce.data import ArrayDataset
from scarce.remedies.base import TrainSetup, create_remedy
from scarce.models import create_model
from scarce.train import TrainConfig, fit

BALANCE = ["balanced_sampler", "oversample", "undersample", "class_weights", "focal", "logit_adjust",
           "balanced_softmax", "drw", "crt"]


@pytest.fixture
def lt_images():
    """A 3-class long-tailed image set (40 / 12 / 4), classes told apart by brightness."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), [40, 12, 4])
    x = (labels[:, None, None, None] * 90 + rng.integers(0, 40, (labels.size, 8, 8, 1))).astype(np.uint8)
    return ArrayDataset(x, labels, class_names=["a", "b", "c"])


def model_fn(n):
    return create_model("small_cnn", num_classes=n, in_channels=1, image_size=8, width=4)


def run(setup, steps=3):
    sampler = setup.sampler_fn(setup.train.labels, seed=0) if setup.sampler_fn else None
    return fit(lambda: setup.model_fn(setup.num_classes), setup.train, config=TrainConfig(steps=steps, batch_size=8),
               seed=0, sampler=sampler, loss_fn=setup.loss_fn, bn_data=setup.clean_train)


@pytest.mark.parametrize("name", BALANCE)
def test_every_balance_remedy_is_pure_and_trains(name, lt_images):
    setup = TrainSetup(train=lt_images, num_classes=3, model_fn=model_fn, clean_train=lt_images)
    new = create_remedy(name).apply(setup, seed=0)
    assert new is not setup and setup.sampler_fn is None and setup.loss_fn is None  # the input is untouched
    assert new.clean_train is lt_images and new.notes
    result = run(new)
    assert result.best_step == 3


def test_balanced_sampler_remedy_draws_balanced(lt_images):
    setup = TrainSetup(train=lt_images, num_classes=3, model_fn=model_fn)
    new = create_remedy({"name": "balanced_sampler", "strategy": "inverse"}).apply(setup, seed=3)
    idx = list(new.sampler_fn(lt_images.labels, seed=3))
    assert len(idx) == 56
    counts = np.bincount(lt_images.labels[np.concatenate([idx] * 1)], minlength=3)
    assert counts.min() > 8  # the 4-example class is drawn ~1/3 of the time, not 4/56


def test_resampling_remedies_change_rows_only(lt_images):
    setup = TrainSetup(train=lt_images, num_classes=3, model_fn=model_fn, clean_train=lt_images)
    over = create_remedy("oversample").apply(setup, seed=0)
    under = create_remedy({"name": "undersample", "strategy": {0: 10}}).apply(setup, seed=0)
    assert np.bincount(over.train.labels).tolist() == [40, 40, 40]
    assert np.bincount(under.train.labels).tolist() == [10, 12, 4]


@pytest.mark.parametrize("spec, match", [
    ({"name": "balanced_sampler", "strategy": "power(-1)"}, "`q` must be in"),
    ({"name": "class_weights", "beta": 1.0}, "`beta` must be in"),
    ({"name": "logit_adjust", "mode": "later"}, "`mode` must be one of"),
    ({"name": "oversample", "strategy": 2.0}, r"`strategy` must be in \(0, 1\]"),
    ({"name": "crt", "start": 1.5}, "`start` must be in"),
])
def test_bad_options_fail_at_construction(spec, match):
    with pytest.raises(ValueError, match=match):
        create_remedy(spec)


def test_engine_calls_set_progress_each_step(lt_images):
    seen = []

    class Loss:
        def set_progress(self, fraction):
            seen.append(fraction)

        def __call__(self, logits, y):
            return F.cross_entropy(logits, y)

    fit(lambda: model_fn(3), lt_images, config=TrainConfig(steps=4, batch_size=8), seed=0, loss_fn=Loss())
    assert seen == [0.0, 0.25, 0.5, 0.75]


def test_crt_freezes_features_and_balances_in_second_phase(lt_images):
    setup = TrainSetup(train=lt_images, num_classes=3, model_fn=model_fn, clean_train=lt_images)
    new = create_remedy({"name": "crt", "start": 0.5}).apply(setup, seed=0)
    sampler = new.sampler_fn(lt_images.labels, seed=0)
    torch.manual_seed(0)
    model = new.model_fn(3)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    new.loss_fn.set_progress(0.6)  # second phase
    x = torch.randn(8, 1, 8, 8)
    opt.zero_grad(set_to_none=True)
    new.loss_fn(model(x), torch.zeros(8, dtype=torch.long)).backward()
    opt.step()
    changed = [not torch.equal(a, b) for a, b in zip(before, model.parameters())]
    assert changed[-2:] == [True, True] and not any(changed[:-2])  # only the head (weight, bias) moved
    sampler.set_epoch(1)
    drawn = np.bincount(lt_images.labels[list(sampler)], minlength=3)
    assert drawn[2] > 8  # class-balanced draws in the second phase
    sampler.set_epoch(0)  # a new run resets the clock to the first phase: a plain permutation
    assert sorted(sampler) == list(range(56))


def test_long_tail_recipes_validate_and_smoke(tmp_path):
    import os
    from pathlib import Path

    from scarce.cli import main
    from scarce.experiment.config import load_config
    from scarce.experiment.runner import validate_config

    recipes = Path(__file__).resolve().parents[1] / "recipes"
    digits = load_config(recipes / "long_tail_digits.yaml")
    assert digits.subset.kind == "long_tailed" and digits.metric == "balanced_accuracy"
    assert len(validate_config(digits, data_root=None)) == len(digits.remedies) * len(digits.seeds)
    cifar = load_config(recipes / "long_tail.yaml")
    assert {r if isinstance(r, str) else r["name"] for r in cifar.remedies} >= set(BALANCE)
    out = tmp_path / "smoke"
    assert main(["ablate", str(recipes / "long_tail_digits.yaml"), "--smoke", "--quiet", "--out", str(out),
                 "--set", "remedies=[baseline, drw, crt]"]) == 0
    records = [__import__("json").loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert {r["remedy"] for r in records} == {"baseline", "drw", "crt"}
    assert all(len(r["metrics"]["per_class_recall"]) == 10 for r in records)
    root = os.environ.get("SCARCE_DATA")
    if root and (Path(root) / "cifar10-jpeg").is_dir():
        assert len(validate_config(cifar, data_root=root)) == len(cifar.remedies) * len(cifar.seeds)


def test_deferred_remedies_keep_a_checkpoint_their_change_shaped(monkeypatch):
    """DRW and cRT change training at ``start``; a checkpoint before it is the plain model (on digits-LT the
    kept DRW model was the baseline's), so their cells select among the checks after it."""
    import scarce.checkpoints as checkpoints
    from scarce.experiment.config import ExperimentConfig, TrainSection
    from scarce.experiment.rows import Row
    from scarce.experiment.learners import create_learner
    from scarce.experiment.plan import CellPlan, get_bundle

    cfg = ExperimentConfig(name="t", sizes=[5], seeds=[0], selection="holdout",
                           train=TrainSection(steps=20, lr=[1e-2], weight_decay=[1e-4], eval_every=5))
    bundle = get_bundle(cfg, None)
    part, val = bundle.train.subset(np.arange(60)), bundle.train.subset(np.arange(60, 90))
    real, checks = checkpoints.val_score, iter(range(1000))
    monkeypatch.setattr(checkpoints, "val_score", lambda model, data, collate, device, **kw: (
        (1.0 - 0.01 * next(checks), 0.0) if data is val else real(model, data, collate, device, **kw)))  # falls: earliest wins
    kept = {}
    for spec in ("baseline", {"name": "drw", "start": 0.5}, {"name": "crt", "start": 0.7}):
        learner = create_learner(Row(str(spec), spec), plan=CellPlan.cut(cfg, bundle, size=5, seed=0))
        fitted = learner.fit(learner.prepare(part, seed=0), hparams={"lr": 1e-2, "weight_decay": 1e-4}, seed=0, val=val)
        kept[str(spec)] = fitted.summary["best_step"]
    assert list(kept.values()) == [5, 15, 15]  # after step 10 of 20 (DRW at 0.5) and step 14 (cRT at 0.7)
    setup = TrainSetup(train=part, num_classes=10, model_fn=model_fn, select_from=0.9)
    assert create_remedy({"name": "drw", "start": 0.5}).apply(setup, seed=0).select_from == 0.9  # never lowered
