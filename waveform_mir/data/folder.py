"""Builder ``folder``: any folder of audio files with genre labels (GTZAN-style or your own).

Two layouts are understood, because those are how labelled audio is usually shipped:

* a labels CSV with columns ``path`` and ``label`` (or ``genre``), optionally ``split`` and
  ``track_id``; paths are relative to the CSV's folder or absolute;
* no CSV: one sub-folder per genre (``root/<genre>/**/<file>``), as GTZAN is distributed.

A ``split`` column is used as given, through ``splits`` (CSV value → train/validation/test);
rows whose split is not mapped (e.g. ``extra``) are dropped and counted. Without a split
column, each genre is split in the given proportions with a seeded shuffle (stratified).
"""

from __future__ import annotations

from pathlib import Path

import datasets
import pandas as pd

from .audio import AUDIO_EXTENSIONS
from .manifest import SPLITS, Manifest, build_splits, file_renderer, stratified_assignment
from .registry import register_builder

_LABEL_COLUMNS = ("label", "genre")
_DEFAULT_SPLITS = {"train": "train", "validation": "validation", "val": "validation",
                   "valid": "validation", "test": "test"}


def read_labels_csv(csv_path: Path, label_column: str | None = None) -> pd.DataFrame:
    """Load a labels CSV into columns ``path`` (absolute), ``label``, ``track_id``[, ``split``]."""
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    candidates = [label_column] if label_column else list(_LABEL_COLUMNS)
    found = [c for c in candidates if c in table.columns]
    if "path" not in table.columns or not found:
        raise ValueError(
            f"{csv_path}: needs a 'path' column and a label column ({' or '.join(candidates)}); "
            f"found {list(table.columns)}"
        )
    base = csv_path.parent
    paths = [str(p if Path(p).is_absolute() else base / p) for p in table["path"]]
    out = pd.DataFrame({"path": paths, "label": table[found[0]]})
    out["track_id"] = (
        table["track_id"] if "track_id" in table.columns
        else [Path(p).with_suffix("").as_posix() for p in table["path"]]
    )
    if "split" in table.columns:
        out["split"] = table["split"]
    return out


def scan_genre_folders(root: Path, extensions: frozenset[str] = AUDIO_EXTENSIONS
                       ) -> pd.DataFrame:
    """Files under ``root/<genre>/`` (any depth) → columns ``path``, ``label``, ``track_id``."""
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in extensions and p.parent != root
    )
    if not files:
        raise ValueError(f"{root}: no labels.csv and no audio files in genre sub-folders")
    relative = [p.relative_to(root) for p in files]
    return pd.DataFrame({
        "path": [str(p) for p in files],
        "label": [r.parts[0] for r in relative],
        "track_id": [r.with_suffix("").as_posix() for r in relative],
    })


def assign_splits(
    table: pd.DataFrame,
    splits: dict[str, str] | None,
    fractions: dict[str, float],
    seed: int,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Map a ``split`` column through ``splits`` or make a stratified split; count drops."""
    if "split" not in table.columns:
        table = table.assign(split=stratified_assignment(list(table["label"]), fractions, seed))
        return table, {}
    mapping = splits if splits is not None else _DEFAULT_SPLITS
    bad = set(mapping.values()) - set(SPLITS)
    if bad:
        raise ValueError(f"splits maps to unknown split(s) {sorted(bad)}; targets are {SPLITS}")
    target = table["split"].map(mapping)
    dropped = {f"split '{name}' not used": int(count)
               for name, count in table["split"][target.isna()].value_counts().items()}
    return table.assign(split=target)[target.notna()], dropped


@register_builder("folder")
def folder_manifest(
    root: str,
    labels_csv: str | None = None,
    label_column: str | None = None,
    splits: dict[str, str] | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> Manifest:
    """Builder ``folder``: see the module docstring for layouts and split handling.

    ``labels_csv`` defaults to ``root/labels.csv`` when it exists (a relative path is taken
    from ``root``); ``min_seconds`` / ``max_seconds`` bound the decoded length of each file.
    """
    base = Path(root).expanduser()
    if not base.is_dir():
        raise ValueError(f"folder dataset root not found: {base}")
    csv_path = base / (labels_csv or "labels.csv")
    if labels_csv or csv_path.is_file():
        table = read_labels_csv(csv_path, label_column)
    else:
        table = scan_genre_folders(base)
    fractions = {"validation": validation_fraction, "test": test_fraction}
    table, dropped = assign_splits(table, splits, fractions, seed)
    label_names = sorted(table["label"].unique())
    rows = {
        split: {c: part[c].tolist() for c in ("track_id", "label", "path")}
        for split, part in table.groupby("split")
    }
    splits_ds = build_splits(rows, label_names, {"path": datasets.Value("string")})
    return Manifest(splits_ds, file_renderer(min_seconds, max_seconds), dropped=dropped)
