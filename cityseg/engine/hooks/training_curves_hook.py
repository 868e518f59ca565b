"""After each validation, plot the loss, mIoU and learning-rate curves of the whole run."""
from __future__ import annotations

import os.path as osp

import mmengine
from mmengine.dist import master_only
from mmengine.hooks import Hook

from cityseg.registry import HOOKS
from cityseg.visualization import load_scalars, plot_series, series


@HOOKS.register_module()
class TrainingCurvesHook(Hook):
    """Write ``work_dir/<out_dir>/{loss,miou,lr}.png`` after every validation.

    - ``loss.png``: the logged training loss and each of its terms (``loss_focal``,
      ``loss_dice``...), as smoothed by ``LogProcessor`` (``window_size``), log scale.
    - ``miou.png``: validation ``metric`` (and ``mAcc``, ``mDice`` when logged).
    - ``lr.png``: every logged learning rate (``lr``; ``encoder_lr`` with
      :class:`EncoderUnfreezeHook`), log scale.

    The data are the scalars ``LocalVisBackend`` writes (see :mod:`cityseg.visualization.curves`),
    so the curves cover resumed runs. Validation loss is not plotted: the segmentor's predict
    path computes no loss, and a second forward pass over full-resolution validation images
    would double validation time.
    """

    priority = 'LOWEST'  # after LoggerHook has written this validation's scalars

    def __init__(self, out_dir: str = 'plots', metric: str = 'mIoU') -> None:
        self.out_dir = out_dir
        self.metric = metric

    @master_only
    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        train, val = load_scalars(runner.work_dir, self.metric)
        if not train and not val:
            raise FileNotFoundError(
                f'TrainingCurvesHook found no {runner.work_dir}/*/vis_data/scalars.json: it '
                f"plots what LocalVisBackend writes; add dict(type='LocalVisBackend') to "
                f'visualizer.vis_backends')
        out = osp.join(runner.work_dir, self.out_dir)
        mmengine.mkdir_or_exist(out)
        loss_keys = sorted({k for r in train for k in r if k.startswith('loss')})
        lr_keys = sorted({k for r in train for k in r
                          if k == 'lr' or (k.endswith('_lr') and k != 'base_lr')})
        plot_series(series(train, loss_keys), osp.join(out, 'loss.png'), 'Training loss',
                    'iteration', 'loss', logy=True)
        plot_series(series(val, [self.metric, 'mAcc', 'mDice']), osp.join(out, 'miou.png'),
                    f'Validation {self.metric}', 'step', self.metric)
        plot_series(series(train, lr_keys), osp.join(out, 'lr.png'), 'Learning rate',
                    'iteration', 'lr', logy=True)
