# SYNTHIA-RAND-CITYSCAPES (rendered frames, 16-bit class ids), the source domain of
# SYNTHIA -> Cityscapes adaptation. The root comes from $SYNTHIA_DATASET, default data/synthia;
# it must hold RGB/ and GT/LABELS/ as the download unpacks. synthia_protocol: 16 or 13 classes
# (the mIoU16 / mIoU13 of the literature; labels keep Cityscapes' 19 train ids).
synthia_type = 'SynthiaDataset'
synthia_root = '{{$SYNTHIA_DATASET:data/synthia}}'
synthia_protocol = 16
synthia_crop_size = (512, 512)  # (height, width); DAFormer's (1280, 760) resize keeps 1280x760
synthia_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='Albu', transforms=[
        dict(type='RandomCrop', height=synthia_crop_size[0], width=synthia_crop_size[1],
             pad_if_needed=True),
        dict(type='HorizontalFlip', p=0.5),
    ]),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=synthia_type, data_root=synthia_root, protocol=synthia_protocol,
                 pipeline=synthia_pipeline))
