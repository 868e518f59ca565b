# Baseline of fixmatch_unet-r18_camvid-1-8.py and unimatch_unet-r18_camvid-1-8.py: the same
# network, the same 46 labelled CamVid train frames (splits/camvid_1-8_seed0.txt), the same
# crops, schedule, iterations and labelled frames per batch (4), no unlabelled frames. The gap
# to those configs is what the 321 unlabelled frames bring.
#   python tools/train.py configs/semi/supervised-only_unet-r18_camvid-1-8.py
_base_ = [
    '../_base_/models/unet_r18_camvid.py',
    '../_base_/semi/camvid_1-8_weak_strong.py',
    '../_base_/schedules/camvid_semi-uda.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SubsetDataset', split_file={{_base_.split_file}},
                 dataset=dict(type='CamVidDataset', data_root={{_base_.data_root}},
                              split='train', cache_dir={{_base_.cache_dir}},
                              pipeline={{_base_.train_pipeline}})))
custom_hooks = [
    dict(type='ClassWeightHook', method='enet', c=1.2),  # the recipe's
    dict(type='TrainingCurvesHook'),
]
