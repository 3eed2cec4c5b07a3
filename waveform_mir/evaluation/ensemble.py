"""Seed averaging: several trained models scored as one by averaging their track probabilities.

On a few hundred training clips one run's test score swings by several points with its seed.
Averaging the (calibrated) probabilities of runs that differ only in their seed is the
cheapest remedy the small-data literature has: the ensemble's log loss can never be worse than
its members' mean (``-log`` is convex, so the loss of the mean probability is at most the
mean loss), and its accuracy is usually above the best member's.

Averaging calibrated members gives an under-confident ensemble again (their disagreements
flatten the mean; Rahaman & Thiery, NeurIPS 2021, "pool then calibrate"), so a single-label
ensemble can fit its own temperature on validation: ``p ∝ mean_p ** (1 / T)``, ``T`` by the
same track-level grid search as one model's (:mod:`.calibration`).

Members must read tracks the same way (labels, task, sample rate, chunk length, hop,
loudness), or the average mixes different things; anything else is refused. Each member keeps
its own temperature. A tagger's F1 is left out: its thresholds were fitted to one model's
outputs, not to the average.

Every score comes with its 95 % interval over the test tracks (members each, the members'
mean with the tracks resampled jointly across members, the ensemble), and the ensemble is
compared with the members' mean on the same tracks (:mod:`.paired`): whether averaging the
seeds helps by more than the test set can resolve.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from accelerate import Accelerator
from rich.console import Console
from rich.table import Table

from waveform_mir.config import RecipeError
from waveform_mir.evaluation.calibration import TEMPERATURES
from waveform_mir.evaluation.checkpoint import data_as_trained, resolve_model_dir
from waveform_mir.evaluation.evaluator import TrackEvaluator
from waveform_mir.evaluation.metrics import log_loss
from waveform_mir.evaluation.paired import compare_rows
from waveform_mir.evaluation.selection import HEADLINES
from waveform_mir.evaluation.track_outputs import TrackOutputs, tracks_file
from waveform_mir.evaluation.tracks import TrackPredictions, score_tracks
from waveform_mir.evaluation.uncertainty import (
    Bootstrap,
    interval_lists,
    interval_note,
    interval_text,
    with_intervals,
)
from waveform_mir.model import WaveformClassifier
from waveform_mir.reports.ablation import mean_of_present
from waveform_mir.reports.metrics import report


@dataclass
class EnsemblePredictions:
    """Every member's track predictions on one split, in member order."""

    members: list[TrackPredictions]

    def mean(self, temperature: float = 1.0) -> TrackPredictions:
        """(tracks, classes) probabilities averaged over the members, then sharpened
        (``temperature`` < 1) or flattened (> 1) as ``mean ** (1 / temperature)``,
        renormalised per track."""
        first = self.members[0]
        mean = np.mean([m.probabilities for m in self.members], axis=0)
        if temperature != 1.0:
            scaled = np.log(np.clip(mean, 1e-12, 1.0)) / temperature
            mean = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
            mean /= mean.sum(axis=-1, keepdims=True)
        return TrackPredictions(mean, first.labels, first.num_chunks)

    def fit_temperature(self) -> float:
        """The ensemble temperature with the lowest track log loss on these tracks."""
        losses = [log_loss(self.mean(float(t)).probabilities, self.members[0].labels)
                  for t in TEMPERATURES]
        return float(TEMPERATURES[int(np.argmin(losses))])


def how_it_reads(model: WaveformClassifier) -> dict:
    """What a model must share with the others of an ensemble."""
    return {"labels": model.id2label, "task": model.task, "sample_rate": model.sample_rate,
            "chunk_seconds": model.chunk_seconds, "hop_seconds": model.hop_seconds,
            "loudness": model.loudness.to_dict()}


def check_members(models: list[WaveformClassifier], folders: list[Path]) -> None:
    """Refuse members that read tracks differently from the first, naming what differs."""
    reference = how_it_reads(models[0])
    for model, folder in zip(models[1:], folders[1:], strict=True):
        differs = [key for key, value in how_it_reads(model).items() if value != reference[key]]
        if differs:
            raise RecipeError(f"{folder} differs from {folders[0]} in {', '.join(differs)}; "
                              f"an ensemble averages models that read tracks the same way")


