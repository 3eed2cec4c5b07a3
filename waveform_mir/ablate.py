"""Front-end ablations: one grid of variants × seeds, everything else held equal.

A grid file names a base recipe, overrides shared by every cell (data, crops, step budget,
optimiser, schedule), the variants (each a handful of dotted keys, usually the front-end
and its matching backbone) and the seeds::

    name: realmusic-frontends
    recipe: ../folder.yaml            # relative to this file
    set: {data.options.root: ../../../shared/data/realmusic, train.max_steps: 1500}
    seeds: [0, 1, 2]
    baselines: [svm, lr]              # optional: FMA-paper feature baselines, same splits
    probes: {gtzan: runs/folder/best} # optional: those classifiers on a model's embeddings
                                      # (a list of models: one row per model, as seeds)
    reference: mel                    # optional: the row every other is compared with
                                      # (default: mel, else the first variant)
    bootstrap: {resamples: 2000}      # optional: intervals' resamples (1000) and seed (0)
    folds: 5                          # optional: cross-validate every cell and baseline
                                      # (waveform_mir.cross_validation; also --folds K)
    variants:
      mel:  {model.frontend: {name: mel}, model.backbone: {name: short_chunk_cnn}}
      sinc: {model.frontend: {name: sinc_fbank}, model.backbone: {name: short_chunk_cnn}}
      raw:  {model.frontend: {name: raw}, model.backbone: {name: samplecnn}, seeds: [0]}

A variant's own ``seeds`` (the one key without a dot) replaces the grid's for that row, for
variants too costly to run on every seed; the table's ``seeds`` column shows it. A string
value's ``{seed}`` becomes the cell's seed, so that each seed of a fine-tuned row starts from
its own pretraining run (``train.init_from: runs/pretrain/enc_s{seed}/best``). A probe
fits the ``baselines`` classifiers (``lr`` when none are named) on the track embeddings of
a trained model (:mod:`waveform_mir.baseline.embeddings`); its path, like
``train.init_from``'s, is relative to where ``ablate`` runs.

``waveform-mir ablate GRID --out DIR`` trains every cell in turn (under ``accelerate
launch`` too; ``--rows mel mel_ssl`` only those variants and probes, ``--seeds 0`` only
those seeds, ``--reference baseline:lr`` another row to pair against), skips cells that
already finished and resumes an interrupted one from its last checkpoint, then writes
``results.csv/json``, ``results.md`` and plots into ``DIR``.
Every cell and baseline keeps its per-track test outputs (``test_tracks*.npz``, named by the
row's ``tracks_file``), from which the report draws each row's 95 % interval over the test
tracks and its paired comparison with the reference row
(:mod:`waveform_mir.reports.comparisons`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from waveform_mir.config import (
    Recipe,
    RecipeError,
    apply_overrides,
    read_recipe_dict,
    recipe_from_dict,
    set_dotted,
)
from waveform_mir.cross_validation import cross_validate
from waveform_mir.evaluation.selection import HEADLINES, best_of
from waveform_mir.evaluation.track_outputs import TRACKS_FILE
from waveform_mir.evaluation.uncertainty import Bootstrap
from waveform_mir.model import WaveformClassifier
from waveform_mir.reports.ablation import write_results
from waveform_mir.reports.filters import run_filter_drift
from waveform_mir.train import train
from waveform_mir.training.checkpoints import list_checkpoints

console = Console()
VARIANT_SEEDS = "seeds"  # a variant's own seed list; every other variant key is dotted


@dataclass
class AblationGrid:
    """A parsed grid file; ``variants`` maps a row name to its dotted recipe values."""

    name: str
    recipe: Path
    variants: dict[str, dict[str, Any]]
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    shared: dict[str, Any] = field(default_factory=dict)
    baselines: list[str] = field(default_factory=list)
    probes: dict[str, list[str]] = field(default_factory=dict)  # name -> models, one a seed
    reference: str | None = None  # the row others are compared with; None: mel or the first
    bootstrap: Bootstrap = field(default_factory=Bootstrap)
    folds: int | None = None  # K: every cell and baseline cross-validated over K folds

    @classmethod
    def load(cls, path: str | Path) -> AblationGrid:
        path = Path(path)
        if not path.is_file():
            raise RecipeError(f"ablation grid not found: {path}")
        raw = yaml.safe_load(path.read_text()) or {}
        missing = {"recipe", "variants"} - set(raw)
        if missing:
            raise RecipeError(f"ablation grid {path} lacks {sorted(missing)}")
        unknown = set(raw.get("bootstrap") or {}) - {"resamples", "seed"}
        if unknown:
            raise RecipeError(f"ablation grid {path}: bootstrap takes resamples and seed, not "
                              f"{sorted(unknown)}")
        grid = cls(name=raw.get("name", path.stem),
                   recipe=(path.parent / raw["recipe"]).resolve(),
                   variants=raw["variants"], seeds=list(raw.get("seeds", [0, 1, 2])),
                   shared=_resolve_paths(raw.get("set", {}), path.parent),
                   baselines=list(raw.get("baselines", [])),
                   probes={name: models if isinstance(models, list) else [models]
                           for name, models in (raw.get("probes") or {}).items()},
                   bootstrap=Bootstrap(**(raw.get("bootstrap") or {})),
                   folds=raw.get("folds"))
        return grid.compared_with(raw["reference"]) if raw.get("reference") else grid

    def only(self, names: list[str]) -> AblationGrid:
        """The grid restricted to the variants and probes ``names`` (its baselines kept), to
        run part of a grid (one whose other probes' models do not exist yet, say), to
        share its cells between two machines writing into one output folder, or (probes
        only) to score an encoder against the baselines without training a cell."""
        unknown = sorted(set(names) - set(self.variants) - set(self.probes))
        if unknown:
            raise RecipeError(f"ablation grid {self.name}: no variant or probe {unknown}; "
                              f"choose from {[*self.variants, *self.probes]}")
        part = dataclasses.replace(
            self, variants={k: v for k, v in self.variants.items() if k in names},
            probes={k: v for k, v in self.probes.items() if k in names})
        if self.reference is not None and self.reference not in part.row_names():
            raise RecipeError(f"--rows leaves out the grid's reference row '{self.reference}'")
        return part

    def only_seeds(self, seeds: list[int]) -> AblationGrid:
        """The grid restricted to ``seeds`` (a variant with its own seed list keeps those of
        them it has): one seed of every row first, the others later into the same folder."""
        shared = [seed for seed in self.seeds if seed in seeds]
        variants = {}
        for name, values in self.variants.items():
            kept = [seed for seed in values.get(VARIANT_SEEDS, self.seeds) if seed in seeds]
            if kept:
                variants[name] = values if VARIANT_SEEDS not in values else {
                    **values, VARIANT_SEEDS: kept}
        if not variants:
            raise RecipeError(f"ablation grid {self.name}: no variant runs seeds {seeds}")
        return dataclasses.replace(self, seeds=shared, variants=variants)

    def compared_with(self, reference: str) -> AblationGrid:
        """The grid with ``reference`` (any row: a variant, ``baseline:lr``, a probe) as the
        row every other is paired against."""
        if reference not in self.row_names():
            raise RecipeError(f"ablation grid {self.name}: reference '{reference}' is not a "
                              f"row of the table ({', '.join(self.row_names())})")
        return dataclasses.replace(self, reference=reference)

    def row_names(self) -> list[str]:
        """Every row of the table: the variants, then the baselines and probes."""
        classifiers = self.baselines or ["lr"]
        return [*self.variants, *(f"baseline:{name}" for name in self.baselines),
                *(f"probe:{probe}:{name}" for probe in self.probes for name in classifiers)]

    def cells(self) -> list[tuple[str, int]]:
        """Every (variant, seed) to train, in grid order."""
        return [(variant, seed) for variant, values in self.variants.items()
                for seed in values.get(VARIANT_SEEDS, self.seeds)]

    def cell_recipe(self, variant: str | None, seed: int, output_dir: Path,
                    overrides: list[str]) -> Recipe:
        """The base recipe + shared values + the variant's values (none for ``None``: what
        the baselines and probes of a grid without variants run on) + seed and output
        folder."""
        raw = copy.deepcopy(read_recipe_dict(self.recipe))
        for values in (self.shared, self.variants[variant] if variant else {}):
            for dotted, value in values.items():
                if dotted != VARIANT_SEEDS:
                    set_dotted(raw, dotted, with_seed(copy.deepcopy(value), seed))
        apply_overrides(raw, overrides)
        set_dotted(raw, "name", f"{self.name}/{variant or 'data'}/seed{seed}")
        set_dotted(raw, "train.seed", seed)
        set_dotted(raw, "train.output_dir", str(cell_dir(output_dir, variant or "data", seed)))
        return recipe_from_dict(raw)


def with_seed(value: Any, seed: int) -> Any:
    """``value`` with every ``{seed}`` in its strings (nested ones too) replaced by ``seed``."""
    if isinstance(value, str):
        return value.replace("{seed}", str(seed))
    if isinstance(value, dict):
        return {key: with_seed(item, seed) for key, item in value.items()}
    if isinstance(value, list):
        return [with_seed(item, seed) for item in value]
    return value


def _resolve_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make relative ``*root``/``*dir`` paths in shared values relative to the grid file."""
    resolved = dict(values)
    for key, value in values.items():
        if isinstance(value, str) and key.endswith(("root", "_dir")) and value.startswith("."):
            resolved[key] = str((base / value).resolve())
    return resolved


