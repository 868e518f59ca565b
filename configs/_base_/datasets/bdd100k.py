# BDD100K semantic segmentation (10k images), Cityscapes' 19 classes. The root comes from
# $BDD100K_DATASET, default data/bdd100k; it must hold images/10k/ and labels/sem_seg/masks/
# as bdd100k_images_10k.zip and bdd100k_sem_seg_labels_trainval.zip unpack.
dataset_type = 'BDD100KDataset'
data_root = '{{$BDD100K_DATASET:data/bdd100k}}'

# The full 1280x720 image and label; predictions are made at the label's resolution.
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
