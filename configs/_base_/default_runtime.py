# Runtime shared by every config: scope, hooks, logging, visualisation backends.
default_scope = 'cityseg'

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo when CUDA is absent
)

# LocalVisBackend writes <work_dir>/<timestamp>/vis_data/scalars.json, which TrainingCurvesHook
# plots. SegLocalVisualizer hands SegVisualizationHook's grids to every backend. For TensorBoard
# (scalars and grids) as well, set in a config:
#   visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
#                                   dict(type='TensorboardVisBackend')])
# No fixed `name`: mmengine's Visualizer is a per-name singleton, and the Runner names it after
# the experiment (config name + timestamp). With a fixed name, a second Runner in one process
# (train then test in a notebook) would get the first one's visualizer and write into its dir.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'

randomness = dict(seed=0)
load_from = None
resume = False
tta_cfg = dict(flip=True, scales=(0.75, 1.0, 1.25, 1.5))
# Linear lr scaling by total batch size (all processes), on with tools/train.py --auto-scale-lr.
auto_scale_lr = dict(enable=False, base_batch_size=8)
