"""Results tables from hand-made records: Holm marks, win shares, chance/majority rates, metric auto,
chosen hyperparameters, cost, under-training warnings, and old logs without the new fields."""

import csv
import io
import dataclasses
import json

import numpy as np
import pytest
import yaml

from scarce.cli import main
from scarce.experiment.cells import cell_key
from scarce.experiment.config import ExperimentConfig, dump_config, from_dict
from scarce.report.results import CSV_COLUMNS, Results
from scarce.metrics import holm, paired_pvalue

COUNTS = [34, 33, 33]  # balanced test split of 100


def rec(remedy, size, seed, acc, *, bal=None, new=True, **extra):
    """A record; ``new`` adds the fields the engine writes since issue 11 (all optional for Results)."""
    r = {"key": cell_key(remedy, size, seed), "remedy": remedy, "size": size, "seed": seed, "n_test": 100,
         "metrics": {"accuracy": acc, "balanced_accuracy": acc if bal is None else bal, "macro_f1": acc,
                     "per_class_recall": [acc] * 3},
         "hparams": {"lr": 0.003, "weight_decay": 1e-4}, "seconds": 3.0}
    if new:
        r.update(test_counts=COUNTS, hparams_at_edge=[], prep_seconds=0.0, train_seconds=2.0,
                 tuning={"mode": "every_cell", "selection": "holdout", "folds": None, "grid_points": 6,
                         "tuned_on_seed": seed},
                 train_summary={"steps": 300, "best_step": 150, "final_train_loss": 0.01, "train_accuracy": 1.0,
                                "val_improving_late": False})
    return {**r, **extra}


def results(rows, *, remedies=None, metric="auto", sizes=(5,)):
    """``rows``: {remedy: [acc per seed]} (or (acc, record kwargs) pairs)."""
    records = []
    for remedy, vals in rows.items():
        for seed, v in enumerate(vals):
            acc, kw = v if isinstance(v, tuple) else (v, {})
            for size in sizes:
                records.append(rec(remedy, size, seed, acc, **kw))
    config = {"name": "t", "metric": metric, "remedies": remedies or list(rows), "sizes": list(sizes),
              "seeds": sorted({r["seed"] for r in records}), "train": {"lr": [1e-3, 3e-3, 1e-2],
                                                                      "weight_decay": [1e-4, 1e-3]}}
    return Results(records, from_dict(ExperimentConfig, config))


def row(res, remedy, size=5, metric=None):
    return next(r for r in res.summary(metric) if r["remedy"] == remedy and r["size"] == size)


def gain_line(md, remedy):
    return next(line for line in md.splitlines() if line.startswith(f"| {remedy} | 5 | "))


def test_zero_variance_gain_over_three_seeds_is_not_significant():
    res = results({"baseline": [0.90, 0.92, 0.94], "augment": [0.91, 0.93, 0.95]})
    r = row(res, "augment")
    assert r["gain"] == pytest.approx(0.01) and r["ci_excludes_zero"]  # the raw interval has zero width
    assert r["p"] == pytest.approx(0.25) and not r["significant_holm"]
    assert "*" not in gain_line(res.to_markdown(), "augment")


def test_holm_marks_over_the_table_family():
    base = [0.70, 0.80, 0.75, 0.90, 0.65, 0.72, 0.78, 0.81]  # 8 seeds: sign-flip floor 2/256
    strong = [b + d for b, d in zip(base, [0.10, 0.11, 0.12, 0.10, 0.11, 0.10, 0.12, 0.11])]
    weak = [b + d for b, d in zip(base, [0.01, 0.03, 0.005, 0.02, 0.04, 0.015, -0.01, 0.025])]  # raw p 1/32
    null = [b + d for b, d in zip(base, [0.01, -0.01, 0.02, -0.02, 0.0, 0.01, -0.01, 0.0])]
    res = results({"baseline": base, "strong": strong, "weak": weak, "null": null})
    rows = {r["remedy"]: r for r in res.summary() if "gain" in r}
    expected = holm([paired_pvalue(v, base) for v in (strong, weak, null)])
    assert [rows[m]["p_holm"] for m in ("strong", "weak", "null")] == pytest.approx(expected)
    assert rows["weak"]["p"] < 0.05 and rows["weak"]["ci_excludes_zero"]  # raw: "significant"
    assert not rows["weak"]["significant_holm"] and rows["strong"]["significant_holm"]  # Holm: only strong
    md = res.to_markdown()
    assert gain_line(md, "strong").split(" | ")[2].endswith("*")
    assert "*" not in gain_line(md, "weak") and "over the 3 comparisons" in md


