"""Self-training parts: EMA teacher, pseudo-label weights, CutMix / ClassMix, the multi-branch
pipeline and preprocessor, and SemiSegmentor's training step."""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from helpers.semi_batch import semi_batch, semi_model
from mmengine.structures import PixelData
from torch import nn

from cityseg.engine.hooks import MeanTeacherHook
from cityseg.models import predicting_segmentor
from cityseg.models.semi import (
    ClassMix,
    CutMix,
    ema_update,
    mix,
    pixel_weights,
    weighted_cross_entropy,
)
from cityseg.registry import MODELS, TRANSFORMS

_semi = semi_model


def _bn_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    net[1].running_mean.uniform_()
    net[1].num_batches_tracked.fill_(seed + 3)
    return net


def test_ema_matches_hand_computation():
    teacher, student = _bn_net(0), _bn_net(1)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    ema_update(teacher, student, 0.9)
    for key, value in teacher.state_dict().items():
        s = student.state_dict()[key]
        if value.dtype.is_floating_point:
            torch.testing.assert_close(value, 0.9 * before[key] + 0.1 * s)
        else:
            assert torch.equal(value, s)  # num_batches_tracked copied
    ema_update(teacher, student, 0.0)
    assert all(torch.equal(v, student.state_dict()[k]) for k, v in teacher.state_dict().items())
    with pytest.raises(ValueError, match='decay must be in'):
        ema_update(teacher, student, 1.5)


def test_mean_teacher_hook_warmup_and_updates():
    hook = MeanTeacherHook(decay=0.99)
    assert [hook.decay_at(i) for i in (0, 1, 3, 1000)] == [0.0, 0.5, 0.75, 0.99]
    assert MeanTeacherHook(decay=0.9, warmup=False).decay_at(0) == 0.9
    model = types.SimpleNamespace(teacher=_bn_net(0), student=_bn_net(1))
    runner = types.SimpleNamespace(model=model, iter=0)
    hook.after_train_iter(runner, 0)  # first update copies the student
    assert torch.equal(model.teacher[0].weight, model.student[0].weight)
    with pytest.raises(TypeError, match='needs a model with `teacher` and `student`'):
        hook.before_train(types.SimpleNamespace(model=nn.Linear(1, 1), iter=0))


def test_mean_teacher_hook_refuses_momentum_naming_both_meanings():
    """mmdetection's momentum is the student's share, cityseg's former one the teacher's: the
    error gives the decay each would be."""
    with pytest.raises(ValueError, match=r"mmdetection's momentum is the student's share "
                                         r"\(write decay=0\.999\).*teacher's \(write "
                                         r"decay=0\.001\)"):
        MeanTeacherHook(momentum=0.001)


def test_pixel_weights_threshold_and_confident_share():
    conf = torch.tensor([[[0.99, 0.5], [0.96, 0.2]]])
    valid = torch.tensor([[[True, True], [True, False]]])
    hard = pixel_weights(conf, valid, 0.95, 'threshold')
    assert hard.tolist() == [[[1.0, 0.0], [1.0, 0.0]]]
    share = pixel_weights(conf, valid, 0.95, 'confident_share')
    torch.testing.assert_close(share, torch.tensor([[[2 / 3, 2 / 3], [2 / 3, 0.0]]]))
    with pytest.raises(ValueError, match='pixel_weight'):
        pixel_weights(conf, valid, 0.95, 'soft')


def test_weighted_cross_entropy_normalises_by_labelled_pixels():
    logits = torch.zeros(1, 2, 1, 2)
    labels = torch.tensor([[[0, 255]]])
    weights = torch.tensor([[[0.5, 1.0]]])
    # one labelled pixel, ce = log 2, weight 0.5, divided by 1 labelled pixel
    torch.testing.assert_close(weighted_cross_entropy(logits, labels, weights),
                               torch.tensor(0.5 * np.log(2), dtype=torch.float32))


@pytest.mark.parametrize('mixer', [CutMix(prob=1.0), ClassMix()])
def test_mixed_label_is_the_label_of_the_pixel_mixed_in(mixer):
    torch.manual_seed(0)
    n, h, w = 4, 16, 24
    base_img = torch.rand(n, 3, h, w)
    partner_img = torch.rand(n, 3, h, w) + 2  # disjoint value ranges tell the sources apart
    base_lbl = torch.randint(0, 5, (n, h, w))
    partner_lbl = torch.randint(5, 10, (n, h, w))
    mask = mixer.masks(partner_lbl)
    assert mask.any() and not mask.all()
    img, lbl = mix(mask, partner_img, base_img), mix(mask, partner_lbl, base_lbl)
    from_partner = img[:, 0] >= 2
    assert torch.equal(from_partner, mask)
    assert torch.equal(lbl[from_partner], partner_lbl[from_partner])
    assert torch.equal(lbl[~from_partner], base_lbl[~from_partner])


