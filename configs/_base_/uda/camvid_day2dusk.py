# Domain adaptation inside CamVid, day -> dusk: the labelled train frames of the two day
# sequences (0006R0, 0016E5: 305 frames) are the source; the 62 train frames of the dusk
# sequence 0001TP are the target, read WITHOUT their labels for training. Each batch holds
# source and target frames half and half (MultiSourceSampler). Both scale (0.5-2.0: the first
# recipe's range, with which the day -> dusk figures were measured), crop and flip; the target
# pipeline then packs a weak view (pseudo-labels) and a strong view (colour jitter + blur, DACS' strong
# augmentation; ClassMix happens in the model), pixel-aligned.
# Evaluation: CamVid val by default (101 day frames of 0016E5), so the validation during
# training never reads a dusk label. The dusk frames themselves, with the labels used for
# evaluation only (as the day -> dusk comparison reports them):
#   python tools/test.py CONFIG CHECKPOINT --cfg-options test_dataloader.dataset.split=train \
#       "test_dataloader.dataset.sequences=[0001TP]"
# Root ($CAMVID_DATASET, default data/camvid) and evaluation: ../datasets/camvid.py.
_base_ = ['../datasets/camvid.py']
source_sequences = ('0006R0', '0016E5')  # day
target_sequences = ('0001TP', )  # dusk
cache_dir = 'data/cache/camvid'  # decoded samples, built on first use
source_ratio = [1, 1]  # source : target per batch

# ../datasets/camvid.py's `geometric` and `train_pipeline` (source-only's) at scale 0.5-2.0
geometric = dict(type='Albu', transforms=[
    dict(type='RandomScale', scale_limit=(-0.5, 1.0), p=1.0),
    dict(type='RandomCrop', height=256, width=256, pad_if_needed=True),
    dict(type='HorizontalFlip', p=0.5),
])
train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    geometric,
    dict(type='PackSegInputs'),
]

# unsup_strong2: UniMatch's second strong view (empty unless a pipeline packs it)
branch_field = ['sup', 'unsup_weak', 'unsup_strong', 'unsup_strong2']
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
source = dict(type='CamVidDataset', data_root={{_base_.data_root}}, split='train',
              sequences=source_sequences, cache_dir=cache_dir, pipeline=source_pipeline)
target = dict(type='CamVidDataset', data_root={{_base_.data_root}}, split='train',
              sequences=target_sequences, with_labels=False, cache_dir=cache_dir,
              pipeline=target_pipeline)
train_dataloader = dict(
    _delete_=True,
    batch_size=8,  # 4 source + 4 target; the sampler's too (load_config gives it)
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', source_ratio=source_ratio),
    dataset=dict(type='MultiSourceDataset', datasets=[source, target]))
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
