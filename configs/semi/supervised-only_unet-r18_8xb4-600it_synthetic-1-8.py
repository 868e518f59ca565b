# Baseline of fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py: the same student, the same 1/8
# labelled subset, the same crops, schedule and number of labelled images per batch (4), no
# unlabelled images. The gap to the FixMatch config is what the unlabelled 7/8 bring.
#   python tools/train.py configs/semi/supervised-only_unet-r18_8xb4-600it_synthetic-1-8.py
_base_ = ['./fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py']
supervised_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    {{_base_.geometric}},
    dict(type='PackSegInputs'),
]
model = dict(_delete_=True, type='SMPSegmentor', arch='Unet', encoder_name='resnet18',
             encoder_weights=None, num_classes=19, dropout=0.1)
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SubsetDataset', fraction={{_base_.labelled_fraction}},
                 seed={{_base_.subset_seed}},
                 dataset=dict(type='SyntheticCityscapesDataset', data_root={{_base_.data_root}},
                              generate={{_base_.synthetic}}, split='train',
                              pipeline=supervised_pipeline)))
custom_hooks = []