def evaluate_ensemble(checkpoints: list[Path], data: str | None = None, split: str = "test",
                      output_dir: Path | None = None, batch_size: int = 64,
                      calibrate_on: str | None = None, bootstrap: Bootstrap | None = None
                      ) -> dict:
    """Score the average of ``checkpoints`` on ``split`` (track level) and write its metrics,
    plot and per-track outputs into ``output_dir`` (default: ``ensemble/`` in the members'
    common folder).

    ``calibrate_on`` names a split (never ``split``) to fit the ensemble's temperature on
    (single-label models only). Returns the metric dict of the ensemble (with
    ``intervals``) plus ``temperature``, ``members`` (each member's folder, headline scores
    and intervals on the same tracks) and :func:`members_summary`'s ``members_mean`` and
    ``versus_members``.
    """
    if len(checkpoints) < 2:
        raise RecipeError("an ensemble needs at least two models")
    if calibrate_on == split:
        raise RecipeError(f"calibrating on the split that is scored ('{split}') would flatter "
                          f"its log loss; calibrate on another split")
    folders = [resolve_model_dir(path) for path in checkpoints]
    models = [WaveformClassifier.from_pretrained(folder) for folder in folders]
    check_members(models, folders)
    if calibrate_on and models[0].task != "single_label":
        raise RecipeError("an ensemble temperature is fitted for single-label models only")
    prepared, data_config = data_as_trained(models[0], folders[0], data,
                                            list(filter(None, (split, calibrate_on))))
    accelerator = Accelerator()
    evaluator = TrackEvaluator(prepared, data_config.crop_samples,
                               data_config.eval_hop_samples, batch_size, accelerator)
    models = [accelerator.prepare(model) for model in models]

    def predictions(on: str) -> EnsemblePredictions:
        return EnsemblePredictions([evaluator.predictions(model, on) for model in models])

    temperature = predictions(calibrate_on).fit_temperature() if calibrate_on else 1.0
    scored = predictions(split)
    headline = HEADLINES[models[0].task]
    bootstrap = bootstrap or Bootstrap()
    members = [evaluator.track_outputs(p, split) for p in scored.members]
    ensemble = evaluator.track_outputs(scored.mean(temperature), split)
    scores = with_intervals(score_tracks(scored.mean(temperature), prepared.label_names),
                            [ensemble], bootstrap)
    scores["temperature"] = temperature
    scores["members"] = [
        {"model": str(folder), **{key: member[key] for key in headline if key in member},
         "intervals": interval_lists([outputs], bootstrap)}
        for folder, member, outputs in zip(folders, (score_tracks(p, prepared.label_names)
                                                     for p in scored.members), members,
                                           strict=True)]
    scores.update(members_summary(scores, headline, members, ensemble, bootstrap))
    if accelerator.is_main_process:
        console = Console()
        shared = Path(os.path.commonpath([folder.resolve() for folder in folders]))
        names = [str(folder.resolve().relative_to(shared)) for folder in folders]
        console.print(members_table(scores, headline, split, names))
        console.print(versus_table(scores))
        output_dir = output_dir or shared / "ensemble"
        paths = report(scores, output_dir, split, console)
        ensemble.save(output_dir / tracks_file(split))
        console.print(f"metrics: {paths['metrics']} · plot: {paths['plot']}")
    return scores


def members_summary(scores: dict, headline: tuple[str, ...], members: list[TrackOutputs],
                    ensemble: TrackOutputs, bootstrap: Bootstrap) -> dict:
    """``members_mean``: the members' mean headline scores with their interval (tracks
    resampled jointly across members); ``versus_members``: the ensemble against that mean on
    the same tracks, one paired comparison per metric."""
    means = {key: mean_of_present([m.get(key) for m in scores["members"]]) for key in headline}
    versus = compare_rows({"members' mean": members, "ensemble": [ensemble]}, "members' mean",
                          bootstrap)
    return {"members_mean": {**means, "intervals": interval_lists(members, bootstrap)},
            "versus_members": [comparison.to_dict() for comparison in versus]}


def members_table(scores: dict, headline: tuple[str, ...], split: str, names: list[str]
                  ) -> Table:
    """Each member's headline scores (``names``: its folder, short), their mean, and the
    ensemble's, side by side, each with its interval below it."""
    table = Table(title=f"{len(scores['members'])} models and their average, {split} split")
    table.add_column("model")
    for key in headline:
        table.add_column(key.replace("_", " "), justify="right")
    rows = [*zip(names, scores["members"], strict=True),
            ("members' mean", scores["members_mean"]), ("[bold]ensemble[/bold]", scores)]
    for name, row in rows:
        table.add_row(name, *(interval_text(row, key, separator="\n") for key in headline))
    temperature = ("" if scores["temperature"] == 1.0
                   else f"ensemble, temperature {scores['temperature']:.2f} · ")
    table.caption = f"{temperature}{interval_note(scores).removeprefix(' · ')}"
    return table


def versus_table(scores: dict) -> Table:
    """The ensemble against its members' mean on the same tracks, one row per metric."""
    table = Table(title="ensemble − members' mean, paired on the same tracks")
    for column in ("score", "difference", "95 % interval", "p", "verdict"):
        table.add_column(column, justify="left" if column in ("score", "verdict") else "right")
    for row in scores["versus_members"]:
        if row["difference"] is None:
            continue
        table.add_row(row["metric"].replace("_", " "), f"{row['difference']:+.3f}",
                      f"[{row['low']:+.3f}, {row['high']:+.3f}]", f"{row['p_value']:.2g}",
                      row["verdict"])
    return table
