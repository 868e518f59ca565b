# The reference recipe's schedule: 100 epochs, AdamW, linear warm-up then poly decay,
# validation every epoch; the encoder (pretrained) frozen for the first 5 % of epochs, then
# trained at 0.1 x lr; ENet class weights from the full-resolution train labels; visuals and
# curves after every validation.
_base_ = ['./default_hooks.py']

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-4),
    accumulative_counts=1,
    clip_grad=None,  # e.g. dict(max_norm=1.0)
    constructor='EncoderDecoderOptimWrapperConstructor',
    paramwise_cfg=dict(encoder_lr_mult=0.1),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    # No `end`: mmengine's Runner ends the decay at train_cfg.max_epochs, so
    # --cfg-options train_cfg.max_epochs=N alone gives a whole schedule (warm-up still 1 epoch).
    dict(type='PolyLR', power=0.9, eta_min=1e-7, by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(interval=50),  # validation metrics logged at their epoch
    checkpoint=dict(interval=1, by_epoch=True),
)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
custom_hooks = [
    dict(type='ClassWeightHook', method='enet'),
    dict(type='EncoderUnfreezeHook', unfreeze_at=0.05),
    dict(type='SegVisualizationHook', num_images=4),
    dict(type='TrainingCurvesHook'),
]
