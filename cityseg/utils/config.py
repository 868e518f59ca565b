"""The one way tools read a config: cityseg's modules registered, overrides merged."""
from __future__ import annotations

import argparse
import difflib
import inspect
import os
import os.path as osp
from collections.abc import Callable, Sequence

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from .config_file import read_config_file
from .errors import CitysegError, CitysegKeyError, CitysegTypeError, ConfigFileError
from .mmengine_compat import ENV_CFG_KEYS
from .segmentor_cfg import segmentor_cfg
from .setup_env import register_all_modules


def load_config(path: str, cfg_options: dict | None = None,
                required: Sequence[str] = ('model',)) -> Config:
    """The config file ``path`` (read by :func:`~cityseg.utils.config_file.read_config_file`:
    a file that is not a config, or an ``_base_`` cycle, is named) with ``--cfg-options``
    deep-merged (list items by index), then :func:`prepare_config`.

    Refused first, before a tool creates anything: a config without one of the ``required``
    top-level keys (what the tool reads; every tool that builds a model needs ``model``), and
    a top-level override key that is neither in the config nor a Runner argument
    (:func:`check_override_keys`)."""
    register_all_modules()
    cfg = read_config_file(path)
    missing = [key for key in required if key not in cfg]
    if missing:
        raise ConfigFileError(
            f'{path} sets no {" and no ".join(missing)}, which this tool needs; is it a cityseg '
            f'config? Its top-level keys: {sorted(cfg.keys()) or "none"}')
    if cfg_options:
        check_override_keys(cfg, cfg_options, path)
        cfg.merge_from_dict(cfg_options)
    prepare_config(cfg, path)
    return cfg


def prepare_config(cfg: Config, path: str) -> None:
    """Make ``cfg`` ready to build, however it was made (idempotent): cityseg's modules and
    safe checkpoint loading registered (:func:`~cityseg.utils.register_all_modules`),
    :func:`drop_persistent_workers_without_workers`, :func:`check_num_classes` and
    :func:`check_hook_arguments` / :func:`check_loop_arguments` /
    :func:`check_component_arguments`, :func:`fill_sampler_batch_size` and the model class's
    own :func:`check_model_config`. ``path`` names the config in errors."""
    register_all_modules()
    drop_persistent_workers_without_workers(cfg)
    fill_sampler_batch_size(cfg, path)
    check_num_classes(cfg)
    check_hook_arguments(cfg, path)
    check_loop_arguments(cfg, path)
    check_env_cfg(cfg, path)
    check_component_arguments(cfg, path)
    check_model_config(cfg, path)


def check_override_keys(cfg: Config, cfg_options: dict, path: str) -> None:
    """Refuse ``--cfg-options`` whose top-level key is neither a key of ``cfg`` nor an argument
    of mmengine's ``Runner``: a typo (``train_cfgg.max_iters=2``) would otherwise be merged in
    as a new key nothing reads, and the run would use the value it was meant to change. The
    error names the closest existing key. ``compile`` and ``allow_existing_work_dir`` count as
    known: cityseg.engine.runtime reads them (build_runner compiles the network, and
    check_training_run lets a new run into a work dir holding checkpoints)."""
    known = set(cfg.keys()) | set(inspect.signature(Runner.__init__).parameters) - {'self'}
    known |= {'compile', 'allow_existing_work_dir'}  # read by cityseg.engine.runtime
    for key in cfg_options:
        top = key.split('.', 1)[0]
        if top not in known:
            close = difflib.get_close_matches(top, sorted(known), n=1)
            hint = f'; did you mean {close[0] + key[len(top):]!r}?' if close else ''
            raise CitysegKeyError(
                f'--cfg-options {key}: {path} has no key {top!r}, and it is not a '
                f'Runner argument{hint}')


