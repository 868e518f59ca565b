"""model.pretrained: whole smp networks from a save_pretrained folder or a hub id, no network."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import segmentation_models_pytorch as smp
import torch
from helpers.cli import ROOT
from helpers.local_network import silent_hub

from cityseg.apis import init_model
from cityseg.models import SMPSegmentor
from cityseg.utils import register_all_modules

KWARGS = dict(decoder_channels=[32, 16, 16, 8, 8])
HUB_ID = 'smp-hub/segformer-b0-1024x1024-city-160k'


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """A tiny U-Net with random weights (5 classes), saved by smp's own save_pretrained."""
    folder = tmp_path_factory.mktemp('saved')
    torch.manual_seed(0)
    net = smp.create_model('Unet', encoder_name='resnet18', encoder_weights=None, classes=5,
                           **KWARGS).eval()
    net.save_pretrained(folder)
    return str(folder), net


def test_folder_through_a_config_gives_identical_logits(saved, tmp_path):
    folder, net = saved
    config = tmp_path / 'pretrained_unet.py'
    config.write_text(f"_base_ = '{ROOT}/configs/_base_/models/unet_effb3.py'\n"
                      f"model = dict(pretrained={folder!r}, arch='Unet', encoder_name='resnet18',"
                      f" num_classes=5, model_kwargs={KWARGS!r})\n"
                      "test_pipeline = [dict(type='PackSegInputs')]\n")
    model = init_model(str(config))  # no checkpoint: the folder's weights
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(model(x), net(x))  # dropout=0.2 of the base is identity in eval
    assert model.num_classes == 5 and type(model.net.segmentation_head[1]) is \
        type(net.segmentation_head)


def test_unstated_keys_come_from_the_folder(saved):
    register_all_modules()
    folder, net = saved
    model = SMPSegmentor(pretrained=folder).eval()
    assert type(model.net) is smp.Unet and model.num_classes == 5
    assert model.net.encoder.out_channels == net.encoder.out_channels
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), net(x))


def test_folder_whose_classes_disagree_with_the_config_is_refused(saved):
    register_all_modules()
    with pytest.raises(ValueError, match=r'model.num_classes=19 but the pretrained config has 5'):
        SMPSegmentor(pretrained=saved[0], num_classes=19)
    with pytest.raises(ValueError, match=r"model.arch='FPN' but the pretrained config has 'Unet'"):
        SMPSegmentor(pretrained=saved[0], arch='FPN')
    with pytest.raises(ValueError, match=r"model.encoder_name='resnet34' but .* 'resnet18'"):
        SMPSegmentor(pretrained=saved[0], encoder_name='resnet34')
    with pytest.raises(ValueError, match=r'decoder_channels=\[64.*has \[32, 16, 16, 8, 8\]'):
        SMPSegmentor(pretrained=saved[0], model_kwargs=dict(decoder_channels=[64] * 5))


def test_pickled_weights_and_missing_folders_are_refused(saved, tmp_path):
    register_all_modules()
    folder, net = saved
    pickled = tmp_path / 'pickled'
    pickled.mkdir()
    (pickled / 'config.json').write_text(Path(folder, 'config.json').read_text())
    torch.save(net.state_dict(), pickled / 'pytorch_model.bin')
    with pytest.raises(FileNotFoundError, match='no model.safetensors .*pytorch_model.bin is a '
                       'pickle'):
        SMPSegmentor(pretrained=str(pickled))
    with pytest.raises(FileNotFoundError, match='no such folder'):
        SMPSegmentor(pretrained=str(tmp_path / 'absent'))


def test_weights_that_do_not_fit_the_config_json_are_refused(saved, tmp_path):
    register_all_modules()
    folder = tmp_path / 'edited'
    folder.mkdir()
    config = json.loads(Path(saved[0], 'config.json').read_text())
    (folder / 'config.json').write_text(json.dumps({**config, 'classes': 7}))
    (folder / 'model.safetensors').write_bytes(Path(saved[0], 'model.safetensors').read_bytes())
    with pytest.raises(RuntimeError, match='model.safetensors .* does not fit the Unet'):
        SMPSegmentor(pretrained=str(folder))


