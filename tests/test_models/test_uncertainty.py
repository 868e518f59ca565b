"""Anomaly scores on hand-made logits, and the segmentor returning them."""
import math

import pytest
import torch

from cityseg.models.uncertainty import (
    ScoreInputs,
    SMLStats,
    anomaly_score,
    max_logit_sums,
    register_score,
)


def test_scores_on_two_pixels():
    # pixel 0: confident class 0; pixel 1: uniform over 3 classes
    logits = torch.tensor([[4.0, 0.0], [0.0, 0.0], [0.0, 0.0]])[:, None, :]  # 3 x 1 x 2
    p0 = math.exp(4) / (math.exp(4) + 2)
    assert anomaly_score('msp', logits)[0].tolist() == pytest.approx([1 - p0, 2 / 3], rel=1e-5)
    assert anomaly_score('maxlogit', logits)[0].tolist() == pytest.approx([-4, 0])
    assert anomaly_score('energy', logits)[0].tolist() == pytest.approx(
        [-math.log(math.exp(4) + 2), -math.log(3)])
    q = [p0, (1 - p0) / 2, (1 - p0) / 2]
    assert anomaly_score('entropy', logits)[0].tolist() == pytest.approx(
        [-sum(v * math.log(v) for v in q), math.log(3)], rel=1e-5)


def test_standardised_max_logit_uses_the_predicted_class_statistics():
    logits = torch.tensor([[4.0, 0.0], [0.0, 1.0]])[:, None, :]  # pred 0 (max 4), 1 (max 1)
    stats = SMLStats(mean=torch.tensor([3.0, 2.0]), std=torch.tensor([0.5, 2.0]))
    assert anomaly_score('sml', logits, stats)[0].tolist() == pytest.approx([-2.0, 0.5])
    with pytest.raises(ValueError, match='needs class statistics'):
        anomaly_score('sml', logits)


def test_sml_statistics_from_sums():
    logits = torch.tensor([[4.0, 2.0, 0.0], [0.0, 0.0, 1.0]])[:, None, :]
    stats = SMLStats.from_sums(*max_logit_sums(logits, 3))
    assert stats.mean.tolist() == pytest.approx([3.0, 1.0, 0.0])
    assert stats.std.tolist() == pytest.approx([1.0, 1.0, 1.0])  # one pixel / none: std 1


def test_sml_statistics_file_is_checked(tmp_path):
    path = tmp_path / 'sml_stats.json'
    path.write_text('{"mean": [0, 1], "std": [1, 1]}')
    with pytest.raises(ValueError, match='the model has 19 classes'):
        SMLStats.from_file(str(path), 19)
    path.write_text('[]')
    with pytest.raises(ValueError, match='is not an sml statistics file'):
        SMLStats.from_file(str(path))


def test_unknown_score_is_named():
    with pytest.raises(ValueError, match="'odin'"):
        anomaly_score('odin', torch.zeros(2, 1, 1))


def test_segmentor_returns_score_maps_and_scaled_logits(tmp_path):
    from helpers.seg_batch import make_data

    from cityseg.models import SMPSegmentor
    from cityseg.utils import load_model_weights

    torch.manual_seed(0)
    model = SMPSegmentor(arch='Unet', encoder_name='resnet18', num_classes=5,
                         model_kwargs=dict(decoder_channels=(16, 16, 16, 16, 16)),
                         test_cfg=dict(scores=('msp', 'energy'), return_logits=True)).eval()
    data = model.data_preprocessor(make_data([(32, 48)], 5), False)
    plain = model.predict(data['inputs'], data['data_samples'])[0]
    assert plain.anomaly_scores.msp.shape == (1, 32, 48)
    assert torch.allclose(plain.anomaly_scores.energy,
                          anomaly_score('energy', plain.seg_logits.data)[None])
    plain_logits, plain_pred = plain.seg_logits.data.clone(), plain.pred_sem_seg.data.clone()
    # a checkpoint's meta temperature divides the logits; the prediction stays
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(temperature=2.0)), path)
    load_model_weights(model, str(path))
    assert model.temperature == 2.0
    scaled = model.predict(data['inputs'], data['data_samples'])[0]
    assert torch.allclose(scaled.seg_logits.data, plain_logits / 2, atol=1e-5)
    assert torch.equal(scaled.pred_sem_seg.data, plain_pred)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(temperature=-1)), path)
    with pytest.raises(ValueError, match=r"meta\['temperature'\] must be a positive"):
        load_model_weights(model, str(path))


def test_segmentor_refuses_unknown_scores():
    from cityseg.models.test_cfg import parse_test_cfg
    with pytest.raises(ValueError, match="unknown anomaly scores \\['odin'\\]"):
        parse_test_cfg(dict(scores=['odin']))


@register_score('test_margin', bounds=lambda num_classes: (0.0, 1.0))
def margin_score(inputs: ScoreInputs) -> torch.Tensor:
    """1 - (top-1 minus top-2 probability): a score registered the way a user adds one."""
    top2 = inputs.probs.topk(2, dim=-3).values
    return 1 - (top2.select(-3, 0) - top2.select(-3, 1))


def test_a_registered_score_is_usable_through_test_cfg_scores():
    from helpers.seg_batch import make_data

    from cityseg.models import SMPSegmentor
    from cityseg.visualization.score_maps import score_map_range

    torch.manual_seed(0)
    model = SMPSegmentor(arch='Unet', encoder_name='resnet18', num_classes=5,
                         model_kwargs=dict(decoder_channels=(16, 16, 16, 16, 16)),
                         test_cfg=dict(scores=['test_margin', 'msp'],
                                       return_logits=True)).eval()
    data = model.data_preprocessor(make_data([(32, 48)], 5), False)
    (out,) = model.predict(data['inputs'], data['data_samples'])
    probs = out.seg_logits.data.softmax(0)
    sorted_probs = probs.sort(dim=0, descending=True).values
    expected = 1 - (sorted_probs[0] - sorted_probs[1])
    torch.testing.assert_close(out.anomaly_scores.test_margin[0], expected)
    torch.testing.assert_close(out.anomaly_scores.msp[0], 1 - sorted_probs[0])
    # its bounds scale its pictures, as the built-in bounded scores' do
    assert score_map_range('test_margin', expected.numpy(), 5) == (0.0, 1.0)
    assert score_map_range('msp', expected.numpy(), 5) == (0.0, 0.8)
