"""cityseg's registries: children of mmengine's root registries, all with ``scope='cityseg'``.

Two kinds:

- **Registries holding cityseg classes** have ``locations`` that import the modules registering
  into them, so a config with ``default_scope='cityseg'`` resolves ``type='CityscapesDataset'``
  without the caller importing anything first. Names not found here fall back to mmengine's
  root registry (``type='CheckpointHook'``, mmcv's transforms...).
- **Fall-through registries** hold no cityseg class and have no ``locations``; every name
  resolves in mmengine's root (``AdamW``, ``PolyLR``, ``TensorboardVisBackend``...). They exist
  because the Runner builds through mmengine's roots under the default scope, and a root with
  no ``'cityseg'`` child logs "Failed to search registry with scope 'cityseg'" at every build.
  A class registered into one of them must move it to the first kind, with ``locations``.

And **cityseg's own registries**, of things mmengine has no root for: ``ANOMALY_SCORES`` (the
per-pixel anomaly scores ``model.test_cfg.scores`` names, functions registered with
:func:`cityseg.models.uncertainty.register_score`).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

# Registries holding cityseg classes.
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['cityseg.engine.hooks'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
                          locations=['cityseg.engine.optimizers'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor',
                                      parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                      locations=['cityseg.engine.optimizers'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['cityseg.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS,
                         locations=['cityseg.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=['cityseg.datasets'])
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['cityseg.models'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['cityseg.evaluation'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS,
                       locations=['cityseg.visualization'])

# Fall-through registries: mmengine's classes only.
LOOPS = Registry('loop', parent=MMENGINE_LOOPS)
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS)
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS)
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS)
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS)
LOG_PROCESSORS = Registry('log_processor', parent=MMENGINE_LOG_PROCESSORS)
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS)
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS)
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR)
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS)
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS)

# cityseg's own registries.
ANOMALY_SCORES = Registry('anomaly score', scope='cityseg',
                          locations=['cityseg.models.uncertainty'])