def cell_dir(output_dir: Path, variant: str, seed: int) -> Path:
    return output_dir / "cells" / variant / f"seed{seed}"


def run_cell(grid: AblationGrid, variant: str, seed: int, output_dir: Path,
             overrides: list[str], is_main: bool = True) -> dict[str, Any]:
    """Train one cell (resuming if it was interrupted; with ``folds``, one run per fold,
    pooled) and return its result row."""
    recipe = grid.cell_recipe(variant, seed, output_dir, overrides)
    folder = cell_dir(output_dir, variant, seed)
    if not grid.folds:
        return trained_row(recipe, variant, seed, folder, is_main)
    done = folder / "cell.json"
    if done.is_file():
        return json.loads(done.read_text())
    folds: list[dict[str, Any]] = []

    def run_fold(fold: Recipe) -> dict[str, Path]:
        folds.append(trained_row(fold, variant, seed, Path(fold.train.output_dir), is_main))
        return {"model": Path(folds[-1]["tracks_file"])}

    pooled = cross_validate(recipe, grid.folds, run_fold, folder, bootstrap=grid.bootstrap)
    scores = score_columns(recipe.data.task, pooled["model"], mean_validation(folds))
    row = {**folds[0], **scores, "folds": grid.folds,
           "train_seconds": sum(fold["train_seconds"] for fold in folds),
           "folder": str(folder), "tracks_file": str(folder / "test_tracks_model.npz")}
    if is_main:
        done.write_text(json.dumps(row, indent=2))
    return row


