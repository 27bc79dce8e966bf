"""Verdicts computed by one rule: helps, hurts, no effect with an equivalence margin, and not shown for
each reason (a flagged reference, a flagged row, too few seeds for a null, an interval too wide),
from tiny hand-made records; the Verdicts section of results.md follows the records."""

import math

import pytest

from scarce.report.verdict import Comparison, decide, floor_note, floor_text
from test_results_report import results

BASE = [0.70, 0.80, 0.75, 0.90, 0.65, 0.72, 0.78, 0.81]  # 8 seeds: the sign-flip floor is 2/256


def shifted(deltas):
    return [b + d for b, d in zip(BASE, deltas)]


def verdict_of(rows, remedy="remedy", **kw):
    res = results(rows, **kw)
    return next(v for v in res.verdicts() if v.comparison.label == remedy), res


def test_helps_when_holm_significant():
    v, _ = verdict_of({"baseline": BASE, "remedy": shifted([0.03, 0.04, 0.035, 0.03, 0.04, 0.032, 0.038, 0.036])})
    assert v.outcome == "helps" and v.comparison.p_holm == pytest.approx(2 / 256)
    assert v.line().startswith("remedy at k=5: helps, +3.5 [") and "(Holm p 0.008)" in v.line()


def test_hurts_when_holm_significant_and_negative():
    v, _ = verdict_of({"baseline": BASE, "remedy": shifted([-0.05, -0.04, -0.06, -0.05, -0.045, -0.05, -0.04, -0.06])})
    assert v.outcome == "hurts" and v.line().startswith("remedy at k=5: hurts, -4.9 [")


NULL = [0.001, -0.002, 0.0015, -0.001, 0.0005, 0.0, -0.0005, 0.001]  # mean +0.006 points, sd 0.12 points


def test_no_effect_inside_the_margin_and_not_shown_with_a_smaller_margin():
    v, res = verdict_of({"baseline": BASE, "remedy": shifted(NULL)})
    assert res.margin == 0.01 and v.outcome == "no effect"
    low, high = v.comparison.interval90
    assert -0.01 < low < high < 0.01 and v.comparison.tost_p <= 0.05
    assert ", inside ±1.0 (TOST p " in v.line()
    tight = Comparison(**{**v.comparison.__dict__, "margin": 0.0005})  # the same data, a margin of 0.05 points
    t = decide(tight)
    assert t.outcome == "not shown" and "spans 0 and passes ±0.05" in t.reason and t.comparison.tost_p > 0.05


def test_the_90_interval_is_derived_from_the_95_one():
    from scipy import stats

    d = [0.01, 0.03, -0.01, 0.02, 0.0]
    m, s = sum(d) / 5, stats.tstd(d) / math.sqrt(5)
    c = Comparison(label="r", size=5, gain=m, low=m - stats.t.ppf(0.975, 4) * s, high=m + stats.t.ppf(0.975, 4) * s,
                   n=5, p_holm=1.0)
    assert c.interval90 == pytest.approx((m - stats.t.ppf(0.95, 4) * s, m + stats.t.ppf(0.95, 4) * s))


def test_not_shown_when_the_reference_is_flagged():
    late = {"train_summary": {"val_improving_late": True, "train_accuracy": 1.0}}
    rows = {"baseline": [(b, late) for b in BASE], "remedy": shifted([0.05] * 8)}
    v, res = verdict_of(rows)
    assert v.outcome == "not shown" and v.reason.startswith("reference: validation was still improving")
    assert "raise `train.steps`" in v.line() and v.comparison.p_holm <= 0.05  # significant, yet not shown


def test_not_shown_when_the_row_is_flagged():
    edge = {"hparams_at_edge": ["lr"]}
    v, _ = verdict_of({"baseline": BASE, "remedy": [(a, edge) for a in shifted([0.05] * 8)]})
    assert v.outcome == "not shown" and "lr chosen at an end of its grid in 8/8 seeds (widen the grid)" in v.reason
    assert not v.reason.startswith("reference:")


