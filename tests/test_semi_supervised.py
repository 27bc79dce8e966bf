"""The unlabelled pool of a recipe and the self-training remedies (pseudo_label, label_spreading)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from fixtures import tiny_transfer_backbones, write_image_folder
from scarce.data import load_dataset
from scarce.data.unlabelled import fingerprints, hide_labels
from scarce.experiment.config import ExperimentConfig, TrainSection, from_dict
from scarce.experiment.plan import CellPlan, get_bundle
from scarce.experiment.runner import validate_config
from scarce.experiment.selftrain import Trainer, self_train
from scarce.remedies.base import Chain, TrainSetup, create_remedy
from scarce.remedies.semi_supervised import SelfTraining, confident


def _config(**keys) -> ExperimentConfig:
    base = dict(name="ssl", sizes=[5], seeds=[0, 1], selection="holdout",
                train=TrainSection(steps=6, eval_every=3, lr=[1e-2], weight_decay=[1e-4]),
                unlabelled={"from": "pool", "limit": 60})
    base.update(keys)
    return from_dict(ExperimentConfig, {k: (v.__dict__ if isinstance(v, TrainSection) else v) for k, v in base.items()})


# ------------------------------------------------------------------ choosing pseudo-labels
def test_confident_keeps_examples_at_or_above_the_threshold_and_can_balance_and_cap():
    p = np.array([[.9, .1], [.97, .03], [.6, .4], [.2, .8], [.05, .95]])
    pos, lab, conf = confident(p, threshold=0.8)
    assert pos.tolist() == [0, 1, 3, 4] and lab.tolist() == [0, 0, 1, 1]
    assert conf.tolist() == pytest.approx([.9, .97, .8, .95])
    pos, _, _ = confident(p, threshold=0.85, balance=True)  # class 0: two confident, class 1: one
    assert pos.tolist() == [1, 4]  # the most confident of each class, one each
    assert confident(p, threshold=0.0, max_per_class=1)[0].tolist() == [1, 4]
    assert len(confident(p, threshold=0.99)[0]) == 0


def test_a_threshold_list_is_a_tuned_axis_and_a_chain_may_tune_a_name_once():
    r = create_remedy({"name": "pseudo_label", "threshold": [0.8, 0.95]})
    assert dict(r.axes) == {"threshold": (0.8, 0.95)}
    assert dict(create_remedy("pseudo_label").axes) == {}
    request = SelfTraining(teacher="model", thresholds=(0.8, 0.95))
    assert request.at({"threshold": 0.95}).threshold == 0.95
    with pytest.raises(ValueError, match="Several thresholds"):
        request.threshold
    with pytest.raises(ValueError, match="pseudo_label"):  # two self-training requests: one replaces the other
        Chain(r, create_remedy({"name": "pseudo_label", "threshold": [0.5, 0.6]}))
    with pytest.raises(ValueError, match="threshold"):
        create_remedy({"name": "pseudo_label", "threshold": 1.5})


def test_pseudo_label_without_an_unlabelled_pool_says_how_to_name_one(tiny_images):
    setup = TrainSetup(train=tiny_images, num_classes=3, model_fn=lambda n: None)
    with pytest.raises(ValueError, match=r"unlabelled: \{from: pool"):
        create_remedy("pseudo_label").apply(setup, seed=0)


@dataclass
class _Fit:
    val_score: tuple | None
    tag: str
    notes: dict = field(default_factory=dict)


class _Recorder(Trainer):
    """Fits that say what they were trained on; the teacher is confident about every pool example."""

    def __init__(self):
        self.calls = []

    def fit(self, prepared, points, *, val, stop_at):
        self.calls.append((prepared, [dict(p) for p in points], val))
        return [_Fit((p["lr"], 0.0), f"{prepared}@{p['lr']}") for p in points]

    def probabilities(self, prepared, fitted, data):
        probs = np.full((len(data), 2), 0.1)
        probs[:, 0] = 0.9
        probs[: len(data) // 2] = [0.3, 0.7]
        return probs

    def features(self, prepared, data):  # pragma: no cover - not used by the model teacher
        raise AssertionError

    def labelled(self, prepared):
        return None, np.array([0, 1])

    def with_rows(self, prepared, rows, *, share):
        return f"student+{len(rows)}"


def test_self_training_fits_one_teacher_grid_then_a_student_per_threshold_on_labelled_validation(tiny_images):
    pool = hide_labels(tiny_images, range(10), source="test")
    trainer, val = _Recorder(), "VAL"
    points = [{"lr": lr, "threshold": t} for lr in (1, 2) for t in (0.8, 0.95)]
    fits = self_train(trainer, "part", SelfTraining(teacher="model", thresholds=(0.8, 0.95)), unlabelled=pool,
                      points=points, val=val, num_classes=2)
    teacher_call, *student_calls = trainer.calls
    assert teacher_call == ("part", [{"lr": 1}, {"lr": 2}], "VAL")  # the threshold is not the teacher's
    assert [c[2] for c in student_calls] == ["VAL", "VAL"]  # students are chosen on the labelled validation too
    assert [c[0] for c in student_calls] == ["student+5", "part"]  # 0.9 passes 0.8 (0.7 does not); nothing 0.95
    assert [f.notes["pseudo_threshold"] for f in fits] == [0.8, 0.95, 0.8, 0.95]
    assert fits[0].notes["n_pseudo"] == 5 and fits[0].notes["pseudo_per_class"] == [5, 0]
    assert fits[0].notes["pseudo_skew"] == 0.5  # every pseudo-label in one of two equally labelled classes
    assert fits[1].notes["n_pseudo"] == 0
    assert fits[0].notes["teacher_val_score"] == 2  # the better teacher of the grid labelled the pool


# ------------------------------------------------------------------ the pool of a cell
def test_config_reads_from_pool_and_refuses_malformed_sections():
    assert _config().unlabelled.source == "pool"
    for bad, match in [({"from": "pool", "path": "x"}, "one of"), ({"from": "web"}, "unlabelled.from"),
                       ({"from": "pool", "mismatch": {"share": 0.5}}, "mismatch.classes"),
                       ({"path": "x", "mismatch": {"share": 0.5, "classes": [0]}}, "from: pool"),
                       ({"from": "pool", "limit": 0}, "unlabelled.limit")]:
        with pytest.raises(ValueError, match=match):
            validate_config(_config(unlabelled=bad), data_root=None)


def test_the_pool_is_the_rest_of_the_training_pool_the_same_for_every_row_and_never_a_test_example():
    config = _config()
    bundle = get_bundle(config, None)
    plan = CellPlan.cut(config, bundle, size=5, seed=0)
    pool = plan.unlabelled
    assert len(pool) == 60 and (pool.labels == -1).all()
    assert not set(pool.indices.tolist()) & set(plan.split.all.tolist())  # no labelled example of the cell
    again = CellPlan.cut(config, bundle, size=5, seed=0).unlabelled
    assert again.indices.tolist() == pool.indices.tolist()  # paired: every row of a cell sees this pool
    assert CellPlan.cut(config, bundle, size=5, seed=1).unlabelled.indices.tolist() != pool.indices.tolist()
    assert not set(fingerprints(pool)) & set(fingerprints(plan.test))
    assert plan.base_setup(plan.train).unlabelled is pool


def test_from_pool_on_a_dataset_whose_pool_is_the_labelled_subset_is_refused_before_any_work(tmp_path):
    root = write_image_folder(tmp_path / "imgs", classes=("a", "b"), n=5)
    config = _config(dataset={"name": "image_folder", "options": {"path": str(root), "test_fraction": 0.2}},
                     sizes=[4], seeds=[0], selection="holdout")
    with pytest.raises(ValueError, match="leaves no unlabelled example"):
        validate_config(config, data_root=None)


def test_a_mismatch_leaves_classes_out_of_the_task_and_draws_its_share_of_the_pool_from_them():
    config = _config(unlabelled={"from": "pool", "limit": 100, "mismatch": {"share": 0.5, "classes": ["8", "9"]}})
    bundle = get_bundle(config, None)
    assert bundle.train.class_names == [str(d) for d in range(8)] and bundle.test.num_classes == 8
    pool = CellPlan.cut(config, bundle, size=5, seed=0).unlabelled
    full = bundle.extra["full_train"]
    true = full.labels[pool.indices]  # the test may read what the pool hides
    assert len(pool) == 100 and (np.isin(true, [8, 9])).sum() == 50
    assert "outside the task" in pool.source


# ------------------------------------------------------------------ rows that use it, end to end
def test_pseudo_label_rows_run_on_the_engine_and_the_reference_learner_and_record_what_they_added(tmp_path):
    from scarce.report import ablate

    config = _config(remedies=["baseline", {"name": "pseudo_label", "threshold": [0.3, 0.9]}],
                     references=[{"name": "logreg", "C": [1.0], "remedy": {"name": "pseudo_label", "threshold": 0.5}}])
    results = ablate(config, out_dir=tmp_path / "run", progress=False)
    records = {(r["remedy"], r["seed"]): r for r in results.records}
    base, pl, lr = records[("baseline", 0)], records[("pseudo_label(threshold=[0.3, 0.9])", 0)], \
        records[("logreg+pseudo_label(threshold=0.5)", 0)]
    assert base["n_unlabelled"] == pl["n_unlabelled"] == 60
    assert pl["hparams"]["threshold"] in (0.3, 0.9)
    assert pl["notes"]["n_pseudo"] == pl["n_train_after_remedy"] - pl["n_train"]
    assert (pl["notes"]["pseudo_accuracy"] is None) == (pl["notes"]["n_pseudo"] == 0)
    assert 0.3 < lr["notes"]["pseudo_accuracy"] <= 1.0  # measured by the harness against the hidden labels
    assert "pseudo_rows" not in pl["notes"] and "pseudo_rows" not in lr["notes"]
    assert lr["notes"]["pseudo_threshold"] == 0.5 and lr["notes"]["n_pseudo"] > 0
    assert "n_pseudo" not in base.get("notes", {})


def test_label_spreading_trains_the_probe_head_on_spread_labels(tmp_path):
    from scarce.report import ablate

    config = _config(dataset={"name": "digits", "options": {"size": 16}}, seeds=[0],
                     remedies=[{"name": "label_spreading", "threshold": 0.5, "neighbours": 5, "backbone": "resnet18",
                                "pretrained": False, "size": 16, "cache_dir": None}])
    with tiny_transfer_backbones():
        results = ablate(config, out_dir=tmp_path / "run", progress=False)
    (record,) = results.records
    assert record["notes"]["self_training"] == "label_spreading" and record["notes"]["n_pseudo"] > 0
    assert record["notes"]["teacher_val_score"] is None  # the graph labelled the pool, not a trained model


def test_a_pool_view_never_exposes_its_base_labels(tiny_images):
    pool = hide_labels(tiny_images, [0, 5, 9], source="x")
    assert pool.labels.tolist() == [-1, -1, -1] and pool[1][1] == -1


def test_the_diagnosis_script_scores_pseudo_labels_against_the_hidden_labels(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    from scarce.report import ablate

    config = _config(dataset={"name": "digits", "options": {"size": 16}}, seeds=[0],
                     remedies=[{"name": "linear_probe", "label": "linear_probe", "backbone": "resnet18",
                                "pretrained": False, "size": 16, "cache_dir": None}])
    path = Path(__file__).parents[1] / "recipes" / "semi_supervised_diagnose.py"
    spec = importlib.util.spec_from_file_location("semi_supervised_diagnose", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with tiny_transfer_backbones():
        ablate(config, out_dir=tmp_path / "run", progress=False)
        (row,) = script.main(script.get_args_parser().parse_args([str(tmp_path / "run"), "--thresholds", "0", "0.99"]))
    (t0, kept0, right0), (_, kept99, _) = row["teacher"]
    assert kept0 == 1.0 and 0.0 <= right0 <= 1.0 and kept99 <= kept0  # threshold 0 keeps the whole pool
    assert "| teacher |" in capsys.readouterr().out
