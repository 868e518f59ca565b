# Labelled + unlabelled CamVid train frames for self-training: the 46 frames of a committed 1/8
# split (splits/camvid_1-8_seed0.txt, drawn once with seed 0; another split is one key:
# --cfg-options train_dataloader.dataset.split_file=FILE) with their labels, the other 321
# train frames without (SemiSplitDataset), each batch half and half (MultiSourceSampler), every
# unlabelled frame with a mix partner (another unlabelled frame, mix_partners). Both halves
# scale (0.5-1.25), crop and flip (../datasets/camvid.py's `geometric`, as the recipe in
# configs/camvid/ does; the supervised baselines take its `train_pipeline`); the unlabelled
# pipeline then packs a weak view (as is) and a strong view (colour jitter, grey, blur:
# UniMatch's strong augmentation without its CutMix, which the model does in the batch),
# pixel-aligned so a pseudo-label of one is the label of the other.
# Validation: CamVid val (101 frames, full 360x480), test and evaluator as
# ../datasets/camvid.py, whose root ($CAMVID_DATASET, default data/camvid) this base takes.
_base_ = ['../datasets/camvid.py']
split_file = '{{fileDirname}}/../../semi/splits/camvid_1-8_seed0.txt'
cache_dir = 'data/cache/camvid'  # decoded samples, built on first use (~0.4 GiB for both)
source_ratio = [1, 1]  # labelled : unlabelled per batch
# unsup_strong2: UniMatch's second strong view (empty unless a pipeline packs it)
branch_field = ['sup', 'unsup_weak', 'unsup_strong', 'unsup_strong2']
strong = dict(type='Albu', transforms=[
    dict(type='ColorJitter', brightness=0.5, contrast=0.5, saturation=0.5, hue=0.25, p=0.8),
    dict(type='ToGray', p=0.2),
    dict(type='GaussianBlur', sigma_limit=(0.1, 2.0), p=0.5),
])
labelled_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    {{_base_.geometric}},
    dict(type='MultiBranch', branch_field=branch_field, sup=[dict(type='PackSegInputs')]),
]
unlabelled_pipeline = [
    dict(type='LoadCityscapesImage'),
    {{_base_.geometric}},
    dict(type='MultiBranch', branch_field=branch_field,
         unsup_weak=[dict(type='PackSegInputs')],
         unsup_strong=[strong, dict(type='PackSegInputs')]),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,  # 4 labelled + 4 unlabelled; the sampler's too (load_config gives it)
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', source_ratio=source_ratio, mix_partners=True),
    dataset=dict(
        type='SemiSplitDataset', split_file=split_file,
        labelled=dict(type='CamVidDataset', data_root={{_base_.data_root}}, split='train',
                      cache_dir=cache_dir, pipeline=labelled_pipeline),
        unlabelled=dict(type='CamVidDataset', data_root={{_base_.data_root}}, split='train',
                        with_labels=False, cache_dir=cache_dir, pipeline=unlabelled_pipeline)))
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
