"""Evaluation reports: one self-contained HTML page per ``tools/test.py --report`` run."""
from .build import build_report, checkpoint_info, load_metrics
from .test_run import read_report_inputs, report_test_run

__all__ = ['build_report', 'checkpoint_info', 'load_metrics', 'read_report_inputs',
           'report_test_run']
