"""Offline WordNet synonyms through NLTK, without a POS tagger and without changing inflection.

NLTK finds WordNet in its standard data layout (``<dir>/corpora/wordnet/``). :func:`find_wordnet`
looks, in order, at an explicit folder, ``<data root>/nltk_data`` (``SCARCE_DATA``), the folders
in ``NLTK_DATA`` and NLTK's own search path; it never downloads. On a connected machine
``python -m nltk.downloader wordnet`` installs the same data.

Synonyms are only offered for a word that is itself a WordNet lemma form of the synsets they
come from: "films" or "is" get none (their synsets hold "film" and "be"), so a replacement never
turns an inflected word into a lemma ("the film is charming" never becomes "the film be charming").
Lookups are cached per word, in one process-wide table per WordNet folder shared by every
:class:`WordNetSynonyms` on it (bounded by WordNet's vocabulary), next to the WordNet table parsed
once per folder; :func:`clear_caches` empties both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

INSTALL_HINT = (
    "Install WordNet for NLTK: on a connected machine run `python -m nltk.downloader wordnet` "
    "(or `pip install scarce[text]` then that command), or point `nltk_data=` / NLTK_DATA / SCARCE_DATA "
    "at a folder holding nltk_data/corpora/wordnet."
)


def _has_wordnet(folder: Path) -> bool:
    return (folder / "corpora" / "wordnet").is_dir() or (folder / "corpora" / "wordnet.zip").is_file()


def find_wordnet(nltk_data: str | os.PathLike | None = None, *, data_root: str | os.PathLike | None = None) -> Path:
    """The NLTK data folder that holds WordNet (never downloads).

    Args:
        nltk_data: an explicit NLTK data folder (the one holding ``corpora/wordnet``).
        data_root: scarce's data root (default ``$SCARCE_DATA``); ``<data_root>/nltk_data`` is tried.

    Raises:
        FileNotFoundError: no WordNet anywhere, with the command that installs it.

    Example:
        >>> # find_wordnet(data_root="../shared/data")  -> Path('../shared/data/nltk_data')
    """
    tried: list[Path] = []
    if nltk_data not in (None, ""):
        folder = Path(nltk_data).expanduser()
        if _has_wordnet(folder):
            return folder
        raise FileNotFoundError(f"`nltk_data` must be a folder holding corpora/wordnet, got '{folder}'. {INSTALL_HINT}")
    root = data_root if data_root not in (None, "") else os.environ.get("SCARCE_DATA")
    candidates = [Path(root).expanduser() / "nltk_data"] if root else []
    candidates += [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    try:
        import nltk.data

        candidates += [Path(p) for p in nltk.data.path if isinstance(p, str)]
    except ImportError:
        raise ImportError("WordNet synonyms need NLTK: `pip install scarce[text]`.") from None
    for folder in candidates:
        if _has_wordnet(folder):
            return folder
        tried.append(folder)
    shown = ", ".join(f"'{p}'" for p in tried[:6]) or "nowhere (no data root, no NLTK_DATA)"
    raise FileNotFoundError(f"WordNet not found; looked in {shown}. {INSTALL_HINT}")


_CACHES: dict[str, dict[str, tuple[str, ...]]] = {}


def clear_caches() -> None:
    """Forget the cached lookups and parsed WordNet tables of this process (read again when needed)."""
    for lookups in _CACHES.values():
        lookups.clear()
    _CACHES.clear()
    _TABLES.clear()


class WordNetSynonyms:
    """``synonyms(word) -> tuple[str, ...]``: WordNet synonyms of exactly this word form, cached.

    Multi-word lemmas come back with spaces ("motion picture"); the word itself is excluded. The
    WordNet reader is loaded on the first lookup, not at construction (which only locates it), and
    the object pickles (for DataLoader workers) without the reader.

    Example:
        >>> # syn = WordNetSynonyms(data_root="../shared/data"); syn("film")[:2] -> ('movie', 'picture')
    """

    def __init__(self, *, nltk_data: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None) -> None:
        self.folder = str(find_wordnet(nltk_data, data_root=data_root))
        self._cache = _CACHES.setdefault(self.folder, {})  # shared by every instance in this process
        self._wn = None
        self.lookups = 0

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_wn": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache = _CACHES.setdefault(self.folder, state["_cache"])

    def _reader(self):
        if self._wn is None:
            import nltk

            if self.folder not in nltk.data.path:
                nltk.data.path.append(self.folder)
            from nltk.corpus import wordnet

            try:
                wordnet.ensure_loaded()
            except LookupError as err:
                raise FileNotFoundError(f"WordNet in '{self.folder}' could not be read ({err}). {INSTALL_HINT}") from None
            self._wn = wordnet
        return self._wn

    def __call__(self, word: str) -> tuple[str, ...]:
        key = word.lower()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        self.lookups += 1
        table = _TABLES.get(self.folder) or _load_table(Path(self.folder))
        if table is not None:
            names_lists = table.get(key, ())
        else:  # a zipped WordNet: NLTK's reader, one word at a time (cached)
            names_lists = [ss.lemma_names() for ss in self._reader().synsets(key)]
        out: dict[str, None] = {}
        for names in names_lists:
            if key not in (n.lower() for n in names):  # `key` is an inflected form of this synset's lemma
                continue
            for name in names:
                cand = name.replace("_", " ")
                if cand.lower() != key and all(part.isalpha() or "-" in part for part in cand.split()):
                    out[cand] = None
        self._cache[key] = result = tuple(out)
        return result


_TABLES: dict[str, dict[str, list[list[str]]]] = {}


def _load_table(folder: Path) -> dict[str, list[list[str]]] | None:
    """Every synset's lemma names, indexed by each lower-cased lemma, read once from WordNet's
    ``data.{noun,verb,adj,adv}`` files (about 1 s; NLTK's per-word reader costs ~1 ms a word).
    ``None`` when the files are not unpacked (then NLTK's reader is used)."""
    files = [folder / "corpora" / "wordnet" / f"data.{pos}" for pos in ("noun", "verb", "adj", "adv")]
    if not all(f.is_file() for f in files):
        return None
    table: dict[str, list[list[str]]] = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):  # licence header
                    continue
                fields = line.split()
                count = int(fields[3], 16)
                names = [w.split("(")[0] for w in fields[4 : 4 + 2 * count : 2]]  # drop adjective markers "(a)"
                for name in names:
                    table.setdefault(name.lower(), []).append(names)
    _TABLES[str(folder)] = table
    return table


class DictSynonyms:
    """Synonyms from a mapping ``{word: [synonyms...]}``: your own thesaurus, or a test fixture.

    Example:
        >>> DictSynonyms({"good": ["fine", "great"]})("Good")
        ('fine', 'great')
    """

    def __init__(self, mapping: Mapping[str, Sequence[str]]) -> None:
        if not isinstance(mapping, Mapping):
            raise TypeError(f"`mapping` must be a dict of word -> list of synonyms, got {type(mapping).__name__}.")
        self.mapping = {str(k).lower(): tuple(str(s) for s in v) for k, v in mapping.items()}
        self.lookups = 0

    def __call__(self, word: str) -> tuple[str, ...]:
        self.lookups += 1
        return self.mapping.get(word.lower(), ())


SynonymSource = Callable[[str], Sequence[str]]
