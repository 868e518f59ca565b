# DACS on CamVid day -> dusk (dacs_unet-r18_camvid-day2dusk.py) with FreeMatch's
# self-adaptive thresholds in place of DACS' fixed 0.968:
#   Wang et al., "FreeMatch: Self-adaptive Thresholding for Semi-supervised Learning", ICLR 2023.
# Why: this network learns with focal loss, and a focal-loss teacher is rarely 0.968-confident
# (3-8 % of the dusk pixels), so every target pixel's weight (the confident share) stays near
# 0.05 and the dusk frames barely train the student. The self-adaptive bar follows the
# teacher's mean confidence, class by class (docs/semi-supervised.md); momentum 0.99 instead
# of FreeMatch's 0.999, for 600 self-training iterations. Measured in docs/camvid.md.
#   python tools/train.py configs/uda/dacs-sat_unet-r18_camvid-day2dusk.py
#   python tools/test.py configs/uda/dacs-sat_unet-r18_camvid-day2dusk.py CHECKPOINT \
#       --cfg-options test_dataloader.dataset.split=train "test_dataloader.dataset.sequences=[0001TP]"
_base_ = ['./dacs_unet-r18_camvid-day2dusk.py']
model = dict(semi_cfg=dict(threshold='self_adaptive', threshold_momentum=0.99))
