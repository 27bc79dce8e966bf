import numpy as np
import pytest
import torch
from torch import nn

from scarce.models import create_model, list_models
from scarce._torch import resolve_device
from scarce.inference import evaluate, image_collate, recompute_batchnorm
from scarce.train import TrainConfig, fit, fit_tuned


def small(num_classes=3):
    return lambda: create_model("small_cnn", num_classes=num_classes, in_channels=1, image_size=8, width=8)


def test_fit_learns_and_is_deterministic(tiny_images):
    cfg = TrainConfig(steps=40, lr=1e-2, eval_every=20)
    a = fit(small(), tiny_images, config=cfg, seed=1, val=tiny_images)
    b = fit(small(), tiny_images, config=cfg, seed=1, val=tiny_images)
    assert evaluate(a.model, tiny_images)["accuracy"] == 1.0
    for pa, pb in zip(a.model.state_dict().values(), b.model.state_dict().values()):
        assert torch.equal(pa, pb)
    c = fit(small(), tiny_images, config=cfg, seed=2)
    assert not torch.equal(a.model[0].weight, c.model[0].weight)


def test_fit_leaves_global_rng_alone(tiny_images):
    before = torch.random.get_rng_state()
    fit(small(), tiny_images, config=TrainConfig(steps=3), seed=0)
    assert torch.equal(before, torch.random.get_rng_state())


def test_exact_step_budget_whatever_the_data_size(tiny_images):
    calls = []

    def loss(logits, y):
        calls.append(len(y))
        return nn.functional.cross_entropy(logits, y)

    for data in (tiny_images.subset(range(0, 60, 10)), tiny_images):
        calls.clear()
        fit(small(), data, config=TrainConfig(steps=17, batch_size=16), seed=0, loss_fn=loss)
        assert len(calls) == 17
        assert calls[0] == min(16, len(data))


def test_recompute_batchnorm_gives_exact_statistics(tiny_images):
    model = nn.Sequential(nn.BatchNorm2d(1))
    model[0].running_mean.fill_(100.0)
    recompute_batchnorm(model, tiny_images, collate=image_collate, device=torch.device("cpu"), batch_size=7)
    x, _ = image_collate([tiny_images[i] for i in range(len(tiny_images))])
    assert model[0].running_mean.item() == pytest.approx(x.mean().item(), abs=1e-5)
    assert model[0].running_var.item() == pytest.approx(x.var().item(), rel=1e-3)
    assert model[0].momentum == 0.1


def test_fit_tuned_selects_on_validation(tiny_images):
    r = fit_tuned(small(), tiny_images, config=TrainConfig(steps=30, eval_every=10), lrs=[1e-7, 1e-2],
                  weight_decays=[0.0], seed=0, val=tiny_images)
    assert r.lr == 1e-2 and r.val_score[0] == 1.0
    with pytest.raises(ValueError, match="needs a validation split"):
        fit_tuned(small(), tiny_images, config=TrainConfig(steps=1), lrs=[1e-3, 1e-2], weight_decays=[0.0], seed=0)


def _recording_transform(seen):
    def t(x, rng):
        seen.append(int(rng.integers(1 << 30)))
        return x
    return t


def test_transform_stream_seeded_and_varies_per_draw(tiny_images):
    runs = []
    for _ in range(2):
        seen = []
        fit(small(), tiny_images, config=TrainConfig(steps=4, batch_size=30), seed=5,
            transform=_recording_transform(seen))
        runs.append(seen)
    assert runs[0] == runs[1] and len(runs[0]) == 120
    assert len(set(runs[0])) == 120  # a new draw for every sample, across epochs too


def test_transform_stream_same_with_workers(tiny_images):
    def sig(workers):
        out = []

        def t(x, rng):
            return (x.astype(np.int16) + rng.integers(0, 5)).clip(0, 255).astype(np.uint8)

        def loss(logits, y):
            out.append(logits.detach().sum().item())
            return nn.functional.cross_entropy(logits, y)

        fit(small(), tiny_images, config=TrainConfig(steps=3, batch_size=20, num_workers=workers), seed=0,
            transform=t, loss_fn=loss)
        return out

    assert sig(0) == pytest.approx(sig(2), rel=1e-5)


