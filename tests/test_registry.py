"""Every registry resolves cityseg's modules by name under default_scope='cityseg'."""
import pytest
from mmengine.registry import DefaultScope

from cityseg import registry

EXPECTED = {
    'MODELS': ['SMPSegmentor', 'SegDataPreProcessor', 'FocalLoss', 'DiceLoss', 'JointLoss'],
    'DATASETS': ['CityscapesDataset', 'SyntheticCityscapesDataset'],
    'TRANSFORMS': ['LoadCityscapesImage', 'LoadCityscapesLabel', 'Albu', 'PackSegInputs',
                   'ResizeByRatio'],
    'METRICS': ['IoUMetric'],
    'HOOKS': ['PredictionWriterHook', 'ClassWeightHook', 'EncoderUnfreezeHook',
              'NonFiniteLossHook', 'RNGStateHook', 'SegVisualizationHook',
              'SyncBuffersEveryIterHook', 'TrainingCurvesHook'],
    'OPTIM_WRAPPERS': ['AmpOptimWrapper'],
    'OPTIM_WRAPPER_CONSTRUCTORS': ['EncoderDecoderOptimWrapperConstructor'],
}

ALL_REGISTRIES = ['RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'OPTIM_WRAPPERS',
                  'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIMIZERS', 'PARAM_SCHEDULERS',
                  'LOG_PROCESSORS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
                  'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS', 'EVALUATOR',
                  'VISUALIZERS', 'VISBACKENDS', 'INFERENCERS', 'FUNCTIONS']


@pytest.mark.parametrize('name', ALL_REGISTRIES)
def test_registry_is_child_of_mmengine_root(name):
    import mmengine.registry as root
    reg = getattr(registry, name)
    assert reg.scope == 'cityseg'
    assert reg.parent is getattr(root, name)
    assert reg._locations, f'{name} has no locations to import its modules from'


@pytest.mark.parametrize('name,modules', EXPECTED.items())
def test_registry_resolves_by_name_in_cityseg_scope(name, modules):
    reg = getattr(registry, name)
    with DefaultScope.overwrite_default_scope('cityseg'):
        for module in modules:
            cls = reg.get(module)
            assert cls is not None, f'{name} cannot resolve {module}'
            assert cls.__module__.startswith('cityseg.')


def test_root_registry_builds_cityseg_class_under_default_scope():
    """The Runner builds through mmengine's root registries; the scope routes them to ours."""
    from mmengine.registry import MODELS as ROOT_MODELS
    with DefaultScope.overwrite_default_scope('cityseg'):
        loss = ROOT_MODELS.build(dict(type='FocalLoss', gamma=0.0))
    assert type(loss).__module__ == 'cityseg.models.losses'


@pytest.mark.parametrize('registry_name,module', [('LOOPS', 'IterBasedTrainLoop'),
                                                   ('HOOKS', 'SyncBuffersHook')])
def test_mmengine_names_cityseg_does_not_shadow_resolve_to_mmengine(registry_name, module):
    """Only AmpOptimWrapper's name is taken over (for --amp); these stay mmengine's."""
    import mmengine.registry as root
    with DefaultScope.overwrite_default_scope('cityseg'):
        cls = getattr(registry, registry_name).get(module)
    assert cls is getattr(root, registry_name).get(module)
    assert cls.__module__.startswith('mmengine.')


def test_cpu_amp_wrapper_shadows_mmengine_name():
    from mmengine.optim import AmpOptimWrapper as MMEngineAmp
    with DefaultScope.overwrite_default_scope('cityseg'):
        cls = registry.OPTIM_WRAPPERS.get('AmpOptimWrapper')
    assert cls is not MMEngineAmp and cls.__module__.startswith('cityseg.')
