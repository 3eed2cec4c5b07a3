"""Synthetic genres: deterministic, seed-sensitive, distinct per split, and file-writable."""

from __future__ import annotations

import numpy as np

from waveform_mir.data.registry import build_manifest
from waveform_mir.data.synthetic import GENRES, clip_seed, render_clip, write_synthetic_folder


def test_shape_range_and_determinism():
    for genre in GENRES:
        clip = render_clip(genre, seed=3, seconds=2.0, sample_rate=16000)
        assert clip.shape == (32000,) and clip.dtype == np.float32
        assert 0.05 < np.abs(clip).max() <= 1.0 and np.isfinite(clip).all()
        np.testing.assert_array_equal(clip, render_clip(genre, 3, 2.0, 16000))
        assert not np.allclose(clip, render_clip(genre, 4, 2.0, 16000))


def test_manifest_seeds_are_reproducible_and_distinct():
    options = {"num_per_class": {"train": 3, "validation": 1, "test": 2}, "seed": 7}
    first = build_manifest("synthetic", options)
    again = build_manifest("synthetic", options)
    other = build_manifest("synthetic", {**options, "seed": 8})
    seeds = {s: list(first.splits[s]["clip_seed"]) for s in first.splits}
    assert seeds == {s: list(again.splits[s]["clip_seed"]) for s in again.splits}
    assert seeds["train"] != list(other.splits["train"]["clip_seed"])
    every = [x for values in seeds.values() for x in values]
    assert len(every) == len(set(every)) == 8 * 6
    assert first.label_names == list(GENRES)
    row = first.splits["test"][0]
    np.testing.assert_array_equal(first.render(row, 8000), again.render(row, 8000))
    assert first.render(row, 8000).shape == (4 * 8000,)


def test_genre_subset_and_clip_seed_independence():
    manifest = build_manifest("synthetic", {"num_per_class": 2, "genres": ["jazz", "metal"],
                                            "seconds": 1.0})
    assert manifest.label_names == ["jazz", "metal"]
    assert len(manifest.splits["validation"]) == 4
    assert clip_seed(0, "train", 1, 0) != clip_seed(0, "test", 1, 0)


def test_genres_differ_in_rhythm():
    """Drum-less styles have a flatter energy envelope than four-on-the-floor house."""

    def onset_strength(genre):
        clip = render_clip(genre, 11, 4.0, 16000)
        frames = np.abs(clip[: 64000 // 256 * 256]).reshape(-1, 256).mean(1)
        return float(np.std(np.diff(frames)) / (frames.mean() + 1e-9))

    assert onset_strength("house") > 2 * onset_strength("ambient")


def test_written_folder_round_trips_through_the_folder_builder(tmp_path):
    csv_path = write_synthetic_folder(tmp_path, num_per_class={"train": 2, "test": 1},
                                      seconds=1.0, sample_rate=8000, audio_format="mp3",
                                      genres=["rock", "reggae"])
    manifest = build_manifest("folder", {"root": str(tmp_path)})
    assert csv_path.name == "labels.csv"
    assert manifest.label_names == ["reggae", "rock"]
    assert {s: len(manifest.splits[s]) for s in manifest.splits} == {
        "train": 4, "validation": 0, "test": 2}
    wave = manifest.render(manifest.splits["test"][0], 8000)
    assert abs(wave.shape[0] - 8000) < 400