def test_batch_transform_and_sampler_are_used(tiny_images):
    seen_idx, gens = [], []

    class OnlyClassZero:
        def __iter__(self):
            return iter(range(20))

    def bt(x, y, generator):
        gens.append(generator)
        seen_idx.extend(y.tolist())
        return x, y

    fit(small(), tiny_images, config=TrainConfig(steps=5, batch_size=8), seed=0, batch_transform=bt,
        sampler=OnlyClassZero())
    assert set(seen_idx) == {0} and isinstance(gens[0], torch.Generator)


def test_bad_train_config():
    with pytest.raises(ValueError, match="`lr` must be in"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="`optimizer` must be one of"):
        TrainConfig(optimizer="adam")


def test_device_auto_and_models():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert {"small_cnn", "resnet18"} == set(list_models("image"))
    for size, channels in ((8, 1), (32, 3)):
        m = create_model("auto", modality="image", num_classes=4, in_channels=channels, image_size=size)
        assert m(torch.zeros(2, channels, size, size)).shape == (2, 4)
    with pytest.raises(ValueError, match="Did you mean 'resnet18'"):
        create_model("resnet19", num_classes=4)


def _spy_loss(values):
    def loss(logits, y):
        out = nn.functional.cross_entropy(logits, y)
        values.append(out.item())
        return out
    return loss


def test_stop_at_ends_on_the_same_schedule_with_precise_bn(tiny_images):
    cfg = TrainConfig(steps=12, eval_every=4, lr=1e-2)
    full, cut = [], []
    fit(small(), tiny_images, config=cfg, seed=0, loss_fn=_spy_loss(full))
    r = fit(small(), tiny_images, config=cfg, seed=0, loss_fn=_spy_loss(cut), stop_at=6)
    assert len(cut) == 6 and cut == pytest.approx(full[:6])  # same schedule, then stop
    assert r.steps == r.best_step == 6 and [h["step"] for h in r.history] == [4, 6]
    bn = r.model[1] if isinstance(r.model[1], nn.BatchNorm2d) else next(
        m for m in r.model.modules() if isinstance(m, nn.BatchNorm2d))
    mean = bn.running_mean.clone()
    recompute_batchnorm(r.model, tiny_images, collate=image_collate, device=torch.device("cpu"))
    assert torch.allclose(mean, bn.running_mean, atol=1e-5)  # re-estimated on the clean data at the stop
    for bad in (0, 13):
        with pytest.raises(ValueError, match="`stop_at` must be"):
            fit(small(), tiny_images, config=cfg, seed=0, stop_at=bad)


def test_history_loss_is_the_mean_over_each_eval_period(tiny_images):
    values = []
    r = fit(small(), tiny_images, config=TrainConfig(steps=7, eval_every=3), seed=0, loss_fn=_spy_loss(values))
    assert [h["step"] for h in r.history] == [3, 6, 7]
    assert [h["loss"] for h in r.history] == pytest.approx([np.mean(values[:3]), np.mean(values[3:6]), values[6]])
    assert r.summary["final_train_loss"] == pytest.approx(values[6])


def test_summary_flags_a_run_that_had_not_finished_learning(tiny_images):
    short = fit(small(), tiny_images, config=TrainConfig(steps=1, lr=1e-3), seed=0, val=tiny_images).summary
    assert set(short) == {"steps", "best_step", "final_train_loss", "train_accuracy", "last_train_accuracy",
                          "val_improving_late"}
    assert short["steps"] == short["best_step"] == 1
    # one validation check shows no trend (None); the training accuracy is what flags this run
    assert short["val_improving_late"] is None and short["train_accuracy"] < 0.9
    long = fit(small(), tiny_images, config=TrainConfig(steps=60, lr=1e-2, eval_every=10), seed=0,
               val=tiny_images).summary
    assert long["val_improving_late"] is False and long["train_accuracy"] == 1.0
    assert long["final_train_loss"] < short["final_train_loss"]
    no_val = fit(small(), tiny_images, config=TrainConfig(steps=2), seed=0).summary
    assert no_val["val_improving_late"] is None and no_val["best_step"] == 2


def test_still_improving_needs_a_late_best_that_beats_every_earlier_check():
    from scarce.checkpoints import still_improving

    curve = [{"step": s, "val_score": a} for s, a in ((25, .5), (50, .7), (75, .7), (100, .8))]
    assert still_improving(curve, best_step=100, steps=100) is True
    assert still_improving(curve, best_step=75, steps=100) is False  # not in the last quarter
    flat = curve[:3] + [{"step": 100, "val_score": .7}]
    assert still_improving(flat, best_step=100, steps=100) is False  # a plateau is not rising
    assert still_improving([{"step": 10}], best_step=10, steps=10) is None
    one = [{"step": 100, "val_score": 0.9}]  # a single check at the end: no trend to judge
    assert still_improving(one, best_step=100, steps=100) is None


