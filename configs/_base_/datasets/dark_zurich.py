# Dark Zurich (night-time driving), Cityscapes' 19 classes. The root comes from
# $DARK_ZURICH_DATASET, default data/dark_zurich; it must hold rgb_anon/ and gt/ as
# Dark_Zurich_val_anon.zip unpacks. Only the val split (50 images) is labelled.
dataset_type = 'DarkZurichDataset'
data_root = '{{$DARK_ZURICH_DATASET:data/dark_zurich}}'

# The full 1920x1080 image and label; predictions are made at the label's resolution.
test_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader

# No iIoU: tools/test.py's instance_iou='auto' skips it, as there are no Cityscapes
# *_gtFine_instanceIds.png files beside these labels.
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
