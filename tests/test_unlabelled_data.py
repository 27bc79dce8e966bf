"""Unlabelled data: hidden labels, views, pseudo-labels, readers for every modality, their refusals,
and the overlap check against a test split."""

import bz2
import gzip
import json
import pickle

import numpy as np
import pytest
from PIL import Image

from fixtures import RATE, tone, write_image_folder
from scarce.data import (
    ArrayDataset,
    ConcatDataset,
    ImageFolderDataset,
    PseudoLabelled,
    Subset,
    UnlabelledDataset,
    check_unlabelled,
    fingerprints,
    hide_labels,
    overlap,
    read_unlabelled,
    validate_labels,
)
from scarce.data.text import text_dataset

sf = pytest.importorskip("soundfile")


def images(n=6, size=(6, 5), channels=3, start=0):
    """``n`` flat uint8 images whose pixel value is ``start + 10 * i``."""
    return np.stack([np.full((*size, channels), start + 10 * i, np.uint8) for i in range(n)])


def labelled_images(n=6, channels=3):
    return ArrayDataset(images(n, channels=channels), np.arange(n) % 3, class_names=["a", "b", "c"])


def write_images(folder, arrays, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(arrays):
        Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x).save(folder / (names[i] if names else f"{i:03d}.png"))
    return folder


def labelled_clips():
    clips = [tone(400 + 40 * i, 300 + 100 * i) for i in range(4)]
    return ArrayDataset(clips, [0, 1, 0, 1], class_names=["lo", "hi"], modality="audio", sample_rate=RATE)


# ---------------------------------------------------------------- hidden labels and views
def test_labels_are_hidden_and_counting_classes_on_them_fails():
    base = labelled_images()
    pool = hide_labels(base, [4, 1, 2], source="training pool minus the cell's subset")
    assert isinstance(pool, UnlabelledDataset) and len(pool) == 3
    assert pool.labels.dtype == np.int64 and pool.labels.tolist() == [-1, -1, -1]
    x, y = pool[0]
    assert y == -1 and np.array_equal(x, base.get(4))
    assert pool.class_names == ["a", "b", "c"] and pool.modality == "image" and pool.num_classes == 3
    assert pool.source == "training pool minus the cell's subset"
    with pytest.raises(ValueError, match="negative"):
        validate_labels(pool.labels)
    with pytest.raises(ValueError):
        np.bincount(pool.labels)
    with pytest.raises(ValueError, match="read-only"):
        pool.labels[0] = 1  # nobody fills hidden labels in
    base.labels[4] = 0  # the view never reads the base's labels
    assert pool[0][1] == -1


def test_hide_labels_maps_positions_and_subset_stays_unlabelled(tmp_path):
    base = labelled_images()
    pool = hide_labels(base, [5, 3, 1, 0], source="pool")
    assert [int(pool.get(i)[0, 0, 0]) for i in range(4)] == [50, 30, 10, 0]
    sub = pool.subset([2, 0])
    assert isinstance(sub, UnlabelledDataset) and sub.labels.tolist() == [-1, -1] and sub.source == "pool"
    assert [int(sub.get(i)[0, 0, 0]) for i in range(2)] == [10, 50] and sub[1][1] == -1
    assert pool.name_of(2) == "example 2"
    with pytest.raises(ValueError, match="indices.*0..5"):
        hide_labels(base, [0, 6], source="pool")
    with pytest.raises(TypeError, match="base"):
        hide_labels([1, 2], [0], source="pool")
    # through a Subset of an image folder, an example is named by its file
    folder = ImageFolderDataset(write_image_folder(tmp_path / "imgs"))
    view = hide_labels(Subset(folder, [4, 1]), [1, 0], source="pool").subset([1])
    assert view.name_of(0) == str(folder.paths[4]) and view.sample_rate is None


def test_pseudo_labelled_concatenates_with_the_labelled_part():
    real = labelled_images(3)
    pool = hide_labels(labelled_images(6), [3, 4, 5], source="pool")
    pseudo = PseudoLabelled(pool, [2, 0], [2, 0], confidence=[0.9, 0.55])  # class 1 absent: allowed
    assert pseudo.labels.tolist() == [2, 0] and pseudo.confidence.tolist() == [0.9, 0.55]
    assert pseudo.positions.tolist() == [2, 0] and pseudo.class_names == real.class_names
    both = ConcatDataset([real, pseudo])
    assert len(both) == 5 and both.labels.tolist() == [0, 1, 2, 2, 0]
    x, y = both[3]
    assert y == 2 and int(x[0, 0, 0]) == 50
    assert int(both[4][0][0, 0, 0]) == 30 and pseudo.name_of(1) == "example 0"
    with pytest.raises(ValueError, match=r"`labels` must be in 0..2.*got 3"):
        PseudoLabelled(pool, [0], [3], confidence=[0.5])
    with pytest.raises(ValueError, match=r"`labels` must be in 0..2.*got -1"):
        PseudoLabelled(pool, [0], [-1], confidence=[0.5])
    with pytest.raises(ValueError, match=r"`confidence` must be in \[0, 1\]"):
        PseudoLabelled(pool, [0], [1], confidence=[1.5])
    with pytest.raises(ValueError, match="lengths 2, 1 and 1"):
        PseudoLabelled(pool, [0, 1], [1], confidence=[0.5])
    with pytest.raises(ValueError, match="positions"):
        PseudoLabelled(pool, [3], [1], confidence=[0.5])
    with pytest.raises(TypeError, match="UnlabelledDataset"):
        PseudoLabelled(real, [0], [1], confidence=[0.5])


