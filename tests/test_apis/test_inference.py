"""init_model / inference_model on a checkpoint trained in this session."""

import os.path as osp
import re

import mmcv
import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import trainId2label
from helpers.camvid import CAMVID_ROOT
from helpers.cli import QUICKSTART, ROOT, val_files
from helpers.tiny_checkpoint import model_options

from cityseg.apis import inference_model, init_model
from cityseg.datasets.camvid_labels import CLASSES, PALETTE
from cityseg.datasets.labels import CLASSES as CITYSCAPES_CLASSES


@pytest.fixture(scope='module')
def val_images(synthetic_root) -> list[str]:
    return val_files(synthetic_root)


def reference_train_ids(model, image_bgr: np.ndarray) -> np.ndarray:
    """Normalise by hand, run the bare network, argmax: what whole-image inference must give."""
    rgb = torch.from_numpy(image_bgr[..., ::-1].copy()).permute(2, 0, 1).float()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    with torch.no_grad():
        logits = model.net(((rgb - mean) / std)[None])
    return logits[0].argmax(0).numpy()


def test_init_model_loads_every_weight_and_skips_encoder_download(checkpoint, synthetic_root):
    # 'imagenet' would need a download (no network here): with a checkpoint it must be skipped
    opts = {**model_options(synthetic_root), 'model.encoder_weights': 'imagenet'}
    model = init_model(QUICKSTART, checkpoint, cfg_options=opts)
    assert model.cfg.model.encoder_weights is None and not model.training
    saved = torch.load(checkpoint, map_location='cpu')['state_dict']
    state = model.state_dict()
    assert state.keys() == saved.keys()
    assert all(torch.equal(state[k], saved[k]) for k in saved)


def test_init_model_refuses_a_checkpoint_of_another_architecture(checkpoint, synthetic_root):
    opts = {**model_options(synthetic_root), 'model.model_kwargs.decoder_channels': [8] * 5}
    # The error names the checkpoint and the config, then torch's list of mismatches.
    with pytest.raises(RuntimeError, match=rf'(?s){re.escape(checkpoint)} does not fit the '
                       rf'model built from {re.escape(QUICKSTART)}.*size mismatch for net.decoder'):
        init_model(QUICKSTART, checkpoint, cfg_options=opts)


def test_init_model_names_a_class_count_mismatch(checkpoint, synthetic_root):
    opts = {**model_options(synthetic_root), 'model.num_classes': 20}
    with pytest.raises(ValueError, match=r'trained on 19 classes .* num_classes=20'):
        init_model(QUICKSTART, checkpoint, cfg_options=opts)


def test_results_match_a_hand_rolled_forward_pass(model, val_images):
    for path in val_images:
        image = mmcv.imread(path)
        result = inference_model(model, path)
        assert result.img_path == path
        assert result.train_ids.shape == image.shape[:2] and result.train_ids.dtype == np.uint8
        np.testing.assert_array_equal(result.train_ids, reference_train_ids(model, image))
    assert len(np.unique(result.train_ids)) > 3, 'a constant prediction would test nothing'


def test_label_ids_and_colours_follow_cityscapesscripts(model, val_images):
    result = inference_model(model, val_images[0])
    ids = {int(t): trainId2label[int(t)] for t in np.unique(result.train_ids)}
    for train_id, label in ids.items():
        where = result.train_ids == train_id
        assert (result.label_ids[where] == label.id).all()
        assert (result.color[where] == label.color).all()
    assert result.color.shape == (*result.train_ids.shape, 3)


def test_arrays_paths_and_batches_give_the_same_maps(model, val_images):
    single = [inference_model(model, p).train_ids for p in val_images]
    arrays = [mmcv.imread(p) for p in val_images]
    batched = inference_model(model, arrays, batch_size=2)
    assert isinstance(batched, list) and len(batched) == len(val_images)
    for one, res in zip(single, batched):
        np.testing.assert_array_equal(one, res.train_ids)
        assert res.img_path is None


def test_images_of_different_sizes_share_a_batch(model, val_images):
    image = mmcv.imread(val_images[0])
    small = mmcv.imresize(image, (96, 40))
    results = inference_model(model, [image, small], batch_size=2)
    assert [r.train_ids.shape for r in results] == [(64, 128), (40, 96)]


def test_slide_mode_from_cfg_options(checkpoint, synthetic_root, model, val_images):
    whole = inference_model(model, val_images[0]).train_ids
    opts = model_options(synthetic_root)

    def slide(crop):
        slide_model = init_model(QUICKSTART, checkpoint, cfg_options={
            **opts, 'model.test_cfg.mode': 'slide', 'model.test_cfg.crop_size': crop})
        return inference_model(slide_model, val_images[0]).train_ids

    np.testing.assert_array_equal(slide([64, 128]), whole)  # one window: the whole image
    assert (slide([32, 32]) != whole).any()  # eight windows see less context


@pytest.mark.parametrize('bad, error, match', [
    (np.zeros((8, 8), np.uint8), ValueError, r'image 0 is a uint8 array of shape \(8, 8\)'),
    (np.zeros((8, 8, 3), np.float32), ValueError, 'float32 array'),
    ('missing.png', FileNotFoundError, 'image not found: missing.png'),
    (3, TypeError, 'image 0 is a int'),
])
def test_bad_inputs_are_named(model, bad, error, match):
    with pytest.raises(error, match=match):
        inference_model(model, [bad])


def test_undecodable_file_is_named(model, tmp_path):
    path = tmp_path / 'notes.png'
    path.write_text('not an image')
    with pytest.raises(ValueError, match=f'cannot decode image {path}'):
        inference_model(model, str(path))


def test_a_camvid_model_predicts_camvid_classes_in_camvid_colours():
    """The classes and palette come from the test dataset's class (CamVidDataset's METAINFO)
    when the config states none; its 11 classes have no Cityscapes label ids."""
    config = osp.join(ROOT, 'configs', 'camvid', 'unet-r18_camvid-360x480_cpu-60min.py')
    torch.manual_seed(0)
    model = init_model(config, cfg_options={'model.model_kwargs.encoder_depth': 3,
                                            'model.model_kwargs.decoder_channels': [8, 8, 8]})
    result = inference_model(model, osp.join(CAMVID_ROOT, 'val', '0016E5_07959.png'))
    assert result.classes == CLASSES and not result.has_label_ids
    assert len(np.unique(result.train_ids)) > 1
    for class_id in np.unique(result.train_ids):
        assert (result.color[result.train_ids == class_id] == PALETTE[class_id]).all()
    with pytest.raises(ValueError, match=r"label ids exist for Cityscapes' 19 training classes "
                                         r"only; this prediction is of \['sky', 'building'"):
        _ = result.label_ids
    cityscapes = inference_model(init_model(QUICKSTART), np.zeros((8, 8, 3), np.uint8))
    assert cityscapes.classes == CITYSCAPES_CLASSES and cityscapes.has_label_ids
