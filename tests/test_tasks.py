"""Label tasks end to end on the data side: recipe checks, the cache keeping tag columns,
select_task, multi-hot targets from the loader, collate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from waveform_mir.config import DataConfig, RecipeError, recipe_from_dict
from waveform_mir.data import (
    ChunkDataset,
    RandomCropDataset,
    class_balanced_sampler,
    collate,
    prepare_dataset,
    resolve_task,
    select_task,
)
from waveform_mir.data.labels import label_targets, multi_hot, split_tags, tag_vocabulary
from waveform_mir.data.synthetic_tags import clip_tags

TAGGED = {"num_per_class": {"train": 3, "validation": 1, "test": 1}, "seconds": 1.0,
          "genres": ["house", "metal", "ambient"]}


def _config(cache_dir, **fields) -> DataConfig:
    return DataConfig(source="synthetic_tags", options=TAGGED, sample_rate=8000,
                      cache_dir=str(cache_dir), **fields)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_dataset(_config(tmp_path_factory.mktemp("cache")), progress=False)


def test_recipe_task_checks():
    def recipe(**data):
        return recipe_from_dict({"data": data, "train": data.pop("train", {})})

    assert recipe().data.task == "single_label" and recipe().data.label_column == "label"
    assert recipe(task="multi_label", label_column="tags").data.label_column == "tags"
    with pytest.raises(RecipeError, match="unknown data.task 'tagging'.*multi_label"):
        recipe(task="tagging")
    with pytest.raises(RecipeError, match="needs data.label_column naming a tag column"):
        recipe(task="multi_label")
    with pytest.raises(RecipeError, match="no tag-aware sampler"):
        recipe(task="multi_label", label_column="tags", balanced_sampling=True)
    with pytest.raises(RecipeError, match="class_weights"):
        recipe(task="multi_label", label_column="tags", train={"class_weights": True})
    with pytest.raises(RecipeError, match="one of data.options.tag_columns"):
        recipe(task="multi_label", label_column="mood", source="folder",
               options={"root": ".", "tag_columns": ["moods"]})
    assert recipe(balanced_sampling=True).data.balanced_sampling  # fine for single-label


def test_tag_helpers():
    assert split_tags(" rock;pop ;; rock;") == ["rock", "pop"]
    assert split_tags(float("nan")) == [] and split_tags("") == []
    assert tag_vocabulary([["b", "a"], ["a"], ["c", "a", "a"]], min_clips=2) == ["a"]
    dense = multi_hot(np.array([2, 0, 1]), np.array([0, 2, 1]), 3)
    np.testing.assert_array_equal(dense, [[1, 0, 1], [0, 0, 0], [0, 1, 0]])
    assert dense.dtype == np.float32


def test_cache_keeps_tag_names_and_ids(prepared, tmp_path):
    train = prepared.dataset["train"]
    names = train.features["tags"].feature.names
    assert names[:3] == ["house", "metal", "ambient"] and "fast" in names
    for row in train.select_columns(["track_id", "tags", "clip_seed", "label"]):
        genre = prepared.label_names[row["label"]]
        assert [names[t] for t in row["tags"]] == clip_tags(genre, row["clip_seed"])
    again = prepare_dataset(_config(prepared.cache_path.parent), progress=False)
    assert again.dataset["train"].features == train.features  # read back from info.json
    subset = train.select([7, 2])  # an indices mapping, as after skipped files or a shuffle
    expected = np.zeros((2, len(names)), np.float32)
    for i, row in enumerate([train[7], train[2]]):
        expected[i, row["tags"]] = 1
    np.testing.assert_array_equal(label_targets(subset, "tags"), expected)


def test_select_task_renames_the_tag_column_to_label(prepared):
    tagged = select_task(prepared, _config(".", task="multi_label", label_column="tags"))
    names = prepared.dataset["train"].features["tags"].feature.names
    assert tagged.label_names == names
    assert "tags" not in tagged.dataset["train"].column_names
    targets = label_targets(tagged.dataset["test"])
    expected = label_targets(prepared.dataset["test"], "tags")
    np.testing.assert_array_equal(targets, expected)
    assert targets.shape == (3, len(names)) and targets.dtype == np.float32
    assert targets[prepared.dataset["test"]["label"].index(1), names.index("metal")] == 1
    same = select_task(prepared, _config("."))  # single-label on "label": unchanged
    assert same.label_names == ["house", "metal", "ambient"]
    assert same.dataset["train"] is prepared.dataset["train"]


def test_resolve_task_names_the_columns_that_fit(prepared):
    features = prepared.dataset["train"].features
    assert resolve_task(_config(".", task="multi_label", label_column="tags"),
                        features).multi_label
    with pytest.raises(RecipeError, match=r"'moods' is not in the data.*tag lists.*\['tags'\]"):
        resolve_task(_config(".", task="multi_label", label_column="moods"), features)
    with pytest.raises(RecipeError, match=r"multi_label needs a column of tag lists.*'label' "
                                          r"holds class ids"):
        resolve_task(_config(".", task="multi_label", label_column="label"), features)
    with pytest.raises(RecipeError, match=r"single_label needs a column of class ids.*"
                                          r"'tags' holds tag lists"):
        resolve_task(_config(".", label_column="tags"), features)


def test_loader_items_and_batches_carry_multi_hot_targets(prepared):
    tagged = select_task(prepared, _config(".", task="multi_label", label_column="tags"))
    train, num_tags = tagged.dataset["train"], len(tagged.label_names)
    crops = RandomCropDataset(train, 4000, seed=0)
    item = crops[4]
    assert item["label"].dtype == torch.float32 and item["label"].shape == (num_tags,)
    np.testing.assert_array_equal(item["label"].numpy(), label_targets(train)[4])
    batch = next(iter(DataLoader(crops, batch_size=5, collate_fn=collate)))
    assert batch["label"].shape == (5, num_tags) and batch["label"].dtype == torch.float32
    assert set(batch["label"].unique().tolist()) == {0.0, 1.0}
    chunks = ChunkDataset(tagged.dataset["test"], 4000, 4000)
    assert chunks.track_labels.shape == (3, num_tags)
    chunk_batch = collate([chunks[i] for i in range(len(chunks))])
    assert chunk_batch["label"].shape == (len(chunks), num_tags)
    assert torch.equal(chunk_batch["label"][0], torch.from_numpy(chunks.track_labels[0]))
    with pytest.raises(ValueError, match="no tag-aware sampler"):
        class_balanced_sampler(crops.labels, 8)


def test_single_label_items_are_unchanged(prepared):
    crops = RandomCropDataset(prepared.dataset["train"], 4000)
    assert isinstance(crops[0]["label"], int)
    batch = collate([crops[i] for i in range(3)])
    assert batch["label"].dtype == torch.long and batch["label"].shape == (3,)
