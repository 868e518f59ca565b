"""cityseg: semantic segmentation of street scenes on Cityscapes, in the OpenMMLab style."""
from .utils.checkpoint_loading import allow_mmengine_checkpoints

__version__ = '0.1.0'

# mmengine checkpoints must load under torch>=2.6's weights_only default wherever cityseg is
# used (tools, notebooks, a user's own Runner script), so the allowlist is set on import.
allow_mmengine_checkpoints()
