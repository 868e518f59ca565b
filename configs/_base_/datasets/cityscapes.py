# Cityscapes fine annotations. The root comes from $CITYSCAPES_DATASET (cityscapesscripts'
# convention), default data/cityscapes; it must hold leftImg8bit/ and gtFine/.
dataset_type = 'CityscapesDataset'
data_root = '{{$CITYSCAPES_DATASET:data/cityscapes}}'
crop_size = (512, 512)  # (height, width)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCityscapesLabel'),
    dict(type='Albu', transforms=[
        dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
        dict(type='HorizontalFlip', p=0.5),
        dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
        dict(type='ColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.05, p=0.3),
    ]),
    dict(type='PackSegInputs'),
]
# Validation and test see the full image and the full-resolution label.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCityscapesLabel'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
# The labelled val split, as mmsegmentation does; for test-server files use
# --cfg-options test_dataloader.dataset.split=test with tools/test.py --out DIR.
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
