"""Score a saved model on a split, track level, with plots (``waveform-mir evaluate``).

The data come from the recipe saved beside the model (``recipe.yaml`` in the model folder)
unless ``--data`` names another recipe or an audio folder; the model's own sample rate and
crop length always win, because a model is only valid at the rate it was trained at.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from accelerate import Accelerator
from rich.console import Console

from waveform_mir.config import DataConfig, RecipeError, load_recipe
from waveform_mir.data import PreparedData, prepare_dataset, select_task, with_fold
from waveform_mir.evaluation.evaluator import TrackEvaluator
from waveform_mir.evaluation.track_outputs import tracks_file
from waveform_mir.evaluation.uncertainty import Bootstrap
from waveform_mir.model import WaveformClassifier
from waveform_mir.reports.metrics import report


def resolve_model_dir(checkpoint: Path) -> Path:
    """Accept a model folder or a training run folder (whose ``best/`` holds the model)."""
    for candidate in (checkpoint, checkpoint / "best"):
        if (candidate / "config.json").is_file():
            return candidate
    raise FileNotFoundError(f"no saved model (config.json) in {checkpoint} or {checkpoint}/best")


def data_for_model(model_dir: Path, data: str | None) -> DataConfig:
    """The data section to evaluate on: saved recipe, another recipe, or an audio folder."""
    if data is None:
        saved = model_dir / "recipe.yaml"
        if not saved.is_file():
            raise RecipeError(f"{model_dir} holds no recipe.yaml; pass --data RECIPE_OR_FOLDER")
        return load_recipe(saved).data
    path = Path(data)
    if path.is_dir():
        return DataConfig(source="folder", options={"root": str(path)})
    return load_recipe(path).data


def data_as_trained(model: WaveformClassifier, model_dir: Path, data: str | None,
                    splits: list[str]) -> tuple[PreparedData, DataConfig]:
    """The data to score ``model`` on (:func:`data_for_model`), cut and levelled as the
    checkpoint says its tracks were when it was trained; checks that ``splits`` hold tracks
    and that the data's labels are the model's."""
    data_config = data_for_model(model_dir, data)
    trained = load_recipe(model_dir / "recipe.yaml").data if (
        model_dir / "recipe.yaml").is_file() else data_config
    hop = trained.eval_hop_seconds if model.hop_seconds is None else model.hop_seconds
    data_config = dataclasses.replace(data_config, sample_rate=model.sample_rate,
                                      crop_seconds=trained.crop_seconds, eval_hop_seconds=hop,
                                      loudness=model.loudness.to_dict())
    prepared = select_task(with_fold(prepare_dataset(data_config), data_config.fold),
                           data_config)
    for needed in splits:
        if needed not in prepared.dataset or not len(prepared.dataset[needed]):
            raise RecipeError(f"split '{needed}' is empty or missing; have "
                              f"{list(prepared.dataset)}")
    if prepared.label_names != [model.id2label[i] for i in range(len(model.id2label))]:
        raise RecipeError(f"the data's genres {prepared.label_names} differ from the model's "
                          f"{list(model.id2label.values())}")
    return prepared, data_config


def evaluate_checkpoint(checkpoint: Path, data: str | None = None, split: str = "test",
                        output_dir: Path | None = None, batch_size: int = 64,
                        calibrate_on: str | None = None, bootstrap: Bootstrap | None = None
                        ) -> dict:
    """Score ``checkpoint`` on ``split``; writes metrics JSON (with 95 % intervals over the
    split's tracks, drawn as ``bootstrap`` says), confusion PNG and the per-track outputs
    (``<split>_tracks.npz``) to output_dir.

    ``calibrate_on`` names a split (never ``split`` itself) to fit the model's temperature on
    first; the calibrated model is saved back into its folder, as training would have.
    """
    if calibrate_on == split:
        raise RecipeError(f"calibrating on the split that is scored ('{split}') would flatter "
                          f"its log loss; calibrate on another split")
    model_dir = resolve_model_dir(checkpoint)
    model = WaveformClassifier.from_pretrained(model_dir)
    prepared, data_config = data_as_trained(model, model_dir, data,
                                            list(filter(None, (split, calibrate_on))))
    accelerator = Accelerator()
    model = accelerator.prepare(model)
    evaluator = TrackEvaluator(prepared, data_config.crop_samples,
                               data_config.eval_hop_samples, batch_size, accelerator)
    if calibrate_on:
        message = evaluator.fit_decision(model, calibrate_on)
        if accelerator.is_main_process:
            accelerator.unwrap_model(model).save_pretrained(model_dir)
            Console().print(f"{message}; saved in {model_dir}")
    scores, outputs = evaluator.tested(model, split, bootstrap)
    if accelerator.is_main_process:
        output_dir = output_dir or model_dir / "evaluation"
        paths = report(scores, output_dir, split)
        outputs.save(output_dir / tracks_file(split))
        Console().print(f"metrics: {paths['metrics']} · plot: {paths['plot']}")
    return scores