# ---------------------------------------------------------------- readers, one per modality
def test_read_images_decodes_lazily_in_the_pools_mode(tmp_path):
    folder = write_images(tmp_path / "unl", images(3, start=5), names=["b.png", "a.png", "c.jpg"])
    (folder / "notes.doc").write_text("ignored")
    pool = read_unlabelled(folder, like=labelled_images())
    assert len(pool) == 3 and pool.labels.tolist() == [-1] * 3 and pool.source == str(folder)
    assert [pool.name_of(i) for i in range(3)] == [str(folder / n) for n in ("a.png", "b.png", "c.jpg")]
    assert pool._cache == {}  # nothing decoded yet
    x, y = pool[0]
    assert y == -1 and x.dtype == np.uint8 and x.shape == (6, 5, 3) and int(x[0, 0, 0]) == 15
    assert pool.get(0) is x  # cached
    assert pickle.loads(pickle.dumps(pool))._cache == {}  # workers get paths, not decoded arrays
    check_unlabelled(pool, like=labelled_images())
    grey = read_unlabelled(folder, like=labelled_images(channels=1))  # "L" like a 1-channel pool
    assert grey.get(1).shape == (6, 5, 1)
    check_unlabelled(grey, like=labelled_images(channels=1))
    assert isinstance(grey.subset([0, 2]), UnlabelledDataset) and grey.subset([0, 2]).name_of(1) == str(folder / "c.jpg")


def test_read_texts_from_txt_csv_and_compressed_jsonl(tmp_path):
    like = text_dataset(["good", "bad"], [1, 0], class_names=["neg", "pos"])
    txt = tmp_path / "u.txt"
    txt.write_text("a fine film\r\n\r\nso dull\n", encoding="utf-8")
    pool = read_unlabelled(txt, like=like)
    assert [pool[i] for i in range(2)] == [("a fine film", -1), ("so dull", -1)]
    assert pool.name_of(1) == f"{txt} line 3" and pool.modality == "text" and pool.class_names == ["neg", "pos"]
    check_unlabelled(pool, like=like)
    csv_path = tmp_path / "u.csv"
    csv_path.write_text("id,review\n1,warm and witty\n2,\"long, slow\"\n", encoding="utf-8")
    pool = read_unlabelled(csv_path, like=like, text_column="review")
    assert [pool.get(i) for i in range(2)] == ["warm and witty", "long, slow"] and pool.name_of(0) == f"{csv_path} row 1"
    jl = tmp_path / "u.jsonl.gz"
    with gzip.open(jl, "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps({"text": t}) for t in ["one", "two", "three"]) + "\n")
    assert [read_unlabelled(jl, like=like).get(i) for i in range(3)] == ["one", "two", "three"]
    bz = tmp_path / "u.txt.bz2"
    bz.write_bytes(bz2.compress("x\ny\n".encode()))
    assert len(read_unlabelled(bz, like=like)) == 2


def test_read_clips_at_the_tasks_rate(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    sf.write(folder / "b.flac", tone(300), RATE)
    sf.write(folder / "a.wav", tone(500), RATE)
    pool = read_unlabelled(folder, like=labelled_clips())
    assert len(pool) == 2 and pool.sample_rate == RATE and pool.modality == "audio"
    x, y = pool[0]
    assert y == -1 and x.dtype == np.float32 and x.shape == (500,) and pool.name_of(1) == str(folder / "b.flac")
    check_unlabelled(pool, like=labelled_clips())
    sf.write(folder / "c.wav", tone(300), 16000)  # another rate fails in the check, named
    with pytest.raises(ValueError, match=r"`unlabelled.path` must hold clips that decode, got one that does not: .*c\.wav.*16000"):
        check_unlabelled(read_unlabelled(folder, like=labelled_clips()), like=labelled_clips())


# ---------------------------------------------------------------- refusals
def test_missing_and_empty_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="`unlabelled.path` must be an existing folder of images.*nowhere"):
        read_unlabelled(tmp_path / "nowhere", like=labelled_images())
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="`unlabelled.path`.*holds no images"):
        read_unlabelled(tmp_path / "empty", like=labelled_images())
    with pytest.raises(ValueError, match="holds no clips"):
        read_unlabelled(tmp_path / "empty", like=labelled_clips())
    (tmp_path / "blank.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no texts"):
        read_unlabelled(tmp_path / "blank.txt", like=text_dataset(["a", "b"], [0, 1]))
    with pytest.raises(ValueError, match="at least one example, got none"):
        check_unlabelled(hide_labels(labelled_images(), [], source="nothing left"), like=labelled_images())