def test_win_share_counts_ties_half():
    res = results({"baseline": [0.80, 0.70, 0.61, 0.90], "mixup": [0.81, 0.70, 0.60, 0.92]})
    r = row(res, "mixup")
    assert (r["wins"], r["ties"], r["losses"]) == (2, 1, 1) and r["win_share"] == pytest.approx(0.625)
    assert "(2-1-1)" in gain_line(res.to_markdown(), "mixup")


def test_chance_and_majority_rates_and_the_majority_mark():
    imbalanced = {"test_counts": [60, 20, 20]}
    res = results({"baseline": [(a, imbalanced) for a in (0.58, 0.60, 0.62)],
                   "encoder": [(a, imbalanced) for a in (0.88, 0.90, 0.92)]}, metric="accuracy")
    base, enc = row(res, "baseline"), row(res, "encoder")
    assert base["majority"] == pytest.approx(0.6) and base["chance"] == pytest.approx(1 / 3)
    assert base["not_above_majority"] and not enc["not_above_majority"]
    md = res.to_markdown()
    table = md.split("## accuracy (headline)")[1].split("###")[0]
    assert "Chance (1/C, C=3) 33.3%" in table and "majority-class rate 60.0%" in table
    assert "| baseline | 60.0 ± 5.0 † |" in table and "| encoder | 90.0 ± 5.0 |" in table
    assert any("`baseline` at k=5 is not above the majority-class rate" in w for w in res.warnings())


def test_auto_metric_resolves_from_test_counts():
    kw = {"test_counts": [60, 20, 20]}
    res = results({"baseline": [(0.6, {**kw, "bal": 0.4}), (0.7, {**kw, "bal": 0.5})]})
    assert res.metric == "balanced_accuracy"
    md = res.to_markdown()
    assert "Headline metric: **balanced_accuracy**" in md and "ratio is 3.00 (> 1.5)" in md
    assert "## balanced_accuracy (headline)" in md
    assert row(res, "baseline")["mean"] == pytest.approx(0.45)  # default summary uses the headline
    assert results({"baseline": [0.6, 0.7]}).metric == "accuracy"  # balanced COUNTS
    assert results({"baseline": [0.6, 0.7]}, metric="macro_f1").metric == "macro_f1"  # explicit wins
    assert results({"baseline": [(0.6, kw)]}, metric="accuracy").metric == "accuracy"


def test_chosen_hyperparameters_and_edge_mark():
    edge = {"hparams": {"lr": 0.01, "weight_decay": 1e-4}, "hparams_at_edge": ["lr"]}
    res = results({"baseline": [0.8, 0.8, 0.8], "augment": [(0.8, edge), (0.8, edge), 0.8]})
    assert row(res, "augment")["edge_seeds"] == 2 and row(res, "baseline")["edge_seeds"] == 0
    md = res.to_markdown()
    section = md.split("### chosen hyperparameters")[1].split("\n## ")[0]
    assert "| augment | 5 | lr 0.01 ×2, 0.003 ×1; weight_decay 0.0001 | ‡ 2/3 (lr: end of grid) |" in section
    assert "| baseline | 5 | lr 0.003; weight_decay 0.0001 |  |" in section
    assert "widen it" in section