def mean_validation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The folds' validation scores averaged (``None`` where a fold has none)."""
    columns = [key.removeprefix("val_") for key in rows[0] if key.startswith("val_")]
    values = {name: [row[f"val_{name}"] for row in rows] for name in columns}
    return {name: None if None in v else sum(v) / len(v) for name, v in values.items()}


def trained_row(recipe: Recipe, variant: str, seed: int, folder: Path, is_main: bool = True
                ) -> dict[str, Any]:
    """Train ``recipe`` into ``folder`` (resuming; a finished one, with its ``cell.json``,
    is read back) and return its result row."""
    done = folder / "cell.json"
    if done.is_file():
        return json.loads(done.read_text())
    resume = "latest" if list_checkpoints(folder) else None
    result = train(recipe, resume=resume)
    summary = json.loads((folder / "train_summary.json").read_text())
    model = WaveformClassifier.from_pretrained(result.best_model_dir)
    stages = {row["stage"]: row["total"] for row in model.describe(recipe.data.crop_samples)}
    validation = {key.removeprefix("val_"): value
                  for key, value in best_validation(summary["history"]).items()}
    row = {
        "variant": variant, "seed": seed,
        "frontend": recipe.model.frontend["name"], "backbone": recipe.model.backbone["name"],
        **score_columns(recipe.data.task, result.test_scores or {}, validation),
        "params_frontend": stages["frontend"], "params_backbone": stages["backbone"],
        "params_head": stages["head"], "params_total": stages["total"],
        "temperature": summary.get("temperature"),
        "train_seconds": summary["train_seconds"],
        "clips_per_second": summary["history"][-1]["clips_per_second"],
        "history": summary["history"], "folder": str(folder),
        **run_filter_drift(folder),
    }
    if (folder / TRACKS_FILE).is_file():  # every cell trained since the outputs were kept
        row["tracks_file"] = str(folder / TRACKS_FILE)
    if is_main:
        done.write_text(json.dumps(row, indent=2))
    return row


def score_columns(task: str, test: dict[str, Any], validation: dict[str, Any]
                  ) -> dict[str, Any]:
    """The columns every row of the table carries, for a cell and a baseline alike: the
    task's headline scores on test, the same on validation (``val_*``, what settings may be
    chosen by) and the tag prior on test (``None`` for one label per track)."""
    headline = HEADLINES[task]
    return {"task": task, **{name: test.get(name) for name in headline},
            **{f"val_{name}": validation.get(name) for name in headline},
            "prior_pr_auc": test.get("prior_pr_auc")}


