"""Audio datasets: clips decoded lazily from wav/flac files (via soundfile) and cached.

An audio example is a float32 mono waveform of any length in [-1, 1]; the dataset carries its
``sample_rate``. Loaders: ``fsdd`` (Free Spoken Digit Dataset, its own test split: takes 0-4 of
every speaker and digit) and ``audio_folder`` (one sub-folder per class).

A broken, truncated or unexpected file (stereo, other sample rate, empty, NaN/Inf samples) raises
an error that names the file, at the first access to that clip.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scarce.data.datasets import LabelledDataset, Subset, list_class_folders, validate_labels
from scarce.data.loaders import DatasetBundle, resolve_root, stratified_test_split

AUDIO_EXTENSIONS = (".wav", ".flac")
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def check_waveform(x, *, name: str = "clip") -> np.ndarray:
    """Return ``x`` as a float32 1-D waveform, or raise an error saying what is wrong with it.

    Raises:
        TypeError: integer/bool/complex samples (PCM integers must be scaled to [-1, 1] first).
        ValueError: not 1-D (stereo (C, N) or (N, C) given where mono is expected), empty, or
            non-finite samples.
    """
    if hasattr(x, "detach"):  # a torch tensor (data/ does not import torch)
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.dtype.kind != "f":
        hint = " Integer PCM must be scaled to [-1, 1] first (e.g. x / 32768 for 16-bit)." if x.dtype.kind in "iu" else ""
        raise TypeError(f"`{name}` must be a floating-point waveform, got dtype {x.dtype}.{hint}")
    if x.ndim != 1:
        raise ValueError(f"`{name}` must be a mono 1-D waveform (samples,), got shape {x.shape}: multi-channel "
                         "(stereo) audio where mono is expected. Average the channels first.")
    if x.size == 0:
        raise ValueError(f"`{name}` must hold at least one sample, got an empty clip.")
    if not np.isfinite(x).all():
        raise ValueError(f"`{name}` must hold finite samples, got NaN or Inf.")
    return x.astype(np.float32, copy=False)


def _import_soundfile():
    try:
        import soundfile
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("Reading audio files needs soundfile: pip install 'scarce[audio]'.") from err
    return soundfile


def _wav_declared_bytes(path: Path) -> tuple[int, int] | None:
    """(declared size of the 'data' chunk, bytes actually present) for a RIFF/WAVE file, else None."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                start = f.tell()
                f.seek(0, 2)
                return size, f.tell() - start
            f.seek(size + (size & 1), 1)


def read_clip(path: str | Path, *, sample_rate: int | None = None, mono: str = "require") -> tuple[np.ndarray, int]:
    """Decode one wav/flac file to a float32 mono waveform.

    Args:
        path: the file.
        sample_rate: expected rate in Hz (``None``: accept the file's).
        mono: ``"require"`` (a multi-channel file is an error) or ``"mix"`` (average the channels).

    Returns:
        ``(waveform, sample_rate)``.

    Raises:
        OSError: unreadable or truncated file (named).
        ValueError: multi-channel file with ``mono="require"``, other sample rate, empty clip or
            non-finite samples (the file is named).

    Example:
        >>> import numpy as np, soundfile, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.wav")
        >>> soundfile.write(p, np.zeros(800, np.float32), 8000)
        >>> x, sr = read_clip(p, sample_rate=8000)
        >>> x.shape, x.dtype, sr
        ((800,), dtype('float32'), 8000)
    """
    sf = _import_soundfile()
    path = Path(path)
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as err:
        raise OSError(f"Cannot read audio file '{path}': {err}") from None
    if path.suffix.lower() == ".wav":
        declared = _wav_declared_bytes(path)
        if declared is not None and declared[1] < declared[0]:
            raise OSError(f"Audio file '{path}' is truncated: its header declares {declared[0]} bytes of samples, "
                          f"the file holds {declared[1]}.")
    if x.shape[1] != 1:
        if mono != "mix":
            raise ValueError(f"Audio file '{path}' has {x.shape[1]} channels (stereo/multi-channel); mono (1 channel) "
                             "is expected. Pass mono='mix' to average the channels.")
        x = x.mean(axis=1, keepdims=True)
    if sample_rate is not None and sr != sample_rate:
        raise ValueError(f"Audio file '{path}' has sample rate {sr} Hz; expected {sample_rate} Hz. Resample it "
                         "first (e.g. librosa.resample) or load with the matching `sample_rate`.")
    x = np.ascontiguousarray(x[:, 0])
    if x.size == 0:
        raise ValueError(f"Audio file '{path}' holds no samples (an empty clip).")
    if not np.isfinite(x).all():
        raise ValueError(f"Audio file '{path}' holds non-finite samples (NaN or Inf).")
    return x, int(sr)


