"""Segmentation losses: per-pixel focal loss, soft Dice loss and their weighted sum.

Every loss takes logits ``(N, C, *spatial)`` and integer labels ``(N, *spatial)`` in which
``ignore_index`` marks pixels that contribute nothing, and returns a scalar already multiplied
by its ``loss_weight``. :class:`JointLoss` returns a dict of named losses, since mmengine's
``BaseModel.parse_losses`` sums every key containing ``'loss'`` into the total it optimises and
logs each term on its own.

``model.loss`` may be any loss registered in ``MODELS`` (cityseg's or a user's own), or a list of
them (:func:`build_loss`): a loss whose ``__init__`` takes ``ignore_index`` gets the model's, and
one that returns a tensor is logged under :func:`loss_key`.

All arithmetic runs in float32, even when the network runs under fp16/bf16 autocast: ``log``,
``exp`` and sums over millions of pixels lose too much in half precision.
"""
import inspect
import math
import numbers
import re
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cityseg.registry import MODELS
from cityseg.utils.errors import CitysegKeyError, CitysegTypeError

ClassWeight = Sequence[float] | torch.Tensor | None


def check_target(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> None:
    """Reject labels the losses would silently mis-handle, naming the offending values.

    An out-of-range label makes ``gather``/``scatter`` read another pixel's class or crash deep
    inside a CUDA kernel with an unreadable assert; a label map that was never converted from
    Cityscapes ``labelIds`` to ``trainIds`` shows up here as values 19..33. The check costs one
    elementwise pass on the device and one host sync; the values are only collected on failure.
    """
    if logits.dim() < 2 or target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f'target of shape {tuple(target.shape)} does not match logits of shape '
                         f'{tuple(logits.shape)}; expected (N, C, *spatial) and (N, *spatial)')
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise CitysegTypeError(f'target must hold integer class indices, got {target.dtype}')
    num_classes = logits.shape[1]
    bad = ((target < 0) | (target >= num_classes)) & (target != ignore_index)
    if bad.any():
        values = torch.unique(target[bad]).tolist()
        raise ValueError(f'target contains values {values} outside 0..{num_classes - 1} '
                         f'and ignore_index {ignore_index}')


def _number(key: str, value: object, minimum: float | None = None) -> float:
    """``value`` as a float, refusing by name anything but a finite number (>= ``minimum``).

    A config value such as ``gamma='2'`` would otherwise fail later in a comparison or a torch
    kernel with a message that names neither the key nor the value.
    """
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or (minimum is not None and value < minimum)):
        bound = '' if minimum is None else f' >= {minimum}'
        raise ValueError(f'{key} must be a finite number{bound}, got {value!r}')
    return float(value)


