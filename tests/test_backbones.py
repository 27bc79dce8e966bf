import numpy as np
import pytest
import torch

from scarce.backbones import Preprocess, create_backbone, list_backbones
from scarce.backbones.base import LITE0, DataConfig
from scarce.backbones.strategies import ParamGroups, TransferModel, build_transfer_model
from scarce.report.ablation import ablate

pytest.importorskip("timm")


@pytest.mark.parametrize("name", list_backbones())
def test_feature_shape_for_every_backbone(name):
    bb = create_backbone(name, pretrained=False)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        f = bb.forward_features(x)
    assert f.shape == (2, bb.num_features) and bb.num_stages >= 5
    assert bb.data_config.size == 224 and bb.classifier is None


def test_unknown_backbone_says_did_you_mean():
    with pytest.raises(ValueError, match="Did you mean 'resnet18'"):
        create_backbone("resnet_18")


def test_lite0_imagenet_weights_recognise_sample_images():
    from sklearn.datasets import load_sample_image
    from torchvision.models import ResNet18_Weights

    cats = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    bb = create_backbone("efficientnet_lite0", pretrained=True)
    assert bb.data_config.mean == LITE0["mean"]  # (x - 127) / 128 on 0-255 inputs

    def centre(im):
        h, w, _ = im.shape
        s = min(h, w)
        return im[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]

    x = Preprocess(bb.data_config)([centre(load_sample_image(n)) for n in ("flower.jpg", "china.jpg")])
    assert torch.allclose(x[0, :, 0, 0] * 128 + 127, x[0, :, 0, 0] * 128 + 127)  # scheme sanity
    with torch.no_grad():
        top5 = bb.classifier(bb.forward_features(x)).topk(5).indices
    assert cats[top5[0, 0]] == "daisy"
    assert {"palace", "monastery", "bell cote", "pagoda"} & {cats[i] for i in top5[1]}


def test_weights_for_another_architecture_name_the_differing_keys(tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(create_backbone("resnet18", pretrained=False).stages[0][0].state_dict(), path)
    with pytest.raises(ValueError, match=r"do not fit backbone 'resnet18'.*missing from the file: .*bn1"):
        create_backbone("resnet18", pretrained=path)
    import torchvision

    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ValueError, match="not in the model: conv1.weight"):
        create_backbone("mobilenet_v3_small", pretrained=path)
    ok = create_backbone("resnet18", pretrained=path)
    assert torch.equal(ok.stages[0][0].weight, torch.load(path)["conv1.weight"])


