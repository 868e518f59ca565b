"""What a self-training config must hold besides its model, checked when the config loads."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from cityseg.registry import HOOKS, MODELS


def check_semi_config(method: type, cfg: Mapping, path: str) -> None:
    """Refuse a config that would train ``method`` (a SemiSegmentor class) wrongly without an
    error, before anything is built; each ValueError names ``path`` and the key at fault:

    - ``model.semi_cfg``: an unknown key or a bad value, a ``mix`` its class does not take;
    - ``custom_hooks``: not exactly one ``MeanTeacherHook`` (without it the teacher never
      follows the student: pseudo-labels from the initial weights for the whole run, and
      ``predict_on='teacher'`` evaluates them), or one with bad arguments;
    - ``train_dataloader.sampler``: a ``MultiSourceSampler`` without ``mix_partners`` when
      unlabelled images are mixed with each other;
    - a ``model.semi_cfg.*_branch`` that no ``MultiBranch`` of the training data packs.
    """
    model = cfg.get('model') or {}
    try:
        semi_cfg = method.parse_semi_cfg(model.get('semi_cfg'))
    except ValueError as err:
        raise ValueError(f'{path}: {err}') from None
    if semi_cfg['mix'] is not None:
        try:
            MODELS.build(dict(semi_cfg['mix']))
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f'{path}: model.semi_cfg.mix={semi_cfg["mix"]}: {err}') from None
    _check_teacher_hook(cfg.get('custom_hooks') or [], method.__name__, path)
    loader = cfg.get('train_dataloader') or {}
    sampler = loader.get('sampler') or {}
    if (semi_cfg['mix'] is not None and semi_cfg['mix_with'] == 'unlabelled'
            and sampler.get('type') == 'MultiSourceSampler' and not sampler.get('mix_partners')):
        raise ValueError(
            f'{path}: {method.__name__} mixes each unlabelled image with another one '
            f"(model.semi_cfg.mix_with='unlabelled'): set "
            'train_dataloader.sampler.mix_partners=True, so that every unlabelled sample comes '
            'with a partner even when a batch holds one unlabelled image')
    for branch_field in _multi_branch_fields(loader.get('dataset')):
        for key, branch in semi_cfg.items():
            if key.endswith('_branch') and branch not in branch_field:
                raise ValueError(f'{path}: model.semi_cfg.{key}={branch!r} is not a branch of '
                                 f'the training data: its MultiBranch branch_field is '
                                 f'{list(branch_field)}')


def _check_teacher_hook(hooks: list, method: str, path: str) -> None:
    """Exactly one MeanTeacherHook (or subclass) in ``hooks``, with arguments it takes."""
    teacher_hook = HOOKS.get('MeanTeacherHook')
    found = [h for h in hooks if isinstance(h, Mapping) and _is_subclass(
        HOOKS.get(h.get('type')) if isinstance(h.get('type'), str) else h.get('type'),
        teacher_hook)]
    if len(found) != 1:
        raise ValueError(
            f'{path}: {method} needs exactly one MeanTeacherHook in custom_hooks, found '
            f'{len(found)}: the teacher that pseudo-labels must follow the student, e.g. '
            "custom_hooks=[dict(type='MeanTeacherHook', decay=0.999)] (DAFormer; decay=0 "
            'makes the teacher the student, UniMatch)')
    HOOKS.build(found[0])  # its arguments, checked now (a `momentum` is refused by name)


def _is_subclass(cls: object, base: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, base)


def _multi_branch_fields(node: object) -> Iterator[list]:
    """The ``branch_field`` of every ``MultiBranch`` transform config within ``node``."""
    if isinstance(node, Mapping):
        if node.get('type') == 'MultiBranch' and 'branch_field' in node:
            yield node['branch_field']
        for value in node.values():
            yield from _multi_branch_fields(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _multi_branch_fields(value)
