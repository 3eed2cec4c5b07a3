"""The ablation harness on a tiny synthetic grid: every cell runs once, results and plots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from waveform_mir.ablate import AblationGrid, best_validation, run_ablation
from waveform_mir.evaluation.track_outputs import TrackOutputs
from waveform_mir.reports.ablation import markdown_table, summarise, write_results

REPO = Path(__file__).resolve().parents[1]


def write_grid(path: Path, recipe: str, data: dict, variants: dict, **grid) -> Path:
    """A tiny grid over a synthetic recipe of ``recipes/``: 1 s clips at 8 kHz, a few
    optimiser steps, no trackers; ``data`` and ``grid`` add what the test is about."""
    cache = path.parent / "cache"
    path.write_text(yaml.safe_dump({
        "name": path.stem, "recipe": str(REPO / "recipes" / recipe),
        "set": {"data.sample_rate": 8000, "data.crop_seconds": 1.0,
                "data.cache_dir": str(cache), "train.log_with": [], "train.progress": False,
                **data},
        "variants": variants, **grid,
    }))
    return path


@pytest.fixture
def grid_file(tmp_path) -> Path:
    return write_grid(
        tmp_path / "tiny.yaml", "quickstart.yaml",
        {"data.options.num_per_class": {"train": 6, "validation": 2, "test": 3},
         "data.options.genres": ["house", "ambient", "metal"],
         "train.max_steps": 4, "train.eval_every": 2, "train.checkpoint_every": 2,
         "train.batch_size": 6},
        {"mel": {"model.frontend": {"name": "mel", "n_mels": 32}},
         "sinc": {"model.frontend": {"name": "sinc_fbank", "num_filters": 16}, "seeds": [1]}},
        seeds=[0, 1])


@pytest.mark.slow
def test_grid_runs_every_cell_once_and_reports(grid_file, tmp_path):
    grid = AblationGrid.load(grid_file)
    out = tmp_path / "ablation"
    rows = run_ablation(grid, out)
    assert [(r["variant"], r["seed"]) for r in rows] == [  # sinc runs its own seed list
        ("mel", 0), ("mel", 1), ("sinc", 1)]
    for row in rows:
        assert 0 <= row["accuracy"] <= 1 and row["log_loss"] > 0
        assert row["params_total"] == sum(row[f"params_{s}"] for s in ("frontend", "backbone",
                                                                           "head"))
        assert row["clips_per_second"] > 0
        chosen = max(row["history"], key=lambda entry: entry["val_macro_f1"])
        assert row["val_macro_f1"] == chosen["val_macro_f1"]
        assert row["val_accuracy"] == chosen["val_accuracy"]
    assert rows[0]["params_frontend"] == 0 < rows[2]["params_frontend"]  # fixed vs learnable
    assert "filter_change" not in rows[0]  # a fixed front-end has nothing to move
    assert rows[2]["filter_change"] > 0 and rows[2]["centre_shift_octaves"] > 0
    for name in ("results.csv", "results.json", "results.md", "scores.png",
                 "validation_curves.png", "learned_filters.png"):
        assert (out / name).is_file(), name
    table = (out / "results.md").read_text()
    assert "| mel | mel | short_chunk_cnn | 2 |" in table and "| sinc | sinc_fbank |" in table
    assert "| sinc | sinc_fbank | short_chunk_cnn | 1 |" in table and "**" in table
    assert "val macro-F1" in table.splitlines()[4]
    assert f"| {rows[2]['filter_change']:.3f} (" in table  # how far sinc's filters moved

    # every cell kept its test tracks; each row's mean has its interval over them, and sinc
    # is compared with mel (the default reference) on the same tracks
    results = json.loads((out / "results.json").read_text())
    for row in rows:
        assert Path(row["tracks_file"]).is_file()
    for entry in results["summary"]:
        for score in ("accuracy", "macro_f1", "log_loss"):
            low, high = entry[f"{score}_interval"]
            assert low <= entry[score] <= high, (entry["variant"], score)
            assert f"{entry[score]:.3f} ± {entry[score + '_std']:.3f} [{low:.3f}, " in table
    assert results["reference"] == "mel" and results["bootstrap"]["tracks"] == 9
    compared = {c["metric"]: c for c in results["comparisons"]}
    assert set(compared) == {"accuracy", "macro_f1", "log_loss"}
    for metric, comparison in compared.items():
        assert comparison["variant"] == "sinc" and comparison["holm_p"] >= comparison["p_value"]
        assert comparison["difference"] == pytest.approx(
            results["summary"][1][metric] - results["summary"][0][metric])
        assert comparison["low"] <= comparison["difference"] <= comparison["high"]
    assert compared["accuracy"]["test"] == "paired bootstrap"  # mel has two seeds
    assert "## Paired against `mel` (the same 9 test tracks)" in table
    assert "| sinc | 1 vs 2 |" in table

    # a finished grid is read back, not retrained: no cell folder changes
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("cell.json")}
    again = run_ablation(grid, out)
    assert [r["accuracy"] for r in again] == [r["accuracy"] for r in rows]
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("cell.json")}
    assert len(json.loads((out / "results.json").read_text())["summary"]) == 2


def test_summary_marks_the_best_mean_per_score():
    rows = [
        {"variant": "a", "frontend": "mel", "backbone": "cnn", "accuracy": 0.5,
         "macro_f1": 0.4, "log_loss": 1.0, "params_total": 10, "clips_per_second": 5.0},
        {"variant": "a", "frontend": "mel", "backbone": "cnn", "accuracy": 0.7,
         "macro_f1": 0.6, "log_loss": 1.2, "params_total": 10, "clips_per_second": 7.0},
        {"variant": "b", "frontend": "leaf", "backbone": "cnn", "accuracy": 0.65,
         "macro_f1": 0.55, "log_loss": 0.9, "params_total": 12, "clips_per_second": 3.0},
    ]
    summary = summarise(rows)
    assert summary[0]["accuracy"] == pytest.approx(0.6)
    assert summary[0]["accuracy_std"] == pytest.approx(0.1414, abs=1e-3)
    table = markdown_table(summary)
    line_a, line_b = table.splitlines()[2:4]
    assert "0.600 ± 0.141" in line_a and "**" not in line_a
    for best in ("**0.650 ± 0.000**", "**0.550 ± 0.000**", "**0.900 ± 0.000**"):
        assert best in line_b  # highest accuracy and F1, lowest log loss


def kept_tracks(folder: Path, correct: np.ndarray, seed: int) -> str:
    """A cell's test tracks as training keeps them: three genres, right where ``correct``."""
    rng = np.random.default_rng(seed)
    labels = np.arange(len(correct)) % 3
    chosen = np.where(correct, labels, (labels + 1) % 3)
    probabilities = np.full((len(correct), 3), 0.1) + rng.uniform(0, 0.05, (len(correct), 3))
    probabilities[np.arange(len(correct)), chosen] = 0.8
    ids = np.array([f"t{i}" for i in range(len(correct))])
    return str(TrackOutputs(ids, probabilities, labels).save(folder / f"{seed}.npz"))


