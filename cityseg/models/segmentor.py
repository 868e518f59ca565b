"""One segmentor for every segmentation_models_pytorch architecture and encoder."""
from __future__ import annotations

from collections.abc import Sequence

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import nn

from cityseg.registry import MODELS
from cityseg.structures import SegDataSample

from .encoder_weights import load_encoder_weights, resolve_encoder_weights

DEFAULT_LOSS = dict(type='JointLoss')


def build_network(arch: str, **kwargs) -> nn.Module:
    """A network registered in cityseg's ``MODELS`` under ``arch``, else smp's architecture.

    Registering an ``nn.Module`` whose constructor takes smp's arguments (``encoder_name``,
    ``encoder_weights``, ``in_channels``, ``classes``) is all it takes to train a new network.
    """
    if arch in MODELS.module_dict:
        return MODELS.build(dict(type=arch, **kwargs))
    return smp.create_model(arch, **kwargs)


@MODELS.register_module()
class SMPSegmentor(BaseModel):
    """``smp.create_model(arch, encoder_name, ...)`` behind mmengine's ``BaseModel`` interface.

    Args:
        arch: any smp architecture (``'DeepLabV3Plus'``, ``'Unet'``, ``'MAnet'``, ...) or the
            name of a network registered in cityseg's ``MODELS`` (see :func:`build_network`).
        encoder_name: any smp encoder (``'efficientnet-b3'``) or timm encoder (``'tu-...'``).
        encoder_weights: ``'imagenet'`` (downloaded by smp), ``None`` (random init), or the path
            of a local ``.pth``/``.safetensors`` file with the encoder's state dict.
        num_classes: output channels (19 Cityscapes train ids).
        dropout: probability of a ``Dropout2d`` inserted in front of the segmentation head; it
            applies to every architecture and encoder (smp's own ``dropout`` only reaches the
            optional classification head).
        model_kwargs: extra keyword arguments for the smp architecture
            (``decoder_channels``, ``encoder_output_stride``, ...).
        loss: config of the loss module; returns a dict of named losses.
        test_cfg: inference settings: ``mode='whole'|'slide'``, ``crop_size=(h, w)`` and
            ``stride=(h, w)`` for slide, ``flip=False`` and ``scales=(1.0,)`` for TTA.
        data_preprocessor: config of :class:`SegDataPreProcessor`.
    """

    def __init__(self, arch: str = 'DeepLabV3Plus', encoder_name: str = 'efficientnet-b3',
                 encoder_weights: str | None = None, num_classes: int = 19,
                 in_channels: int = 3, dropout: float = 0.0, model_kwargs: dict | None = None,
                 loss: dict | None = None, test_cfg: dict | None = None,
                 ignore_index: int = 255, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='SegDataPreProcessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        smp_weights, local_file = resolve_encoder_weights(encoder_weights)
        self.net = build_network(arch, encoder_name=encoder_name, encoder_weights=smp_weights,
                                 in_channels=in_channels, classes=num_classes,
                                 **(model_kwargs or {}))
        if local_file is not None:
            load_encoder_weights(self.net.encoder, local_file)
        if dropout > 0:
            if not hasattr(self.net, 'segmentation_head'):
                raise ValueError(f'dropout={dropout} needs a network with a '
                                 f'`segmentation_head`; {arch} has none')
            self.net.segmentation_head = nn.Sequential(nn.Dropout2d(dropout),
                                                       self.net.segmentation_head)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.loss_module = MODELS.build(loss or DEFAULT_LOSS)
        self.test_cfg = dict(mode='whole', flip=False, scales=(1.0,))
        self.test_cfg.update(test_cfg or {})

    @property
    def encoder(self) -> nn.Module:
        return self.net.encoder

    def forward(self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.net(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample]) -> dict:
        target = torch.cat([s.gt_sem_seg.data for s in data_samples]).long()
        logits = self.net(inputs)
        if logits.shape[-2:] != target.shape[-2:]:
            logits = F.interpolate(logits, size=target.shape[-2:], mode='bilinear',
                                   align_corners=False)
        return self.loss_module(logits, target)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Sequence[SegDataSample] | None = None) -> list[SegDataSample]:
        """Class scores with TTA, cropped to each image and resized to its label resolution."""
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(img_shape=tuple(inputs.shape[-2:])))
                            for _ in range(len(inputs))]
        probs = self.inference(inputs)
        for prob, sample in zip(probs, data_samples):
            h, w = sample.metainfo.get('img_shape', prob.shape[-2:])
            prob = prob[:, :h, :w]
            out_shape = self._label_shape(sample, (h, w))
            if tuple(prob.shape[-2:]) != out_shape:
                prob = F.interpolate(prob[None], size=out_shape, mode='bilinear',
                                     align_corners=False)[0]
            sample.pred_sem_seg = PixelData(data=prob.argmax(0, keepdim=True))
        return list(data_samples)

    @staticmethod
    def _label_shape(sample: SegDataSample, default: tuple[int, int]) -> tuple[int, int]:
        if 'gt_sem_seg' in sample:
            return tuple(sample.gt_sem_seg.data.shape[-2:])
        return tuple(sample.metainfo.get('ori_shape', default))

    def inference(self, inputs: torch.Tensor) -> torch.Tensor:
        """Softmax scores averaged over the configured scales and flips, at input size."""
        size = inputs.shape[-2:]
        total = None
        views = 0
        for scale in self.test_cfg['scales']:
            scaled = inputs if scale == 1 else F.interpolate(
                inputs, scale_factor=scale, mode='bilinear', align_corners=False)
            for flip in ([False, True] if self.test_cfg['flip'] else [False]):
                view = scaled.flip(-1) if flip else scaled
                logits = self._infer_logits(view)
                if flip:
                    logits = logits.flip(-1)
                if logits.shape[-2:] != size:
                    logits = F.interpolate(logits, size=size, mode='bilinear',
                                           align_corners=False)
                prob = logits.float().softmax(1)
                total = prob if total is None else total + prob
                views += 1
        return total / views

    def _infer_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.test_cfg['mode'] == 'slide':
            return self.slide_logits(inputs)
        if self.test_cfg['mode'] != 'whole':
            raise ValueError(f"test_cfg.mode must be 'whole' or 'slide', "
                             f"got {self.test_cfg['mode']!r}")
        return self._pad_and_run(inputs)

    def _pad_and_run(self, inputs: torch.Tensor) -> torch.Tensor:
        """Run the network on an input padded to the preprocessor's divisor, then unpad."""
        d = getattr(self.data_preprocessor, 'size_divisor', 1)
        h, w = inputs.shape[-2:]
        ph, pw = -(-h // d) * d - h, -(-w // d) * d - w
        if ph or pw:
            inputs = F.pad(inputs, (0, pw, 0, ph))
        return self.net(inputs)[..., :h, :w]

    def slide_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits averaged over overlapping ``crop_size`` windows taken every ``stride``."""
        crop_h, crop_w = self.test_cfg['crop_size']
        stride_h, stride_w = self.test_cfg.get('stride', (crop_h, crop_w))
        n, _, h, w = inputs.shape
        rows = max(-(-(h - crop_h) // stride_h), 0) + 1
        cols = max(-(-(w - crop_w) // stride_w), 0) + 1
        logits = inputs.new_zeros((n, self.num_classes, h, w))
        count = inputs.new_zeros((1, 1, h, w))
        for r in range(rows):
            for c in range(cols):
                y1 = min(r * stride_h, max(h - crop_h, 0))
                x1 = min(c * stride_w, max(w - crop_w, 0))
                y2, x2 = min(y1 + crop_h, h), min(x1 + crop_w, w)
                logits[:, :, y1:y2, x1:x2] += self._pad_and_run(inputs[:, :, y1:y2, x1:x2])
                count[:, :, y1:y2, x1:x2] += 1
        return logits / count
