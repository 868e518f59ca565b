"""Put the files that test metrics write into the run's log dir."""
from __future__ import annotations

import os.path as osp

from mmengine.hooks import Hook

from cityseg.registry import HOOKS


@HOOKS.register_module()
class MetricOutputDirHook(Hook):
    """Before testing, make every metric's relative ``output_file`` relative to the log dir.

    ``tools/test.py`` wants ``metrics.json`` next to the run's log, in
    ``<work_dir>/<timestamp>``, but the timestamp exists only once the Runner does (rank 0
    picks it and broadcasts it), after the config that configures the metric was merged. So
    the config says ``output_file='metrics.json'`` and this hook, which sees the Runner,
    turns it into ``<log_dir>/metrics.json`` before the first result is computed. Absolute
    paths and metrics without an ``output_file`` are left alone.
    """

    def before_test(self, runner) -> None:
        for metric in runner.test_loop.evaluator.metrics:
            path = getattr(metric, 'output_file', None)
            if path is not None and not osp.isabs(path):
                metric.output_file = osp.join(runner.log_dir, path)