def test_tuning_and_interval_coverage_are_stated_on_every_table():
    tuning = {"tuning": {"mode": "first_seed", "selection": "cross_validation", "folds": 5, "grid_points": 6,
                         "tuned_on_seed": 0}}
    res = results({"baseline": [(0.8, tuning), (0.82, tuning)], "augment": [(0.81, tuning), (0.84, tuning)]})
    md = res.to_markdown()
    n_tables = sum(line.startswith("|---|") for line in md.splitlines())  # 3 metrics + gain + hyperparameters
    assert n_tables == 5
    assert md.count("`first_seed` (chosen per remedy and size on the first seed") == n_tables
    assert md.count("selection `cross_validation` (5 folds)") == n_tables
    assert md.count("95% t-interval over 2 seeds (paired by seed); the test set is fixed (100 "
                    "examples) and its sampling error is not in the interval") == n_tables - 1  # not on hparams


def test_cost_columns_beside_the_gain():
    synth = {"prep_seconds": 10.0, "train_seconds": 2.0}
    res = results({"baseline": [0.80, 0.82], "synth": [(0.84, synth), (0.85, synth)]})
    r = row(res, "synth")
    assert (r["prep_seconds"], r["train_seconds"], r["cost_ratio"]) == pytest.approx((10.0, 2.0, 6.0))
    assert gain_line(res.to_markdown(), "synth").endswith("| 10.0 | 2.0 | 6.0× |")
    table = list(csv.DictReader(io.StringIO(res.to_csv())))
    assert list(table[0]) == CSV_COLUMNS
    line = next(t for t in table if t["remedy"] == "synth" and t["headline"] == "True")
    assert float(line["cost_ratio"]) == pytest.approx(6.0) and float(line["prep_seconds"]) == pytest.approx(10.0)
    assert line["significant_holm"] == "False" and float(line["p_holm"]) == pytest.approx(float(line["p"]))


def _late(flag, acc=1.0):
    return {"train_summary": {"steps": 300, "best_step": 290, "final_train_loss": 0.3, "train_accuracy": acc,
                              "val_improving_late": flag}}


def test_warnings_for_an_under_trained_reference_and_not_otherwise():
    res = results({"baseline": [(0.8, _late(True)), (0.8, _late(True)), (0.8, _late(False))],
                   "augment": [(0.85, _late(False, 0.80))] * 3})
    warnings = res.warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith("`baseline` at k=5 looks under-trained (the reference")
    assert "2/3 seeds (raise `train.steps`)" in warnings[0]
    assert warnings[1].startswith("`augment` at k=5") and "80.0%" in warnings[1] and "widen the lr grid" in warnings[1]
    assert "## Warnings" in res.to_markdown()
    fine = results({"baseline": [(0.8, _late(True)), (0.8, _late(False)), (0.8, _late(False, 0.97))]})
    assert fine.warnings() == [] and "Warnings" not in fine.to_markdown()
    # kept from an early checkpoint (60% on its training data) but fitting it by the last step: early
    # stopping, not under-training
    early = [(0.8, {"train_summary": {**_late(False, 0.6)["train_summary"], "last_train_accuracy": 1.0}})] * 3
    assert results({"baseline": early}).warnings() == []
    unfit = [(0.8, {"train_summary": {**_late(False, 0.6)["train_summary"], "last_train_accuracy": 0.7}})] * 3
    assert "at the last step is 70.0%" in results({"baseline": unfit}).warnings()[0]


def _write_log(out, res):
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in res.records))
    (out / "config.yaml").write_text(dump_config(res.config))