def test_an_early_kept_checkpoint_reports_how_well_the_last_step_fits(tiny_images, monkeypatch):
    import scarce.checkpoints as checkpoints

    real, checks = checkpoints.val_score, iter(range(100))
    val = tiny_images.subset(np.arange(0, 60, 3))

    def falling_on_val(model, data, collate, device, **kw):  # validation only gets worse: the first check is kept
        return (1.0 - 0.01 * next(checks), 0.0) if data is val else real(model, data, collate, device, **kw)

    monkeypatch.setattr(checkpoints, "val_score", falling_on_val)
    r = fit(small(), tiny_images, config=TrainConfig(steps=60, lr=1e-2, eval_every=10), seed=0, val=val)
    assert r.best_step == 10
    assert r.summary["last_train_accuracy"] == 1.0  # it fits its training data by the end
    assert r.summary["train_accuracy"] <= r.summary["last_train_accuracy"]


def test_one_model_factory_for_every_modality():
    from scarce.models import model_modality

    assert {model_modality(n) for n in list_models()} == {"image", "text", "audio"}
    assert create_model("auto", modality="text", num_classes=3, buckets=64)(torch.tensor([[1, 2, 0]])).shape == (1, 3)
    assert create_model("auto", modality="audio", num_classes=3, n_mels=16)(torch.zeros(2, 2, 16, 9)).shape == (2, 3)
    with pytest.raises(ValueError, match="Model 'small_cnn' takes image data, not text"):
        create_model("small_cnn", modality="text", num_classes=3)
    with pytest.raises(ValueError, match="needs `modality=`"):
        create_model("auto", num_classes=3)


def test_fit_is_class_balanced_so_a_model_that_ignores_its_tail_has_not_fit(tiny_images, monkeypatch):
    import scarce.checkpoints as checkpoints
    from scarce.inference import fit_score

    class AlwaysHead(nn.Module):
        def forward(self, x):
            return torch.tensor([1.0, 0.0, 0.0]).expand(len(x), 3)

    long_tailed = tiny_images.subset(np.r_[0:20, 20, 40])  # 20 / 1 / 1 images: the head alone is 91 % accurate
    assert fit_score(AlwaysHead(), long_tailed, image_collate, torch.device("cpu")) == pytest.approx(1 / 3)
    monkeypatch.setattr(checkpoints, "fit_score", lambda *a: 0.125)  # the summary reads the balanced score
    assert fit(small(), tiny_images, config=TrainConfig(steps=2), seed=0).summary["train_accuracy"] == 0.125


def test_select_from_scores_early_checks_but_never_keeps_them(tiny_images, monkeypatch):
    """A remedy that changes training partway (DRW, cRT) sets ``select_from``: the checks before it are
    recorded (``selectable: False``) and patience waits for the first one that may be kept."""
    import scarce.checkpoints as checkpoints

    real, checks = checkpoints.val_score, iter(range(100))
    val = tiny_images.subset(np.arange(0, 60, 3))

    def falling_on_val(model, data, collate, device, **kw):  # validation only gets worse: the earliest allowed check wins
        return (1.0 - 0.01 * next(checks), 0.0) if data is val else real(model, data, collate, device, **kw)

    monkeypatch.setattr(checkpoints, "val_score", falling_on_val)
    cfg = TrainConfig(steps=60, lr=1e-2, eval_every=10, patience=2)
    r = fit(small(), tiny_images, config=cfg, seed=0, val=val, select_from=0.5)
    assert r.best_step == 40 and r.steps == 60  # steps 10-30 precede step 31, the first after half of 60
    assert [h.get("selectable", True) for h in r.history] == [False, False, False, True, True, True]
    assert all("val_score" in h for h in r.history)
    assert fit(small(), tiny_images, config=cfg, seed=0, val=val).best_step == 10  # without it: the first check
    assert fit(small(), tiny_images, config=cfg, seed=0, val=val, select_from=1.0).best_step == 60  # last step only
    with pytest.raises(ValueError, match="`select_from`"):
        fit(small(), tiny_images, config=cfg, seed=0, val=val, select_from=1.5)
