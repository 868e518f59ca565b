# GTA5 (game frames, Cityscapes label ids), the source domain of GTA5 -> Cityscapes adaptation.
# The root comes from $GTA5_DATASET, default data/gta5; it must hold images/ and labels/ as the
# download unpacks (labels/*_labelTrainIds.png from DAFormer's converter are used when present).
# A source only: train_dataloader; evaluate on the target's val set.
gta5_type = 'GTA5Dataset'
gta5_root = '{{$GTA5_DATASET:data/gta5}}'
gta5_crop_size = (512, 512)  # (height, width)
gta5_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    # DAFormer: Resize(img_scale=(1280, 720), keep_ratio) = 1914x1052 x 0.669
    dict(type='ResizeByRatio', ratio=0.669),
    dict(type='Albu', transforms=[
        dict(type='RandomCrop', height=gta5_crop_size[0], width=gta5_crop_size[1],
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
    dataset=dict(type=gta5_type, data_root=gta5_root, pipeline=gta5_pipeline))