def test_the_report_compares_rows_on_their_kept_tracks(tmp_path):
    """Rows read back from kept tracks: intervals beside the means, a paired table against
    the reference with a clear verdict, and a row without kept tracks named, not fatal."""
    right = np.arange(60) < 36  # the reference: 60 % of 60 tracks
    better = right | (np.arange(60) >= 48)  # the same, and right on 12 more
    rows = []
    for variant, correct in (("mel", right), ("wider", better), ("old", right)):
        for seed in (0, 1):
            path = kept_tracks(tmp_path, correct, 10 * len(rows) + seed)
            scores = TrackOutputs.load(Path(path)).scores()
            rows.append({"variant": variant, "seed": seed, "frontend": variant,
                         "backbone": "cnn", **{k: scores[k] for k in
                                               ("accuracy", "macro_f1", "log_loss")},
                         **({} if variant == "old" else {"tracks_file": path})})
    paths = write_results(rows, tmp_path / "report", "kept")
    table = paths["markdown"].read_text()
    assert "| wider | 2 vs 2 | +0.200 |" in table and table.count("| better |") == 3
    assert "Without per-track test outputs (no interval, no comparison): old." in table
    summary = json.loads(paths["json"].read_text())["summary"]
    assert summary[0]["accuracy_interval"][0] < 0.6 < summary[0]["accuracy_interval"][1]
    assert summary[2]["accuracy_interval"] is None and "| old | old | cnn | 2 | 0.600 ± 0.000 |" \
        in table
    assert paths["scores_plot"].is_file()


