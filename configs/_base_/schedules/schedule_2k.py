# Iteration-based: 2k iterations, validation every 500. Shorten with
# --cfg-options train_cfg.max_iters=N train_cfg.val_interval=M.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-6, by_epoch=False, begin=0, end=2000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=500, by_epoch=False, save_best='mIoU',
                    rule='greater', max_keep_ckpts=3, save_last=True,
                    backend_args=dict(backend='atomic_local')),  # temp file + rename
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # cityseg's: random states in checkpoints (exact --resume); stop at a NaN/inf loss before
    # it is checkpointed. (mmengine refuses None for these names: to drop one, pop its key.)
    rng_state=dict(type='RNGStateHook'),
    non_finite_loss=dict(type='NonFiniteLossHook'),
    # BatchNorm statistics averaged over ranks after each iteration, before checkpointing, so
    # the saved, validated and tested weights agree under distributed training.
    sync_buffers=dict(type='SyncBuffersHook'),
)
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
