from .branches import partner_branch
from .seg_data_sample import SegDataSample

__all__ = ['SegDataSample', 'partner_branch']