def test_classmix_takes_whole_classes_half_of_them():
    torch.manual_seed(1)
    label = torch.tensor([[[0, 0, 1, 1], [2, 2, 3, 255]]])
    mask = ClassMix().masks(label)
    chosen = torch.unique(label[mask])
    assert len(chosen) == 2 and 255 not in chosen.tolist()
    for c in chosen:  # every pixel of a chosen class
        assert mask[label == c].all()


def test_multi_branch_views_stay_aligned():
    pipeline = TRANSFORMS.build(dict(
        type='MultiBranch', branch_field=['sup', 'unsup_weak', 'unsup_strong'],
        unsup_weak=[dict(type='PackSegInputs')],
        unsup_strong=[dict(type='Albu', transforms=[dict(type='ToGray', p=1.0)]),
                      dict(type='PackSegInputs')]))
    img = np.random.default_rng(0).integers(0, 255, (8, 12, 3), dtype=np.uint8)
    out = pipeline(dict(img=img, img_path='a.png', img_shape=(8, 12), ori_shape=(8, 12)))
    assert out['inputs']['sup'] is None and out['data_samples']['sup'] is None
    weak, strong = out['inputs']['unsup_weak'], out['inputs']['unsup_strong']
    assert weak.shape == strong.shape and not torch.equal(weak, strong)
    with pytest.raises(ValueError, match=r"branches \['other'\] are not in branch_field"):
        TRANSFORMS.build(dict(type='MultiBranch', branch_field=['sup'], other=[]))


@pytest.mark.parametrize('semi_cfg', [
    dict(mix=dict(type='CutMix', prob=1.0)),
    dict(mix=dict(type='ClassMix'), mix_with='labelled', pixel_weight='confident_share'),
    dict(mix=None),
])
def test_train_step_trains_the_student_only(semi_cfg):
    model = _semi(threshold=0.0, **semi_cfg)
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    from mmengine.optim import OptimWrapper
    log = model.train_step(semi_batch(), OptimWrapper(optim))
    assert {'loss', 'loss_focal', 'loss_unsup', 'pseudo_confident'} <= set(log)
    assert log['loss_unsup'] > 0 and log['pseudo_confident'] == 1.0  # threshold 0
    assert all(torch.equal(v, teacher_before[k]) for k, v in model.teacher.state_dict().items())
    assert not model.teacher.training
    assert 'student.net.encoder.0.weight' in model.state_dict()
    assert 'teacher.net.encoder.0.weight' in model.state_dict()


def test_pseudo_labels_leave_out_the_padding_of_the_crop():
    # UniMatch's ignore_mask: padded pixels of an unlabelled crop are no pseudo-labels, count
    # for no loss and not in the confident share, though the teacher is sure of them
    model = _semi(threshold=0.9)
    with torch.no_grad():  # every pixel confidently class 2 (threshold 0.9)
        model.teacher.net.segmentation_head.bias.copy_(torch.tensor([0., 0., 50., 0., 0.]))
    data = model.data_preprocessor(semi_batch(n_sup=1, n_unsup=2), True)
    samples = data['data_samples']['unsup_weak']
    padded = torch.zeros(8, 12, dtype=torch.uint8)
    padded[:3] = 255  # the top three rows of the first crop
    samples[0].ignore_mask = PixelData(data=padded[None])
    pseudo = model.pseudo_label(data['inputs']['unsup_weak'], samples)
    assert (pseudo.labels[0, :3] == 255).all() and (pseudo.labels[0, 3:] == 2).all()
    assert (pseudo.labels[1] == 2).all()
    assert (pseudo.weights[0, :3] == 0).all() and (pseudo.weights[0, 3:] == 1).all()
    assert pseudo.confident == 1.0  # of the image's own pixels


def test_predict_on_teacher_or_student():
    model = _semi(predict_on='teacher')
    with torch.no_grad():
        model.teacher.net.segmentation_head.bias.fill_(100.0)
    model.eval()
    from helpers.seg_batch import make_data
    out = model.val_step(make_data([(8, 12)]))
    teacher_pred = model.teacher.val_step(make_data([(8, 12)]))
    assert torch.equal(out[0].pred_sem_seg.data, teacher_pred[0].pred_sem_seg.data)


