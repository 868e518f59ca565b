"""Publish a trained cityseg model as a folder that plain segmentation_models_pytorch loads.

The folder (``smp.from_pretrained(folder)``, or ``model.pretrained=folder`` in a cityseg config)
holds what smp's ``save_pretrained`` writes (``config.json``, ``model.safetensors``), a model
card (``README.md``) with the evaluation, the dataset, the preprocessing and the training
config, that config as ``cityseg_config.py``, and the slimmed cityseg checkpoint
(``<name>-<sha256[:8]>.pth``: weights and meta, no optimizer state), as mmsegmentation's
``tools/misc/publish_model.py`` names it. A self-training checkpoint (student and teacher)
publishes the network it predicts with (``semi_cfg.predict_on``), which then works as
``model.student.pretrained``.
"""
from __future__ import annotations

import hashlib
import io
import json
import os.path as osp
from collections.abc import Mapping
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader
from torch import nn

from cityseg.evaluation.metrics_file import read_metrics_file, summary_keys
from cityseg.models import predicting_segmentor
from cityseg.models.networks import strip_head_dropout
from cityseg.utils.errors import CitysegTypeError
from cityseg.utils.fileio import atomic_output, atomic_write, file_sha256
from cityseg.utils.output_dir import check_output_dir, record_output_dir
from cityseg.utils.segmentor_cfg import segmentor_cfg

from .inference import init_model

OUTPUT_KIND = 'published model (tools/publish_model.py)'
_SUMMARY_KEYS = ('aAcc', 'mIoU', 'mAcc', 'mDice', 'mFscore', 'mIoU_iIoU', 'iIoU')


def read_metrics(metrics_file: str, checkpoint: str) -> dict:
    """The ``metrics.json`` tools/test.py wrote for ``checkpoint`` (any other is refused).

    The path must be the checkpoint's and so must the content: the file's sha256 is compared
    with the ``checkpoint_sha256`` tools/test.py recorded, since a checkpoint replaced at the
    same path (a longer training into the same work dir) would be published with the old
    file's metrics.
    """
    metrics = read_metrics_file(metrics_file, require=('per_class',))
    evaluated = metrics.get('checkpoint')
    again = f'run tools/test.py CONFIG {checkpoint} and pass its metrics.json'
    if not evaluated or not osp.exists(evaluated) or not osp.samefile(evaluated, checkpoint):
        raise ValueError(f'{metrics_file} evaluates checkpoint {evaluated!r}, not {checkpoint}: '
                         f'{again}')
    recorded = metrics.get('checkpoint_sha256')
    if recorded is None:
        raise ValueError(f'{metrics_file} records no checkpoint_sha256 (written by an older '
                         f'tools/test.py), so it cannot show that {checkpoint} is the file it '
                         f'evaluated: {again}')
    now = file_sha256(checkpoint)
    if now != recorded:
        raise ValueError(f'{checkpoint} has changed since {metrics_file} evaluated it (sha256 '
                         f'{recorded[:12]} then, {now[:12]} now): {again}')
    return metrics


def slim_checkpoint(checkpoint: str, out_dir: Path) -> Path:
    """Write ``checkpoint``'s weights and meta (no optimizer, schedulers, message hub) to
    ``out_dir/<stem>-<sha256[:8]>.pth`` and return that path."""
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    slim = dict(meta=ckpt.get('meta', {}), state_dict=ckpt.get('state_dict', ckpt))
    buffer = io.BytesIO()  # the name holds the digest of the bytes, so they come first
    torch.save(slim, buffer)
    data = buffer.getvalue()
    final = out_dir / f'{Path(checkpoint).stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    atomic_write(data, final)
    return final


def publishable_network(model: nn.Module) -> nn.Module:
    """The predicting network (:func:`~cityseg.models.predicting_segmentor`: the segmentor's
    ``net``, or that of the student or teacher a self-training model predicts with) as smp
    builds it: the head dropout cityseg adds is removed (it has no weights and is the
    identity in eval mode); only smp networks can be published."""
    net = strip_head_dropout(predicting_segmentor(model).net)
    if not hasattr(net, 'save_pretrained'):
        raise CitysegTypeError(
            f'{type(net).__name__} is not a segmentation_models_pytorch network, '
            "so smp.from_pretrained could not load it")
    if net.config.get('encoder_weights') is not None:
        raise ValueError(f'the network records encoder_weights={net.config["encoder_weights"]!r},'
                         ' which smp.from_pretrained would download again')
    return net


def preprocessing(cfg: Config, model: nn.Module) -> dict:
    """What a user of the plain smp network must do to an image, from the config and the
    predicting segmentor."""
    segmentor = predicting_segmentor(model)
    pre = segmentor.data_preprocessor
    test_cfg = dict(segmentor.test_cfg)
    return dict(
        channel_order='RGB' if getattr(pre, 'bgr_to_rgb', False) else 'BGR',
        mean=[round(v, 4) for v in pre.mean.flatten().tolist()],  # float32 buffers
        std=[round(v, 4) for v in pre.std.flatten().tolist()],
        pixel_range='0-255 (uint8 image, normalised as (x - mean) / std)',
        pad_to_multiple_of=int(pre.size_divisor or 1),
        inference=test_cfg,
        test_pipeline=_test_pipeline(cfg))


