"""Builder ``folder``: any folder of audio files with genre labels (GTZAN-style or your own).

Two layouts are understood, because those are how labelled audio is usually shipped:

* a labels CSV with columns ``path`` and ``label`` (or ``genre``), optionally ``split``,
  ``track_id`` and ``artist`` (kept, so that K-fold splits keep an artist in one fold);
  paths are relative to the CSV's folder or absolute;
* no CSV: one sub-folder per genre (``root/<genre>/**/<file>``), as GTZAN is distributed.

For multi-label tagging, ``tag_columns`` names CSV columns of ``;``-separated tags
(``rock;pop``, an empty cell for none); each becomes a tag column (:mod:`.labels`) whose
vocabulary is every tag of the rows kept (the CSV is the curated vocabulary). A CSV with tag
columns needs no single-label column.

A ``split`` column is used as given, through ``splits`` (CSV value → train/validation/test);
rows whose split is not mapped (e.g. ``extra``) are dropped and counted. Without a split
column, each genre is split in the given proportions with a seeded shuffle (stratified).
"""

from __future__ import annotations

from pathlib import Path

import datasets
import pandas as pd

from .audio import AUDIO_EXTENSIONS
from .labels import split_tags, tag_feature, tag_vocabulary
from .manifest import SPLITS, Manifest, build_splits, file_renderer, stratified_assignment
from .registry import register_builder

_LABEL_COLUMNS = ("label", "genre")
_DEFAULT_SPLITS = {"train": "train", "validation": "validation", "val": "validation",
                   "valid": "validation", "test": "test"}
# columns of the table read_labels_csv makes
_RESERVED = ("path", "track_id", "split", "label", "artist")


def _label_source(table: pd.DataFrame, csv_path: Path, label_column: str | None,
                  tag_columns: tuple[str, ...]) -> str | None:
    """The CSV column of the single label (``None``: tags only); refuses what cannot work."""
    candidates = [label_column] if label_column else list(_LABEL_COLUMNS)
    found = [c for c in candidates if c in table.columns]
    missing = [c for c in ["path", *tag_columns] if c not in table.columns]
    if missing or (label_column and not found) or not (found or tag_columns):
        raise ValueError(
            f"{csv_path}: needs a 'path' column and a label column ({' or '.join(candidates)}) "
            f"or tag columns; missing {missing or candidates}, found {list(table.columns)}")
    clashes = sorted(set(tag_columns) & set(_RESERVED))
    if clashes:
        raise ValueError(f"tag_columns {clashes} clash with the columns the folder source makes "
                         f"{list(_RESERVED)}; rename them in {csv_path}")
    return found[0] if found else None


def read_labels_csv(csv_path: Path, label_column: str | None = None,
                    tag_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Load a labels CSV into columns ``path`` (absolute), ``track_id``, [``label``],
    [``split``], [``artist``] and each of ``tag_columns`` as lists of tag names."""
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    source = _label_source(table, csv_path, label_column, tag_columns)
    base = csv_path.parent
    paths = [str(p if Path(p).is_absolute() else base / p) for p in table["path"]]
    out = pd.DataFrame({"path": paths})
    if source is not None:
        out["label"] = table[source]
    out["track_id"] = (
        table["track_id"] if "track_id" in table.columns
        else [Path(p).with_suffix("").as_posix() for p in table["path"]]
    )
    for kept in ("split", "artist"):
        if kept in table.columns:
            out[kept] = table[kept]
    for column in tag_columns:
        out[column] = [split_tags(cell) for cell in table[column]]
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
        strata = list(table["label"]) if "label" in table.columns else [""] * len(table)
        table = table.assign(split=stratified_assignment(strata, fractions, seed))
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
    tag_columns: list[str] | None = None,
    splits: dict[str, str] | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> Manifest:
    """Builder ``folder``: see the module docstring for layouts and split handling.

    ``labels_csv`` defaults to ``root/labels.csv`` when it exists (a relative path is taken
    from ``root``); ``label_column`` names its single-label column (default ``label`` or
    ``genre``), ``tag_columns`` its tag columns; ``min_seconds`` / ``max_seconds`` bound the
    decoded length of each file.
    """
    base = Path(root).expanduser()
    if not base.is_dir():
        raise ValueError(f"folder dataset root not found: {base}")
    csv_path = base / (labels_csv or "labels.csv")
    tags = tuple(tag_columns or ())
    if labels_csv or csv_path.is_file():
        table = read_labels_csv(csv_path, label_column, tags)
    elif tags:
        raise ValueError(f"tag_columns {list(tags)} need a labels CSV; none at {csv_path}")
    else:
        table = scan_genre_folders(base)
    fractions = {"validation": validation_fraction, "test": test_fraction}
    table, dropped = assign_splits(table, splits, fractions, seed)
    label_names = sorted(table["label"].unique()) if "label" in table.columns else None
    artist = ["artist"] if "artist" in table.columns else []
    columns = ["track_id", "path", *(["label"] if label_names is not None else []), *artist,
               *tags]
    rows = {split: {c: part[c].tolist() for c in columns}
            for split, part in table.groupby("split")}
    extra = {"path": datasets.Value("string"), **{c: datasets.Value("string") for c in artist},
             **{c: tag_feature(tag_vocabulary(table[c])) for c in tags}}
    splits_ds = build_splits(rows, label_names, extra)
    return Manifest(splits_ds, file_renderer(min_seconds, max_seconds), dropped=dropped)
