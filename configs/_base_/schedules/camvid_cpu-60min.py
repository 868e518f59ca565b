# The CamVid configs' schedule: fp32 AdamW, a linear warm-up (100 iterations), then poly decay
# to max_iters; validation and checkpoints every 250 iterations (and at the last).
#
# ITERATION BUDGET: max_iters=2500 fills about 60 minutes of training of
# configs/camvid/unet-r18_camvid-360x480_cpu-60min.py on 2 idle CPU cores (AMD EPYC, AVX2, fp32,
# channels_last): measured 1.39 s per iteration at batch 8, 256x256 (docs/camvid.md), plus ten
# 15-second validations. --cfg-options train_cfg.max_iters=N alone rescales the schedule: the
# poly decay has no `end`, so mmengine's Runner ends it at max_iters (N must exceed the 100
# warm-up iterations; or move them: param_scheduler.0.end=W param_scheduler.1.begin=W). The
# semi-supervised and day -> dusk configs set their own budgets (their iterations cost more).
_base_ = ['./default_hooks.py']

# fp32: on this machine's CPUs (AVX2, no AVX512-BF16) bf16 autocast is 4-20x slower than fp32
# (docs/training.md), so no AmpOptimWrapper. Decoupled weight decay (AdamW) of 1e-2.
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
