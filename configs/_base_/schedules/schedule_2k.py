# Iteration-based: 2k iterations, validation every 500. `--cfg-options train_cfg.max_iters=N`
# alone rescales it: the poly decay has no `end`, so mmengine's Runner ends it at max_iters (the
# last iteration trains at eta_min), and the last iteration always validates and checkpoints
# (save_last), also when N is not a multiple of the intervals.
_base_ = ['./default_hooks.py']

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-6, by_epoch=False, begin=0),  # end: max_iters
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=20, log_metric_by_epoch=False),  # metrics at their iteration
    checkpoint=dict(interval=500, by_epoch=False),
)
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
