"""The self-training methods on their base: mix partners (never the image itself), each
method's published defaults and extra losses, steps a subclass overrides, refused branch
names, and a supervised checkpoint warm-starting student and teacher."""
from __future__ import annotations

import pytest
import torch
from helpers.semi_batch import preprocessed, semi_batch, semi_model, teacher_labels

from cityseg.models.semi import DACS, MIC, FixMatch, SemiSegmentor, UniMatch
from cityseg.registry import MODELS
from cityseg.structures import partner_branch


def test_one_unlabelled_sample_is_mixed_with_its_partner_not_itself():
    """With one unlabelled image per batch (the UniMatch Cityscapes recipes), CutMix pastes
    the partner's strong view and the teacher's labels of the partner's weak view, inside the
    box, and leaves the image's own outside it."""
    torch.manual_seed(0)
    model = semi_model('FixMatch', mix=dict(type='CutMix', prob=1.0, area=(0.3, 0.3)))
    data = preprocessed(model, semi_batch(n_sup=1, n_unsup=1))
    inputs, samples = data['inputs'], data['data_samples']
    strong, partner_strong = inputs['unsup_strong'], inputs[partner_branch('unsup_strong')]
    with torch.no_grad():
        pseudo = model.pseudo_label(inputs['unsup_weak'], samples['unsup_weak'])
        partner = model.mix_partners(inputs, samples)['unsup_strong']
        mixed = model.mix(strong, pseudo, partner)
    box = (mixed.images != strong).any(1)  # where the mixed image is not the image's own
    assert box.any() and not box.all()
    assert torch.equal(mixed.images[:, :, box[0]], partner_strong[:, :, box[0]])
    assert torch.equal(mixed.images[:, :, ~box[0]], strong[:, :, ~box[0]])
    by_hand = teacher_labels(model, inputs[partner_branch('unsup_weak')])
    own = teacher_labels(model, inputs['unsup_weak'])
    assert (by_hand[box] != own[box]).any()  # the partner's labels are not the image's own
    assert torch.equal(mixed.labels[box], by_hand[box])
    assert torch.equal(mixed.labels[~box], own[~box])


def test_mixing_unlabelled_images_without_partners_is_refused():
    model = semi_model('FixMatch')
    data = preprocessed(model, semi_batch(partners=False))
    with pytest.raises(ValueError, match=r"no mix partners \['unsup_weak_partner', "
                                         r".*train_dataloader.sampler.mix_partners=True"):
        model(**data, mode='loss')


def test_a_misnamed_strong_branch_is_refused_not_replaced_by_the_weak_view():
    model = semi_model('DACS', strong_branch='unsup_strnog')
    data = preprocessed(model, semi_batch(partners=False))
    with pytest.raises(ValueError, match=r"no \['unsup_strnog'\] branch \(model.semi_cfg "
                                         r"\{'strong_branch': 'unsup_strnog'\}"):
        model(**data, mode='loss')


@pytest.mark.parametrize('method, published', [
    (FixMatch, dict(threshold=0.95, sup_weight=0.5, unsup_weight=0.5, mix_with='unlabelled')),
    (UniMatch, dict(threshold=0.95, sup_weight=0.5, unsup_weight=0.25,
                    second_strong_branch='unsup_strong2',
                    feature_perturbation=dict(p=0.5, weight=0.25))),
    (DACS, dict(threshold=0.968, pixel_weight='confident_share', sup_weight=1.0,
                mix=dict(type='ClassMix'), mix_with='labelled')),
    (MIC, dict(threshold=0.968, mix_with='labelled',
               masked_consistency=dict(block_size=64, ratio=0.7, weight=1.0))),
])
def test_methods_are_registered_with_their_published_defaults(method, published):
    """UniMatch's loss (x + 0.25 s1 + 0.25 s2 + 0.5 fp) / 2, FixMatch's (x + u) / 2, DAFormer's
    DACS x + mixed (its 0.968 threshold), MIC's 64 px blocks at 0.7, weight 1."""
    assert MODELS.get(method.__name__) is method and issubclass(method, SemiSegmentor)
    model = semi_model(method.__name__)
    assert {key: model.semi_cfg[key] for key in published} == published


def test_a_method_refuses_another_methods_settings():
    with pytest.raises(ValueError, match=r"unknown model.semi_cfg keys "
                                         r"\['feature_perturbation'\] for FixMatch"):
        semi_model('FixMatch', feature_perturbation=dict(p=0.5))
    with pytest.raises(ValueError, match=r'semi_cfg.masked_consistency of MIC must be a dict '
                                         r"with keys \['block_size', 'ratio', 'weight'\]"):
        semi_model('MIC', masked_consistency=dict(size=8))