def _test_pipeline(cfg: Config) -> list:
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    return [dict(t) for t in (dataset.get('pipeline') or cfg.get('test_pipeline') or [])]


def model_card(net: nn.Module, cfg: Config, metrics: Mapping, prep: dict, dataset: str,
               slim_name: str) -> str:
    """smp's model card, followed by cityseg's sections: evaluation with the per-class table,
    dataset, preprocessing, the slimmed checkpoint and the training config."""
    summary = {k: metrics[k] for k in summary_keys(metrics, _SUMMARY_KEYS)
               if metrics.get(k) is not None}
    card = net.generate_model_card(metrics=summary, dataset=dataset)
    per_class = metrics['per_class']
    columns = list(next(iter(per_class.values())))
    rows = [f'| {name} | ' + ' | '.join(_fmt(scores.get(c)) for c in columns) + ' |'
            for name, scores in per_class.items()]
    mean = prep['mean']
    std = prep['std']
    sections = [
        '## Evaluation (cityseg tools/test.py)',
        f"Split: {metrics.get('split')}, test-time augmentation: {metrics.get('tta')}, "
        f"inference: {prep['inference']}.",
        '',
        '| metric | value |', '| --- | --- |',
        *(f'| {k} | {_fmt(v)} |' for k, v in summary.items()),
        '',
        '| class | ' + ' | '.join(columns) + ' |', '|' + ' --- |' * (len(columns) + 1),
        *rows,
        '',
        '## Dataset',
        f'{dataset}; classes (output channel order): {list(per_class)}.',
        '',
        '## Preprocessing',
        f"- channel order: {prep['channel_order']}; pixel values "
        f"{prep['pixel_range']}",
        f'- mean: {mean}', f'- std: {std}',
        f"- pad height and width to a multiple of {prep['pad_to_multiple_of']}",
        f"- inference: {prep['inference']}",
        f"- test pipeline: {prep['test_pipeline']}",
        '',
        '```python',
        'import segmentation_models_pytorch as smp, torch',
        'model = smp.from_pretrained("<this folder or repo>").eval()',
        f'mean = torch.tensor({mean}).view(3, 1, 1)',
        f'std = torch.tensor({std}).view(3, 1, 1)',
        f"x = (torch.from_numpy(image_{prep['channel_order'].lower()}).permute(2, 0, 1).float()"
        ' - mean) / std',
        'logits = model(x[None])  # (1, classes, H, W)',
        '```',
        '',
        '## cityseg',
        f'`{slim_name}`: the cityseg checkpoint (weights and meta, no optimizer state; the '
        'digits are the start of its sha256), for `tools/test.py cityseg_config.py '
        f'{slim_name}`. The folder also works as `{segmentor_cfg(cfg.model)[0]}.pretrained` '
        'in a cityseg config.',
        '',
        '### Training config',
        '```python', cfg.pretty_text.rstrip(), '```', '']
    return str(card) + '\n' + '\n'.join(sections)


def _fmt(value: object) -> str:
    return '-' if value is None else f'{value:.4f}' if isinstance(value, float) else str(value)


def publish_model(config: str, checkpoint: str, out_dir: str, metrics_file: str,
                  dataset: str | None = None, cfg_options: dict | None = None) -> Path:
    """Write the published folder to ``out_dir`` (atomically: all of it or nothing).

    ``out_dir`` may be new, empty, or a folder this function published before that holds
    nothing else; anything else (a file, a folder with a user's files) is refused first,
    since the folder is replaced whole (:func:`~cityseg.utils.output_dir.check_output_dir`).

    Args:
        config: the config the checkpoint was trained with.
        checkpoint: the mmengine checkpoint to publish.
        out_dir: the folder to write (an earlier published model there is replaced).
        metrics_file: the ``metrics.json`` tools/test.py wrote for this checkpoint.
        dataset: the dataset's name for the card (default: the test dataset's type).
        cfg_options: overrides, as ``--cfg-options`` gives them.
    """
    from cityseg.utils import load_config
    check_output_dir(out_dir, OUTPUT_KIND)
    cfg = load_config(config, cfg_options)
    metrics = read_metrics(metrics_file, checkpoint)
    model = init_model(cfg, checkpoint)  # model.cfg: cfg with encoder_weights=None
    cfg = model.cfg
    net = publishable_network(model)
    prep = preprocessing(cfg, model)
    dataset = dataset or cfg.get('test_dataloader', {}).get('dataset', {}).get('type', 'unknown')
    with atomic_output(out_dir) as tmp:
        tmp.mkdir()
        net.save_pretrained(tmp)
        slim = slim_checkpoint(checkpoint, tmp)
        (tmp / 'README.md').write_text(model_card(net, cfg, metrics, prep, dataset, slim.name))
        (tmp / 'preprocessing.json').write_text(json.dumps(prep, indent=2, default=str))
        cfg.dump(str(tmp / 'cityseg_config.py'))
        record_output_dir(tmp, OUTPUT_KIND)
    return Path(out_dir)


def push_to_hub(out_dir: str, repo_id: str, private: bool = False) -> str:
    """Upload the published folder to the Hugging Face hub (needs network and a token)."""
    from huggingface_hub import HfApi
    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    return str(api.upload_folder(folder_path=out_dir, repo_id=repo_id))
