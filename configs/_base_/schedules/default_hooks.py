# The default hooks both schedules share; each schedule sets its logging and checkpoint
# intervals on top.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', save_best='mIoU', rule='greater', max_keep_ckpts=3,
                    save_last=True,
                    backend_args=dict(backend='atomic_local')),  # temp file + rename
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # cityseg's: random states in checkpoints (exact --resume); stop at a NaN/inf loss before
    # it is checkpointed. (mmengine refuses None for these names: to drop one, pop its key.)
    rng_state=dict(type='RNGStateHook'),
    non_finite_loss=dict(type='NonFiniteLossHook'),
    # a validation cut short by Ctrl-C or a kill runs again first on --resume
    resume_validation=dict(type='ResumeValidationHook'),
    # BatchNorm statistics averaged over ranks after each iteration, before checkpointing, so
    # the saved, validated and tested weights agree under distributed training.
    sync_buffers=dict(type='SyncBuffersEveryIterHook'),
)
