"""Recipes: typed dataclasses for data, model and training, loaded from YAML.

A recipe is one YAML file with three sections (``data``, ``model``, ``train``). Every value can
be overridden from the command line with a dotted path (``--set train.lr=3e-4``), so that an
ablation changes one line and nothing else. The resolved recipe is written into every run's
output folder, which makes a run reproducible from its folder alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml


@dataclass
class DataConfig:
    """Where the audio comes from and how it is cut into model inputs.

    ``source`` names a dataset builder (``synthetic``, ``folder``, ``fma``, ``hub``); ``options``
    are that builder's keyword arguments (e.g. ``root`` for a folder). Crops are what the model
    sees in training; evaluation covers each track with chunks of the same length, whose scores
    are averaged per track.
    """

    source: str = "synthetic"
    options: dict[str, Any] = field(default_factory=dict)
    sample_rate: int = 16000
    crop_seconds: float = 3.0
    eval_hop_seconds: float | None = None  # None: chunks of crop_seconds with no overlap
    # Per-track loudness normalisation after decoding (see waveform_mir.data.loudness).
    loudness: dict[str, Any] = field(
        default_factory=lambda: {"method": "lufs", "target_db": -23.0})
    cache_dir: str | None = None  # None: ~/.cache/waveform_mir (or $WAVEFORM_MIR_CACHE)
    num_proc: int = 1
    balanced_sampling: bool = False
    # What a run learns (see waveform_mir.data.tasks): single_label, one class per track from
    # a ClassLabel column, or multi_label, any set of tags from a tag column (genres_all,
    # moods, tags, ...) with a sigmoid per tag.
    task: str = "single_label"
    label_column: str = "label"
    # one fold of a K-fold split of the union of train, validation and test, grouped by track
    # and artist: {count: 5, index: 0, seed: 0, validation_fraction: 0.1} (waveform_mir.data.
    # folds); None: the source's own split
    fold: dict[str, Any] | None = None

    @property
    def crop_samples(self) -> int:
        return int(round(self.crop_seconds * self.sample_rate))

    @property
    def eval_hop_samples(self) -> int:
        hop = self.crop_seconds if self.eval_hop_seconds is None else self.eval_hop_seconds
        return int(round(hop * self.sample_rate))


@dataclass
class ModelConfig:
    """Names and keyword arguments of the three stages, resolved by the model registry."""

    frontend: dict[str, Any] = field(default_factory=lambda: {"name": "mel"})
    backbone: dict[str, Any] = field(default_factory=lambda: {"name": "short_chunk_cnn"})
    head: dict[str, Any] = field(default_factory=dict)
    augment: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Optimisation, regularisation, checkpointing and logging of one training run."""

    output_dir: str = "runs/quickstart"
    seed: int = 0
    max_steps: int = 1000
    batch_size: int = 32
    eval_batch_size: int = 64
    lr: float = 1e-3
    frontend_lr_scale: float = 1.0  # front-end lr = lr × this (small-valued kernels, e.g. mel)
    frontend_freeze_steps: int = 0  # front-end at lr 0 for the first steps (backbone settles)
    weight_decay: float = 1e-2  # backbone and head weight matrices only; never norms, biases
    # or front-end parameters (see waveform_mir.training.optimisation)
    warmup_steps: int = 50
    grad_clip: float = 1.0
    grad_accumulation: int = 1
    mixed_precision: str = "no"  # no | fp16 | bf16
    class_weights: bool = False
    positive_weights: bool = False  # tagging: weigh each tag's positives by negatives/positives
    label_smoothing: float = 0.0
    # transfer learning: a model folder or Hub id whose front-end and backbone weights start
    # this run; its head and calibration never (see waveform_mir.training.warm_start)
    init_from: str | None = None
    # fine-tuning from init_from: the copied tensors learn at lr × this (the new head at lr),
    # and are held at lr 0 for the first steps while the head settles (see
    # waveform_mir.training.optimisation)
    pretrained_lr_scale: float = 1.0
    pretrained_freeze_steps: int = 0
    mixup_alpha: float = 0.0
    random_gain_db: float = 0.0
    eval_every: int = 200
    # fit the best model's temperature (tags: per-tag thresholds) on validation before test
    calibrate: bool = True
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    num_workers: int = 0
    log_with: list[str] = field(default_factory=lambda: ["tensorboard"])
    progress: bool = True


