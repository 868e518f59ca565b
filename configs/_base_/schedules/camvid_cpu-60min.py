# The CamVid configs' schedule: fp32 AdamW, a linear warm-up (100 iterations), then poly decay
# to max_iters; validation and checkpoints every 250 iterations (and at the last).
#
# ITERATION BUDGET: max_iters=2500 is about 60 minutes of fp32 training of the CamVid recipe's
# network (batch 8, 256x256, channels_last) on 2 idle CPU cores (AMD EPYC, AVX2): 1.39-1.51 s
# per iteration (docs/camvid.md). The recipe itself trains in bf16 and sets its own budget
# (configs/camvid/); the semi-supervised and day -> dusk configs set theirs (1000 iterations,
# ./camvid_semi-uda.py). --cfg-options train_cfg.max_iters=N alone rescales the schedule: the
# poly decay has no `end`, so mmengine's Runner ends it at max_iters (N must exceed the 100
# warm-up iterations; or move them: param_scheduler.0.end=W param_scheduler.1.begin=W).
_base_ = ['./default_hooks.py']

# fp32: the semi-supervised and day -> dusk comparisons were measured so, and fp32 runs alike
# on any CPU (bf16 autocast is 4-20x slower than fp32 on CPUs without AVX512-BF16,
# docs/training.md; the recipe opts in with AmpOptimWrapper). AdamW's weight decay: 1e-2.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=3e-3, betas=(0.9, 0.999), weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=0.9, eta_min=1e-6, by_epoch=False, begin=100),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2500, val_interval=250)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=25, log_metric_by_epoch=False),  # metrics at their iteration
    checkpoint=dict(interval=250, by_epoch=False, max_keep_ckpts=2),  # + best mIoU + last
)
log_processor = dict(type='LogProcessor', window_size=25, by_epoch=False)
