"""Reference learners are plug-ins: declared in the config, run by the same cell code as remedies."""

import dataclasses

import pytest

from scarce.experiment.cells import run_task
from scarce.experiment.config import ExperimentConfig, TrainSection, load_config
from scarce.experiment.rows import LEARNERS
from scarce.report.results import Results
from scarce.experiment.runner import Experiment
from scarce.report.ablation import ablate

TINY = dict(name="refs", sizes=[4], seeds=[0], selection="holdout", test_limit=60,
            train=TrainSection(steps=2, lr=[1e-2], weight_decay=[1e-4], eval_every=1))


def test_rows_come_from_remedies_then_references_with_their_labels():
    cfg = ExperimentConfig(remedies=["baseline", "duplicate"], references=[
        "logreg", {"name": "logreg", "remedy": "duplicate"}, {"name": "logreg", "label": "lr_C1", "C": 1}])
    rows = cfg.rows()
    assert [r.label for r in rows] == ["baseline", "duplicate", "logreg", "logreg+duplicate", "lr_C1"]
    assert [r.learner for r in rows[:2]] == [None, None] and rows[3].remedy == "duplicate"
    assert cfg.reference_label() == "baseline"
    assert dataclasses.replace(cfg, reference="logreg").reference_label() == "logreg"


def test_a_reference_with_a_row_remedy_trains_on_the_remedied_rows():
    cfg = ExperimentConfig(**TINY, remedies=[], references=["logreg", {"name": "logreg", "remedy": {"name": "duplicate",
                                                                                                     "n_aug": 2}}])
    tasks = Experiment(cfg, out_dir="/nonexistent/never-written", progress=False).tasks
    plain, dup = (run_task(cfg, None, t) for t in tasks)
    assert plain["remedy"] == "logreg" and dup["remedy"] == "logreg+duplicate(n_aug=2)"
    assert "n_train_after_remedy" not in plain and dup["n_train_after_remedy"] == 3 * dup["n_train"]
    assert set(dup["hparams"]) == {"C"} and dup["tuning"]["grid_points"] == 4


@pytest.mark.parametrize("remedy, part", [("mixup", "batch_transform"), ("focal", "loss_fn"),
                                          ("augment", "transform")])
def test_a_remedy_the_reference_would_ignore_is_refused_before_any_work(tmp_path, remedy, part):
    cfg = ExperimentConfig(**TINY, references=[{"name": "logreg", "remedy": remedy}])
    with pytest.raises(ValueError, match=rf"learner 'logreg' trains on the rows only.*changes `{part}`"):
        Experiment(cfg, out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_the_reference_row_is_named_in_the_config(tmp_path):
    cfg = ExperimentConfig(**TINY, remedies=["baseline"], references=["logreg"], reference="logreg")
    res = ablate(cfg, out_dir=tmp_path, progress=False)
    assert res.reference == "logreg"
    (row,) = [r for r in res.summary("accuracy") if r["remedy"] == "baseline"]
    assert "gain" in row and "gain in accuracy over `logreg`" in (tmp_path / "results.md").read_text()
    with pytest.raises(ValueError, match="`reference` must be the label of a row"):
        Experiment(ExperimentConfig(**TINY, reference="baselin"), out_dir=tmp_path / "x", progress=False)


def test_bad_reference_specs_name_the_key(tmp_path):
    with pytest.raises(ValueError, match="Unknown reference learner 'logregg'. Did you mean 'logreg'"):
        Experiment(ExperimentConfig(**TINY, references=["logregg"]), out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"`C` must be a positive number"):
        LEARNERS.create("logreg", num_classes=3, C=[0])
    with pytest.raises(ValueError, match="both empty"):
        Experiment(ExperimentConfig(**TINY, remedies=[]), out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="Row labels must be unique"):
        Experiment(ExperimentConfig(**TINY, remedies=[{"name": "baseline", "label": "logreg"}], references=["logreg"]),
                   out_dir=tmp_path, progress=False)


def test_a_key_of_no_version_is_unknown_and_a_folder_saved_with_it_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("logreg_baseline: true\n")
    with pytest.raises(ValueError, match=r"Unknown config key 'logreg_baseline'"):
        load_config(path)
    out = tmp_path / "old"
    out.mkdir()
    (out / "config.yaml").write_text("remedies: [baseline]\nlogreg_baseline: true\nsizes: [4]\nseeds: [0]\n")
    (out / "results.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"config.yaml' is not a config this version of scarce reads"):
        Results.from_dir(out)

