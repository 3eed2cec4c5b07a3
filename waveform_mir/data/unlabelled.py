"""Builder ``audio_files``: every audio file of one or more folders, labels ignored.

Self-supervised pretraining (``waveform-mir pretrain``) learns from audio alone, so its data
is whatever audio a researcher has: a bare folder of files, or the labelled folders of other
tasks with their test clips left out. For each root:

* with a ``labels.csv`` that has a ``split`` column, only the rows whose split is listed in
  ``use_splits`` are taken (default train, validation and extra). ``test`` can never be
  listed: a representation pretrained on a test clip would have seen the clip it is scored
  on, and its fine-tuned scores would no longer measure anything;
* with a ``labels.csv`` without a ``split`` column, every row is taken;
* without a ``labels.csv``, every audio file under the root, at any depth.

A file reached through two roots is kept once. A seeded ``validation_fraction`` of the files
becomes the validation split, on which pretraining tracks its contrastive loss and keeps the
best encoder; the rest is train; test stays empty. Every row carries the one class
``unlabelled``, so the cache, the stream and the crop loaders serve these files as they serve
labelled ones; pretraining never reads the label.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from .audio import AUDIO_EXTENSIONS
from .manifest import Manifest, build_splits, file_renderer
from .registry import register_builder

UNLABELLED = "unlabelled"
DEFAULT_SPLITS = ("train", "validation", "extra")


def listed_files(root: Path, use_splits: tuple[str, ...]) -> tuple[list[Path], int]:
    """The audio files ``root`` contributes and how many rows its ``labels.csv`` held back
    (rows of a split not in ``use_splits``)."""
    csv_path = root / "labels.csv"
    if not csv_path.is_file():
        return sorted(p for p in root.rglob("*")
                      if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS), 0
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    if "path" not in table.columns:
        raise ValueError(f"{csv_path}: needs a 'path' column, found {list(table.columns)}")
    kept = table["split"].isin(use_splits) if "split" in table.columns else np.ones(
        len(table), bool)
    paths = [Path(p) if Path(p).is_absolute() else root / p for p in table["path"][kept]]
    return paths, int((~kept).sum())


@register_builder("audio_files")
def audio_files_manifest(
    roots: list[str] | str,
    use_splits: list[str] | None = None,
    validation_fraction: float = 0.05,
    seed: int = 0,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> Manifest:
    """Builder ``audio_files``: see the module docstring.

    Args:
        roots: one folder or a list of folders.
        use_splits: ``split`` values of a root's ``labels.csv`` to take (never ``test``).
        validation_fraction: share of the files held out to monitor pretraining.
        min_seconds, max_seconds: bounds on each decoded file's length.
    """
    splits = tuple(use_splits or DEFAULT_SPLITS)
    if "test" in splits:
        raise ValueError("audio_files refuses use_splits 'test': pretraining on test clips "
                         "would leak them into every model fine-tuned from it")
    files: dict[str, Path] = {}
    held_back = 0
    for root in [roots] if isinstance(roots, str) else roots:
        base = Path(root).expanduser()
        if not base.is_dir():
            raise ValueError(f"audio_files root not found: {base}")
        paths, skipped = listed_files(base, splits)
        held_back += skipped
        for path in paths:
            files.setdefault(str(path.resolve()), path)
    if not files:
        raise ValueError(f"audio_files found no audio file under {roots}")
    names = sorted(files)
    order = np.random.default_rng(seed).permutation(len(names))
    validation = set(order[: int(round(validation_fraction * len(names)))].tolist())
    rows: dict[str, dict[str, list]] = {"train": {}, "validation": {}}
    for index, name in enumerate(names):
        split = rows["validation" if index in validation else "train"]
        split.setdefault("track_id", []).append(name)
        split.setdefault("path", []).append(name)
        split.setdefault("label", []).append(UNLABELLED)
    dropped = {f"labels.csv rows of splits other than {list(splits)}": held_back} if (
        held_back) else {}
    manifest_splits = build_splits(rows, [UNLABELLED], {"path": datasets.Value("string")})
    return Manifest(manifest_splits, file_renderer(min_seconds, max_seconds), dropped=dropped)