@dataclass
class PretrainConfig:
    """Self-supervised pretraining (``waveform-mir pretrain``, see :mod:`waveform_mir.pretrain`).

    Each training item is a ``span_seconds`` stretch of a track; two views of
    ``data.crop_seconds`` are cut from it at independent offsets and speeds and augmented
    independently (``views``: :class:`~waveform_mir.pretraining.views.ViewMaker` options).
    The views of one track are a positive pair, every other view of the batch a negative
    (``objective``, e.g. ``nt_xent`` at ``temperature``), scored on a projection of the pooled
    embedding (``projection_dim``, hidden width ``projection_hidden`` or the embedding's).
    """

    objective: str = "nt_xent"
    temperature: float = 0.1
    projection_dim: int = 128
    projection_hidden: int | None = None
    pooling: str = "mean"
    span_seconds: float = 10.0
    views: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    """A full experiment: data, model, training. ``name`` labels outputs and ablation rows."""

    name: str = "experiment"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


class RecipeError(ValueError):
    """A recipe or override that cannot be applied; the message names the offending key."""


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig,
             "pretrain": PretrainConfig}


def _coerce_floats(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Read ``3e-4`` as a number: YAML 1.1 parses exponent notation without a dot as a string."""
    hints = get_type_hints(cls)
    coerced = dict(values)
    for key, value in values.items():
        if isinstance(value, str) and "float" in str(hints[key]):
            try:
                coerced[key] = float(value)
            except ValueError:
                message = f"'{cls.__name__}.{key}' must be a number, got '{value}'"
                raise RecipeError(message) from None
    return coerced


def recipe_from_dict(raw: dict[str, Any]) -> Recipe:
    """Build a :class:`Recipe`, refusing unknown sections and keys with the valid choices."""
    unknown = set(raw) - {"name", *_SECTIONS}
    if unknown:
        raise RecipeError(
            f"unknown recipe section(s) {sorted(unknown)}; valid: name, {', '.join(_SECTIONS)}")
    sections = {}
    for section, cls in _SECTIONS.items():
        values = raw.get(section) or {}
        valid = {f.name for f in dataclasses.fields(cls)}
        bad = set(values) - valid
        if bad:
            raise RecipeError(
                f"unknown key(s) {sorted(bad)} in '{section}'; valid: {sorted(valid)}")
        sections[section] = cls(**_coerce_floats(cls, values))
    recipe = Recipe(name=raw.get("name", "experiment"), **sections)
    check_imbalance_correction(recipe)
    check_task(recipe)
    check_fine_tuning(recipe)
    return recipe


def check_fine_tuning(recipe: Recipe) -> None:
    """Refuse a fine-tuning schedule without a model to fine-tune: it would silently change
    nothing (no tensor is pretrained) and the run would be mistaken for a fine-tuned one."""
    cfg = recipe.train
    if not cfg.init_from and (cfg.pretrained_lr_scale != 1.0 or cfg.pretrained_freeze_steps):
        raise RecipeError("train.pretrained_lr_scale and train.pretrained_freeze_steps set how "
                          "the tensors copied from train.init_from learn; set train.init_from "
                          "to the model to fine-tune")


def check_imbalance_correction(recipe: Recipe) -> None:
    """Refuse class-weighted loss together with class-balanced sampling.

    Either one alone makes every class weigh the same in the loss; both together weight a
    rare class by 1/count twice, so the model learns to over-predict rare genres.
    """
    if recipe.train.class_weights and recipe.data.balanced_sampling:
        raise RecipeError(
            "train.class_weights and data.balanced_sampling both correct class imbalance; "
            "together they correct it twice (rare classes then weigh 1/count²). Keep one: "
            "balanced sampling to see rare classes more often, or class weights to weigh "
            "them more in the loss")


def _tag_column_unlisted(recipe: Recipe) -> bool:
    listed = recipe.data.options.get("tag_columns")
    return listed is not None and recipe.data.label_column not in listed


_TASK_REFUSALS: dict[str, tuple[tuple[Callable[[Recipe], bool], str], ...]] = {
    "single_label": (
        (lambda r: r.train.positive_weights,
         "train.positive_weights weigh each tag's positives in multi-label training; a "
         "single-label run weighs classes with train.class_weights instead"),
    ),
    "multi_label": (
        (lambda r: r.data.label_column == "label",
         "data.task multi_label needs data.label_column naming a tag column, not the "
         "single-label 'label': genres_all (fma), tags (synthetic_tags), or a column listed "
         "in data.options.tag_columns (folder, hub)"),
        (_tag_column_unlisted,
         "data.label_column must be one of data.options.tag_columns, the columns the source "
         "reads as tag lists"),
        (lambda r: r.data.balanced_sampling,
         "data.balanced_sampling draws one class per example, and a multi-label track has "
         "no single class; there is no tag-aware sampler, so multi_label needs it off"),
        (lambda r: r.train.class_weights,
         "train.class_weights weigh the softmax classes of single-label training; a "
         "multi_label run weighs rare tags with train.positive_weights instead"),
    ),
}
TASKS = tuple(_TASK_REFUSALS)


def check_task(recipe: Recipe) -> None:
    """Refuse an unknown ``data.task`` and settings that do not fit the task, before any
    audio is decoded (whether the column exists is checked against the data, see
    :func:`waveform_mir.data.tasks.resolve_task`)."""
    task = recipe.data.task
    if task not in _TASK_REFUSALS:
        raise RecipeError(f"unknown data.task '{task}'; choose from {list(TASKS)}")
    for refused, message in _TASK_REFUSALS[task]:
        if refused(recipe):
            raise RecipeError(message)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``train.lr=3e-4`` into its dotted path and a YAML-typed value (numbers, lists)."""
    if "=" not in text:
        raise RecipeError(f"override '{text}' must look like section.key=value")
    path, value = text.split("=", 1)
    return path.strip(), yaml.safe_load(value)


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set ``raw["model"]["frontend"]["name"] = value`` for ``dotted="model.frontend.name"``."""
    keys = dotted.split(".")
    node = raw
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise RecipeError(f"cannot set '{dotted}': '{key}' is not a section")
        node = child
    node[keys[-1]] = value
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings; nested dicts (``model.frontend.name``) work."""
    for text in overrides:
        set_dotted(raw, *parse_override(text))
    return raw


def read_recipe_dict(path: str | Path) -> dict[str, Any]:
    """The raw YAML of a recipe, with its ``base:`` recipe (a path relative to it) merged under.

    ``base`` lets a family of recipes differ in one section only: ``fma_small/sinc.yaml`` is
    ``fma_small/mel.yaml`` with another front-end, so the two cannot drift apart.
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file not found: {path}")
    raw = yaml.safe_load(path.read_text()) or {}
    base = raw.pop("base", None)
    return merge(read_recipe_dict(path.parent / base), raw) if base else raw


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` laid over it; nested dicts merge, other values replace.

    A dict naming another registered part (``{"name": "leaf"}`` over ``{"name": "mel",
    "n_mels": 128}``) replaces the base's whole dict: the old part's options mean nothing to
    the new one.
    """
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and (
                value.get("name", old.get("name")) == old.get("name")):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Load a YAML recipe and apply dotted overrides (``--set train.lr=3e-4``)."""
    return recipe_from_dict(apply_overrides(read_recipe_dict(path), overrides or []))
