"""Builder ``fma``: the Free Music Archive dataset from its published local layout.

Layout (as unpacked from the official archives, see :mod:`waveform_mir.data.download`)::

    root/fma_metadata/tracks.csv   two header rows: group ('set', 'track', ...), field name
    root/fma_metadata/genres.csv   genre_id, #tracks, parent, title, top_level
    root/fma_<size>/123/123456.mp3 audio, folder = first three digits of the 6-digit id

Subsets nest (small ⊂ medium ⊂ large = full), so ``subset="medium"`` keeps every track whose
``set.subset`` is small or medium. The official ``set.split`` (training/validation/test) is
used as is. ``label`` is the single-label top-level genre (``track.genre_top``); tracks without
one are dropped and counted, unless ``require_genre_top=False`` keeps them (``label`` -1) for
tagging, which needs no top genre (half of ``fma_large`` has none). The multi-label task
travels along as the tag column ``genres_all`` (:mod:`.labels`): every genre of
``track.genres_all`` by its title, the vocabulary being the genres of at least ``min_clips``
training tracks (counted on train only, so test never shapes it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import datasets
import pandas as pd

from .labels import keep_known, tag_feature, tag_vocabulary
from .manifest import Manifest, build_splits, file_renderer
from .registry import register_builder

SUBSET_LEVELS = {"small": 0, "medium": 1, "large": 2, "full": 2}
_SPLIT_NAMES = {"training": "train", "validation": "validation", "test": "test"}


def load_tracks(path: Path) -> pd.DataFrame:
    """Read ``tracks.csv`` with its two-row header: columns are ``(group, field)`` pairs."""
    return pd.read_csv(path, header=[0, 1], index_col=0, low_memory=False)


def load_genre_titles(path: Path) -> dict[int, str]:
    """``genres.csv`` → genre id to title."""
    genres = pd.read_csv(path, index_col=0)
    return {int(gid): str(title) for gid, title in genres["title"].items()}


def audio_path(audio_dir: Path, track_id: int) -> Path:
    """FMA stores track 2 as ``000/000002.mp3``: a folder per first three digits."""
    name = f"{track_id:06d}"
    return audio_dir / name[:3] / f"{name}.mp3"


def parse_genre_ids(text: object) -> list[int]:
    """``"[21, 12]"`` → ``[21, 12]``; missing or malformed cells give no genres."""
    if not isinstance(text, str) or not text.strip():
        return []
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else []


def select_tracks(tracks: pd.DataFrame, subset: str, require_genre_top: bool = True
                  ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Tracks of ``subset`` (nested) with an official split and (if required) a top genre;
    count the rest.

    Returns a flat frame indexed by track id with columns ``split``, ``genre_top`` (``""``
    where missing) and ``genres_all`` (the raw cell), and the number of dropped tracks per
    reason.
    """
    if subset not in SUBSET_LEVELS:
        raise ValueError(f"unknown FMA subset '{subset}'; choose from {sorted(SUBSET_LEVELS)}")
    level = tracks[("set", "subset")].map(SUBSET_LEVELS)
    chosen = tracks[level.notna() & (level <= SUBSET_LEVELS[subset])]
    split = chosen[("set", "split")].map(_SPLIT_NAMES)
    genre = chosen[("track", "genre_top")]
    has_genre = genre.notna() & (genre.astype(str).str.strip() != "")
    if not require_genre_top:
        has_genre = pd.Series(True, index=chosen.index)
    dropped = {
        "no top-level genre": int((~has_genre).sum()),
        "no official split": int((has_genre & split.isna()).sum()),
    }
    keep = has_genre & split.notna()
    flat = pd.DataFrame({
        "split": split[keep],
        "genre_top": genre[keep].fillna("").astype(str).str.strip(),
        "genres_all": chosen.loc[keep, ("track", "genres_all")],
    })
    return flat, {reason: count for reason, count in dropped.items() if count}


@register_builder("fma")
def fma_manifest(
    root: str,
    subset: str = "small",
    audio_dir: str | None = None,
    min_seconds: float = 5.0,
    max_seconds: float | None = None,
    min_clips: int = 1,
    require_genre_top: bool = True,
) -> Manifest:
    """Builder ``fma``: top-genre label, all-genre tags, official split, nested subsets; see
    the module docstring.

    ``audio_dir`` defaults to ``root/fma_<subset>``. Clips shorter than ``min_seconds`` after
    decoding (FMA has a few empty or near-empty MP3s) are skipped and reported;
    ``max_seconds`` decodes only the start of full-length tracks (``fma_full``).
    """
    base = Path(root).expanduser()
    metadata = base / "fma_metadata"
    for name in ("tracks.csv", "genres.csv"):
        if not (metadata / name).is_file():
            raise ValueError(f"FMA metadata not found: {metadata / name}")
    tracks, dropped = select_tracks(load_tracks(metadata / "tracks.csv"), subset,
                                    require_genre_top)
    titles = load_genre_titles(metadata / "genres.csv")
    tracks["genres_all"] = [[titles[g] for g in parse_genre_ids(cell) if g in titles]
                            for cell in tracks["genres_all"]]
    vocabulary = tag_vocabulary(tracks.loc[tracks["split"] == "train", "genres_all"], min_clips)
    directory = Path(audio_dir).expanduser() if audio_dir else base / f"fma_{subset}"
    label_names = sorted(name for name in tracks["genre_top"].unique() if name)
    rows = {}
    for split, part in tracks.groupby("split"):
        rows[split] = {
            "track_id": [f"{int(tid):06d}" for tid in part.index],
            "label": [name or -1 for name in part["genre_top"]],  # -1: no top genre
            "path": [str(audio_path(directory, int(tid))) for tid in part.index],
            "genres_all": keep_known(part["genres_all"], vocabulary),
        }
    extra = {"path": datasets.Value("string"), "genres_all": tag_feature(vocabulary)}
    splits = build_splits(rows, label_names, extra)
    return Manifest(splits, file_renderer(min_seconds, max_seconds), dropped=dropped)
