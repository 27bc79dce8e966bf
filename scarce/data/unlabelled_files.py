"""Finding a user's unlabelled files: the files of one modality in a folder, the texts of a file.

Helpers of :func:`scarce.data.unlabelled.read_unlabelled`. Errors name the setting the path came
from (``arg``, e.g. ```unlabelled.path```), say what the folder or file holds and what the task needs.
"""

from __future__ import annotations

from pathlib import Path

from scarce.data.audio import AUDIO_EXTENSIONS
from scarce.data.datasets import ImageFolderDataset
from scarce.data.text import _open_text, _read_rows

TEXT_SUFFIXES = (".txt", ".csv", ".jsonl", ".ndjson")
"""Text files read (each also compressed as ``.gz`` or ``.bz2``)."""
EXTENSIONS = {"image": ImageFolderDataset.EXTENSIONS, "audio": AUDIO_EXTENSIONS, "text": TEXT_SUFFIXES}
"""The files of each modality, by extension."""
NOUNS = {"image": "images", "text": "texts", "audio": "clips"}


def kind_of(path: Path) -> str | None:
    """The modality whose files have ``path``'s extension (``None``: none of ours).

    Example:
        >>> kind_of(Path("a.PNG")), kind_of(Path("b.csv.gz")), kind_of(Path("c.wav")), kind_of(Path("d.doc"))
        ('image', 'text', 'audio', None)
    """
    name = path.name.lower().removesuffix(".gz").removesuffix(".bz2")
    return next((m for m, exts in EXTENSIONS.items() if name.endswith(exts)), None)


def _a(kind: str | None) -> str:
    """" (an image file)" / " (a text file)" for a file of ``kind``, "" for none of ours."""
    return f" ({'an' if kind[0] in 'aeiou' else 'a'} {kind} file)" if kind else ""


def _held(files: list[Path]) -> str:
    """What ``files`` are, by modality: "2 audio file(s) (.wav, .flac)" ("" for none of ours)."""
    counts: dict[str, int] = {}
    for p in files:
        kind = kind_of(p)
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {k} file(s) ({', '.join(EXTENSIONS[k])})" for k, n in sorted(counts.items()))


def modality_files(path: Path, modality: str, *, arg: str = "`unlabelled.path`") -> list[Path]:
    """The files of ``modality`` directly in folder ``path``, sorted.

    Raises:
        ValueError: ``path`` is a file; the folder holds no such file, and then the message says what
            it holds: another modality's files, (class) sub-folders, or nothing.
    """
    exts, noun = EXTENSIONS[modality], NOUNS[modality]
    need = f"{modality} files ({', '.join(exts)})"
    if not path.is_dir():
        raise ValueError(f"{arg} must be a folder of {need} for this {modality} task, got the file "
                         f"'{path}'{_a(kind_of(path))}.")
    entries = sorted(path.iterdir())
    files = [p for p in entries if p.is_file() and kind_of(p) == modality]
    if files:
        return files
    held = _held([p for p in entries if p.is_file()])
    if held:
        raise ValueError(f"{arg} must be a folder of {need} for this {modality} task, got '{path}', which holds "
                         f"{held} and no {noun}.")
    subs = [p.name for p in entries if p.is_dir()]
    if subs:
        shown = ", ".join(repr(s) for s in subs[:5]) + (f" and {len(subs) - 5} more" if len(subs) > 5 else "")
        raise ValueError(f"{arg} must hold the {noun} directly: an unlabelled folder has no class folders, got "
                         f"'{path}' with sub-folder(s) {shown} and no {noun} in it. Move the files up into '{path}'.")
    raise ValueError(f"{arg} '{path}' holds no {noun}: expected {need} directly in it.")


def _lines(path: Path) -> list[str]:
    try:
        with _open_text(path) as f:
            return list(f)
    except UnicodeDecodeError as err:
        raise ValueError(f"'{path}' is not UTF-8 text (byte {err.start}: {err.reason}); re-save it as UTF-8.") from None
    except (EOFError, OSError) as err:  # a cut-off or corrupt compressed file
        raise ValueError(f"'{path}' cannot be read: truncated or corrupt ({type(err).__name__}: {err}).") from None


def read_text_file(path: Path, *, text_column: str = "text", arg: str = "`unlabelled.path`",
                   column_arg: str = "`unlabelled.text_column`") -> tuple[list[str], list[str]]:
    """The texts of a file and where each is (``"<file> line n"`` / ``"<file> row n"``).

    A ``.txt`` file holds one text per line (blank lines are skipped); a ``.csv`` / ``.jsonl`` file one
    per row, in ``text_column``. A text of only whitespace, or an empty or missing cell, is an error
    naming its line or row (as for labelled texts).

    Raises:
        ValueError: ``path`` is a folder or not a text file, ``text_column`` is not a column, an
            empty text (named), no text at all, or a file that is not UTF-8 or is corrupt.

    Example:
        >>> import tempfile, os
        >>> p = Path(tempfile.mkdtemp()) / "t.txt"
        >>> _ = p.write_text("first\\n\\nsecond\\n", encoding="utf-8")
        >>> texts, where = read_text_file(p)
        >>> texts, [w.rsplit(" ", 2)[1:] for w in where]
        (['first', 'second'], [['line', '1'], ['line', '3']])
    """
    if path.is_dir() or kind_of(path) != "text":
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            held = f"the folder '{path}'" + (f", which holds {_held(files)}" if _held(files) else "")
        else:
            held = f"'{path}'{_a(kind_of(path))}"
        raise ValueError(f"{arg} must be a text file ({', '.join(TEXT_SUFFIXES)}, optionally .gz/.bz2) for this "
                         f"text task, got {held}.")
    texts, where = [], []
    if path.name.lower().removesuffix(".gz").removesuffix(".bz2").endswith(".txt"):
        for n, line in enumerate(_lines(path), start=1):
            text = line.rstrip("\r\n")
            if not text:  # a blank line separates texts
                continue
            if not text.strip():
                raise ValueError(f"'{path}' line {n}: a text must not be only whitespace, got {text!r}.")
            texts.append(text)
            where.append(f"{path} line {n}")
    else:
        for n, row in enumerate(_read_rows(path), start=1):
            if not isinstance(row, dict):
                raise ValueError(f"'{path}' row {n} must be a JSON object with a {text_column!r} field, got {row!r:.60}.")
            if n == 1 and text_column not in row:
                raise ValueError(f"{column_arg} must name a column of '{path}', got {text_column!r}; "
                                 f"columns: {sorted(row)}.")
            text = row.get(text_column)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"'{path}' row {n}: column {text_column!r} must be a non-empty string, got {text!r}.")
            texts.append(text)
            where.append(f"{path} row {n}")
    if not texts:
        raise ValueError(f"{arg} '{path}' holds no texts: expected one text per line (.txt) or per row.")
    return texts, where


__all__ = ["EXTENSIONS", "TEXT_SUFFIXES", "kind_of", "modality_files", "read_text_file"]
