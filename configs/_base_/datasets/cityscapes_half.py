# The reference's half-resolution mode: 1024x512 inputs (images bilinear, training labels
# nearest), 4x less decoded-sample cache. Validation labels stay at 2048x1024: predictions are
# resized up, so mIoU is still the benchmark's.
_base_ = ['./cityscapes.py']
resize_ratio = 0.5
crop_size = (512, 512)  # (height, width)

train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='ResizeByRatio', ratio=resize_ratio),
    dict(type='Albu', transforms=[
        dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
        dict(type='HorizontalFlip', p=0.5),
        dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
        dict(type='ColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.05, p=0.3),
    ]),
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
