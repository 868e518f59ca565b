# Validation on the central 512x512 crop, as the reference project did. Not the default: the
# crop sees a fifth of each image, so its mIoU is not comparable with the benchmark's.
_base_ = ['./cityscapes.py']
val_crop_size = (512, 512)  # (height, width)

test_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='Albu', transforms=[
        dict(type='CenterCrop', height=val_crop_size[0], width=val_crop_size[1],
             pad_if_needed=True),
    ]),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
