"""Tests of cityseg.models.losses against independent references (torch, smp, explicit loops)."""
import math
import re

import pytest
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope

from cityseg.models.losses import DiceLoss, FocalLoss, JointLoss
from cityseg.registry import MODELS

IGNORE = 255


def make_batch(num_classes: int = 5, shape: tuple[int, ...] = (2, 6, 7), seed: int = 0,
               ignore_frac: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Random logits and labels with roughly ``ignore_frac`` of the pixels ignored."""
    gen = torch.Generator().manual_seed(seed)
    n, *spatial = shape
    logits = 2 * torch.randn(n, num_classes, *spatial, generator=gen)
    target = torch.randint(0, num_classes, shape, generator=gen)
    target[torch.rand(shape, generator=gen) < ignore_frac] = IGNORE
    return logits.requires_grad_(), target


def focal_reference(logits: torch.Tensor, target: torch.Tensor, gamma: float,
                    weight: list[float] | None = None) -> float:
    """Pixel by pixel, in float64 Python arithmetic: sum of w*(1-p)^g*(-log p) / sum of w."""
    num_classes = logits.shape[1]
    weight = weight or [1.0] * num_classes
    flat_logits = logits.detach().double().movedim(1, -1).reshape(-1, num_classes).tolist()
    numerator = denominator = 0.0
    for scores, label in zip(flat_logits, target.flatten().tolist()):
        if label == IGNORE:
            continue
        top = max(scores)
        p = math.exp(scores[label] - top) / sum(math.exp(s - top) for s in scores)
        numerator += weight[label] * (1 - p) ** gamma * -math.log(p)
        denominator += weight[label]
    return numerator / denominator


# --------------------------------------------------------------------------- FocalLoss
@pytest.mark.parametrize('weight', [None, [0.5, 2.0, 1.0, 3.0, 0.1]])
def test_focal_gamma0_equals_cross_entropy(weight):
    logits, target = make_batch()
    w = None if weight is None else torch.tensor(weight)
    expected = F.cross_entropy(logits, target, weight=w, ignore_index=IGNORE)
    actual = FocalLoss(gamma=0.0, class_weight=weight)(logits, target)
    assert torch.allclose(actual, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize('weight', [None, [0.5, 2.0, 1.0, 3.0, 0.1]])
def test_focal_gamma2_matches_per_pixel_reference(weight):
    logits, target = make_batch(seed=1)
    actual = FocalLoss(gamma=2.0, class_weight=weight)(logits, target)
    assert actual.item() == pytest.approx(focal_reference(logits, target, 2.0, weight), abs=1e-6)


def test_focal_is_per_pixel_not_batch_mean_ce():
    """One easy pixel (p=0.99) and one hard pixel (p=0.1): focusing must act on each pixel.

    The batch-level variant (1 - exp(-mean CE)) ** gamma * mean CE gives a different number.
    """
    probs = torch.tensor([[0.99, 0.01], [0.1, 0.9]])
    logits = probs.log().T.reshape(1, 2, 1, 2).requires_grad_()
    target = torch.zeros(1, 1, 2, dtype=torch.long)
    per_pixel = (0.01 ** 2 * -math.log(0.99) + 0.9 ** 2 * -math.log(0.1)) / 2
    ce_mean = (-math.log(0.99) - math.log(0.1)) / 2
    batch_variant = (1 - math.exp(-ce_mean)) ** 2 * ce_mean
    focal = FocalLoss(gamma=2.0)(logits, target).item()
    assert focal == pytest.approx(per_pixel, abs=1e-6)
    assert abs(focal - batch_variant) > 0.3


def test_focal_loss_weight_scales_output():
    logits, target = make_batch()
    plain = FocalLoss()(logits, target)
    assert torch.allclose(FocalLoss(loss_weight=3.0)(logits, target), 3 * plain)


def test_focal_set_class_weight_later_and_not_in_state_dict():
    logits, target = make_batch(seed=3)
    weight = [0.5, 2.0, 1.0, 3.0, 0.1]
    loss = FocalLoss(gamma=0.0)
    loss.set_class_weight(torch.tensor(weight))
    expected = F.cross_entropy(logits, target, weight=torch.tensor(weight), ignore_index=IGNORE)
    assert torch.allclose(loss(logits, target), expected, atol=1e-6, rtol=0)
    assert 'class_weight' not in loss.state_dict()
    loss.set_class_weight(None)
    expected = F.cross_entropy(logits, target, ignore_index=IGNORE)
    assert torch.allclose(loss(logits, target), expected, atol=1e-6, rtol=0)


def test_focal_rejects_bad_class_weights():
    logits, target = make_batch()
    with pytest.raises(ValueError, match='3 class weights for logits with 5 classes'):
        FocalLoss(class_weight=[1.0, 1.0, 1.0])(logits, target)
    with pytest.raises(ValueError, match='non-negative'):
        FocalLoss(class_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match='gamma'):
        FocalLoss(gamma=-1.0)


def test_focal_fractional_gamma_confident_pixels_have_finite_grad():
    """p rounds to exactly 1 for a huge margin; (1 - p) ** 0.5 must not give a nan gradient."""
    logits = torch.tensor([[200.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).reshape(2, 3, 1, 1)
    logits.requires_grad_()
    target = torch.tensor([0, 0]).reshape(2, 1, 1)
    loss = FocalLoss(gamma=0.5)(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[1].abs().sum() > 0


def test_focal_runs_in_float32_under_autocast():
    logits, target = make_batch(seed=4)
    half = logits.detach().bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        actual = FocalLoss()(half, target)
    assert actual.dtype == torch.float32
    expected = FocalLoss()(half.float(), target)
    assert torch.allclose(actual, expected, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- DiceLoss
@pytest.mark.parametrize(('smooth', 'seed'), [(0.0, 0), (1.0, 1), (0.5, 2)])
def test_dice_equals_smp_when_all_classes_present(smooth, seed):
    """smp 0.6 writes Dice in Tversky form, so its `smooth` is half of ours (see DiceLoss doc)."""
    logits, target = make_batch(num_classes=4, shape=(3, 9, 8), seed=seed, ignore_frac=0.3)
    assert torch.unique(target[target != IGNORE]).numel() == 4
    reference = smp.losses.DiceLoss(mode='multiclass', ignore_index=IGNORE, from_logits=True,
                                    smooth=smooth / 2, eps=1e-7)
    actual = DiceLoss(smooth=smooth)(logits, target)
    assert torch.allclose(actual, reference(logits, target), atol=1e-6, rtol=0)


def test_dice_present_averages_over_present_classes_only():
    """smp zeroes absent classes but divides by all C; ours divides by the present ones."""
    num_classes = 6
    logits, target = make_batch(num_classes=num_classes, shape=(2, 8, 8), seed=5)
    target[(target == 1) | (target == 4)] = IGNORE
    reference = smp.losses.DiceLoss(mode='multiclass', ignore_index=IGNORE, from_logits=True,
                                    smooth=0.5)(logits, target)
    actual = DiceLoss(smooth=1.0)(logits, target)
    assert torch.allclose(actual, reference * num_classes / 4, atol=1e-6, rtol=0)


def test_dice_all_classes_matches_explicit_reference():
    logits, target = make_batch(num_classes=4, shape=(2, 5, 5), seed=6)
    target[target == 2] = IGNORE  # class 2 absent: it still enters the mean with classes='all'
    probs = torch.softmax(logits.detach().double(), dim=1).movedim(1, -1).reshape(-1, 4).tolist()
    labels = target.flatten().tolist()
    per_class = []
    for c in range(4):
        inter = sum(p[c] for p, y in zip(probs, labels) if y == c)
        card = sum(p[c] for p, y in zip(probs, labels) if y != IGNORE) + labels.count(c)
        per_class.append(1 - (2 * inter + 1.0) / (card + 1.0))
    actual = DiceLoss(smooth=1.0, classes='all')(logits, target)
    assert actual.item() == pytest.approx(sum(per_class) / 4, abs=1e-6)


def test_dice_perfect_prediction_is_zero():
    target = torch.randint(0, 3, (2, 4, 4))
    target[0, 0] = IGNORE
    logits = 100.0 * F.one_hot(torch.where(target == IGNORE, 0, target), 3).movedim(-1, 1).float()
    assert DiceLoss(smooth=0.0)(logits, target).item() == pytest.approx(0.0, abs=1e-6)


def test_dice_rejects_bad_arguments():
    with pytest.raises(ValueError, match='classes'):
        DiceLoss(classes='some')
    with pytest.raises(ValueError, match='smooth'):
        DiceLoss(smooth=-1.0)


# --------------------------------------------------------------------------- JointLoss
def test_joint_default_is_focal_plus_1_1_dice():
    logits, target = make_batch(seed=7)
    losses = JointLoss()(logits, target)
    assert set(losses) == {'loss_focal', 'loss_dice'}
    assert torch.allclose(losses['loss_focal'], FocalLoss(gamma=2.0)(logits, target))
    assert torch.allclose(losses['loss_dice'], 1.1 * DiceLoss()(logits, target))


def test_joint_total_through_mmengine_parse_losses():
    """mmengine sums every key containing 'loss': the total is focal + 1.1 * dice."""
    class Dummy(BaseModel):
        def forward(self, *args, **kwargs):
            raise NotImplementedError

    logits, target = make_batch(seed=8)
    total, log_vars = Dummy().parse_losses(JointLoss()(logits, target))
    expected = FocalLoss()(logits, target) + 1.1 * DiceLoss()(logits, target)
    assert torch.allclose(total, expected)
    assert set(log_vars) == {'loss', 'loss_focal', 'loss_dice'}


def test_joint_builds_from_config_and_forwards_settings():
    init_default_scope('cityseg')
    cfg = dict(type='JointLoss', ignore_index=0,
               losses=[dict(type='FocalLoss', gamma=1.0),
                       dict(type='DiceLoss', loss_weight=0.5, smooth=0.0)])
    joint = MODELS.build(cfg)
    assert isinstance(joint, JointLoss)
    focal, dice = joint.losses
    assert (focal.gamma, focal.ignore_index) == (1.0, 0)
    assert (dice.loss_weight, dice.smooth, dice.ignore_index) == (0.5, 0.0, 0)


def test_joint_set_class_weight_reaches_focal():
    logits, target = make_batch(seed=9)
    weight = [0.5, 2.0, 1.0, 3.0, 0.1]
    joint = JointLoss(gamma=0.0, class_weight=weight)
    expected = F.cross_entropy(logits, target, weight=torch.tensor(weight), ignore_index=IGNORE)
    assert torch.allclose(joint(logits, target)['loss_focal'], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(joint.class_weight, torch.tensor(weight))  # read back by semi
    joint.set_class_weight(None)
    assert joint.class_weight is None
    expected = F.cross_entropy(logits, target, ignore_index=IGNORE)
    assert torch.allclose(joint(logits, target)['loss_focal'], expected, atol=1e-6, rtol=0)
    dice_only = JointLoss(losses=[dict(type='DiceLoss')])
    with pytest.raises(ValueError, match='accepts class weights'):
        dice_only.set_class_weight(weight)


def test_joint_rejects_ambiguous_configs():
    with pytest.raises(ValueError, match='default losses only'):
        JointLoss(losses=[dict(type='FocalLoss')], dice_weight=2.0)
    with pytest.raises(ValueError, match='distinct'):
        JointLoss(losses=[dict(type='FocalLoss'), dict(type='FocalLoss', gamma=1.0)])


@pytest.mark.parametrize('loss_type', ['FocalLoss', 'DiceLoss'])
@pytest.mark.parametrize('name', [3, None, ('loss_a',)])
def test_non_string_loss_name_is_refused_naming_the_value(loss_type, name):
    # Without the check, 3 becomes a dict key that mmengine's parse_losses fails on
    # ("argument of type 'int' is not iterable") at the first training step.
    message = rf'loss_name must be a string .*got {re.escape(repr(name))}'
    with pytest.raises(ValueError, match=message):
        JointLoss(losses=[dict(type=loss_type, loss_name=name)])


def test_string_loss_name_names_the_output_key():
    logits, target = make_batch()
    out = JointLoss(losses=[dict(type='FocalLoss', gamma=0.0, loss_name='loss_ce')])(logits, target)
    assert set(out) == {'loss_ce'}
    expected = F.cross_entropy(logits, target, ignore_index=IGNORE)
    assert torch.allclose(out['loss_ce'], expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize('loss_cls, kwargs, message', [
    (FocalLoss, dict(gamma='2'), "gamma must be a finite number >= 0, got '2'"),
    (FocalLoss, dict(gamma=float('nan')), 'gamma must be a finite number >= 0, got nan'),
    (FocalLoss, dict(loss_weight='a'), "loss_weight must be a finite number, got 'a'"),
    (FocalLoss, dict(ignore_index='255'), "ignore_index must be an integer label, got '255'"),
    (FocalLoss, dict(class_weight='abc'), "class weights must be a sequence of numbers.*'abc'"),
    (DiceLoss, dict(smooth='1'), "smooth must be a finite number >= 0, got '1'"),
    (DiceLoss, dict(eps=-1.0), 'eps must be a finite number >= 0, got -1.0'),
    (DiceLoss, dict(ignore_index=255.5), 'ignore_index must be an integer label, got 255.5'),
])
def test_config_values_of_the_wrong_kind_are_named(loss_cls, kwargs, message):
    # Each of these used to fail later in a comparison or inside torch without naming the key.
    with pytest.raises(ValueError, match=message):
        loss_cls(**kwargs)


@pytest.mark.parametrize('losses, message', [
    (dict(type='FocalLoss'), r"losses must be a list of loss configs, got \{'type'"),
    ([dict(type='FocalLoss'), 'DiceLoss'],
     r"losses\[1\] must be a loss config such as dict\(type='FocalLoss'\), got 'DiceLoss'"),
])
def test_joint_losses_must_be_a_list_of_configs(losses, message):
    with pytest.raises(ValueError, match=message):
        JointLoss(losses=losses)


def test_gradients_flow():
    logits, target = make_batch(seed=10)
    sum(JointLoss(class_weight=[1.0, 2.0, 1.0, 1.0, 1.0])(logits, target).values()).backward()
    assert torch.isfinite(logits.grad).all()
    valid = (target != IGNORE).unsqueeze(1).expand_as(logits)
    assert logits.grad[valid].abs().min() > 0
    assert logits.grad[~valid].abs().max() == 0


# --------------------------------------------------------------------------- shared checks
@pytest.mark.parametrize('loss', [FocalLoss(), DiceLoss(), JointLoss()],
                         ids=['focal', 'dice', 'joint'])
def test_bad_target_values_are_named(loss):
    logits, target = make_batch(num_classes=19, seed=11)
    target[0, 0, 0] = 40
    target[1, 2, 3] = 19
    target[1, 0, 0] = IGNORE
    with pytest.raises(ValueError,
                       match=r'target contains values \[19, 40\] outside 0\.\.18 and ignore_index '
                             r'255'):
        loss(logits, target)
    target[0, 0, 0] = -1
    with pytest.raises(ValueError, match=r'\[-1, 19\]'):
        loss(logits, target)


def test_bad_target_shape_and_dtype():
    logits, target = make_batch()
    with pytest.raises(ValueError, match='does not match'):
        FocalLoss()(logits, target[:, :-1])
    with pytest.raises(TypeError, match='integer'):
        DiceLoss()(logits, target.float())


@pytest.mark.parametrize('loss', [FocalLoss(class_weight=[1.0] * 5), DiceLoss(),
                                  DiceLoss(classes='all', smooth=0.0), JointLoss()],
                         ids=['focal', 'dice', 'dice-all', 'joint'])
def test_all_ignored_gives_zero_with_grad(loss):
    logits, target = make_batch()
    target.fill_(IGNORE)
    out = loss(logits, target)
    total = sum(out.values()) if isinstance(out, dict) else out
    if isinstance(loss, DiceLoss) and loss.classes == 'all':
        # Every class is absent and nothing is predicted: 1 - 0 / eps per class.
        assert total.item() == pytest.approx(1.0)
    else:
        assert total.item() == 0.0
    assert total.requires_grad
    total.backward()
    assert logits.grad is not None
    assert torch.isfinite(logits.grad).all()
