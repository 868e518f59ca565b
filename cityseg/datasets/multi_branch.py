"""One loaded sample, several packed views: the weak and strong branches of self-training."""
from __future__ import annotations

import copy
from collections.abc import Sequence

from mmcv.transforms import BaseTransform
from mmengine.dataset import Compose

from cityseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class MultiBranch(BaseTransform):
    """Run each branch's transforms on its own copy of the sample, as mmdetection's
    ``MultiBranch``: the result is ``{'inputs': {branch: ...}, 'data_samples': {branch: ...}}``
    over every name in ``branch_field``, ``None`` for the branches this sample lacks.

    The transforms in front of ``MultiBranch`` (loading, crop, flip) are shared, so the weak
    and strong views of an unlabelled image stay pixel-aligned: a pseudo-label made on one is
    the label of the other. Each branch ends with ``PackSegInputs``.

    Config::

        dict(type='MultiBranch', branch_field=['sup', 'unsup_weak', 'unsup_strong'],
             unsup_weak=[dict(type='PackSegInputs')],
             unsup_strong=[dict(type='Albu', transforms=[...photometric...]),
                           dict(type='PackSegInputs')])

    Args:
        branch_field: every branch a batch may hold, in a fixed order (the same in the
            labelled and the unlabelled pipeline).
        **branches: ``name=[transform dicts]`` for this dataset's branches.
    """

    def __init__(self, branch_field: Sequence[str], **branches: list[dict]) -> None:
        unknown = sorted(set(branches) - set(branch_field))
        if unknown:
            raise ValueError(f'MultiBranch branches {unknown} are not in branch_field '
                             f'{list(branch_field)}')
        if not branches:
            raise ValueError(f'MultiBranch needs at least one branch of {list(branch_field)}')
        self.branch_field = list(branch_field)
        self.branches = {name: Compose(list(transforms)) for name, transforms in branches.items()}
        for number, name in enumerate(self.branch_field, 1):
            for t in getattr(self.branches.get(name), 'transforms', ()):
                if hasattr(t, 'stream'):  # Albu: not the same draws as the shared transforms
                    t.stream = number

    def transform(self, results: dict) -> dict | None:
        inputs, samples = dict.fromkeys(self.branch_field), dict.fromkeys(self.branch_field)
        for name, pipeline in self.branches.items():
            packed = pipeline(copy.deepcopy(results))
            if packed is None:
                return None
            inputs[name], samples[name] = packed['inputs'], packed['data_samples']
        return dict(inputs=inputs, data_samples=samples)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(branches={list(self.branches)})'
