"""One segmentor for every segmentation_models_pytorch architecture and encoder."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import nn

from cityseg.registry import MODELS
from cityseg.structures import SegDataSample

from .encoder_weights import load_encoder_weights, resolve_encoder_weights
from .losses import build_loss, named_losses
from .networks import (
    add_head_dropout,
    build_network,
    check_dropout,
    combine_divisors,
    network_divisor,
)
from .pretrained import UNSET, load_pretrained
from .test_cfg import check_slide_windows, check_temperature, parse_test_cfg
from .uncertainty import SMLStats, anomaly_score

DEFAULT_LOSS = dict(type='JointLoss')
# The network when neither the config nor model.pretrained says otherwise.
NETWORK_DEFAULTS = dict(arch='DeepLabV3Plus', encoder_name='efficientnet-b3', num_classes=19)
# build_network's own arguments, each set by a key of the model config: repeating one in
# model_kwargs would otherwise be Python's "got multiple values for keyword argument".
_NETWORK_ARGS = dict(arch='arch', encoder_name='encoder_name', encoder_weights='encoder_weights',
                     in_channels='in_channels', classes='num_classes', dropout='dropout')


@MODELS.register_module()
class SMPSegmentor(BaseModel):
    """``smp.create_model(arch, encoder_name, ...)`` behind mmengine's ``BaseModel`` interface.

    Args:
        pretrained: a whole trained network: a folder written by smp's ``save_pretrained``
            (``config.json`` + ``model.safetensors``, e.g. by ``tools/publish_model.py``) or a
            Hugging Face hub id (``'smp-hub/segformer-b0-1024x1024-city-160k'``). Its config
            supplies ``arch``, ``encoder_name``, ``num_classes`` and ``model_kwargs``; any of
            them the config states must agree (see :mod:`cityseg.models.pretrained`), and
            ``encoder_weights`` is not used.
        arch: any smp architecture (``'DeepLabV3Plus'``, ``'Unet'``, ``'MAnet'``, ...) or the
            name of a network registered in cityseg's ``MODELS`` (see :func:`build_network`);
            default ``'DeepLabV3Plus'``.
        encoder_name: any smp encoder (default ``'efficientnet-b3'``) or timm encoder
            (``'tu-...'``).
        encoder_weights: ``'imagenet'`` (downloaded by smp/timm), ``None`` (random init), or
            the path of a local ``.pth``/``.safetensors`` file with the encoder's state dict.
        num_classes: output channels (default 19, the Cityscapes train ids).
        dropout: probability of a ``Dropout2d`` inserted in front of the segmentation head; it
            applies to every architecture and encoder (smp's own ``dropout`` only reaches the
            optional classification head).
        model_kwargs: extra keyword arguments for the smp architecture
            (``decoder_channels``, ``encoder_output_stride``, ...).
        loss: config of any registered loss, or a list of them (summed, each logged on its
            own; see :func:`~cityseg.models.losses.build_loss`); a loss that takes
            ``ignore_index`` defaults to this model's.
        test_cfg: inference settings: ``mode='whole'|'slide'``, ``crop_size=(h, w)`` and
            ``stride=(h, w)`` (default and maximum: the crop size) for slide, ``flip=False``
            and ``scales=(1.0,)`` for test-time augmentation; ``scores``: anomaly scores
            (:data:`~cityseg.models.uncertainty.SCORES`) each prediction carries as a field of
            ``anomaly_scores`` (higher = more anomalous), ``sml_stats``: the
            ``sml_stats.json`` the ``'sml'`` score needs; ``return_logits=True`` attaches the
            (temperature-scaled) ``seg_logits``; checked here, key by key.
        temperature: the logits are divided by it before the softmax (temperature scaling,
            Guo et al., ICML 2017). ``None`` (default) takes the ``temperature`` that
            ``tools/analysis_tools/calibration.py --fit-temperature`` stores in a checkpoint's
            ``meta`` when :func:`~cityseg.utils.load_model_weights` loads one, else 1; a value
            set here wins over the checkpoint's.
        ignore_index: label of pixels that count nowhere (also the preprocessor's label pad).
        channels_last: run the network in the channels-last memory format, which oneDNN
            (CPU) and cuDNN (tensor cores) run faster for most convolutional encoders.
        data_preprocessor: config of :class:`SegDataPreProcessor`; its ``size_divisor`` is
            combined with the network's (see :func:`network_divisor`).
    """

    def __init__(self, arch: str = UNSET, encoder_name: str | None = UNSET,
                 encoder_weights: str | None = None, num_classes: int = UNSET,
                 in_channels: int = 3, dropout: float = 0.0, model_kwargs: dict | None = None,
                 loss: dict | list[dict] | None = None, test_cfg: dict | None = None,
                 ignore_index: int = 255, channels_last: bool = False,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None,
                 pretrained: str | None = None, temperature: float | None = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='SegDataPreProcessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        _check_network_config(num_classes, model_kwargs)
        if pretrained is not None:
            check_dropout(dropout)
            net, spec = load_pretrained(pretrained, arch=arch, encoder_name=encoder_name,
                                        num_classes=num_classes, in_channels=in_channels,
                                        model_kwargs=model_kwargs)
            arch, encoder_name, num_classes = spec.arch, spec.encoder_name, spec.num_classes
            self.net = add_head_dropout(net, dropout, arch)
        else:
            arch, encoder_name, num_classes = (
                NETWORK_DEFAULTS[key] if value is UNSET else value for key, value in
                (('arch', arch), ('encoder_name', encoder_name), ('num_classes', num_classes)))
            self._build_network(arch, encoder_name, encoder_weights, num_classes, in_channels,
                                dropout, model_kwargs)
        self._set_size_divisor(arch, encoder_name)
        self.channels_last = channels_last
        if channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.loss_module = build_loss(loss or DEFAULT_LOSS, ignore_index)
        self.test_cfg = parse_test_cfg(test_cfg)
        self.sml_stats = None if self.test_cfg['sml_stats'] is None else SMLStats.from_file(
            self.test_cfg['sml_stats'], num_classes)
        if temperature is not None:
            check_temperature(temperature, 'model.temperature')
        self.temperature_cfg = temperature
        self.temperature = 1.0 if temperature is None else float(temperature)

    def _build_network(self, arch: str, encoder_name: str | None, encoder_weights: str | None,
                       num_classes: int, in_channels: int, dropout: float,
                       model_kwargs: dict | None) -> None:
        """``self.net`` from the config's keys, with the encoder weights they name."""
        smp_weights, local_file = resolve_encoder_weights(encoder_weights)
        self.net = build_network(arch, encoder_name=encoder_name, encoder_weights=smp_weights,
                                 in_channels=in_channels, classes=num_classes, dropout=dropout,
                                 **(model_kwargs or {}))
        if local_file is not None:
            if not isinstance(getattr(self.net, 'encoder', None), nn.Module):
                raise ValueError(f'encoder_weights={local_file!r} needs a network with an '
                                 f'`encoder` module; {arch} has none')
            load_encoder_weights(self.net.encoder, local_file)

    def _set_size_divisor(self, arch: str, encoder_name: str) -> None:
        """Make the preprocessor pad every batch to a size the network accepts."""
        configured = getattr(self.data_preprocessor, 'size_divisor', None)
        required = network_divisor(self.net)
        divisor = combine_divisors(configured, required)
        if configured is not None and divisor != configured:
            print_log(f'size_divisor {configured} raised to {divisor}: {arch} with '
                      f'{encoder_name} needs input sides divisible by {required}',
                      logger='current')
        self.data_preprocessor.size_divisor = divisor

    @property
    def encoder(self) -> nn.Module:
        return self.net.encoder

    def forward(self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None,
                mode: str = 'tensor'):
        """mmengine's three modes: a dict of losses, predictions, or the raw logits."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._run_net(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def _run_net(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return self.net(inputs)

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample]) -> dict:
        """Named losses of the logits (resized to the labels if the network's differ)."""
        target = torch.cat([s.gt_sem_seg.data for s in data_samples]).long()
        logits = self._run_net(inputs)
        if logits.shape[-2:] != target.shape[-2:]:
            logits = F.interpolate(logits, size=target.shape[-2:], mode='bilinear',
                                   align_corners=False)
        try:
            losses = self.loss_module(logits, target)
        except ValueError:
            self._check_labels(target, data_samples)
            raise
        return named_losses(losses, self.loss_module)

    def _check_labels(self, target: torch.Tensor, data_samples: Sequence[SegDataSample]) -> None:
        """Name the label files holding values that are neither a class nor ``ignore_index``.

        The losses already check every target (one pass per step), but only the segmentor knows
        which file a bad value came from; so this runs only once a loss has refused the batch.
        """
        bad = ((target < 0) | (target >= self.num_classes)) & (target != self.ignore_index)
        if not bad.any():
            return
        culprits = []
        for i in bad.flatten(1).any(1).nonzero().flatten().tolist():
            values = torch.unique(target[i][bad[i]]).tolist()
            where = data_samples[i].metainfo.get('seg_map_path', f'batch item {i}')
            culprits.append(f'{where}: {values}')
        raise ValueError(
            f'label values outside 0..{self.num_classes - 1} and ignore_index '
            f'{self.ignore_index} in ' + '; '.join(culprits) +
            ' (labelIds not mapped to train ids, or num_classes too small?)')

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Sequence[SegDataSample] | None = None) -> list[SegDataSample]:
        """Class scores with TTA, cropped to each image and resized to its label resolution.

        With ``test_cfg.scores`` each sample also gets ``anomaly_scores`` (a ``PixelData``
        with one ``1 x H x W`` map per score), and with ``test_cfg.return_logits`` the
        temperature-scaled ``seg_logits`` (``C x H x W``), both at the prediction's size.
        """
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(img_shape=tuple(inputs.shape[-2:])))
                            for _ in range(len(inputs))]
        scores = self.test_cfg['scores']
        want_logits = bool(scores) or self.test_cfg['return_logits']
        probs, logits = self.inference(inputs, return_logits=True) if want_logits else (
            self.inference(inputs), None)
        for i, (prob, sample) in enumerate(zip(probs, data_samples)):
            h, w = sample.metainfo.get('img_shape', prob.shape[-2:])
            out_shape = self._label_shape(sample, (h, w))
            prob = _crop_resize(prob, h, w, out_shape)
            # max(...).indices is argmax (the first of equal maxima) over the class axis of a
            # C x H x W map, 5-8x faster than argmax(0) on CPU (19 x 1024 x 2048: 48 vs 378 ms).
            pred = prob.max(0, keepdim=True).indices
            # uint8 when the classes fit: the metric counts narrow maps fastest.
            sample.pred_sem_seg = PixelData(
                data=pred.to(torch.uint8) if self.num_classes <= 255 else pred)
            if logits is None:
                continue
            logit = _crop_resize(logits[i], h, w, out_shape)
            if self.test_cfg['return_logits']:
                sample.seg_logits = PixelData(data=logit)
            if scores:
                sample.anomaly_scores = PixelData(**{
                    name: anomaly_score(name, logit, self.sml_stats, prob)[None]
                    for name in scores})
        return list(data_samples)

    @staticmethod
    def _label_shape(sample: SegDataSample, default: tuple[int, int]) -> tuple[int, int]:
        if 'gt_sem_seg' in sample:
            return tuple(sample.gt_sem_seg.data.shape[-2:])
        return tuple(sample.metainfo.get('ori_shape', default))

    def inference(self, inputs: torch.Tensor, return_logits: bool = False
                  ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Softmax scores averaged over the configured scales and flips, at input size.

        The logits are divided by ``temperature`` first. With ``return_logits``, also the
        (temperature-scaled) logits averaged the same way, for the anomaly scores.
        """
        size = inputs.shape[-2:]
        flips = (False, True) if self.test_cfg['flip'] else (False,)
        total = total_logits = None
        for scale in self.test_cfg['scales']:
            scaled = inputs if scale == 1 else F.interpolate(
                inputs, scale_factor=scale, mode='bilinear', align_corners=False)
            for flip in flips:
                logits = self._infer_logits(scaled, flip)
                if logits.shape[-2:] != size:
                    logits = F.interpolate(logits, size=size, mode='bilinear',
                                           align_corners=False)
                logits = logits.float()
                if self.temperature != 1:
                    logits = logits / self.temperature
                prob = logits.softmax(1)
                total = prob if total is None else total + prob
                if return_logits:
                    total_logits = logits if total_logits is None else total_logits + logits
        views = len(self.test_cfg['scales']) * len(flips)
        if return_logits:
            return total / views, total_logits / views
        return total / views

    def _infer_logits(self, inputs: torch.Tensor, flip: bool) -> torch.Tensor:
        if self.test_cfg['mode'] == 'slide':
            return self.slide_logits(inputs, flip)
        return self._padded_logits(inputs, flip)

    def _padded_logits(self, inputs: torch.Tensor, flip: bool = False) -> torch.Tensor:
        """Logits of an input padded to the network's divisor, optionally mirrored, unpadded.

        Mirroring after padding keeps the padding on the same side as without flip, so a
        flip-equivariant network gives identical flipped and plain logits.
        """
        d = self.data_preprocessor.size_divisor
        h, w = inputs.shape[-2:]
        padded = F.pad(inputs, (0, -w % d, 0, -h % d))
        if flip:
            padded = padded.flip(-1)
        logits = self._run_net(padded)
        if logits.shape[-2:] != padded.shape[-2:]:
            logits = F.interpolate(logits, size=padded.shape[-2:], mode='bilinear',
                                   align_corners=False)
        if flip:
            logits = logits.flip(-1)
        return logits[..., :h, :w]

    def slide_logits(self, inputs: torch.Tensor, flip: bool = False) -> torch.Tensor:
        """Logits averaged over overlapping ``crop_size`` windows taken every ``stride``.

        The last window of a row or column is shifted back to end at the border, so with
        ``stride <= crop_size`` every pixel is covered; an image smaller than the crop is one
        (padded) window. The windows are checked again here, since ``test_cfg`` is a plain dict
        that tools (the benchmark) update after construction.
        """
        crop_h, crop_w = self.test_cfg['crop_size']
        stride_h, stride_w = self.test_cfg['stride'] or (crop_h, crop_w)
        check_slide_windows((crop_h, crop_w), (stride_h, stride_w))
        n, _, h, w = inputs.shape
        rows = max(math.ceil((h - crop_h) / stride_h), 0) + 1
        cols = max(math.ceil((w - crop_w) / stride_w), 0) + 1
        logits = None
        count = inputs.new_zeros((1, 1, h, w))
        for r in range(rows):
            for c in range(cols):
                y1 = min(r * stride_h, max(h - crop_h, 0))
                x1 = min(c * stride_w, max(w - crop_w, 0))
                y2, x2 = min(y1 + crop_h, h), min(x1 + crop_w, w)
                crop_logits = self._padded_logits(inputs[:, :, y1:y2, x1:x2], flip)
                if logits is None:
                    logits = inputs.new_zeros((n, crop_logits.shape[1], h, w))
                logits[:, :, y1:y2, x1:x2] += crop_logits
                count[:, :, y1:y2, x1:x2] += 1
        return logits / count


def _crop_resize(maps: torch.Tensor, h: int, w: int,
                 out_shape: tuple[int, int]) -> torch.Tensor:
    """``C x H x W`` maps cropped to the image (``h x w``) and resized (bilinear) to
    ``out_shape``."""
    maps = maps[:, :h, :w]
    if tuple(maps.shape[-2:]) != tuple(out_shape):
        maps = F.interpolate(maps[None], size=out_shape, mode='bilinear',
                             align_corners=False)[0]
    return maps


def _check_network_config(num_classes: int, model_kwargs: Mapping | None) -> None:
    """Name the model config key at fault before the network is built from it."""
    if num_classes is not UNSET and (isinstance(num_classes, bool)
                                     or not isinstance(num_classes, numbers.Integral)
                                     or num_classes < 1):
        raise ValueError(f'model.num_classes must be a positive integer, got {num_classes!r}')
    if model_kwargs is None:
        return
    if not isinstance(model_kwargs, Mapping):
        raise ValueError(f'model.model_kwargs must be a dict of keyword arguments for the '
                         f'network, got {model_kwargs!r}')
    repeated = [key for key in _NETWORK_ARGS if key in model_kwargs]
    if repeated:
        raise ValueError(
            f'model.model_kwargs sets {repeated}, which the model config sets itself: use '
            + ', '.join(f'model.{_NETWORK_ARGS[key]}' for key in repeated) + ' instead')