def test_not_shown_with_too_few_seeds_for_a_null():
    v, _ = verdict_of({"baseline": BASE[:3], "remedy": shifted([0.0001, 0.0001, 0.0001])})
    low, high = v.comparison.interval90
    assert -0.01 < low <= high < 0.01  # inside the margin: only the seed count stops it
    assert v.outcome == "not shown" and "3 seeds are too few for a null (no effect needs ≥ 5)" in v.reason
    assert v.reason.startswith("inside ±1.0 but")  # only what would decide it: more seeds for a null


def test_not_shown_when_the_interval_is_too_wide():
    v, _ = verdict_of({"baseline": BASE, "remedy": shifted([0.05, -0.04, 0.06, -0.03, 0.02, -0.05, 0.04, -0.02])})
    assert v.outcome == "not shown" and v.reason.startswith("interval too wide to tell: 90% interval [-2.6, +3.3] spans 0 and passes ±1.0")
    assert "cannot reach" not in v.reason  # 8 seeds can reach 0.05 over one comparison


def test_floor_statements():
    assert floor_text(5, 12, only_unreachable=True).startswith("5 seeds cannot reach p ≤ 0.05 by a sign-flip test "
                                                               "over 12 comparisons (floor 0.0625, 0.75 after Holm)")
    assert floor_text(8, 6, only_unreachable=True) == ""
    assert floor_note([3, 3], 3).endswith("with 3 seeds the smallest p a sign-flip test can give is 0.25 "
                                          "(0.75 after Holm over 3 comparisons): no row can be significant")
    assert "no row with 5 seeds can be significant" in floor_note([5, 8], 2)
    assert "no row" not in floor_note([8], 2)


@pytest.mark.parametrize("field, value, match", [("n", 0, "`n` must be an integer >= 1"),
                                                 ("margin", 0.0, "`margin` must be a number > 0"),
                                                 ("p_holm", 1.5, r"`p_holm` must be in \[0, 1\]"),
                                                 ("gain", 0.5, "`gain` must lie in"),
                                                 ("flags", "edge", "`flags` must be a tuple")])
def test_comparison_validates_its_fields(field, value, match):
    kw = dict(label="r", size=5, gain=0.01, low=0.0, high=0.02, n=5, p_holm=0.5)
    with pytest.raises(ValueError, match=match):
        Comparison(**{**kw, field: value})


def test_results_md_has_the_verdicts_section_and_follows_the_records():
    res = results({"baseline": BASE, "remedy": shifted([0.05, 0.04, 0.06, 0.05, 0.045, 0.05, 0.04, 0.06])})
    md = res.to_markdown()
    head, rest = md.split("## Verdicts", 1)
    assert "Headline metric:" in head and "| remedy |" not in head  # right after the headline, before tables
    assert "docs/verdicts.md" in rest.split("- remedy")[0]
    assert "- remedy at k=5: helps, +4.9 [" in rest
    row = next(r for r in res.summary() if r["remedy"] == "remedy")
    assert (row["verdict"], row["verdict_reason"]) == ("helps", "Holm p 0.008 ≤ 0.05")
    assert ",helps,Holm p 0.008 ≤ 0.05" in res.to_csv()
    for r in res.records:  # one record edited: the remedy loses a seed to the baseline -> no longer helps
        if r["remedy"] == "remedy" and r["seed"] == 0:
            r["metrics"] = {**r["metrics"], "accuracy": BASE[0] - 0.05}
    assert "- remedy at k=5: helps" not in res.to_markdown()
    assert "- remedy at k=5: not shown, " in res.to_markdown()


def test_the_gain_table_names_the_test_and_its_floor():
    md = results({"baseline": BASE[:3], "a": shifted([0.05] * 3), "b": shifted([0.02] * 3)}).to_markdown()
    assert "sign-flip" in md and ("with 3 seeds the smallest p a sign-flip test can give is 0.25 (0.5 after Holm "
                                  "over 2 comparisons): no row can be significant") in md


def test_html_carries_the_same_verdict_lines():
    from scarce.report.html import render_html

    res = results({"baseline": BASE, "remedy": shifted(NULL)})
    page = render_html(res)
    assert "<h2>Verdicts</h2>" in page and "<em>not shown</em>" in page
    line = res.verdicts()[0].line()
    assert f'<li class="no-effect">{line.replace("<", "&lt;")}</li>' in page