def check_hook_arguments(cfg: Config, path: str) -> None:
    """Check the arguments of every hook in ``default_hooks``/``custom_hooks`` against its
    class's ``__init__``, so that a misspelled one (``default_hooks.checkpoint.intervall``)
    stops the run before it starts, not at the first checkpoint, hours in. ``CheckpointHook``
    passes its ``**kwargs`` to ``Runner.save_checkpoint``, whose arguments count as its own;
    other hooks whose ``__init__`` takes ``**kwargs`` are not checked."""
    from mmengine.hooks import CheckpointHook

    from cityseg.registry import HOOKS
    hooks = [(f'default_hooks.{name}', hook) for name, hook in
             (cfg.get('default_hooks') or {}).items()]
    hooks += [(f'custom_hooks.{i}', hook) for i, hook in enumerate(cfg.get('custom_hooks') or [])]
    for where, hook in hooks:
        if not isinstance(hook, dict) or not isinstance(hook.get('type'), str):
            continue
        hook_cls = _registered(HOOKS, hook, where, path, 'hook')
        params = dict(inspect.signature(hook_cls.__init__).parameters)
        if issubclass(hook_cls, CheckpointHook):
            params.pop('kwargs', None)
            params.update(inspect.signature(Runner.save_checkpoint).parameters)
        _refuse_unknown_arguments(hook, params, {'self'}, {'type', 'priority'}, where, path,
                                  hook_cls.__name__)


def check_env_cfg(cfg: Config, path: str) -> None:
    """Refuse an ``env_cfg`` key the Runner does not read (``env_cfg.cudnn_benchmar=True``
    would be accepted and ignored), naming the closest one."""
    env_cfg = cfg.get('env_cfg')
    if isinstance(env_cfg, dict):
        keys = {key: inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY)
                for key in ENV_CFG_KEYS}
        _refuse_unknown_arguments(env_cfg, keys, set(), set(), 'env_cfg', path,
                                  "mmengine's Runner.setup_env")


def check_loop_arguments(cfg: Config, path: str) -> None:
    """Check ``train_cfg``/``val_cfg``/``test_cfg`` against their loop class's ``__init__``
    (less the ``runner`` and ``dataloader`` the Runner passes), so that a misspelled one
    (``train_cfg.val_intervall``) stops the run when the config loads, not when the loop is
    built after the model and data."""
    from mmengine.registry import LOOPS
    for where in ('train_cfg', 'val_cfg', 'test_cfg'):
        loop = cfg.get(where)
        if not isinstance(loop, dict) or not isinstance(loop.get('type'), str):
            continue
        loop_cls = _registered(LOOPS, loop, where, path, 'loop')
        _refuse_unknown_arguments(loop, dict(inspect.signature(loop_cls.__init__).parameters),
                                  {'self', 'runner', 'dataloader'}, {'type'}, where, path,
                                  loop_cls.__name__)


def check_component_arguments(cfg: Config, path: str) -> None:
    """Check the model (and its ``data_preprocessor``), each dataloader's dataset, and
    ``optim_wrapper`` with its ``optimizer`` against their classes' ``__init__``: a typo
    (``model.encoder_nme``) otherwise surfaces as ``TypeError: __init__() got an unexpected
    keyword argument`` from deep in the Runner's build, with no config key named, and for the
    optimizer and the training data only after the model is built.

    A class whose ``__init__`` takes ``**kwargs`` is checked against its own arguments and
    those of its bases in turn (where the ``**kwargs`` go, as ``SegFolderDataset``'s go to
    ``BaseDataset``); one that takes ``**kwargs`` all the way up is not checked.
    """
    from cityseg.registry import DATASETS, MODELS, OPTIM_WRAPPERS, OPTIMIZERS
    model = cfg.get('model') or {}
    student = model.get('student') or {}  # a self-training model's (SemiSegmentor)
    components = [(where, args, MODELS, {'type'}) for where, args in (
        ('model', model), ('model.data_preprocessor', model.get('data_preprocessor')),
        ('model.student', student),
        ('model.student.data_preprocessor', student.get('data_preprocessor')))]
    components += [(f'{loader}.dataset', (cfg.get(loader) or {}).get('dataset'), DATASETS,
                    {'type'}) for loader in ('train_dataloader', 'val_dataloader',
                                             'test_dataloader')]
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and 'type' not in wrapper:
        wrapper = {**wrapper, 'type': 'OptimWrapper'}  # mmengine's default
    # the optim-wrapper constructor takes 'constructor' and 'paramwise_cfg' off the dict
    components += [('optim_wrapper', wrapper, OPTIM_WRAPPERS,
                    {'type', 'constructor', 'paramwise_cfg'}),
                   ('optim_wrapper.optimizer', (wrapper or {}).get('optimizer'), OPTIMIZERS,
                    {'type'})]
    for where, args, registry, extra in components:
        if not isinstance(args, dict) or not isinstance(args.get('type'), str):
            continue
        cls = _registered(registry, args, where, path, registry.name)
        _refuse_unknown_arguments(args, _init_parameters(cls), {'self', 'params'}, extra,
                                  where, path, cls.__name__)


