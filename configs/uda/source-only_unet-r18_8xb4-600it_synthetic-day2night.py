# Baseline of dacs_unet-r18_8xb8-600it_synthetic-day2night.py: the same student trained on the
# labelled day source alone (4 source images per batch, as there), evaluated on night val.
#   python tools/train.py configs/uda/source-only_unet-r18_8xb4-600it_synthetic-day2night.py
_base_ = ['./dacs_unet-r18_8xb8-600it_synthetic-day2night.py']
source_only_pipeline = [
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
    dataset=dict(type='SyntheticCityscapesDataset', data_root={{_base_.source_root}},
                 generate={{_base_.source_data}}, split='train',
                 pipeline=source_only_pipeline))
custom_hooks = []
