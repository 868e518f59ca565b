# Upper bound of fixmatch_unet-r18_camvid-1-8.py: all 367 CamVid train frames labelled;
# otherwise as supervised-only_unet-r18_camvid-1-8.py (network, crops, 4 frames per batch,
# schedule, iterations).
#   python tools/train.py configs/semi/fully-supervised_unet-r18_camvid.py
_base_ = ['./supervised-only_unet-r18_camvid-1-8.py']
train_dataloader = dict(dataset=dict(_delete_=True, type='CamVidDataset',
                                     data_root={{_base_.data_root}}, split='train',
                                     cache_dir={{_base_.cache_dir}},
                                     pipeline={{_base_.train_pipeline}}))
