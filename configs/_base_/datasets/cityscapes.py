# Cityscapes fine annotations. The root comes from $CITYSCAPES_DATASET (cityscapesscripts'
# convention), default data/cityscapes; it must hold leftImg8bit/ and gtFine/.
dataset_type = 'CityscapesDataset'
data_root = '{{$CITYSCAPES_DATASET:data/cityscapes}}'
crop_size = (512, 512)  # (height, width)
# A directory for the decoded-sample cache (RAM via the page cache, ~8 MiB per full-resolution
# sample: 23 GiB for train), e.g. --cfg-options train_dataloader.dataset.cache_dir=/dev/shm/cs
cache_dir = None

# RandomCrop pads images smaller than the crop (label fill 255). Optional extras, off in the
# reference recipe: RandomScale goes before the crop, e.g.
#   dict(type='RandomScale', scale_limit=(-0.5, 1.0), p=1.0)
# ShiftScaleRotate and blur after it, e.g.
#   dict(type='ShiftScaleRotate', shift_limit=0.05, scale_limit=0.1, rotate_limit=10, p=0.3)
#   dict(type='OneOf', transforms=[dict(type='GaussianBlur'), dict(type='MotionBlur')], p=0.2)
train_augmentation = dict(type='Albu', transforms=[
    dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
    dict(type='HorizontalFlip', p=0.5),
    dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    dict(type='ColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.05, p=0.3),
])
train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    train_augmentation,
    dict(type='PackSegInputs'),
]
# Validation and test see the full image and the full-resolution label (the reference's 512x512
# center crop is in cityscapes_center_crop_val.py, for comparison only).
test_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', cache_dir=cache_dir,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', cache_dir=cache_dir,
                 pipeline=test_pipeline))
# The labelled val split, as mmsegmentation does; for test-server files use
# tools/test.py CONFIG CHECKPOINT --split test --out DIR.
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
