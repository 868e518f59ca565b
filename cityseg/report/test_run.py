"""The report of a ``tools/test.py --report`` run, from the Runner that has just tested."""
from __future__ import annotations

import os.path as osp
import shlex
import sys
from collections.abc import Sequence

from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper

from cityseg.evaluation import CalibrationMetric, IoUMetric
from cityseg.utils.output_dir import record_output_dir

from .build import build_report, checkpoint_info, load_metrics

WORST_DIR = 'worst'  # inside the report folder, where tools/test.py has WorstImagesHook draw
# What the report folder's manifest calls it (cityseg.utils.output_dir): tools/test.py claims
# the folder before the evaluation, and a folder holding other files is refused.
REPORT_KIND = 'evaluation report (tools/test.py --report)'


def read_report_inputs(snapshot: tuple[dict, str] | None,
                       compare: str | None) -> tuple[dict, dict | None]:
    """The checkpoint's header entries, from ``snapshot`` (its contents and sha256, read once
    by :func:`~cityseg.utils.checkpoint_loading.read_checkpoint_once`; None for no local
    checkpoint: a URL, or none with an exported model), and the compared metrics, read before
    the evaluation so that a bad ``--compare`` file fails in seconds, not after the whole
    test set (issue 23)."""
    meta = checkpoint_info(*snapshot) if snapshot is not None else {}
    return meta, None if compare is None else load_metrics(compare)


def report_test_run(runner, out_dir: str, inputs: tuple[dict, dict | None],
                    num_worst: int = 8, argv: Sequence[str] | None = None) -> str | None:
    """Build ``<out_dir>/index.html`` from the ``metrics.json`` that the runner's IoUMetric
    wrote and the pictures ``WorstImagesHook`` drew in ``<out_dir>/worst``, and list the
    folder's files in its manifest (:func:`~cityseg.utils.output_dir.record_output_dir`);
    return the page's path (None on ranks other than the main one, which write nothing).

    Args:
        runner: the Runner after ``runner.test()``.
        out_dir: the report folder.
        inputs: :func:`read_report_inputs` of the checkpoint evaluated (its sha256 and
            iteration go into the header) and of the compared ``metrics.json`` or report folder.
        num_worst: how many worst images the page shows.
        argv: the command line for the header (default: this process's).
    """
    if not is_main_process():
        return None
    files = [m.output_file for m in runner.test_loop.evaluator.metrics
             if isinstance(m, IoUMetric) and m.output_file]
    if len(files) != 1:
        raise ValueError(f'a report needs one IoUMetric with an output_file, found {files}')
    meta, compare = dict(inputs[0]), inputs[1]
    meta['command'] = shlex.join(['python', *(sys.argv if argv is None else argv)])
    meta['metrics file'] = files[0]
    calibration = next((m.details for m in runner.test_loop.evaluator.metrics
                        if isinstance(m, CalibrationMetric)), None)
    if calibration is not None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        calibration = dict(calibration, temperature=getattr(model, 'temperature', 1.0))
    page = build_report(
        load_metrics(files[0]), out_dir,
        compare=compare,
        worst_dir=osp.join(out_dir, WORST_DIR), num_worst=num_worst,
        palette=runner.test_dataloader.dataset.metainfo.get('palette'), meta=meta,
        calibration=calibration)
    record_output_dir(out_dir, REPORT_KIND)  # a later --report may rewrite the folder
    return page