def test_a_grid_reference_must_be_a_row(tmp_path):
    grid = AblationGrid.load(write_grid(tmp_path / "ref.yaml", "quickstart.yaml", {},
                                        {"mel": {}, "sinc": {}}, baselines=["lr"],
                                        reference="baseline:lr", bootstrap={"resamples": 50}))
    assert grid.reference == "baseline:lr" and grid.bootstrap.resamples == 50
    with pytest.raises(ValueError, match="'leaf' is not a row"):
        AblationGrid.load(write_grid(tmp_path / "bad.yaml", "quickstart.yaml", {},
                                     {"mel": {}}, reference="leaf"))


def test_best_validation_is_the_first_highest_macro_f1():
    history = [{"step": 2, "val_macro_f1": 0.4, "val_accuracy": 0.5},
               {"step": 4, "val_macro_f1": 0.6, "val_accuracy": 0.6},
               {"step": 6, "val_macro_f1": 0.6, "val_accuracy": 0.7}]
    assert best_validation(history)["step"] == 4  # train keeps the first best, not a later tie
    assert best_validation([]) == {}


def test_grid_refuses_a_file_without_variants(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("recipe: x.yaml\n")
    with pytest.raises(ValueError, match="variants"):
        AblationGrid.load(path)


def test_a_probe_of_one_model_is_a_probe_of_a_list_of_one(tmp_path):
    grid = AblationGrid.load(write_grid(
        tmp_path / "probes.yaml", "quickstart.yaml", {}, {"mel": {}},
        probes={"one": "runs/a/best", "seeds": ["runs/b0/best", "runs/b1/best"]}))
    assert grid.probes == {"one": ["runs/a/best"], "seeds": ["runs/b0/best", "runs/b1/best"]}


def test_a_seed_placeholder_gives_each_cell_its_own_start(tmp_path):
    grid = AblationGrid.load(write_grid(
        tmp_path / "per_seed.yaml", "quickstart.yaml", {},
        {"mel": {}, "ssl": {"train.init_from": "runs/enc_s{seed}/best",
                            "model.frontend": {"name": "mel", "note": ["s{seed}", 3]}}}))
    for seed in (0, 2):
        recipe = grid.cell_recipe("ssl", seed, tmp_path / "out", [])
        assert recipe.train.init_from == f"runs/enc_s{seed}/best"
        assert recipe.model.frontend["note"] == [f"s{seed}", 3]
    assert grid.cell_recipe("mel", 1, tmp_path / "out", []).train.init_from is None
    assert grid.variants["ssl"]["train.init_from"] == "runs/enc_s{seed}/best"  # untouched


def test_rows_restrict_a_grid_to_some_variants_and_probes(tmp_path):
    grid = AblationGrid.load(write_grid(
        tmp_path / "rows.yaml", "quickstart.yaml", {}, {"mel": {}, "sinc": {}, "leaf": {}},
        baselines=["lr"], probes={"gtzan": "runs/a/best", "ssl": "runs/b/best"}))
    part = grid.only(["mel", "leaf", "ssl"])
    kept = [name for name in grid.variants if name in ("mel", "leaf")]  # in the grid's order
    assert list(part.variants) == kept and list(part.probes) == ["ssl"]
    assert part.cells() == [(name, seed) for name in kept for seed in (0, 1, 2)]
    assert part.baselines == ["lr"] and len(grid.variants) == 3
    with pytest.raises(ValueError, match="no variant or probe \\['raw'\\]"):
        grid.only(["mel", "raw"])
    referenced = AblationGrid.load(write_grid(tmp_path / "ref.yaml", "quickstart.yaml", {},
                                              {"mel": {}, "sinc": {}}, reference="sinc"))
    with pytest.raises(ValueError, match="reference row 'sinc'"):
        referenced.only(["mel"])
    assert grid.compared_with("baseline:lr").only(["leaf"]).reference == "baseline:lr"


def test_seeds_restrict_a_grid_and_a_reference_can_be_any_row(tmp_path):
    grid = AblationGrid.load(write_grid(
        tmp_path / "seeds.yaml", "quickstart.yaml", {},
        {"mel": {}, "raw": {"seeds": [0]}, "late": {"seeds": [2]}}, baselines=["lr"]))
    first = grid.only_seeds([0])
    assert sorted(first.cells()) == [("mel", 0), ("raw", 0)] and first.seeds == [0]
    assert sorted(grid.only_seeds([1, 2]).cells()) == [("late", 2), ("mel", 1), ("mel", 2)]
    assert len(grid.cells()) == 5
    assert sorted(grid.only_seeds([0, 7]).cells()) == [("mel", 0), ("raw", 0)]  # the grid's only
    with pytest.raises(ValueError, match="no variant runs seeds \\[7\\]"):
        grid.only(["raw"]).only_seeds([7])
    assert grid.compared_with("baseline:lr").reference == "baseline:lr"
    with pytest.raises(ValueError, match="'probe:x:lr' is not a row"):
        grid.compared_with("probe:x:lr")


@pytest.mark.slow
def test_feature_baselines_join_the_table(grid_file, tmp_path):
    pytest.importorskip("librosa", reason="the feature baseline needs the 'baseline' extra")
    raw = yaml.safe_load(grid_file.read_text())
    raw["variants"] = {"mel": raw["variants"]["mel"]}
    raw["seeds"] = [0]
    raw["baselines"] = ["lr"]
    grid_file.write_text(yaml.safe_dump(raw))
    rows = run_ablation(AblationGrid.load(grid_file), tmp_path / "ablation")
    baseline = rows[-1]
    assert baseline["variant"] == "baseline:lr" and 0 <= baseline["accuracy"] <= 1
    assert 0 <= baseline["val_accuracy"] <= 1
    assert "| baseline:lr |" in (tmp_path / "ablation" / "results.md").read_text()


@pytest.mark.slow
def test_folds_test_every_track_once_for_cells_and_baselines(grid_file, tmp_path):
    pytest.importorskip("librosa", reason="the feature baseline needs the 'baseline' extra")
    raw = yaml.safe_load(grid_file.read_text())
    raw["variants"] = {"mel": raw["variants"]["mel"]}
    raw.update(seeds=[0], baselines=["lr"], folds=3)
    grid_file.write_text(yaml.safe_dump(raw))
    out = tmp_path / "ablation"
    rows = run_ablation(AblationGrid.load(grid_file), out)
    tested = []
    for fold in range(3):  # each fold tested a third of the tracks, trained on none of them
        folder = out / "cells" / "mel" / "seed0" / f"fold{fold}"
        ids = TrackOutputs.load(folder / "test_tracks.npz").track_ids.tolist()
        tested += ids
        assert len(ids) == 11 or len(ids) == 12
    assert len(tested) == len(set(tested)) == 33  # 3 genres × (6 + 2 + 3): all, once each
    for row in rows:  # the cell and the baseline: scored on all 33 tracks, pooled
        pooled = TrackOutputs.load(Path(row["tracks_file"]))
        assert sorted(pooled.track_ids.tolist()) == sorted(tested)
        assert 0 <= row["accuracy"] <= 1 and row["val_accuracy"] is not None
    assert rows[0]["folds"] == 3
    results = json.loads((out / "results.json").read_text())
    assert results["bootstrap"]["tracks"] == 33


@pytest.mark.slow
def test_grid_runs_under_accelerate_launch_with_two_processes(grid_file, tmp_path):
    """``scripts/ablate.py`` under two real CPU processes: the cell trains data-parallel and
    only the main process writes the report."""
    raw = yaml.safe_load(grid_file.read_text())
    raw["variants"] = {"mel": raw["variants"]["mel"]}
    raw["seeds"] = [0]
    grid_file.write_text(yaml.safe_dump(raw))
    out = tmp_path / "ablation"
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
               "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", str(REPO / "scripts" / "ablate.py"), str(grid_file),
               "--out", str(out)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "cells" / "mel" / "seed0" / "train_summary.json").read_text())
    assert summary["num_processes"] == 2
    assert "| mel | mel |" in (out / "results.md").read_text()