def _ignore_index(value: object) -> int:
    """``ignore_index`` checked to be an integer label: a string fails inside ``torch.where``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f'ignore_index must be an integer label, got {value!r}')
    return int(value)


def _loss_name(value: object) -> str:
    """``loss_name`` checked to be a string, the key of the loss in :class:`JointLoss`'s output.

    mmengine's ``parse_losses`` sums the terms whose key passes ``'loss' in key``: with a
    number or ``None`` there, the first training step fails with ``TypeError: argument of type
    'int' is not iterable``, naming neither the loss nor its config.
    """
    if not isinstance(value, str):
        raise ValueError(f"loss_name must be a string such as 'loss_focal', got {value!r} "
                         f'({type(value).__name__})')
    return value


def _as_weight_tensor(weights: ClassWeight) -> torch.Tensor | None:
    """Convert user-supplied class weights to a 1-D float32 tensor, refusing nonsense early."""
    if weights is None:
        return None
    try:
        tensor = torch.as_tensor(weights, dtype=torch.float32).detach().flatten().clone()
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f'class weights must be a sequence of numbers (one per class), got '
                         f'{weights!r}') from err
    if tensor.numel() == 0 or not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ValueError(f'class weights must be finite, non-negative and non-empty, got {weights}')
    return tensor


@MODELS.register_module()
class FocalLoss(nn.Module):
    """Per-pixel focal loss (Lin et al., 2017) with optional class weights.

    For every valid pixel ``i`` with label ``y_i`` and softmax probability ``p_i`` of that label::

        focal_i = -(1 - p_i) ** gamma * w[y_i] * log(p_i)
        loss    = sum_i focal_i / sum_i w[y_i]

    The modulating factor is applied to each pixel, not to a batch-mean cross-entropy, so easy
    pixels are down-weighted relative to hard ones within an image. Dividing by the summed weights
    of the valid pixels (rather than by their count) is the same normalisation as
    ``F.cross_entropy(weight=w, reduction='mean')``: with ``gamma=0`` this loss equals it exactly,
    and rescaling ``w`` by a constant leaves the loss unchanged, so class weights only change the
    balance between classes, not the effective learning rate. Without weights, ``w = 1``.

    Args:
        gamma: Focusing exponent, ``>= 0``; 0 gives (weighted) cross-entropy.
        class_weight: One non-negative weight per class, or None. Can be replaced later with
            :meth:`set_class_weight`, e.g. by a hook that computes weights from the dataset.
        ignore_index: Label of pixels that contribute nothing.
        loss_weight: Factor the returned loss is multiplied by.
        loss_name: Key of this loss in :class:`JointLoss`'s output; must contain ``'loss'`` for
            mmengine to add it to the optimised total.
    """

    class_weight: torch.Tensor | None

    def __init__(self, gamma: float = 2.0, class_weight: ClassWeight = None,
                 ignore_index: int = 255, loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal') -> None:
        super().__init__()
        self.gamma = _number('gamma', gamma, minimum=0)
        self.ignore_index = _ignore_index(ignore_index)
        self.loss_weight = _number('loss_weight', loss_weight)
        self.loss_name = _loss_name(loss_name)
        # Non-persistent: the weights are derived from the data (or the config), so checkpoints
        # neither carry them nor fail to load when they are set or unset.
        self.register_buffer('class_weight', _as_weight_tensor(class_weight), persistent=False)

    def set_class_weight(self, weights: ClassWeight) -> None:
        """Replace the class weights (None removes them); they follow ``.to()`` like a buffer."""
        tensor = _as_weight_tensor(weights)
        if tensor is not None and self.class_weight is not None:
            tensor = tensor.to(self.class_weight.device)
        self.class_weight = tensor

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return ``loss_weight`` times the weighted per-pixel focal loss (see the class doc)."""
        check_target(logits, target, self.ignore_index)
        logits = logits.float()
        target = target.long()
        valid = target != self.ignore_index
        safe_target = torch.where(valid, target, 0)
        log_pt = F.log_softmax(logits, dim=1).gather(1, safe_target.unsqueeze(1)).squeeze(1)

        pixel_weight = valid.float()
        if self.class_weight is not None:
            num_classes = logits.shape[1]
            if self.class_weight.numel() != num_classes:
                raise ValueError(f'{self.class_weight.numel()} class weights for logits with '
                                 f'{num_classes} classes')
            pixel_weight = pixel_weight * self.class_weight.to(logits.device)[safe_target]

        # 1 - p computed as -expm1(log p) keeps precision for confident pixels; the clamp keeps
        # the gradient of (1 - p) ** gamma finite (not inf * 0 = nan) when p rounds to exactly 1
        # and 0 < gamma < 1.
        one_minus_pt = (-torch.expm1(log_pt)).clamp_min(torch.finfo(torch.float32).tiny)
        focal = one_minus_pt.pow(self.gamma) * (-log_pt) * pixel_weight
        # With no valid pixel (or only zero-weight ones) both sums are 0: 0 / tiny is a zero that
        # stays attached to the graph, so backward works without a data-dependent branch.
        loss = focal.sum() / pixel_weight.sum().clamp_min(torch.finfo(torch.float32).tiny)
        return self.loss_weight * loss