def best_validation(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The evaluation the best model was chosen at, by the rule ``train`` applies
    (:mod:`waveform_mir.evaluation.selection`), so settings can be compared on validation."""
    return best_of(history, prefix="val_")


def run_baselines(grid: AblationGrid, output_dir: Path, overrides: list[str]) -> list[dict]:
    """FMA-paper feature baselines and model-embedding probes on the same data, as rows of
    the same table (``baseline:<classifier>``, ``probe:<name>:<classifier>``; a probe given
    several models, one per seed of their training, gets a row per model)."""
    routes = [(f"probe:{name}", seed, model, f"embeddings of {name}",
               output_dir / "probes" / name / f"seed{seed}")
              for name, models in grid.probes.items()
              for seed, model in enumerate(models)]
    if grid.baselines:
        routes.insert(0, ("baseline", 0, None, "hand-made features", output_dir / "baselines"))
    if not routes:
        return []
    recipe = grid.cell_recipe(next(iter(grid.variants), None), grid.seeds[0], output_dir,
                              overrides)
    rows = []
    for prefix, seed, model, described, folder in routes:
        scored = baseline_scores(recipe, grid, folder, model)
        rows += [{"variant": f"{prefix}:{name}", "seed": seed, "frontend": described,
                  "backbone": name, **score_columns(recipe.data.task, test, validation),
                  "tracks_file": str(tracks)}
                 for name, (test, validation, tracks) in scored.items()]
    return rows


def baseline_scores(recipe: Recipe, grid: AblationGrid, folder: Path, model: str | None
                    ) -> dict[str, tuple[dict, dict, Path]]:
    """Each classifier's test scores, validation scores and per-track test outputs: of one
    baseline run, or (``grid.folds``) pooled over one run per fold."""
    from waveform_mir.baseline.run import run_baseline

    classifiers = grid.baselines or ["lr"]
    if not grid.folds:
        results = run_baseline(recipe, classifiers, folder, embeddings_from=model)
        return {name: (row["test"], row["validation"], folder / row["tracks_file"])
                for name, row in results["classifiers"].items()}
    validations: dict[str, list[dict]] = {name: [] for name in classifiers}

    def run_fold(fold: Recipe) -> dict[str, Path]:
        out = Path(fold.train.output_dir)
        results = run_baseline(fold, classifiers, out, embeddings_from=model)
        for name, row in results["classifiers"].items():
            validations[name].append({f"val_{k}": v for k, v in row["validation"].items()})
        return {name: out / row["tracks_file"] for name, row in results["classifiers"].items()}

    pooled = cross_validate(recipe, grid.folds, run_fold, folder, bootstrap=grid.bootstrap)
    return {name: (pooled[name], mean_validation(validations[name]),
                   folder / f"test_tracks_{name}.npz") for name in classifiers}


def run_ablation(grid: AblationGrid, output_dir: Path, overrides: list[str] | None = None,
                 is_main: bool = True) -> list[dict[str, Any]]:
    """Every cell of ``grid`` (finished cells are read back, not rerun), then the report."""
    overrides = overrides or []
    cells = grid.cells()
    rows, started, trained = [], time.perf_counter(), 0
    for number, (variant, seed) in enumerate(cells, start=1):
        finished = (cell_dir(output_dir, variant, seed) / "cell.json").is_file()
        if is_main:
            elapsed = time.perf_counter() - started
            to_train = sum(not (cell_dir(output_dir, v, s) / "cell.json").is_file()
                           for v, s in cells[number - 1:])
            eta = f"{elapsed / trained * to_train / 60:.1f} min" if trained else "–"
            state = "done, read back" if finished else f"remaining ≈ {eta}"
            console.rule(f"cell {number}/{len(cells)} · {variant} · seed {seed} · "
                         f"elapsed {elapsed / 60:.1f} min · {state}")
        rows.append(run_cell(grid, variant, seed, output_dir, overrides, is_main))
        trained += not finished
    if is_main:
        rows += run_baselines(grid, output_dir, overrides)
        paths = write_results(rows, output_dir, grid.name, rows[0]["task"], grid.reference,
                              grid.bootstrap)
        console.print(f"results: {paths['markdown']} · plots in {output_dir}")
    return rows


if __name__ == "__main__":  # accelerate launch -m waveform_mir.ablate GRID [--out DIR]
    import sys

    from waveform_mir.cli import main

    raise SystemExit(main(["ablate", *sys.argv[1:]]))