class AudioFileDataset(LabelledDataset):
    """Clips in files, decoded on first access and cached in memory.

    Args:
        paths: one wav/flac file per example.
        labels: class index per file.
        sample_rate: the rate every file must have (Hz).
        class_names: names of the classes (default ``"0"``, ``"1"``...).
        mono: ``"require"`` or ``"mix"`` (see :func:`read_clip`).

    Example:
        >>> import numpy as np, soundfile, tempfile, os
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.wav")
        >>> soundfile.write(p, np.zeros(80, np.float32), 8000)
        >>> ds = AudioFileDataset([p, p], [0, 1], sample_rate=8000)
        >>> ds[1][0].shape, ds[1][1], ds.modality
        ((80,), 1, 'audio')
    """

    modality = "audio"

    def __init__(self, paths: Sequence[str | Path], labels, *, sample_rate: int,
                 class_names: Sequence[str] | None = None, mono: str = "require") -> None:
        if mono not in ("require", "mix"):
            raise ValueError(f"`mono` must be 'require' or 'mix', got {mono!r}.")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ValueError(f"`sample_rate` must be a positive integer (Hz), got {sample_rate!r}.")
        self.paths = [Path(p) for p in paths]
        self.labels = validate_labels(labels, num_classes=None if class_names is None else len(class_names))
        if len(self.paths) != len(self.labels):
            raise ValueError(f"`labels` must have one entry per file: {len(self.paths)} files, {len(self.labels)} labels.")
        self.class_names = list(class_names) if class_names is not None else [str(c) for c in range(self.labels.max() + 1)]
        self.sample_rate, self.mono = int(sample_rate), mono
        self._cache: dict[int, np.ndarray] = {}

    def get(self, index: int) -> np.ndarray:
        if index not in self._cache:
            x, _ = read_clip(self.paths[index], sample_rate=self.sample_rate, mono=self.mono)
            x.setflags(write=False)
            self._cache[index] = x
        return self._cache[index]

    def __getstate__(self):  # DataLoader workers get the paths, not the decoded cache
        return {**self.__dict__, "_cache": {}}


def fsdd_files(folder: Path) -> tuple[list[Path], np.ndarray, np.ndarray, list[str]]:
    """FSDD files with (digit, take, speaker) parsed from ``{digit}_{speaker}_{take}.wav``."""
    paths, digits, takes, speakers = [], [], [], []
    for p in sorted(folder.glob("*.wav")):
        m = _FSDD_NAME.match(p.name)
        if m is None:
            raise ValueError(f"FSDD file '{p}' does not follow the '{{digit}}_{{speaker}}_{{take}}.wav' naming.")
        paths.append(p)
        digits.append(int(m.group(1)))
        speakers.append(m.group(2))
        takes.append(int(m.group(3)))
    return paths, np.asarray(digits), np.asarray(takes), speakers


