# MIC on top of DACS self-training, CamVid day -> dusk.
#   Hoyer et al., "MIC: Masked Image Consistency for Context-Enhanced Domain Adaptation",
#   CVPR 2023.
# Recipe (MIC's, the MIC model's defaults): the target frame with a random 70 % of its blocks
# masked is trained on the EMA teacher's pseudo-labels of the whole frame, with the same
# quality weights, loss weight 1.
# Differences: as dacs_unet-r18_camvid-day2dusk.py; blocks of 32 px on 256x256 crops (MIC:
# 64 px on 512x512 / 1024x1024 crops); the masked image is the strong view.
#   python tools/train.py configs/uda/mic-dacs_unet-r18_camvid-day2dusk.py
_base_ = ['./dacs_unet-r18_camvid-day2dusk.py']
model = dict(type='MIC', semi_cfg=dict(masked_consistency=dict(block_size=32)))
