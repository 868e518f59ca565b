# Runs on a fresh machine with no download: a small U-Net trained from scratch on the synthetic
# Cityscapes-layout dataset, which is generated under data/synthetic_cityscapes on first use.
#   python tools/train.py configs/quickstart_synthetic.py
_base_ = [
    '_base_/models/unet_effb3.py',
    '_base_/datasets/cityscapes.py',
    '_base_/schedules/schedule_2k.py',
    '_base_/default_runtime.py',
]
data_root = 'data/synthetic_cityscapes'
synthetic = dict(num_train=24, num_val=8, num_test=4, size=(512, 256), seed=0)
crop_size = (128, 256)  # (height, width)

# Only arguments every architecture takes, so that --cfg-options model.arch=DeepLabV3Plus (or
# any smp architecture) alone switches the network; architecture-specific ones go in
# model.model_kwargs.
model = dict(
    encoder_name='resnet18',
    encoder_weights=None,
    dropout=0.1,
    channels_last=True,  # oneDNN's faster convolutions on CPU
)

train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='Albu', transforms=[
        dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
        dict(type='HorizontalFlip', p=0.5),
        dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    ]),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    # An infinite sampler: mmengine pauses 2 s at every epoch end of a finite one, which with
    # 24 images would be every 6 iterations.
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SyntheticCityscapesDataset', data_root=data_root, generate=synthetic,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(type='SyntheticCityscapesDataset', data_root=data_root, generate=synthetic))
test_dataloader = val_dataloader

# bf16 autocast (fast on CPUs with AVX512-BF16/AMX; on CUDA it needs bf16 support), a higher
# AdamW lr and 450 iterations (the former 600), validated once midway and at the end.
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16', optimizer=dict(lr=3e-3))
# schedule_2k's poly decay ends at max_iters: --cfg-options train_cfg.max_iters=N rescales it.
train_cfg = dict(max_iters=450, val_interval=225)
default_hooks = dict(checkpoint=dict(interval=225, max_keep_ckpts=2))
env_cfg = dict(cudnn_benchmark=False)
custom_hooks = [
    dict(type='ClassWeightHook', method='enet'),
    dict(type='SegVisualizationHook', num_images=4, tile_width=256),
    dict(type='TrainingCurvesHook'),
]