def fsdd(*, root=None, download: bool = False) -> DatasetBundle:
    """Free Spoken Digit Dataset: 10 digits, 8 kHz mono clips, from ``<root>/fsdd/recordings``.

    Test split: the dataset's convention, takes 0-4 of every speaker and digit (300 clips of the
    3,000 of 6 speakers); the pool is takes 5 and above (2,700). With ``download=True`` a missing
    folder is fetched from the official GitHub repository (connected machines only).

    Example:
        >>> b = fsdd(root="/work/shared/data")  # doctest: +SKIP
        >>> len(b.train), len(b.test), b.train.sample_rate  # doctest: +SKIP
        (2700, 300, 8000)
    """
    base = resolve_root(root)
    folder = base / "fsdd" / "recordings"
    if not folder.is_dir() or not any(folder.glob("*.wav")):
        if not download:
            raise FileNotFoundError(f"FSDD not found: expected '{folder}/{{digit}}_{{speaker}}_{{take}}.wav'; "
                                    "pass download=True on a connected machine.")
        _download_fsdd(base / "fsdd")
    paths, digits, takes, _ = fsdd_files(folder)
    full = AudioFileDataset(paths, digits, sample_rate=8000, class_names=[str(d) for d in range(10)])
    test = takes <= 4
    return DatasetBundle("fsdd", Subset(full, np.flatnonzero(~test)), Subset(full, np.flatnonzero(test)),
                         "takes 0-4 of every speaker and digit")


def _download_fsdd(dest: Path) -> None:  # pragma: no cover - needs the internet
    import io
    import urllib.request
    import zipfile

    url = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.zip"
    with urllib.request.urlopen(url, timeout=60) as r:
        archive = zipfile.ZipFile(io.BytesIO(r.read()))
    (dest / "recordings").mkdir(parents=True, exist_ok=True)
    for name in archive.namelist():
        if "/recordings/" in name and name.endswith(".wav"):
            (dest / "recordings" / Path(name).name).write_bytes(archive.read(name))


def audio_folder_dataset(folder: str | Path, *, sample_rate: int | None = None, class_names=None,
                         mono: str = "require") -> AudioFileDataset:
    """``folder/<class>/*.{wav,flac}`` as an :class:`AudioFileDataset`; ``sample_rate=None`` takes
    the first file's rate (read from its header) and requires it of every other file."""
    folder = Path(folder)
    paths, labels, names = list_class_folders(folder, AUDIO_EXTENSIONS, class_names=class_names,
                                              what="audio file", arg="path")
    if sample_rate is None:
        sf = _import_soundfile()
        try:
            sample_rate = int(sf.info(str(paths[0])).samplerate)
        except (RuntimeError, OSError) as err:
            raise OSError(f"Cannot read audio file '{paths[0]}': {err}") from None
    return AudioFileDataset(paths, labels, sample_rate=sample_rate, class_names=names, mono=mono)


def audio_folder(*, root=None, path: str, test_path: str | None = None, test_fraction: float = 0.2,
                 sample_rate: int | None = None, mono: str = "require") -> DatasetBundle:
    """Your own clips in class folders. Test split: ``test_path`` if given, else a seeded
    stratified ``test_fraction`` (seed 0) of ``path``. A relative path is taken under the data root."""
    base = resolve_root(root, required=False)

    def where(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() or base is None else base / p

    full = audio_folder_dataset(where(path), sample_rate=sample_rate, mono=mono)
    if test_path:
        test = audio_folder_dataset(where(test_path), sample_rate=full.sample_rate, class_names=full.class_names,
                                    mono=mono)
        return DatasetBundle("audio_folder", full, test, str(where(test_path)))
    if not 0 < test_fraction < 1:
        raise ValueError(f"`test_fraction` must be in (0, 1), got {test_fraction}.")
    pool, test = stratified_test_split(full.labels, test_fraction=test_fraction, seed=0)
    return DatasetBundle("audio_folder", Subset(full, pool), Subset(full, test), f"stratified {test_fraction:.0%}, seed 0")
