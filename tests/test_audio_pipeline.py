import numpy as np
import pytest
import torch

from scarce.models.audio_frontend import LogMelCollate, MelConfig, MfccStats, log_mel, mel_filterbank, mfcc_stats
from scarce.models import create_model
from scarce.data import ArrayDataset
from scarce.remedies import TrainSetup, create_remedy
from scarce.experiment.config import ModelConfig
from scarce.modalities import get_modality

RATE = 8000


def tone(f, n=2400):
    return (0.5 * np.sin(2 * np.pi * f * np.arange(n) / RATE)).astype(np.float32)


@pytest.fixture
def tiny_audio():
    """3 classes of tones (300/900/2000 Hz) of varying length with a little noise."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 6)
    clips = [tone((300, 900, 2000)[c], n=int(rng.integers(800, 4000))) + rng.normal(0, 0.01, 1).astype(np.float32)
             for c in labels]
    return ArrayDataset(clips, labels, class_names=["lo", "mid", "hi"], modality="audio", sample_rate=RATE)


def test_mel_filterbank_and_log_mel_put_a_tone_in_the_right_band():
    fb = mel_filterbank(sample_rate=RATE, n_fft=256, n_mels=40)
    assert fb.shape == (40, 129) and (fb >= 0).all() and (fb.sum(1) > 0).all()
    cfg = MelConfig(sample_rate=RATE, n_mels=40)
    lm = log_mel(torch.from_numpy(np.stack([tone(500), tone(3000)])), cfg)
    assert lm.shape == (2, 40, 1 + 2400 // 80)
    peak = lm[:, :, 5:-5].mean(-1).argmax(1)
    assert peak[0] < peak[1]
    bin_500 = int(round(500 / (RATE / 256)))
    assert int(peak[0]) == int(fb[:, bin_500].argmax())


def test_collate_pads_crops_and_marks_valid_frames():
    cfg = MelConfig(sample_rate=RATE, n_mels=32, max_seconds=0.5)
    x, y = LogMelCollate(cfg)([(tone(400, 800), 0), (tone(400, 6000), 2)])
    assert x.shape == (2, 2, 32, 1 + 4000 // 80) and y.tolist() == [0, 2]
    assert x[0, 1, 0].sum() == 1 + 800 // 80 and x[1, 1, 0].sum() == x.shape[-1]  # long clip cropped to 0.5 s
    assert (x[0, :, :, 11:] == 0).all()  # padding is 0 in both channels
    valid = x[0, 0, :, :11]
    assert abs(float(valid.mean())) < 1e-4 and abs(float(valid.std(unbiased=False)) - 1) < 1e-3


def test_collate_and_features_name_bad_clips():
    c = LogMelCollate(MelConfig())
    with pytest.raises(ValueError, match="clip 1.*stereo"):
        c([(tone(300), 0), (np.stack([tone(300)] * 2, 1), 1)])
    with pytest.raises(TypeError, match="clip 0.*int16"):
        c([(np.zeros(100, np.int16), 0)])
    with pytest.raises(ValueError, match="clip 0.*empty"):
        c([(np.zeros(0, np.float32), 0)])
    with pytest.raises(ValueError, match="clip 0.*NaN"):
        c([(np.full(100, np.nan, np.float32), 0)])
    with pytest.raises(ValueError, match="`sample_rate` must be >= 1000"):
        MelConfig(sample_rate=10)


def test_mfcc_stats_do_not_depend_on_batch_padding():
    cfg = MelConfig(sample_rate=RATE, n_mels=40, max_seconds=None)
    short, long_ = tone(300, 1000), tone(700, 5000)
    alone = mfcc_stats([short], cfg)
    batched = mfcc_stats([short, long_], cfg)
    assert alone.shape == (1, 40) and np.allclose(alone[0], batched[0], atol=1e-4)


def test_model_output_does_not_depend_on_the_other_clips_lengths():
    torch.manual_seed(0)
    collate = LogMelCollate(MelConfig(sample_rate=RATE, n_mels=40))
    for name in ("audio_tdnn",):
        m = create_model(name, num_classes=3, n_mels=40).eval()
        alone = m(collate([(tone(300, 1200), 0)])[0])
        batched = m(collate([(tone(300, 1200), 0), (tone(900, 6000), 1)])[0])
        assert torch.allclose(alone[0], batched[0], atol=1e-5)
    with pytest.raises(ValueError, match=r"\(B, 2, n_mels, T\)"):
        create_model("audio_tdnn", num_classes=3, n_mels=40)(torch.zeros(2, 40, 10))
    assert create_model("audio_cnn2d", num_classes=3, n_mels=40)(torch.zeros(2, 2, 40, 10)).shape == (2, 3)


def test_pipeline_and_featurizer_registered_for_audio(tiny_audio):
    audio = get_modality("audio")
    model_fn, collate = audio.pipeline(model=ModelConfig(name="auto", options={"n_mels": 32, "width": 8}),
                                       train=tiny_audio, num_classes=3)
    x, y = collate([tiny_audio[i] for i in range(4)])
    assert x.shape[:3] == (4, 2, 32) and model_fn(3)(x).shape == (4, 3)
    feats = audio.featurizer().fit_transform(tiny_audio)
    assert feats.shape == (18, 40) and np.isfinite(feats).all()
    with pytest.raises(ValueError, match="Unknown model 'audio_tdn'. Did you mean 'audio_tdnn'"):
        audio.pipeline(model=ModelConfig(name="audio_tdn"), train=tiny_audio, num_classes=3)
    no_rate = ArrayDataset(list(tiny_audio.data), tiny_audio.labels, modality="audio")
    with pytest.raises(ValueError, match="sample_rate"):
        audio.pipeline(model=ModelConfig(), train=no_rate, num_classes=3)
    with pytest.raises(ValueError, match="sample_rate"):
        MfccStats().transform(no_rate)


def test_remedies_set_transforms_and_compose(tiny_audio):
    base = TrainSetup(train=tiny_audio, num_classes=3, model_fn=lambda n: None, clean_train=tiny_audio)
    wave = create_remedy({"name": "waveform", "preset": "light"}).apply(base, seed=0)
    assert wave.transform is not None and wave.batch_transform is None and wave.notes["waveform_preset"] == "light"
    assert wave.clean_train is tiny_audio and base.transform is None  # pure
    both = create_remedy({"name": "chain", "remedies": [{"name": "waveform", "preset": "strong"},
                                                        {"name": "specaugment", "freq_width": 4}]}).apply(base, seed=0)
    assert both.transform is not None and both.batch_transform is not None
    x = both.transform(tiny_audio.get(0), rng=np.random.default_rng(0))
    assert x.shape == tiny_audio.get(0).shape
    twice = create_remedy({"name": "waveform", "preset": "light"}).apply(wave, seed=1)
    assert twice.transform(tiny_audio.get(0), rng=np.random.default_rng(3)).shape == x.shape
    xb, _ = LogMelCollate(MelConfig())([tiny_audio[i] for i in range(3)])
    out, _ = both.batch_transform(xb, None, generator=torch.Generator().manual_seed(0))
    assert out.shape == xb.shape and torch.equal(out[:, 1], xb[:, 1])
    with pytest.raises(ValueError, match="set for `sample_rate`=16000 Hz but the clips are 8000 Hz"):
        create_remedy({"name": "waveform", "sample_rate": 16000}).apply(base, seed=0)
    images = ArrayDataset(np.zeros((3, 8, 8, 1), np.uint8), [0, 1, 2])
    with pytest.raises(ValueError, match="needs an audio dataset"):
        create_remedy("specaugment").apply(TrainSetup(train=images, num_classes=3, model_fn=lambda n: None), seed=0)
    with pytest.raises(ValueError, match="`preset` must be one of"):
        create_remedy({"name": "waveform", "preset": "heavy"})


def test_fit_with_both_remedies_runs_and_is_seeded(tiny_audio):
    from scarce.train import TrainConfig, fit

    model_fn, collate = get_modality("audio").pipeline(model=ModelConfig(options={"width": 8, "n_mels": 32}),
                                                       train=tiny_audio, num_classes=3)
    setup = create_remedy({"name": "chain", "remedies": [{"name": "waveform", "preset": "light"},
                                                         "specaugment"]}).apply(
        TrainSetup(train=tiny_audio, num_classes=3, model_fn=model_fn, collate=collate), seed=0)
    cfg = TrainConfig(steps=3, batch_size=8, eval_every=3, device="cpu")
    runs = [fit(lambda: model_fn(3), tiny_audio, config=cfg, seed=1, transform=setup.transform,
                batch_transform=setup.batch_transform, collate=collate) for _ in range(2)]
    a, b = (list(r.model.state_dict().values()) for r in runs)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
