# MIC on top of DACS self-training, synthetic day -> synthetic night.
#   Hoyer et al., "MIC: Masked Image Consistency for Context-Enhanced Domain Adaptation",
#   CVPR 2023.
# Recipe (MIC's, the MIC model's defaults): the target image with a random 70 % of its blocks masked is trained on the
# EMA teacher's pseudo-labels of the whole image, with the same quality weights, loss weight 1.
# Differences: as dacs_unet-r18_8xb8-600it_synthetic-day2night.py; blocks of 16 px on 128x256
# crops (MIC: 64 px on 1024x1024 / 512x512 crops); the masked image is the strong view.
#   python tools/train.py configs/uda/mic-dacs_unet-r18_8xb8-600it_synthetic-day2night.py
_base_ = ['./dacs_unet-r18_8xb8-600it_synthetic-day2night.py']
model = dict(type='MIC', semi_cfg=dict(masked_consistency=dict(block_size=16)))
