"""Synthetic tagging clips: deterministic, tags consistent with each genre, audio with the
instruments the tags name."""

from __future__ import annotations

import numpy as np

from waveform_mir.data.registry import build_manifest
from waveform_mir.data.synthetic import GENRES, PARTS, clip_tempo, render_clip
from waveform_mir.data.synthetic_tags import available_parts, clip_tags, tempo_class

OPTIONS = {"num_per_class": {"train": 12, "validation": 2, "test": 2}, "seconds": 1.0}


def _tag_names(manifest, split="train"):
    names = manifest.splits[split].features["tags"].feature.names
    return [[names[t] for t in tags] for tags in manifest.splits[split]["tags"]]


def test_manifest_is_deterministic_and_seeded():
    first = build_manifest("synthetic_tags", OPTIONS)
    again = build_manifest("synthetic_tags", OPTIONS)
    other = build_manifest("synthetic_tags", {**OPTIONS, "seed": 1})
    assert _tag_names(first) == _tag_names(again)
    assert first.splits["train"]["clip_seed"] == again.splits["train"]["clip_seed"]
    assert _tag_names(first) != _tag_names(other)
    assert first.label_names == list(GENRES)
    assert first.splits["train"].features["tags"].feature.names == [
        *GENRES, "drums", "bass", "chords", "slow", "medium", "fast"]


def test_tags_follow_the_genres():
    manifest = build_manifest("synthetic_tags", OPTIONS)
    for genre_id, tags in zip(manifest.splits["train"]["label"], _tag_names(manifest),
                              strict=True):
        genre = GENRES[genre_id]
        playing = [t for t in tags if t in PARTS]
        assert tags[0] == genre and 3 <= len(tags) <= 5 and playing
        assert set(playing) <= set(available_parts(genre))
        assert tags[-1] in ("slow", "medium", "fast")
    assert available_parts("classical") == ("bass", "chords")  # drums at -80 dB are silent
    assert available_parts("metal") == ("drums", "chords")
    assert {clip_tags("metal", s)[-1] for s in range(30)} == {"fast"}  # 140-200 BPM
    assert {clip_tags("reggae", s)[-1] for s in range(30)} == {"slow"}  # 66-92 BPM
    assert {clip_tags("jazz", s)[-1] for s in range(60)} == {"slow", "medium", "fast"}
    assert tempo_class(94.9) == "slow" and tempo_class(95) == "medium"
    assert tempo_class(clip_tempo("rock", 7)) == clip_tags("rock", 7)[-1]


def test_audio_has_the_tagged_instruments():
    manifest = build_manifest("synthetic_tags", OPTIONS)
    rows = list(manifest.splits["train"])
    tags = _tag_names(manifest)
    partial = next(i for i, t in enumerate(tags)
                   if set(available_parts(t[0])) - set(t))  # an instrument left out
    row, genre = rows[partial], GENRES[rows[partial]["label"]]
    rendered = manifest.render(row, 8000)
    playing = [t for t in tags[partial] if t in PARTS]
    np.testing.assert_array_equal(rendered,
                                  render_clip(genre, row["clip_seed"], 1.0, 8000, playing))
    assert not np.allclose(rendered, render_clip(genre, row["clip_seed"], 1.0, 8000))


def test_muting_keeps_the_other_instruments_as_they_were():
    full = render_clip("house", 3, 1.0, 8000)
    assert np.array_equal(full, render_clip("house", 3, 1.0, 8000, PARTS))
    drums = render_clip("house", 3, 1.0, 8000, ["drums"])
    chords = render_clip("house", 3, 1.0, 8000, ["chords"])
    # peak-normalised mixes: the full mix is not the sum, but each part is present in it
    assert np.corrcoef(full, drums)[0, 1] > 0.5 and np.corrcoef(full, chords)[0, 1] > 0.3
    assert abs(np.corrcoef(drums, chords)[0, 1]) < 0.2
