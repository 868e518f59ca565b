"""Every registry resolves cityseg's modules by name under default_scope='cityseg'."""
import pytest
from mmengine.registry import DefaultScope

from cityseg import registry

EXPECTED = {
    'MODELS': ['SMPSegmentor', 'SegDataPreProcessor', 'FocalLoss', 'DiceLoss', 'JointLoss',
               'SemiSegmentor', 'FixMatch', 'UniMatch', 'DACS', 'MIC', 'CutMix', 'ClassMix'],
    'DATASETS': ['CityscapesDataset', 'SyntheticCityscapesDataset', 'ImageFolderDataset',
                 'MultiSourceDataset', 'SubsetDataset', 'SemiSplitDataset', 'GTA5Dataset',
                 'SynthiaDataset'],
    'DATA_SAMPLERS': ['MultiSourceSampler'],
    'TRANSFORMS': ['LoadCityscapesImage', 'LoadCityscapesLabel', 'Albu', 'PackSegInputs',
                   'ResizeByRatio', 'MultiBranch'],
    'METRICS': ['IoUMetric'],
    'HOOKS': ['PredictionWriterHook', 'ClassWeightHook', 'EncoderUnfreezeHook', 'MeanTeacherHook',
              'MetricOutputDirHook', 'NonFiniteLossHook', 'RNGStateHook', 'SegVisualizationHook',
              'SyncBuffersEveryIterHook', 'TrainingCurvesHook'],
    'OPTIM_WRAPPERS': ['AmpOptimWrapper'],
    'OPTIM_WRAPPER_CONSTRUCTORS': ['EncoderDecoderOptimWrapperConstructor'],
    'VISUALIZERS': ['SegLocalVisualizer'],
}

# Registries that hold no cityseg class: names resolve in mmengine's root (one mmengine name
# each, to check that they do under cityseg's scope).
FALL_THROUGH = {
    'LOOPS': 'IterBasedTrainLoop', 'RUNNERS': 'Runner', 'RUNNER_CONSTRUCTORS': None,
    'OPTIMIZERS': 'AdamW',
    'PARAM_SCHEDULERS': 'PolyLR', 'LOG_PROCESSORS': 'LogProcessor',
    'MODEL_WRAPPERS': 'MMDistributedDataParallel',
    'WEIGHT_INITIALIZERS': 'Kaiming', 'TASK_UTILS': None, 'EVALUATOR': 'Evaluator',
    'VISBACKENDS': 'TensorboardVisBackend', 'INFERENCERS': None, 'FUNCTIONS': 'default_collate',
}

# cityseg's own registries (no mmengine root): what each resolves.
OWN = {'ANOMALY_SCORES': ['msp', 'maxlogit', 'entropy', 'energy', 'sml']}


def test_every_registry_is_classified():
    """A new registry in cityseg/registry.py must be listed here as holding cityseg classes,
    as falling through to mmengine, or as cityseg's own."""
    from mmengine.registry import Registry
    defined = {name for name, value in vars(registry).items()
               if isinstance(value, Registry) and value.scope == 'cityseg'}
    assert defined == set(EXPECTED) | set(FALL_THROUGH) | set(OWN)
    assert not set(EXPECTED) & set(FALL_THROUGH)


@pytest.mark.parametrize('name,functions', OWN.items())
def test_own_registry_has_no_parent_and_resolves_its_functions(name, functions):
    reg = getattr(registry, name)
    assert reg.parent is None and reg._locations
    for function in functions:
        assert reg.get(function).__module__.startswith('cityseg.'), function
    assert reg.get('AdamW') is None  # nothing falls through to an mmengine root


@pytest.mark.parametrize('name', sorted(set(EXPECTED) | set(FALL_THROUGH)))
def test_registry_is_child_of_mmengine_root(name):
    import mmengine.registry as root
    reg = getattr(registry, name)
    assert reg.scope == 'cityseg'
    assert reg.parent is getattr(root, name)
    if name in EXPECTED:
        assert reg._locations, f'{name} has no locations to import its modules from'


@pytest.mark.parametrize('name,mmengine_name', FALL_THROUGH.items())
def test_fall_through_registry_holds_nothing_and_resolves_mmengine_names(name, mmengine_name):
    """With every cityseg module imported (conftest), a fall-through registry is empty and the
    root finds its 'cityseg' child without the 'Failed to search registry' warning."""
    import mmengine.registry as root
    reg = getattr(registry, name)
    assert not reg._locations and not reg.module_dict, f'{name} holds {list(reg.module_dict)}'
    with DefaultScope.overwrite_default_scope('cityseg'):
        with getattr(root, name).switch_scope_and_registry(None) as found:
            assert found is reg
        if mmengine_name is not None:
            cls = reg.get(mmengine_name)
            assert cls is not None, f'{name} cannot resolve {mmengine_name}'
            assert cls is getattr(root, name).module_dict[mmengine_name]


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
