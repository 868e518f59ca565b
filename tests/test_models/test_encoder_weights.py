"""encoder_weights: a clear error offline, local files round-trip, mismatches are named."""
import huggingface_hub.constants
import pytest
import torch
from safetensors.torch import save_file

from cityseg.models import SMPSegmentor
from cityseg.registry import MODELS

SMALL = dict(type='SMPSegmentor', arch='Unet', num_classes=3,
             model_kwargs=dict(decoder_channels=(8, 8, 8, 8, 8)))


def build(encoder_name: str, encoder_weights=None, seed: int = 0, **kwargs) -> SMPSegmentor:
    """Through the registry and init_weights(), as the Runner builds it."""
    torch.manual_seed(seed)
    model = MODELS.build({**SMALL, 'encoder_name': encoder_name,
                          'encoder_weights': encoder_weights, **kwargs})
    model.init_weights()
    return model


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and an empty cache: huggingface_hub (used by smp and timm) fails at once."""
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path))


@pytest.mark.parametrize('encoder', ['resnet18', 'tu-resnet18'])
def test_imagenet_weights_offline_say_how_to_train_without_download(offline, encoder):
    with pytest.raises(RuntimeError, match=f"encoder_weights='imagenet' for encoder '{encoder}'"
                       ) as err:
        build(encoder, 'imagenet')
    assert 'encoder_weights=None' in str(err.value) and '.safetensors' in str(err.value)
    assert isinstance(err.value.__cause__, OSError)


@pytest.mark.parametrize('encoder, suffix', [('resnet18', '.pth'),
                                             ('tu-resnet10t', '.safetensors')])
def test_local_encoder_file_round_trips_the_weights(tmp_path, encoder, suffix):
    source = build(encoder, seed=1).net.encoder.state_dict()
    path = str(tmp_path / f'encoder{suffix}')
    if suffix == '.safetensors':
        save_file({k: v.contiguous() for k, v in source.items()}, path)
    else:
        torch.save(source, path)

    loaded = build(encoder, path, seed=2).net.encoder.state_dict()
    fresh = build(encoder, seed=2).net.encoder.state_dict()
    assert loaded.keys() == source.keys()
    assert all(torch.equal(loaded[k], source[k]) for k in source)
    assert not all(torch.equal(fresh[k], source[k]) for k in source)  # seeds do differ


def test_weights_of_another_encoder_name_the_mismatched_keys(tmp_path):
    path = str(tmp_path / 'resnet18.pth')
    torch.save(build('resnet18').net.encoder.state_dict(), path)
    with pytest.raises(ValueError, match=r'does not fit the ResNetEncoder encoder') as err:
        build('resnet34', path)
    message = str(err.value)
    # resnet34 has 3 blocks in layer1 where resnet18 has 2.
    assert "'layer1.2.bn1.bias'" in message and 'missing keys' in message
    assert '0 unexpected keys' in message and 'more' in message


def test_weights_with_other_shapes_name_the_shapes(tmp_path):
    path = str(tmp_path / 'rgb.pth')
    torch.save(build('resnet18').net.encoder.state_dict(), path)
    with pytest.raises(ValueError, match=r"1 shape mismatches \['conv1.weight: file "
                                         r"\(64, 3, 7, 7\) vs encoder \(64, 4, 7, 7\)'\]"):
        build('resnet18', path, in_channels=4)


def test_missing_weights_file_is_named(tmp_path):
    path = str(tmp_path / 'nowhere.pth')
    with pytest.raises(FileNotFoundError, match=f'encoder_weights file not found: {path}'):
        build('resnet18', path)
