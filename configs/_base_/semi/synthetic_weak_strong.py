# Labelled + unlabelled synthetic street scenes for self-training: a labelled subset of the
# synthetic train split (fraction + seed, or --cfg-options train_dataloader.dataset.split_file=
# FILE), the rest of the split as unlabelled images (SemiSplitDataset), each batch half and half
# (MultiSourceSampler), every unlabelled image with a mix partner (another unlabelled image,
# mix_partners). The unlabelled pipeline crops and flips once, then packs a weak view (as is)
# and a strong view (colour jitter, grey, blur: UniMatch's strong augmentation without its
# CutMix, which the model does in the batch), pixel-aligned so a pseudo-label of one is the
# label of the other.
data_root = 'data/synthetic_cityscapes_semi'
synthetic = dict(num_train=48, num_val=16, num_test=0, size=(512, 256), seed=0)
crop_size = (128, 256)  # (height, width)
labelled_fraction = 0.125  # 1/8: 6 of 48 images
subset_seed = 0
source_ratio = [1, 1]  # labelled : unlabelled per batch

# unsup_strong2: UniMatch's second strong view (empty unless a pipeline packs it)
branch_field = ['sup', 'unsup_weak', 'unsup_strong', 'unsup_strong2']
geometric = dict(type='Albu', transforms=[
    dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
    dict(type='HorizontalFlip', p=0.5),
])
strong = dict(type='Albu', transforms=[
    dict(type='ColorJitter', brightness=0.5, contrast=0.5, saturation=0.5, hue=0.25, p=0.8),
    dict(type='ToGray', p=0.2),
    dict(type='GaussianBlur', sigma_limit=(0.1, 2.0), p=0.5),
])
labelled_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    geometric,
    dict(type='MultiBranch', branch_field=branch_field, sup=[dict(type='PackSegInputs')]),
]
unlabelled_pipeline = [
    dict(type='LoadCityscapesImage'),
    geometric,
    dict(type='MultiBranch', branch_field=branch_field,
         unsup_weak=[dict(type='PackSegInputs')],
         unsup_strong=[strong, dict(type='PackSegInputs')]),
]
train_dataloader = dict(
    batch_size=8,  # the sampler's too (cityseg.utils.load_config gives it)
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', source_ratio=source_ratio, mix_partners=True),
    dataset=dict(
        type='SemiSplitDataset', fraction=labelled_fraction, seed=subset_seed,
        labelled=dict(type='SyntheticCityscapesDataset', data_root=data_root,
                      generate=synthetic, split='train', pipeline=labelled_pipeline),
        unlabelled=dict(type='SyntheticCityscapesDataset', data_root=data_root,
                        generate=synthetic, split='train', with_labels=False,
                        pipeline=unlabelled_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticCityscapesDataset', data_root=data_root, generate=synthetic,
                 split='val', pipeline=[dict(type='LoadCityscapesImage'),
                                        dict(type='LoadCityscapesLabel'),
                                        dict(type='PackSegInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