def test_offline_without_weights_says_how_to_get_them_and_cache_is_used(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match="not on disk.*Allow the download with `download: true`.*resnet18-f37072fd.pth"):
        create_backbone("resnet18", pretrained=True)  # nothing is downloaded unless asked
    sd = torchvision.models.resnet18().state_dict()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(sd, tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    bb = create_backbone("resnet18", pretrained=True, download=False)
    assert torch.equal(bb.stages[4][0].conv1.weight, sd["layer4.0.conv1.weight"]) and bb.classifier is not None


def test_greyscale_is_converted_only_when_asked():
    cfg = DataConfig(size=16, **LITE0)
    grey = np.full((2, 8, 8, 1), 127, np.uint8)
    with pytest.raises(ValueError, match="3 channels.*got 1.*grayscale='repeat'"):
        Preprocess(cfg)(grey)
    x = Preprocess(cfg, grayscale="repeat")(grey)
    assert x.shape == (2, 3, 16, 16) and torch.allclose(x, torch.zeros_like(x))  # (127 - 127) / 128
    bb = create_backbone("resnet18", pretrained=False)
    with pytest.raises(ValueError, match="must have 3 channels"):
        bb.forward_features(torch.zeros(1, 1, 32, 32))


def test_freeze_depth_beyond_stages_is_refused():
    bb = create_backbone("resnet18", pretrained=False)
    with pytest.raises(ValueError, match="`n` must be <= 5, got 6"):
        bb.freeze_to(6)
    with pytest.raises(ValueError, match="`n_stages` must be <= 5"):
        build_transfer_model(bb, num_classes=3, strategy="finetune_last", n_stages=9)


def test_freezing_keeps_exactly_the_frozen_parameters_and_bn_stats_unchanged(tiny_images):
    from scarce.backbones.base import Collate
    from scarce.train import TrainConfig, fit

    torch.manual_seed(0)
    base = create_backbone("resnet18", pretrained=False)
    with torch.no_grad():  # non-default running stats, to see that frozen BN keeps them
        for m in base.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    build = lambda: build_transfer_model(base, num_classes=3, strategy="finetune_last", n_stages=2)  # noqa: E731
    model = build()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {f"backbone.{n}" for n, _ in base.named_parameters() if n.split(".")[1] in ("0", "1", "2")}
    pre = Preprocess(base.data_config, size=32, grayscale="repeat")
    res = fit(build, tiny_images.subset(range(0, 60, 3)), config=TrainConfig(steps=2, batch_size=8, lr=1e-2),
              seed=0,
              collate=Collate(pre), param_groups_fn=ParamGroups(backbone_lr_scale=0.5))
    after = res.model.backbone.state_dict()
    for k, v in before.items():
        if "num_batches" in k:
            continue
        if k.split(".")[1] in ("0", "1", "2"):
            assert torch.equal(after[k], v), k  # weights and BN statistics of frozen stages
    assert not torch.equal(after["stages.4.0.conv1.weight"], before["stages.4.0.conv1.weight"])


def test_param_groups_give_lower_and_decayed_rates():
    model = TransferModel(create_backbone("resnet18", pretrained=False), num_classes=3, trainable_stages=5)
    groups = ParamGroups(backbone_lr_scale=0.1, decay=0.5)(model)
    scales = [g["lr_scale"] for g in groups]
    assert scales[0] == 1.0 and scales[1:] == pytest.approx([0.1 * 0.5 ** (4 - i) for i in range(5)])


def test_fit_applies_lr_scale_of_param_groups(tiny_images):
    from scarce.models import create_model
    from scarce.train import TrainConfig, fit

    def groups(model):
        first = list(model[0].parameters())
        rest = [p for p in model.parameters() if all(p is not q for q in first)]
        return [{"params": first, "lr_scale": 0.0}, {"params": rest, "lr_scale": 1.0}]

    build = lambda: create_model("small_cnn", num_classes=3, in_channels=1, image_size=8, width=8)  # noqa: E731
    torch.manual_seed(0)
    init = build()
    res = fit(build, tiny_images, config=TrainConfig(steps=3, lr=1e-2, recompute_bn=False), seed=0,
              param_groups_fn=groups)
    ref = fit(build, tiny_images, config=TrainConfig(steps=3, lr=1e-2, recompute_bn=False), seed=0)
    w0 = init[0].weight  # fit seeds the initialisation with `seed` the same way
    assert torch.equal(res.model[0].weight, w0)  # lr_scale 0: the first conv never moved
    assert not torch.allclose(ref.model[0].weight, w0)
    assert not torch.allclose(res.model[-1].weight, init[-1].weight)


def test_gradual_unfreezing_unfreezes_one_stage_per_period():
    model = build_transfer_model(create_backbone("resnet18", pretrained=False), num_classes=3,
                                 strategy="finetune_all", gradual=2)
    assert model.backbone.frozen_stages == 5
    model.train()
    x = torch.randn(2, 3, 16, 16)
    for _ in range(4):
        model(x)
    with torch.no_grad():
        model(x)  # evaluation passes do not count
    assert model.backbone.frozen_stages == 3
    assert all(p.requires_grad for p in model.backbone.stages[3].parameters())
    assert not any(p.requires_grad for p in model.backbone.stages[2].parameters())


def test_truncate_keeps_early_stages_only():
    bb = create_backbone("efficientnet_lite0", pretrained=False)
    m = build_transfer_model(bb, num_classes=4, strategy="truncate", n_stages=6)
    assert m.backbone.num_stages == 6 and m.head.in_features == bb.stage_widths()[5] == 112
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 4)


def test_a_transfer_remedy_never_downloads_unasked_and_fails_in_preflight(tmp_path, monkeypatch):
    import torch.hub

    from scarce.experiment.config import ExperimentConfig, TrainSection
    from scarce.experiment.preflight import PreflightError
    from scarce.experiment.runner import Experiment

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    fetched = []
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: fetched.append(a) or {})
    cfg = ExperimentConfig(name="dl", sizes=[3], seeds=[0], selection="holdout", test_limit=30,
                           remedies=["baseline", {"name": "linear_probe", "backbone": "resnet18", "size": 32}],
                           train=TrainSection(steps=2, lr=[1e-2], weight_decay=[1e-4], eval_every=1))
    with pytest.raises(PreflightError, match="row 'linear_probe.*`download: true`"):
        ablate(cfg, out_dir=tmp_path / "out", progress=False)
    assert fetched == [] and not (tmp_path / "out").exists()