def test_report_prints_warnings_to_stderr(tmp_path, capsys):
    _write_log(tmp_path, results({"baseline": [(0.8, _late(True)), (0.81, _late(True))]}))
    assert main(["report", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "warning: `baseline` at k=5 looks under-trained" in err
    assert "## Warnings" in (tmp_path / "results.md").read_text()


def test_old_records_without_the_new_fields_still_report(tmp_path, capsys):
    res = results({"baseline": [(0.80, {"new": False}), (0.82, {"new": False})],
                   "augment": [(0.83, {"new": False, "seconds": 6.0}), (0.84, {"new": False, "seconds": 6.0})]},
                  sizes=(5, 10))
    _write_log(tmp_path, res)
    assert main(["report", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
    md = (tmp_path / "results.md").read_text()
    assert "Headline metric: **accuracy**" in md and "majority-class rate unknown" in md
    assert "Tuning mode and selection not recorded in this log; grid lr {0.001, 0.003, 0.01}" in md
    r = row(Results.from_dir(tmp_path), "augment", 10)
    assert r["cost_ratio"] == pytest.approx(2.0) and np.isnan(r["prep_seconds"])  # total over total
    assert r["not_above_majority"] is None and r["win_share"] == 1.0
    assert (tmp_path / "metric_vs_size.png").stat().st_size > 0


def test_plot_leaves_the_callers_backend_alone(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    try:
        matplotlib.use("svg")
        results({"baseline": [0.8, 0.82]}).plot(tmp_path / "p.png")
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_tuning_caption_names_each_selection_with_its_sizes_once():
    from scarce.report.stats import tuning_text

    recs = [{"size": k, "tuning": {"mode": "first_seed", "selection": sel, "folds": f, "grid_points": g}}
            for k, sel, f in ((5, "cross_validation", 5), (10, "cross_validation", 5), (25, "holdout", None),
                              (50, "holdout", None)) for g in (4, 6)]  # logreg and remedy rows
    text = tuning_text(recs, {"lr": [0.01, 0.1], "weight_decay": [0.0001]})
    assert text.count("first_seed") == 1
    assert "selection `cross_validation` (5 folds) at k=5, 10, `holdout` at k=25, 50;" in text
    one = tuning_text([{"size": 5, "tuning": {"mode": "every_cell", "selection": "holdout", "folds": None}}], {})
    assert one == "tuning `every_cell` (chosen per remedy, size and seed); selection `holdout`"


def test_gain_forest_has_one_marker_per_row_and_size_filled_only_when_significant(tmp_path):
    from scarce.report.plots import gain_figure

    res = results({"baseline": [0.50, 0.60, 0.55, 0.52, 0.58, 0.61, 0.54, 0.57],  # 8 seeds: 4 comparisons can
                   "big": [0.70, 0.81, 0.74, 0.73, 0.77, 0.82, 0.75, 0.78],  # reach Holm p <= 0.05
                   "noise": [0.52, 0.58, 0.57, 0.50, 0.59, 0.60, 0.53, 0.57]}, sizes=(5, 10))
    fig = gain_figure(res, metric="accuracy")
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "o"]
    assert len(markers) == 2 * 2  # two non-reference rows x two sizes; the reference has no gain
    sig = {(r["remedy"], r["size"]): r["significant_holm"] for r in res.summary("accuracy") if "gain" in r}
    assert sig[("big", 5)] and not sig[("noise", 5)]
    filled = sorted(line.get_markerfacecolor() != "white" for line in markers)
    assert filled == sorted(sig.values())
    gains = sorted(float(line.get_xdata()[0]) for line in markers)
    assert gains == pytest.approx(sorted(100 * r["gain"] for r in res.summary("accuracy") if "gain" in r))
    res.plot_gains(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("figure", ["learning_figure", "gain_figure"])
def test_plot_titles_fit_inside_the_figure_for_a_recipe_length_name(figure):
    """A recipe name like ``image_augmentation_mix`` once pushed the gain plot's title past the
    right edge of the picture: every title must stay inside the figure."""
    from scarce.report import plots

    res = results({"baseline": [0.5, 0.6, 0.55], "light+mixup": [0.6, 0.7, 0.62]}, sizes=(50, 250))
    res.config = dataclasses.replace(res.config, name="image_augmentation_mix_long_tail_rho100")
    kwargs = {"dashed": set()} if figure == "learning_figure" else {}
    fig = getattr(plots, figure)(res, metric="accuracy", **kwargs)
    plots.png_bytes(fig)  # lays out and draws the figure as the saved files are
    box = fig.axes[0].title.get_window_extent()
    width = fig.get_figwidth() * fig.dpi
    assert box.x0 >= 0 and box.x1 <= width, (box, width)
