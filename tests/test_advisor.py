import pytest

from scarce.backbones.advisor import decide, similarity_from_accuracies
from scarce.report.advice import REMEDY_SPECS, advice_text, remedy_for


@pytest.mark.parametrize("per_class, similarity, case, strategy", [
    (10, 0.6, "small & similar", "linear_probe"),
    (99, 0.3, "small & similar", "linear_probe"),
    (100, 0.3, "large & similar", "finetune_last"),
    (1000, 0.9, "large & similar", "finetune_last"),
    (10, 0.1, "small & different", "truncate"),
    (50, 0.29, "small & different", "truncate"),
    (250, -0.2, "large & different", "finetune_all"),
    (5000, 0.0, "large & different", "finetune_all"),
])
def test_decision_table(per_class, similarity, case, strategy):
    advice = decide(per_class, similarity)
    assert (advice.case, advice.strategy) == (case, strategy)
    assert len(advice.reasons) == 3 and str(per_class) in advice.reasons[0]
    assert remedy_for(advice) == REMEDY_SPECS[strategy] and strategy.split("_")[0] in str(advice)
    assert advice_text(advice) == str(advice).replace(f"strategy: {strategy}",
                                                      f"strategy: {strategy}  (remedy: {REMEDY_SPECS[strategy]})", 1)


def test_every_advised_strategy_is_carried_out_by_a_remedy():
    from scarce.backbones.advisor import CASES
    from scarce.remedies.base import create_remedy

    assert set(REMEDY_SPECS) == {strategy for strategy, _ in CASES.values()}
    assert all(create_remedy({**spec, "pretrained": False}) for spec in REMEDY_SPECS.values())


def test_thresholds_move_the_boundaries():
    assert decide(50, 0.5, size_threshold=40).strategy == "finetune_last"
    assert decide(10, 0.5, similarity_threshold=0.6).strategy == "truncate"


def test_similarity_is_share_of_pixel_error_removed():
    assert similarity_from_accuracies(0.6, 0.2) == pytest.approx(0.5)
    assert similarity_from_accuracies(0.7, 0.7) == 0.0
    assert similarity_from_accuracies(0.5, 1.0) == 0.0
    assert similarity_from_accuracies(0.1, 0.2) < 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="`per_class` must be >= 1, got 0"):
        decide(0, 0.5)
    with pytest.raises(ValueError, match="`similarity` must be in"):
        decide(10, 1.5)


def test_advise_measures_on_a_small_sample(tiny_images):
    from scarce.backbones.advisor import advise

    a = advise(tiny_images, per_class=10, sample_per_class=4, size=32)
    assert a.case.startswith("small") and set(a.measures) == {"similarity", "acc_pretrained", "acc_pixels", "n"}
    assert a.measures["n"] == 12 and "1-NN" in a.reasons[-1]


def test_cli_advise_prints_case_and_reasons(capsys, tmp_path, monkeypatch):
    from scarce.cli import main

    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path))
    assert main(["advise", "digits", "--per-class", "10", "--size", "16"]) == 0
    out = capsys.readouterr().out
    assert "Case: small & " in out and "1-NN accuracy" in out
    assert "  (remedy: {'name': " in out.splitlines()[0]  # the advised strategy's remedy, for a config
    assert list((tmp_path / "features").rglob("*.npz"))  # features went to $SCARCE_CACHE/features
    assert main(["advise", "digits", "--per-class", "0"]) == 2
    assert "`per_class` must be >= 1" in capsys.readouterr().err


def test_verification_config_runs_scratch_and_the_four_strategies():
    from scarce.report.advice import verification_config
    from scarce.remedies.base import create_remedy

    cfg = verification_config("digits", per_class=10, seeds=(0,), steps=4, size=32)
    labels = [spec["label"] for spec in cfg.remedies]
    assert labels == ["scratch", "linear_probe", "finetune_last", "truncate", "finetune_all"]
    assert cfg.sizes == [10] and all(create_remedy(s) for s in cfg.remedies)