def check_model_config(cfg: Config, path: str) -> None:
    """The model class's own check of the config around it: its classmethod
    ``check_config(cfg, path)``, where it has one (a self-training model refuses a config
    without the hook that moves its teacher, :class:`~cityseg.models.SemiSegmentor`)."""
    from cityseg.registry import MODELS
    model = cfg.get('model') or {}
    cls = MODELS.get(model['type']) if isinstance(model.get('type'), str) else None
    if hasattr(cls, 'check_config'):
        cls.check_config(cfg, path)


def fill_sampler_batch_size(cfg: Config, path: str) -> None:
    """Give a ``*_dataloader.sampler`` that takes ``batch_size`` (``MultiSourceSampler``,
    which composes each batch) the dataloader's ``batch_size`` when it has none, so a config
    writes the batch size once and ``--cfg-options train_dataloader.batch_size=N`` changes
    both; two different values are a ValueError naming both keys."""
    from cityseg.registry import DATA_SAMPLERS
    for key, loader in cfg.items():
        sampler = loader.get('sampler') if key.endswith('_dataloader') and isinstance(
            loader, dict) else None
        if not isinstance(sampler, dict) or not isinstance(sampler.get('type'), str):
            continue
        cls = DATA_SAMPLERS.get(sampler['type'])
        if cls is None or 'batch_size' not in _init_parameters(cls) or 'batch_size' not in loader:
            continue
        if sampler.get('batch_size') is None:
            sampler['batch_size'] = loader['batch_size']
        elif sampler['batch_size'] != loader['batch_size']:
            raise ValueError(f'{key}.sampler.batch_size={sampler["batch_size"]} but '
                             f'{key}.batch_size={loader["batch_size"]} in {path} (or '
                             f'--cfg-options): set {key}.batch_size alone, the sampler takes it')


def _init_parameters(cls: type | Callable) -> dict:
    """The arguments ``cls(...)`` takes: its ``__init__``'s and, while an ``__init__`` takes
    ``**kwargs``, those of the next class in the MRO that defines one. The ``**kwargs`` entry
    is kept only when every ``__init__`` up the chain takes them (anything is accepted). A
    registered builder function (``SubsetDataset``) takes its own signature's arguments."""
    if not isinstance(cls, type):
        return dict(inspect.signature(cls).parameters)
    params: dict = {}
    var_keyword = None
    for klass in cls.__mro__:
        if klass is object or '__init__' not in vars(klass):
            continue
        own = inspect.signature(klass.__init__).parameters.values()
        var_keyword = next((p for p in own if p.kind is inspect.Parameter.VAR_KEYWORD), None)
        params.update({p.name: p for p in own if p.kind not in (
            inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)})
        if var_keyword is None:
            return params
    return params if var_keyword is None else {**params, var_keyword.name: var_keyword}


def _registered(registry, cfg: dict, where: str, path: str, kind: str) -> type:
    """The class ``cfg['type']`` names in ``registry``, or a KeyError naming ``where``."""
    cls = registry.get(cfg['type'])
    if cls is None:
        raise CitysegKeyError(f'{where}.type={cfg["type"]!r} in {path} is not a registered {kind}')
    return cls


def _refuse_unknown_arguments(args: dict, params: dict, passed: set[str], extra: set[str],
                              where: str, path: str, name: str) -> None:
    """TypeError naming ``<where>.<arg>``, the class and the closest allowed argument, for an
    argument that is not in ``params`` (less those the framework ``passed`` itself) or
    ``extra``; a class whose ``__init__`` takes ``**kwargs`` accepts anything."""
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = set(params) - passed | extra
    for arg in args:
        if arg not in allowed:
            close = difflib.get_close_matches(arg, sorted(allowed), n=1)
            hint = f'; did you mean {where}.{close[0]}?' if close else ''
            raise CitysegTypeError(
                f'{where}.{arg} in {path} (or --cfg-options): '
                f'{name} takes no argument {arg!r}{hint}')


