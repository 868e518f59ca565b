# Baseline of dacs_unet-r18_camvid-day2dusk.py and mic-dacs_unet-r18_camvid-day2dusk.py: the
# same network trained on the labelled day source alone (the 305 train frames of 0006R0 and
# 0016E5; 4 per batch, as there; the same crops, schedule and iterations), evaluated on CamVid
# val (day) and, with the command below, on the dusk frames (labels for evaluation only).
#   python tools/train.py configs/uda/source-only_unet-r18_camvid-day2dusk.py
#   python tools/test.py configs/uda/source-only_unet-r18_camvid-day2dusk.py CHECKPOINT \
#       --cfg-options test_dataloader.dataset.split=train "test_dataloader.dataset.sequences=[0001TP]"
_base_ = [
    '../_base_/models/unet_r18_camvid.py',
    '../_base_/uda/camvid_day2dusk.py',
    '../_base_/schedules/camvid_semi-uda.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CamVidDataset', data_root={{_base_.data_root}}, split='train',
                 sequences={{_base_.source_sequences}}, cache_dir={{_base_.cache_dir}},
                 pipeline={{_base_.train_pipeline}}))
custom_hooks = [
    dict(type='ClassWeightHook', method='enet'),
    dict(type='TrainingCurvesHook'),
]