def test_mix_settings_merge_with_the_methods_unless_another_type():
    """model.semi_cfg.mix.prob=1.0 keeps the method's CutMix box; another type replaces it."""
    cutmix = semi_model('FixMatch', mix=dict(prob=1.0)).semi_cfg['mix']
    assert cutmix == dict(type='CutMix', prob=1.0, area=(0.02, 0.4), aspect=(0.3, 1 / 0.3))
    assert semi_model('FixMatch', mix=dict(type='ClassMix')).semi_cfg['mix'] == dict(
        type='ClassMix')


def test_supervised_loss_is_weighted_by_sup_weight():
    model = semi_model('FixMatch', threshold=0.0)
    data = preprocessed(model, semi_batch())
    losses = model(**data, mode='loss')
    own = model.student.loss(data['inputs']['sup'], data['data_samples']['sup'])
    torch.testing.assert_close(losses['loss_focal'], 0.5 * own['loss_focal'])


def test_unimatch_and_mic_add_their_losses():
    unimatch = MODELS.build(dict(
        type='UniMatch',
        student=dict(type='SMPSegmentor', arch='Unet', encoder_name='resnet18', num_classes=5,
                     model_kwargs=dict(decoder_channels=[8, 8, 8, 8, 8])),
        semi_cfg=dict(threshold=0.0)))
    data = preprocessed(unimatch, semi_batch(size=(32, 32), second_strong=True))
    losses = unimatch(**data, mode='loss')
    assert losses['loss_fp'] > 0 and losses['loss_fp'].requires_grad
    mic = semi_model('MIC', threshold=0.0, masked_consistency=dict(block_size=4))
    losses = mic(**preprocessed(mic, semi_batch(partners=False)), mode='loss')
    assert losses['loss_masked'] > 0 and losses['loss_masked'].requires_grad
    with pytest.raises(ValueError, match=r"no \['unsup_strong2'\] branch"):
        unimatch(**preprocessed(unimatch, semi_batch(size=(32, 32))), mode='loss')


def test_a_subclass_overrides_one_step():
    """A new method changes a step, the others stay the base's: here the pseudo-label loss."""
    calls = []

    class HalvedLoss(DACS):
        def loss_pseudo(self, logits, labels, weights):
            calls.append(labels.shape)
            return super().loss_pseudo(logits, labels, weights) / 2

    torch.manual_seed(0)
    dacs = semi_model('DACS', threshold=0.0)
    halved = HalvedLoss(student=dict(type='SMPSegmentor', arch='TestPointwiseNet',
                                     num_classes=5, loss=dict(type='FocalLoss')),
                        semi_cfg=dict(threshold=0.0))
    dacs.load_state_dict(halved.state_dict())
    batch = semi_batch(partners=False)
    torch.manual_seed(1)
    ours = halved(**preprocessed(halved, batch), mode='loss')
    torch.manual_seed(1)
    theirs = dacs(**preprocessed(dacs, batch), mode='loss')
    torch.testing.assert_close(ours['loss_unsup'], theirs['loss_unsup'] / 2)
    assert calls == [torch.Size((2, 8, 12))]


def test_supervised_checkpoint_warm_starts_student_and_teacher(tmp_path):
    """load_from a supervised SMPSegmentor checkpoint: mmengine's loader (what the Runner uses,
    not strict) and the strict one both put its weights into the student and the teacher."""
    from mmengine.runner.checkpoint import load_checkpoint

    from cityseg.utils.checkpoint_loading import load_model_weights
    supervised = MODELS.build(dict(type='SMPSegmentor', arch='TestPointwiseNet', num_classes=5))
    path = str(tmp_path / 'supervised.pth')
    torch.save(dict(state_dict=supervised.state_dict(), meta={}), path)
    for load in (lambda m: load_checkpoint(m, path, map_location='cpu', strict=False),
                 lambda m: load_model_weights(m, path)):
        model = semi_model('FixMatch')
        load(model)
        for net in (model.student, model.teacher):
            for key, value in supervised.state_dict().items():
                assert torch.equal(net.state_dict()[key], value), key
    semi = semi_model('FixMatch')  # a self-training checkpoint still loads key by key
    torch.save(dict(state_dict=semi.state_dict()), path)
    model = semi_model('FixMatch')
    load_model_weights(model, path)
    assert all(torch.equal(v, semi.state_dict()[k]) for k, v in model.state_dict().items())