def check_num_classes(cfg: Config) -> None:
    """Refuse a model whose ``num_classes`` (``model.num_classes``, or a self-training model's
    ``model.student.num_classes``: :func:`~cityseg.utils.segmentor_cfg.segmentor_cfg`) differs
    from the classes a dataloader's dataset states (``classes=`` or ``metainfo.classes``),
    naming both: such a model would train and be scored against the wrong number of classes."""
    key, section = segmentor_cfg(cfg.get('model') or {})
    num_classes = section.get('num_classes')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        classes = dataset.get('classes', (dataset.get('metainfo') or {}).get('classes'))
        if num_classes is not None and classes is not None and len(classes) != num_classes:
            raise ValueError(f'{key}.num_classes={num_classes} but {loader}.dataset has '
                             f'{len(classes)} classes {tuple(classes)}: set '
                             f'{key}.num_classes={len(classes)}, or the same classes everywhere')


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """Set ``persistent_workers=False`` in every ``*_dataloader`` with ``num_workers=0``.

    The dataset configs keep their workers alive between epochs, and PyTorch's ``DataLoader``
    refuses ``persistent_workers=True`` without workers (mmengine passes both through), so
    ``--cfg-options train_dataloader.num_workers=0``, the usual first debugging step, would
    otherwise fail before training starts. With no workers there is nothing to keep alive.
    """
    for key, loader in cfg.items():
        if (key.endswith('_dataloader') and isinstance(loader, dict)
                and loader.get('num_workers') == 0 and loader.get('persistent_workers')):
            loader['persistent_workers'] = False


def config_section(parent: dict, key: str) -> dict:
    """``parent[key]``, an empty dict put there first when it is missing or None, as stored:
    change it in place. Not ``parent.setdefault(key, {})``: on an mmengine ``ConfigDict`` that
    stores a converted copy and returns the dict it was given, so a change made through the
    result is lost (a config without ``model.test_cfg`` silently lost ``--tta``)."""
    if parent.get(key) is None:
        parent[key] = {}
    return parent[key]


def apply_tta(cfg: Config) -> None:
    """Merge the config's ``tta_cfg`` (flips and scales; default: a horizontal flip) into
    ``model.test_cfg``, as ``--tta`` asks."""
    config_section(cfg.model, 'test_cfg').update(cfg.get('tta_cfg', dict(flip=True)))


def resolve_work_dir(cfg: Config, config_path: str, work_dir: str | None = None) -> str:
    """``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config name>``."""
    return work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config_path))[0])


def resolve_checkpoint(checkpoint: str | None, cfg: Config, config_path: str,
                       onnx: str | None = None) -> str | None:
    """A tool's CHECKPOINT argument, ``'-'`` or none meaning no checkpoint: the weights then
    come from ``model.pretrained`` or an ``--onnx`` file, and with neither the tool stops
    naming both ways."""
    if checkpoint == '-':
        checkpoint = None
    key, section = segmentor_cfg(cfg.model)
    if checkpoint is None and not onnx and not section.get('pretrained'):
        raise CitysegError(f'no CHECKPOINT given and {config_path} sets no {key}.pretrained: '
                           f'pass a checkpoint, or --cfg-options {key}.pretrained=FOLDER_OR_HUB_ID')
    return checkpoint


def parse_evaluation_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the options every evaluating tool shares (tools/test.py, robustness.py): the network
    backend, ``--cfg-options`` and the launcher; parse, check and set ``LOCAL_RANK``."""
    parser.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch',
                        help='onnxruntime: the network exported (dynamic shapes) into the work '
                        'dir and run by onnxruntime; slide, TTA and resizing stay the same')
    parser.add_argument('--onnx', help='with --backend onnxruntime: this exported model (e.g. '
                        "int8) instead of the checkpoint, which is then not read: pass '-'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed evaluation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if args.onnx and args.backend != 'onnxruntime':
        parser.error('--onnx FILE is run with --backend onnxruntime')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args
