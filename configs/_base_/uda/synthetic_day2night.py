# Domain adaptation on synthetic street scenes: labelled day images (the source) and unlabelled
# night images of other streets (the target; tools/make_synthetic_cityscapes.py --style night:
# dark, lit windows, headlights), evaluated on labelled night val. Each batch holds source and
# target images half and half (MultiSourceSampler). The target pipeline crops and flips once,
# then packs a weak view (pseudo-labels) and a strong view (colour jitter + blur, DACS' strong
# augmentation; ClassMix happens in the model), pixel-aligned.
source_root = 'data/synthetic_cityscapes_uda_day'
target_root = 'data/synthetic_cityscapes_uda_night'
# Source and target draw different streets: another seed.
source_data = dict(num_train=48, num_val=0, num_test=0, size=(512, 256), seed=0)
target_data = dict(num_train=48, num_val=16, num_test=0, size=(512, 256), seed=1, style='night')
crop_size = (128, 256)  # (height, width)
source_ratio = [1, 1]  # source : target per batch

# unsup_strong2: UniMatch's second strong view (empty unless a pipeline packs it)
branch_field = ['sup', 'unsup_weak', 'unsup_strong', 'unsup_strong2']
geometric = dict(type='Albu', transforms=[
    dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
    dict(type='HorizontalFlip', p=0.5),
])
strong = dict(type='Albu', transforms=[
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.2, p=0.8),
    dict(type='GaussianBlur', sigma_limit=(0.15, 1.15), p=0.5),
])
source_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    geometric,
    dict(type='MultiBranch', branch_field=branch_field, sup=[dict(type='PackSegInputs')]),
]
target_pipeline = [
    dict(type='LoadCityscapesImage'),
    geometric,
    dict(type='MultiBranch', branch_field=branch_field,
         unsup_weak=[dict(type='PackSegInputs')],
         unsup_strong=[strong, dict(type='PackSegInputs')]),
]
source = dict(type='SyntheticCityscapesDataset', data_root=source_root, generate=source_data,
              split='train', pipeline=source_pipeline)
target = dict(type='SyntheticCityscapesDataset', data_root=target_root, generate=target_data,
              split='train', with_labels=False, pipeline=target_pipeline)
train_dataloader = dict(
    batch_size=8,  # the sampler's too (cityseg.utils.load_config gives it)
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', source_ratio=source_ratio),
    dataset=dict(type='MultiSourceDataset', datasets=[source, target]))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticCityscapesDataset', data_root=target_root, generate=target_data,
                 split='val', pipeline=[dict(type='LoadCityscapesImage'),
                                        dict(type='LoadCityscapesLabel'),
                                        dict(type='PackSegInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
