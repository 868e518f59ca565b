# CamVid, 11 classes (sky, building, pole, road, pavement, tree, sign_symbol, fence, car,
# pedestrian, bicyclist; void ignored). The root comes from $CAMVID_DATASET, default data/camvid;
# it holds SegNet's 360x480 release (train/, trainannot/, val/, valannot/, test/, testannot/,
# as in ../shared/data/camvid, which has no test split) or the original 960x720 release
# (701_StillsRaw_full/, LabeledApproved_full/; halve it with ResizeByRatio to compare with
# figures on SegNet's). One sequence: --cfg-options train_dataloader.dataset.sequences=[0001TP].
# Models trained on it need model.num_classes=11.
dataset_type = 'CamVidDataset'
data_root = '{{$CAMVID_DATASET:data/camvid}}'
crop_size = (256, 256)  # (height, width)
# A directory for the decoded-sample cache (~0.6 MiB per 360x480 sample: 0.2 GiB for train),
# e.g. --cfg-options train_dataloader.dataset.cache_dir=/dev/shm/camvid
cache_dir = None

# Random scale 0.5-1.25 (RandomScale adds scale_limit to 1; around val's scale 1, so that a
# crop shows more of a frame than 0.5-2.0's mostly zoomed-in ones: docs/camvid.md, "Choosing
# the recipe"), then a crop (padded with void where the scaled image is smaller) and a flip.
# The recipe (../../camvid/) adds its brightness step inside one Albu of these same steps; the
# semi-supervised base (../semi/) applies `geometric` to labelled and unlabelled frames alike;
# the day -> dusk base (../uda/) keeps the 0.5-2.0 it was measured with.
geometric = dict(type='Albu', transforms=[
    dict(type='RandomScale', scale_limit=(-0.5, 0.25), p=1.0),
    dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
    dict(type='HorizontalFlip', p=0.5),
])
train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    geometric,
    dict(type='PackSegInputs'),
]
# Validation and test see the full 480x360 image and label.
test_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    # An infinite sampler, for iteration-based schedules: an epoch is only 46 batches, and
    # mmengine pauses at the end of every epoch of a finite one.
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', cache_dir=cache_dir,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
# The val split; the test split of another root: --cfg-options
# test_dataloader.dataset.data_root=DIR test_dataloader.dataset.split=test
test_dataloader = val_dataloader

# No iIoU (it needs Cityscapes' instance files); the classes come from the dataset.
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
