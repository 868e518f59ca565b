# SegFormer-B0 training recipe in the published style: mmsegmentation's
# configs/segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py, whose Cityscapes val
# mIoU is published as 76.54 (single scale, sliding window; configs/segformer/README.md).
# AdamW lr 6e-5 (betas 0.9/0.999, weight decay 0.01; 10x lr on the decoder and head, no decay
# on norms), 1500 iterations of linear warm-up then poly decay (power 1) to 0 at 160k
# iterations, batch 8 (8 GPUs x 1 there: here batch_size=8 on one GPU, or 1 per process with
# tools/dist_train.sh CONFIG 8), 1024x1024 crops of images rescaled by 0.5-2.0, flips and
# photometric distortion, evaluation by 1024x1024 windows at stride 768.
# Differences cityseg cannot avoid:
# - smp's MiT and all-MLP decoder, with smp's ImageNet-1k MiT weights (mmsegmentation loads
#   its own conversion of NVlabs' mit_b0.pth);
# - no cat_max_ratio=0.75 in the random crop (albumentations has no such crop);
# - PhotoMetricDistortion approximated with albumentations (brightness +-32, contrast
#   0.5-1.5, saturation 0.5-1.5, hue +-18/180, each with p=0.5, in a fixed order);
# - BatchNorm in the decoder is per process (mmsegmentation: SyncBN) when run on 8 processes;
# - mmsegmentation's 'pos_block' no-decay key has no counterpart: smp's MiT has no pos_block.
_base_ = [
    '../_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/schedules/default_hooks.py',
    '../_base_/default_runtime.py',
]
crop_size = (1024, 1024)  # (height, width)
max_iters = 160000

train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='Albu', transforms=[
        dict(type='RandomScale', scale_limit=(-0.5, 1.0), p=1.0),  # x 0.5-2.0 of 1024x2048
        dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
        dict(type='HorizontalFlip', p=0.5),
        dict(type='RandomBrightnessContrast', brightness_limit=32 / 255, contrast_limit=0,
             brightness_by_max=True, p=0.5),
        dict(type='RandomBrightnessContrast', brightness_limit=0, contrast_limit=0.5, p=0.5),
        dict(type='ColorJitter', brightness=0, contrast=0, saturation=0.5, hue=0, p=0.5),
        dict(type='ColorJitter', brightness=0, contrast=0, saturation=0, hue=18 / 180, p=0.5),
    ]),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=8, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    # mmengine's default constructor: the first (longest) matching key applies to a parameter
    paramwise_cfg=dict(custom_keys={
        'net.segmentation_head': dict(lr_mult=10.0),
        'net.decoder': dict(lr_mult=10.0),
        'norm': dict(decay_mult=0.0),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=16000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50, log_metric_by_epoch=False),
                     checkpoint=dict(interval=16000, by_epoch=False))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
custom_hooks = [dict(type='TrainingCurvesHook')]
