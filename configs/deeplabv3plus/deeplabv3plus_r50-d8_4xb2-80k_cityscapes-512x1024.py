# DeepLabV3+ ResNet-50, output stride 8, training recipe in the published style:
# mmsegmentation's configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py,
# whose Cityscapes val mIoU is published as 80.09 (single scale; configs/deeplabv3plus/
# README.md). SGD lr 0.01 (momentum 0.9, weight decay 5e-4),
# poly decay (power 0.9) to 1e-4 over 80k iterations, batch 8 (4 GPUs x 2 there: here
# batch_size=8 on one GPU, or 2 per process with tools/dist_train.sh CONFIG 4), 512x1024 crops
# of images rescaled by 0.5-2.0, flips and photometric distortion, cross-entropy, Dropout2d(0.1)
# before the classifier, whole-image (1024x2048) evaluation.
# smp's DeepLabV3+ with encoder_output_stride=8, atrous rates 12/24/36 and 512 decoder channels
# as mmsegmentation's head. Differences cityseg cannot avoid:
# - smp's ResNet-50 is torchvision's (7x7 stem, ImageNet weights from torchvision/timm);
#   mmsegmentation's R-50-D8 is ResNetV1c (three 3x3 stem convolutions, open-mmlab weights);
# - no auxiliary FCN head on stage 3 (mmsegmentation adds its loss with weight 0.4);
# - smp's ASPP has a dropout of its own (0.5 by default, 0 here: mmsegmentation's has none);
# - no cat_max_ratio=0.75 in the random crop; PhotoMetricDistortion approximated as in
#   configs/segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py;
# - BatchNorm per process on several GPUs (mmsegmentation: SyncBN).
_base_ = [
    '../_base_/models/deeplabv3plus_effb3.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/schedules/default_hooks.py',
    '../_base_/default_runtime.py',
]
crop_size = (512, 1024)  # (height, width)
max_iters = 80000

model = dict(
    encoder_name='resnet50',
    encoder_weights='imagenet',
    dropout=0.1,
    model_kwargs=dict(encoder_output_stride=8, decoder_channels=512,
                      decoder_atrous_rates=(12, 24, 36), decoder_aspp_dropout=0.0),
    loss=dict(_delete_=True, type='JointLoss', losses=[
        dict(type='FocalLoss', gamma=0.0, ignore_index=255, loss_name='loss_ce')]),
    test_cfg=dict(mode='whole'),
)
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

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-4, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50, log_metric_by_epoch=False),
                     checkpoint=dict(interval=8000, by_epoch=False))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
custom_hooks = [dict(type='TrainingCurvesHook')]
