# ACDC (adverse conditions: fog, night, rain, snow), Cityscapes' 19 classes. The root comes from
# $ACDC_DATASET, default data/acdc; it must hold rgb_anon/ and gt/ as the download unpacks.
# Evaluates the labelled val split; one condition: --cfg-options
# test_dataloader.dataset.conditions=night (or a list, e.g. [fog,snow]).
dataset_type = 'ACDCDataset'
data_root = '{{$ACDC_DATASET:data/acdc}}'
conditions = ['fog', 'night', 'rain', 'snow']

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
    dataset=dict(type=dataset_type, data_root=data_root, split='val', conditions=conditions,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

# No iIoU: tools/test.py's instance_iou='auto' skips it, as there are no Cityscapes
# *_gtFine_instanceIds.png files beside these labels.
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