def test_class_sub_folders_are_refused(tmp_path):
    root = write_image_folder(tmp_path / "classes")
    with pytest.raises(ValueError, match=r"directly: an unlabelled folder has no class folders.*'cat', 'dog'"):
        read_unlabelled(root, like=labelled_images())


def test_another_modalitys_files_are_refused(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    sf.write(clips / "a.wav", tone(), RATE)
    with pytest.raises(ValueError, match=r"folder of image files .* image task.*holds 1 audio file\(s\).*no images"):
        read_unlabelled(clips, like=labelled_images())
    pics = write_images(tmp_path / "pics", images(2))
    with pytest.raises(ValueError, match=r"folder of audio files .* audio task.*holds 2 image file\(s\).*no clips"):
        read_unlabelled(pics, like=labelled_clips())
    with pytest.raises(ValueError, match=r"must be a text file .* text task, got the folder .*pics', which holds 2 image file\(s\)"):
        read_unlabelled(pics, like=text_dataset(["a", "b"], [0, 1]))
    with pytest.raises(ValueError, match=r"folder of image files.*got the file .*a\.wav' \(an audio file\)"):
        read_unlabelled(clips / "a.wav", like=labelled_images())
    check = hide_labels(text_dataset(["a", "b"], [0, 1]), [0], source="texts")
    with pytest.raises(ValueError, match="must hold image data like the task's training pool, got text data"):
        check_unlabelled(check, like=labelled_images())


def test_undecodable_image_is_named(tmp_path):
    folder = write_images(tmp_path / "unl", images(2))
    (folder / "broken.png").write_bytes(b"not an image at all")
    pool = read_unlabelled(folder, like=labelled_images())  # lazy: nothing decoded yet
    with pytest.raises(ValueError, match=r"`unlabelled.path` must hold images that decode, got one that does not: .*broken\.png"):
        check_unlabelled(pool, like=labelled_images())


def test_odd_shaped_image_is_named_with_both_shapes(tmp_path):
    folder = write_images(tmp_path / "unl", images(2))
    write_images(folder, images(1, size=(7, 5)), names=["odd.png"])
    with pytest.raises(ValueError, match=r"shape \(6, 5, 3\) \(H, W, C\) uint8, got \(7, 5, 3\) uint8 for '.*odd\.png'\. Resize .* 5x6"):
        check_unlabelled(read_unlabelled(folder, like=labelled_images()), like=labelled_images())


def test_text_column_and_empty_texts(tmp_path):
    like = text_dataset(["a", "b"], [0, 1])
    p = tmp_path / "u.csv"
    p.write_text("review,stars\nfine,5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"`unlabelled.text_column` must name a column of '.*u\.csv', got 'text'; "
                                         r"columns: \['review', 'stars'\]"):
        read_unlabelled(p, like=like)
    p.write_text("text\nfine\n   \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"u\.csv' row 2: column 'text' must be a non-empty string"):
        read_unlabelled(p, like=like)
    t = tmp_path / "u.txt"
    t.write_text("fine\n \t\nok\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"u\.txt' line 2: a text must not be only whitespace"):
        read_unlabelled(t, like=like)
    with pytest.raises(ValueError, match=r"The unlabelled pool \(list\) must hold non-empty texts, got ' ' for 'example 1'"):
        check_unlabelled(hide_labels(text_dataset(["ok", " "], [0, 1]), [0, 1], source="list"), like=like)


# ---------------------------------------------------------------- overlap with the test split
def test_overlap_finds_a_test_image_in_the_pool(tmp_path):
    test = ArrayDataset(images(4, start=3), [0, 1, 2, 0], class_names=["a", "b", "c"])
    clean = read_unlabelled(write_images(tmp_path / "clean", images(3, start=7)), like=test)
    assert overlap(clean, test) == []
    leaky = write_images(tmp_path / "leaky", images(3, start=7))
    write_images(leaky, [test.get(2)], names=["000b.png"])  # sorts second
    pool = read_unlabelled(leaky, like=test)
    assert overlap(pool, test) == [(1, 2)] and overlap(test, pool) == [(2, 1)]
    assert len(set(fingerprints(pool))) == 4 and fingerprints(pool)[1] == fingerprints(test)[2]
    texts = overlap(text_dataset(["x", "y", "x"], [0, 1, 0]), text_dataset(["x", "z"], [0, 1]))
    assert texts == [(0, 0), (2, 0)]
    with pytest.raises(ValueError, match="share a modality"):
        overlap(pool, text_dataset(["x", "z"], [0, 1]))