@MODELS.register_module()
class DiceLoss(nn.Module):
    """Soft multiclass Dice loss on softmax probabilities, pooled over the whole batch.

    Per class ``c``, summing over every valid pixel of every image in the batch::

        dice_c = (2 * sum(p_c * t_c) + smooth) / (sum(p_c) + sum(t_c) + smooth)

    with ``t_c`` the one-hot label; ignored pixels are excluded from both sums. The loss is the
    mean of ``1 - dice_c`` over the classes selected by ``classes``:

    - ``'present'`` (default): classes with at least one valid pixel in the batch's target.
      Dice is undefined for a class that is absent from the target (and would be a constant
      pushing its probability to 0, which focal/cross-entropy already does), so the absent
      classes leave the average instead of diluting it: a batch showing 5 of 19 classes weighs
      as much as one showing all 19.
    - ``'all'``: every class; an absent class contributes ``1 - smooth / (sum(p_c) + smooth)``,
      a penalty for predicting it at all.

    Relation to ``segmentation_models_pytorch.losses.DiceLoss(mode='multiclass')`` (0.6.0): smp
    zeroes the loss of absent classes but then divides by all ``C`` classes, and it writes Dice in
    Tversky form, ``(I + s) / (I + (fp + fn) / 2 + s)``, which is ``(2 I + 2 s) / (card + 2 s)``.
    Hence ``DiceLoss(smooth=s)`` here equals smp with ``smooth=s / 2`` times ``C / n_present``;
    the two coincide whenever every class is present.

    Args:
        smooth: Additive smoothing in numerator and denominator, ``>= 0``.
        ignore_index: Label of pixels that contribute nothing.
        loss_weight: Factor the returned loss is multiplied by.
        classes: ``'present'`` or ``'all'``, which classes enter the mean (see above).
        eps: Lower bound of the denominator, which only matters for absent classes when
            ``smooth=0`` and ``classes='all'``.
        loss_name: Key of this loss in :class:`JointLoss`'s output.
    """

    def __init__(self, smooth: float = 1.0, ignore_index: int = 255, loss_weight: float = 1.0,
                 classes: str = 'present', eps: float = 1e-7,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        if classes not in ('present', 'all'):
            raise ValueError(f"classes must be 'present' or 'all', got {classes!r}")
        self.smooth = _number('smooth', smooth, minimum=0)
        self.ignore_index = _ignore_index(ignore_index)
        self.loss_weight = _number('loss_weight', loss_weight)
        self.classes = classes
        self.eps = _number('eps', eps, minimum=0)
        self.loss_name = _loss_name(loss_name)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return ``loss_weight`` times the mean Dice loss over the selected classes."""
        check_target(logits, target, self.ignore_index)
        probs = F.softmax(logits.float(), dim=1)
        target = target.long()
        valid = (target != self.ignore_index).unsqueeze(1)
        # One-hot written with scatter (no int64 N*C*H*W tensor); ignored pixels get all zeros.
        one_hot = torch.zeros_like(probs).scatter_(
            1, torch.where(valid, target.unsqueeze(1), 0), valid.float())
        probs = probs * valid
        dims = [0, *range(2, probs.dim())]
        intersection = (probs * one_hot).sum(dims)
        target_count = one_hot.sum(dims)
        cardinality = probs.sum(dims) + target_count
        dice = (2 * intersection + self.smooth) / (cardinality + self.smooth).clamp_min(self.eps)
        per_class = 1 - dice
        if self.classes == 'all':
            loss = per_class.mean()
        else:
            present = (target_count > 0).float()
            # No valid pixel at all: 0 / 1, a zero still attached to the graph.
            loss = (per_class * present).sum() / present.sum().clamp_min(1)
        return self.loss_weight * loss


def build_loss(cfg: Mapping | Sequence[Mapping], ignore_index: int,
               where: str = 'model.loss') -> nn.Module:
    """The loss of ``cfg``: one registered loss's config, or a list of them (a :class:`JointLoss`).

    ``ignore_index`` is passed to a loss whose ``__init__`` takes it, unless ``cfg`` sets its own.
    ``where`` names the config key in errors.
    """
    if isinstance(cfg, Sequence) and not isinstance(cfg, str):
        cfg = dict(type='JointLoss', losses=list(cfg))
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise CitysegTypeError(
            f"{where} must be a loss config such as dict(type='FocalLoss') or a "
            f'list of them, got {cfg!r}')
    loss_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
    if not isinstance(loss_cls, type):
        raise CitysegKeyError(
            f'{where}.type={cfg["type"]!r} is not a registered loss; register it with '
            f'@cityseg.registry.MODELS.register_module() (and custom_imports)')
    params = inspect.signature(loss_cls.__init__).parameters
    if 'ignore_index' in params and 'ignore_index' not in cfg:
        cfg = {**cfg, 'ignore_index': ignore_index}
    return MODELS.build(dict(cfg))


def loss_key(loss: nn.Module) -> str:
    """The name a loss returning a tensor is logged and optimised under: its ``loss_name``,
    else ``'loss_<class name>'`` (``LovaszLoss`` -> ``'loss_lovasz'``)."""
    name = getattr(loss, 'loss_name', None)
    if name is None:
        stem = re.sub(r'Loss$', '', type(loss).__name__) or type(loss).__name__
        name = 'loss_' + re.sub(r'(?<!^)(?=[A-Z])', '_', stem).lower()
    if 'loss' not in name:
        raise ValueError(f"loss_name {name!r} of {type(loss).__name__} must contain 'loss': "
                         f'mmengine optimises only the terms whose name does')
    return name


def named_losses(losses: object, loss: nn.Module) -> dict[str, torch.Tensor]:
    """``loss``'s output as mmengine's dict of named losses: a tensor under :func:`loss_key`, a
    dict as it is. Anything else, or a dict without a term mmengine would optimise, is an error
    that names the rule, instead of mmengine's ``'Tensor' object has no attribute 'items'``."""
    if isinstance(losses, torch.Tensor):
        return {loss_key(loss): losses}
    if isinstance(losses, Mapping) and any('loss' in key for key in losses):
        return dict(losses)
    raise CitysegTypeError(
        f'model.loss {type(loss).__name__} returned {type(losses).__name__} '
        f'{list(losses) if isinstance(losses, Mapping) else ""}: a loss must return a '
        f"tensor, or a dict of tensors whose names contain 'loss' (mmengine "
        f'optimises their sum)')


@MODELS.register_module()
class JointLoss(nn.Module):
    """Several losses applied to the same logits, returned as a dict of named, weighted terms.

    Keeping the terms separate (instead of returning their sum) lets mmengine log each of them
    while still optimising their total. Each term is already multiplied by its own
    ``loss_weight``; the total is their plain sum.

    Args:
        losses: Configs of the component losses, built through ``MODELS``, e.g.
            ``[dict(type='FocalLoss', gamma=2.0), dict(type='DiceLoss', loss_weight=1.1)]``.
            Their ``loss_name`` values must be distinct. None gives the default pair
            ``FocalLoss(gamma) + dice_weight * DiceLoss()``.
        dice_weight: Weight of the Dice term of the default pair (1.1 when None). Only for the
            default pair: with ``losses`` given, set ``loss_weight`` in the Dice config instead.
        gamma: Focal exponent of the default pair (2.0 when None); likewise only for it.
        class_weight: Initial class weights, handed to :meth:`set_class_weight`.
        ignore_index: Default ``ignore_index`` of every component that does not set its own.
    """

    def __init__(self, losses: list[dict] | None = None, dice_weight: float | None = None,
                 gamma: float | None = None, class_weight: ClassWeight = None,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if losses is None:
            gamma = 2.0 if gamma is None else gamma
            dice_weight = 1.1 if dice_weight is None else dice_weight
            losses = [dict(type='FocalLoss', gamma=gamma),
                      dict(type='DiceLoss', loss_weight=dice_weight)]
        elif dice_weight is not None or gamma is not None:
            raise ValueError('dice_weight and gamma configure the default losses only; with '
                             '`losses` given, set loss_weight / gamma in the loss configs')
        if not isinstance(losses, (list, tuple)):
            raise ValueError(f'JointLoss losses must be a list of loss configs, got {losses!r}')
        if not losses:
            raise ValueError('JointLoss needs at least one loss')
        for i, cfg in enumerate(losses):
            if not isinstance(cfg, Mapping):
                raise ValueError(f'JointLoss losses[{i}] must be a loss config such as '
                                 f"dict(type='FocalLoss'), got {cfg!r}")
        self.losses = nn.ModuleList(
            build_loss(cfg, ignore_index, f'losses[{i}]') for i, cfg in enumerate(losses))
        self.names = [loss_key(loss) for loss in self.losses]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f'loss names must be distinct, got {self.names}')
        if class_weight is not None:
            self.set_class_weight(class_weight)

    def set_class_weight(self, weights: ClassWeight) -> None:
        """Give the class weights to every component that takes them (e.g. :class:`FocalLoss`).

        Raises ValueError when weights are given but no component takes them, rather than
        dropping them silently.
        """
        takers = [loss for loss in self.losses if hasattr(loss, 'set_class_weight')]
        if weights is not None and not takers:
            raise ValueError('no component of this JointLoss accepts class weights: '
                             f'{[type(loss).__name__ for loss in self.losses]}')
        for loss in takers:
            loss.set_class_weight(weights)

    @property
    def class_weight(self) -> torch.Tensor | None:
        """The class weights its components share (:meth:`set_class_weight`), or None."""
        return next((loss.class_weight for loss in self.losses
                     if getattr(loss, 'class_weight', None) is not None), None)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``{loss_name: weighted loss}`` for every component."""
        return {name: loss(logits, target) for name, loss in zip(self.names, self.losses)}