@pytest.mark.slow
def test_a_tagging_grid_reports_ranking_scores_beside_its_baseline(tmp_path):
    """A grid whose recipe learns tags: rows, table, curves, baseline and a probe on the
    cell's own model speak PR-AUC."""
    pytest.importorskip("librosa", reason="the feature baseline needs the 'baseline' extra")
    grid = AblationGrid.load(write_grid(
        tmp_path / "tiny-tags.yaml", "quickstart_tags.yaml",
        {"data.options.num_per_class": {"train": 8, "validation": 3, "test": 4},
         "model.backbone": {"name": "short_chunk_cnn", "width": 8},
         "train.max_steps": 30, "train.eval_every": 15, "train.checkpoint_every": 15,
         "train.batch_size": 8},
        {"mel": {"model.frontend": {"name": "mel", "n_mels": 32}}},
        seeds=[0], baselines=["lr"],
        # the cell's own model, twice: a probe of several models has a row per model
        probes={"own": [str(tmp_path / "ablation" / "cells" / "mel" / "seed0" / "best")] * 2}))
    out = tmp_path / "ablation"
    cell, baseline, probe, probe_again = run_ablation(grid, out)
    assert (baseline["variant"], probe["variant"]) == ("baseline:lr", "probe:own:lr")
    assert (probe["seed"], probe_again["seed"]) == (0, 1)
    assert probe["frontend"] == "embeddings of own"
    assert probe_again["macro_pr_auc"] == probe["macro_pr_auc"]
    for row in (cell, baseline, probe):
        assert row["task"] == "multi_label"
        assert 0.5 < row["macro_roc_auc"] <= 1 and 0 < row["macro_f1"] <= 1
        assert row["prior_pr_auc"] < row["macro_pr_auc"]
        assert "accuracy" not in row and 0 < row["val_macro_pr_auc"] <= 1
    chosen = max(cell["history"], key=lambda entry: entry["val_macro_pr_auc"])
    assert cell["val_macro_pr_auc"] == chosen["val_macro_pr_auc"]
    table = (out / "results.md").read_text()
    assert "| macro ROC-AUC | macro PR-AUC | macro-F1 |" in table
    assert "best validation macro PR-AUC" in table and "Tag prior on test" in table
    assert "| baseline:lr | hand-made features | lr | 1 |" in table
    assert "| probe:own:lr | embeddings of own | lr | 2 |" in table
    assert f"{cell['macro_pr_auc']:.3f}" in table
    header = (out / "results.csv").read_text().splitlines()[0]
    assert "macro_pr_auc" in header and "accuracy" not in header
    assert (out / "validation_curves.png").is_file()
    # the baseline and the probe are compared with the cell on the same tracks, tag scores
    # and F1 at each row's own thresholds alike
    results = json.loads((out / "results.json").read_text())
    for entry in results["summary"]:
        for score in ("macro_roc_auc", "macro_pr_auc", "macro_f1"):
            low, high = entry[f"{score}_interval"]
            assert 0 <= low <= entry[score] <= high <= 1, (entry["variant"], score)
    compared = {(c["variant"], c["metric"]) for c in results["comparisons"]}
    assert compared == {(row, metric) for row in ("baseline:lr", "probe:own:lr")
                        for metric in ("macro_roc_auc", "macro_pr_auc", "macro_f1")}
    assert "### macro PR-AUC" in table and "| probe:own:lr | 2 vs 1 |" in table
