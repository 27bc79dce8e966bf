import os
import pickle
from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")

from fixtures import RATE, tone, write_audio_folder, write_fsdd  # noqa: E402
from scarce.data import load_dataset  # noqa: E402
from scarce.data.audio import AudioFileDataset, read_clip  # noqa: E402


@pytest.fixture
def fsdd_root(tmp_path):
    """A tiny FSDD: 10 digits × 1 speaker × takes 0-11 (takes 0-4 are the test split)."""
    return write_fsdd(tmp_path)


def test_fsdd_test_split_is_takes_0_to_4(fsdd_root):
    b = load_dataset("fsdd", root=fsdd_root)
    assert (len(b.train), len(b.test)) == (70, 50)
    assert b.modality == "audio" and b.train.sample_rate == RATE == b.test.sample_rate
    takes = lambda ds: {int(ds.base.paths[i].stem.split("_")[2]) for i in ds.indices}  # noqa: E731
    assert takes(b.test) == {0, 1, 2, 3, 4} and takes(b.train) == set(range(5, 12))
    x, y = b.test[7]
    assert x.dtype == np.float32 and x.ndim == 1 and y == int(b.test.base.paths[b.test.indices[7]].name[0])
    assert x.size == 200 + 10 * int(b.test.base.paths[b.test.indices[7]].stem.split("_")[2])


def test_fsdd_missing_or_misnamed_files(tmp_path, fsdd_root):
    with pytest.raises(FileNotFoundError, match="FSDD not found"):
        load_dataset("fsdd", root=tmp_path / "fsdd")  # an existing folder without recordings/
    sf.write(fsdd_root / "fsdd" / "recordings" / "hello.wav", tone(), RATE)
    with pytest.raises(ValueError, match="hello.wav.*naming"):
        load_dataset("fsdd", root=fsdd_root)


def test_audio_folder_wav_and_flac_with_inferred_rate(tmp_path):
    write_audio_folder(tmp_path / "clips", n=5, rate=16000)
    b = load_dataset("audio_folder", root=tmp_path, path="clips", test_fraction=0.4)
    assert b.train.class_names == ["cat", "dog"] and b.train.sample_rate == 16000
    assert (len(b.train), len(b.test)) == (6, 4) and np.bincount(b.test.labels).tolist() == [2, 2]
    assert b.train[0][0].dtype == np.float32


def test_broken_files_are_named(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, tone(800), RATE, subtype="PCM_16")
    data = good.read_bytes()
    (tmp_path / "trunc.wav").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.wav").write_bytes(b"not audio at all" * 4)
    sf.write(tmp_path / "stereo.wav", np.stack([tone(), tone()], 1), RATE)
    sf.write(tmp_path / "rate.wav", tone(), 16000)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), RATE)
    nan = tone()
    nan[3] = np.nan
    sf.write(tmp_path / "nan.wav", nan, RATE, subtype="FLOAT")
    with pytest.raises(OSError, match="trunc.wav.*truncated"):
        read_clip(tmp_path / "trunc.wav")
    with pytest.raises(OSError, match="Cannot read audio file .*junk.wav"):
        read_clip(tmp_path / "junk.wav")
    with pytest.raises(ValueError, match="stereo.wav.*2 channels.*mono"):
        read_clip(tmp_path / "stereo.wav")
    assert read_clip(tmp_path / "stereo.wav", mono="mix")[0].shape == (400,)
    with pytest.raises(ValueError, match="rate.wav.*16000 Hz; expected 8000"):
        read_clip(tmp_path / "rate.wav", sample_rate=RATE)
    with pytest.raises(ValueError, match="empty.wav.*no samples"):
        read_clip(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match="nan.wav.*non-finite"):
        read_clip(tmp_path / "nan.wav")
    ds = AudioFileDataset([good, tmp_path / "trunc.wav"], [0, 1], sample_rate=RATE)
    assert ds[0][0].size == 800
    with pytest.raises(OSError, match="trunc.wav"):  # the data loader reports which file is broken
        ds[1]


def test_dataset_caches_and_pickles_without_cache(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, tone(), RATE)
    ds = AudioFileDataset([p, p], [0, 1], sample_rate=RATE)
    first = ds.get(0)
    assert ds.get(0) is first and not first.flags.writeable
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._cache == {} and np.array_equal(clone.get(0), first)
    with pytest.raises(ValueError, match="`sample_rate` must be a positive integer"):
        AudioFileDataset([p], [0], sample_rate=0)
    with pytest.raises(ValueError, match="`mono` must be"):
        AudioFileDataset([p], [0], sample_rate=RATE, mono="left")


def test_recipe_smoke_runs_on_a_tiny_fsdd(fsdd_root, tmp_path):
    import json

    from scarce.cli import main

    out = tmp_path / "out"
    assert main(["ablate", "recipes/audio_fsdd.yaml", "--smoke", "--quiet", "--data-root", str(fsdd_root),
                 "--out", str(out)]) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["remedy"] for r in records} == {"baseline", "waveform_light", "specaugment",
                                              "waveform_light+specaugment", "logreg"}
    assert all(r["n_test"] == 50 for r in records)


@pytest.mark.slow
def test_real_fsdd_counts():
    root = os.environ.get("SCARCE_DATA", "/work/shared/data")
    if not (Path(root) / "fsdd" / "recordings").is_dir():
        pytest.skip("FSDD not found under $SCARCE_DATA (set it to the shared data folder)")
    b = load_dataset("fsdd", root=root)
    assert (len(b.train), len(b.test)) == (2700, 300)
    assert np.bincount(b.test.labels).tolist() == [30] * 10
