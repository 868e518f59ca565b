# The reference's half-resolution mode: 1024x512 inputs (images bilinear, training labels
# nearest), 4x less decoded-sample cache. Validation labels stay at 2048x1024: predictions are
# resized up, so mIoU is still the benchmark's.
_base_ = ['./cityscapes.py']
resize_ratio = 0.5

train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='ResizeByRatio', ratio=resize_ratio),
    {{_base_.train_augmentation}},  # the base's crop and colour augmentation, after resizing
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='ResizeByRatio', ratio=resize_ratio, resize_label=False),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
