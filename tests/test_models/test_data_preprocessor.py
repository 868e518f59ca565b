"""SegDataPreProcessor: normalisation by hand, padding of images and labels, metainfo."""
import torch
from helpers.seg_batch import make_data

from cityseg.models import SegDataPreProcessor

MEAN, STD = (10.0, 20.0, 30.0), (2.0, 4.0, 5.0)


def test_bgr_to_rgb_then_normalise_matches_hand_computation():
    data = make_data([(4, 6)])
    bgr = data['inputs'][0].clone()
    out = SegDataPreProcessor(mean=MEAN, std=STD)(data)['inputs'][0]
    for rgb_channel, bgr_channel in enumerate((2, 1, 0)):
        expected = (bgr[bgr_channel].double() - MEAN[rgb_channel]) / STD[rgb_channel]
        torch.testing.assert_close(out[rgb_channel].double(), expected)


def test_pads_images_and_training_labels_to_the_divisor():
    pre = SegDataPreProcessor(mean=MEAN, std=STD, size_divisor=16, pad_val=-7, seg_pad_val=99)
    data = make_data([(20, 30), (10, 12)])
    labels = [s.gt_sem_seg.data.clone() for s in data['data_samples']]
    out = pre(data, training=True)
    assert out['inputs'].shape == (2, 3, 32, 32)
    for (h, w), sample, label, image in zip([(20, 30), (10, 12)], out['data_samples'], labels,
                                            out['inputs']):
        assert sample.img_shape == (h, w) and sample.pad_shape == (32, 32)
        gt = sample.gt_sem_seg.data
        assert gt.shape == (1, 32, 32) and torch.equal(gt[:, :h, :w], label)
        assert (gt[:, h:] == 99).all() and (gt[:, :, w:] == 99).all()
        assert (image[:, h:] == -7).all() and (image[:, :, w:] == -7).all()


def test_labels_stay_unpadded_outside_training():
    data = make_data([(20, 30)], label_scale=2)
    out = SegDataPreProcessor(size_divisor=32)(data, training=False)
    assert out['inputs'].shape[-2:] == (32, 32)
    assert out['data_samples'][0].gt_sem_seg.data.shape == (1, 40, 60)


def test_no_divisor_means_no_padding_beyond_the_largest_image():
    out = SegDataPreProcessor()(make_data([(20, 30), (25, 10)]))
    assert out['inputs'].shape == (2, 3, 25, 30)