def test_test_time_settings_reach_the_predicting_network():
    """model.test_cfg / model.temperature in the config (what --tta and --calibration set) and
    the predicting network's temperature (what calibration.py and a checkpoint's set, through
    predicting_segmentor) act on the network that predicts, as for an SMPSegmentor."""
    model = MODELS.build(dict(
        type='SemiSegmentor', semi_cfg=dict(predict_on='teacher'),
        student=dict(type='SMPSegmentor', arch='TestPointwiseNet', num_classes=5,
                     test_cfg=dict(mode='whole')),
        test_cfg=dict(return_logits=True, scores=['msp']), temperature=2.0))
    assert model.teacher.test_cfg['mode'] == 'whole' and model.teacher.test_cfg['return_logits']
    assert predicting_segmentor(model) is model.teacher and model.teacher.temperature == 2.0
    predicting_segmentor(model).temperature = 4.0  # as calibration.py --fit-temperature sets it
    assert model.teacher.temperature == 4.0
    model.eval()
    from helpers.seg_batch import make_data
    (out,) = model.val_step(make_data([(8, 12)]))
    with torch.no_grad():
        logits = model.teacher.net(model.teacher.data_preprocessor(
            make_data([(8, 12)]))['inputs'])[0]
    torch.testing.assert_close(out.seg_logits.data, logits / 4.0)
    probs = (logits / 4.0).softmax(0)
    torch.testing.assert_close(out.anomaly_scores.msp[0], 1 - probs.max(0).values)


def test_bad_semi_cfg_and_missing_branch_named():
    with pytest.raises(ValueError, match=r"unknown model.semi_cfg keys \['treshold'\] for "
                                         r"SemiSegmentor"):
        _semi(treshold=0.9)
    with pytest.raises(ValueError, match='semi_cfg.threshold must be a number in'):
        _semi(threshold=2)
    model = _semi()
    batch = semi_batch(partners=False)
    batch['inputs'] = {'sup': batch['inputs']['sup']}
    batch['data_samples'] = {'sup': batch['data_samples']['sup']}
    with pytest.raises(ValueError, match=r"no \['unsup_strong', 'unsup_weak'\] branch"):
        model(**model.data_preprocessor(batch, True), mode='loss')


def test_optimizer_constructor_leaves_the_teacher_out():
    from cityseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
    model = _semi()
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='EncoderDecoderOptimWrapperConstructor',
        optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    wrapper = constructor(model)
    in_optimizer = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert in_optimizer == {id(p) for p in model.student.parameters()}


def test_block_keep_masks_are_whole_blocks_at_the_ratio():
    from cityseg.models.semi.perturbations import block_keep_masks
    torch.manual_seed(0)
    keep = block_keep_masks(torch.Size((64, 3, 30, 40)), 8, 0.7, torch.device('cpu'))
    assert keep.shape == (64, 1, 30, 40)
    blocks = keep[..., :24, :40].reshape(64, 1, 3, 8, 5, 8)
    assert (blocks == blocks[..., :1, :, :1]).all()  # constant within each block
    assert abs(1 - keep[..., :24, :].mean().item() - 0.7) < 0.05


def test_class_weighted_pseudo_label_loss_is_torch_weighted_cross_entropy():
    """Unit pixel weights: exactly F.cross_entropy(weight=...) (the weighted mean over the
    labelled pixels); a pixel weight scales its term, the normaliser stays the class weights'."""
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 5)
    labels = torch.randint(0, 3, (2, 4, 5))
    labels[0, 0] = 255
    class_weight = torch.tensor([0.5, 2.0, 4.0])
    ones = torch.ones(labels.shape)
    torch.testing.assert_close(
        weighted_cross_entropy(logits, labels, ones, class_weight=class_weight),
        torch.nn.functional.cross_entropy(logits, labels, weight=class_weight, ignore_index=255))
    halves = ones.clone()
    halves[labels == 2] = 0.5
    ce = torch.nn.functional.cross_entropy(logits, labels, ignore_index=255, reduction='none')
    w = class_weight[labels.clamp(max=2)] * (labels != 255)
    torch.testing.assert_close(
        weighted_cross_entropy(logits, labels, halves, class_weight=class_weight),
        (ce * w * halves).sum() / w.sum())


def test_pseudo_class_weight_takes_the_student_loss_weights():
    model = _semi(pseudo_class_weight=True)
    logits, labels = torch.randn(1, 5, 2, 3), torch.tensor([[[0, 1, 2], [3, 4, 4]]])
    with pytest.raises(ValueError, match=r'pseudo_class_weight=True takes the class weights of '
                                         r"the student's loss \(FocalLoss\), which has none"):
        model.loss_pseudo(logits, labels, torch.ones(labels.shape))
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    model.loss_module.set_class_weight(weight)  # as ClassWeightHook does
    torch.testing.assert_close(model.loss_pseudo(logits, labels, torch.ones(labels.shape)),
                               torch.nn.functional.cross_entropy(logits, labels, weight=weight))
    with pytest.raises(ValueError, match='pseudo_class_weight must be True or False'):
        _semi(pseudo_class_weight='yes')
