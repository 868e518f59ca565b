# The reference network (DeepLabV3+ / EfficientNet-B3, random init) trained for 10 minutes on CPU
# on synthetic full-size (1024x2048) street scenes, generated under
# data/synthetic_cityscapes_1024 on first use. Its purpose: trained weights with the reference
# architecture, for comparisons that random weights make meaningless (evaluation backends and
# int8 accuracy in tools/analysis_tools/benchmark_onnx.py --checkpoint), with no download.
#   python tools/train.py configs/deeplabv3plus_effb3_synthetic.py
# Everything else (schedule policy, AMP bf16, hooks) is the quickstart's.
_base_ = ['./quickstart_synthetic.py']
data_root = 'data/synthetic_cityscapes_1024'
synthetic = dict(num_train=24, num_val=6, num_test=0, size=(2048, 1024), seed=0)
crop_size = (512, 512)  # (height, width), the reference recipe's

model = dict(arch='DeepLabV3Plus', encoder_name='efficientnet-b3', dropout=0.2,
             channels_last=False)  # bf16 alone was as fast as bf16 + channels_last here

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
    batch_size=2,
    dataset=dict(data_root=data_root, generate=synthetic, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, dataset=dict(data_root=data_root, generate=synthetic))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=2e-3))
train_cfg = dict(max_iters=400, val_interval=400)
default_hooks = dict(checkpoint=dict(interval=400, max_keep_ckpts=1))
custom_hooks = [
    dict(type='ClassWeightHook', method='enet'),
    dict(type='SegVisualizationHook', num_images=2, tile_width=512),
    dict(type='TrainingCurvesHook'),
]
