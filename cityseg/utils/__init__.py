from .checkpoint_loading import allow_mmengine_checkpoints, load_model_weights
from .config import (
    apply_tta,
    config_section,
    load_config,
    parse_evaluation_args,
    resolve_checkpoint,
    resolve_work_dir,
)
from .setup_env import register_all_modules

__all__ = ['allow_mmengine_checkpoints', 'apply_tta', 'config_section', 'load_config',
           'load_model_weights', 'parse_evaluation_args', 'resolve_checkpoint',
           'register_all_modules', 'resolve_work_dir']