def test_the_margin_key_is_validated_and_read_and_changing_it_keeps_finished_cells():
    from scarce.experiment.config import ExperimentConfig, from_dict
    from scarce.experiment.runner import extends, validate_config

    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match=r"`equivalence_margin` must be in \(0, 1\), got"):
            validate_config(from_dict(ExperimentConfig, {"equivalence_margin": bad}), data_root=None)
    old = from_dict(ExperimentConfig, {})
    assert old.equivalence_margin == 0.01
    assert extends(old, from_dict(ExperimentConfig, {"equivalence_margin": 0.02}))
    assert not extends(old, from_dict(ExperimentConfig, {"metric": "macro_f1"}))
    res = results({"baseline": BASE, "remedy": shifted(NULL)})
    res.config.equivalence_margin = 0.0005
    assert res.margin == 0.0005 and res.verdicts()[0].outcome == "not shown"


def test_search_md_says_when_a_row_ran_a_subset_of_the_race_seeds():
    from types import SimpleNamespace

    from scarce.search.report import _verdict_section

    result = SimpleNamespace(rounds=[0] * 6)
    rows = [{"label": "baseline", "seeds": 6, "status": "winner"},
            {"label": "a", "seeds": 3, "status": "dropped after round 3", "verdict_line": "a at k=5: not shown, -9.0"},
            {"label": "b", "seeds": 6, "status": "in the race at the end", "verdict_line": "b at k=5: helps, +2.0"}]
    lines = _verdict_section(result, rows)
    assert "- a at k=5: not shown, -9.0 (on 3 of the race's 6 seeds: dropped after round 3)" in lines
    assert "- b at k=5: helps, +2.0" in lines and lines[1] == "## Verdicts"


def test_an_interval_clear_of_zero_over_three_seeds_names_the_floor_not_the_null():
    c = Comparison(label="probe", size=10, gain=0.219, low=0.176, high=0.261, n=3, p_holm=0.25)
    v = decide(c)
    assert v.outcome == "not shown" and v.reason.startswith("90% interval [+19.0, +24.8] excludes 0, but 3 seeds cannot")
    assert "too few for a null" not in v.reason


GAIN = shifted([0.03, 0.04, 0.035, 0.03, 0.04, 0.032, 0.038, 0.036])  # helps, unflagged


@pytest.mark.parametrize("flagged, extra, phrase", [
    ("baseline", {"train_summary": {"steps": 300, "best_step": 300, "last_train_accuracy": 0.5,
                                    "val_improving_late": True}}, "reference: validation was still improving"),
    ("remedy", {"hparams_at_edge": ["weight_decay"], "edge_reasons": {"weight_decay": "narrow"}},
     "weight_decay chosen at an end of a two-value grid, too narrow to tell"),
    ("remedy", {"hparams_at_edge": ["lr"], "edge_reasons": {"lr": "end"}}, "lr chosen at an end of its grid"),
    ("baseline", {"hparams_at_edge": ["step"], "edge_reasons": {"step": "first_check"}},
     "reference: step chosen at the first validation check"),
    ("remedy", {"hparams_at_edge": ["step"], "edge_reasons": {"step": "last_check"}},
     "step chosen at the last validation check"),
])
def test_each_flag_makes_a_significant_gain_not_shown(flagged, extra, phrase):
    clean, _ = verdict_of({"baseline": BASE, "remedy": GAIN})
    assert clean.outcome == "helps"
    rows = {"baseline": BASE, "remedy": GAIN}
    rows[flagged] = [(a, extra) for a in rows[flagged]]
    v, _ = verdict_of(rows)
    assert v.outcome == "not shown" and phrase in v.reason


def test_a_fragile_first_seed_vote_makes_a_significant_gain_not_shown():
    def tuning(seed):
        t = {"mode": "first_seed", "selection": "holdout", "folds": None, "grid_points": 3, "tuned_on_seed": 0}
        return {"tuning": {**t, "vote_margin": 0.001, "n_val": 20} if seed == 0 else t}
    rows = {"baseline": BASE, "remedy": [(a, tuning(s)) for s, a in enumerate(GAIN)]}
    v, _ = verdict_of(rows)
    assert v.outcome == "not shown" and "fragile tuning: the vote on seed 0" in v.reason