def test_a_truncated_safetensors_file_is_named(saved, tmp_path):
    """Issue 23: safetensors' 'incomplete metadata' error did not say which file."""
    register_all_modules()
    folder = tmp_path / 'cut'
    folder.mkdir()
    (folder / 'config.json').write_bytes(Path(saved[0], 'config.json').read_bytes())
    data = Path(saved[0], 'model.safetensors').read_bytes()
    (folder / 'model.safetensors').write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=rf'model.pretrained weights {folder}/model.safetensors '
                       rf'\({len(data) // 2} bytes\) is not a readable safetensors file .*'
                       'truncated'):
        SMPSegmentor(pretrained=str(folder))


_LOAD_HUB_ID = textwrap.dedent(f"""
    import time
    from cityseg.models.pretrained import PretrainedUnavailableError, load_pretrained
    start = time.perf_counter()
    try:
        load_pretrained({HUB_ID!r})
    except PretrainedUnavailableError as err:
        print(f'{{time.perf_counter() - start:.2f}}')
        print(err)
""")


def _load_hub_id(tmp_path, **env) -> tuple[float, str]:
    """Load the hub id in a fresh process (huggingface_hub reads its variables at import):
    the seconds the load took and the error's message."""
    env = {**os.environ, 'HF_HOME': str(tmp_path / 'hf_home'), 'PYTHONPATH': ROOT, **env}
    out = subprocess.run([sys.executable, '-c', _LOAD_HUB_ID], env=env, capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0 and out.stdout, out.stderr
    seconds, message = out.stdout.split('\n', 1)
    return float(seconds), message


@pytest.mark.integration
def test_hub_id_offline_fails_fast_saying_how_to_predownload(tmp_path):
    seconds, message = _load_hub_id(tmp_path, HF_HUB_OFFLINE='1')
    assert seconds < 2, seconds
    assert f"model.pretrained='{HUB_ID}'" in message and 'OfflineModeIsEnabled' in message
    assert f'hf download {HUB_ID} config.json model.safetensors' in message
    assert 'set model.pretrained=FOLDER' in message


@pytest.mark.integration
def test_hub_id_with_a_silent_hub_fails_within_the_timeout(tmp_path):
    """A hub that accepts connections but never answers (on 127.0.0.1): one request, then the
    error, instead of huggingface_hub's minute of retries."""
    with silent_hub() as endpoint:
        seconds, message = _load_hub_id(tmp_path, HF_ENDPOINT=endpoint, HF_HUB_ETAG_TIMEOUT='1',
                                        HF_HUB_OFFLINE='0', NO_PROXY='127.0.0.1')
    # 1 s of timeout plus the client's one-off set-up (~1-4 s on a busy 2-core machine),
    # against huggingface_hub's own retries for about a minute
    assert seconds < 10, seconds
    assert 'cannot reach the Hugging Face hub' in message and 'Timeout' in message


@pytest.mark.integration
def test_a_cached_hub_id_loads_offline(saved, tmp_path):
    """What the error advises: once in huggingface_hub's cache, the hub id loads offline."""
    folder, net = saved
    hf_home = tmp_path / 'hf_home'
    snapshot = hf_home / 'hub' / 'models--owner--tiny' / 'snapshots' / ('0' * 40)
    snapshot.mkdir(parents=True)
    for name in ('config.json', 'model.safetensors'):
        (snapshot / name).write_bytes(Path(folder, name).read_bytes())
    (snapshot.parent.parent / 'refs').mkdir()
    (snapshot.parent.parent / 'refs' / 'main').write_text('0' * 40)
    script = textwrap.dedent("""
        import torch
        from cityseg.models.pretrained import load_pretrained
        net, spec = load_pretrained('owner/tiny')
        torch.save(net.state_dict(), 'state.pth')
    """)
    env = {**os.environ, 'HF_HOME': str(hf_home), 'HF_HUB_OFFLINE': '1', 'PYTHONPATH': ROOT}
    out = subprocess.run([sys.executable, '-c', script], env=env, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    state = torch.load(tmp_path / 'state.pth', weights_only=True)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_config_without_pretrained_builds_as_before():
    register_all_modules()
    model = SMPSegmentor(encoder_weights=None)
    assert type(model.net) is smp.DeepLabV3Plus and model.num_classes == 19
    assert model.net.encoder.__class__.__module__.endswith('efficientnet')
