# FixMatch-style weak-to-strong self-training with CutMix on CamVid, 1/8 labelled: 46 labelled
# train frames (splits/camvid_1-8_seed0.txt) and the other 321 unlabelled.
#   Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with Consistency and
#   Confidence", NeurIPS 2020; Yang et al., "Revisiting Weak-to-Strong Consistency in
#   Semi-Supervised Semantic Segmentation" (UniMatch), CVPR 2023: its FixMatch baseline.
# Recipe (UniMatch's, the FixMatch model's defaults): pseudo-labels from the weak view,
# confidence threshold 0.95, loss = (supervised + unsupervised) / 2, CutMix (p=0.5, 2-40 % of
# the image) with another unlabelled frame (its mix partner), strong view = colour jitter
# (0.5, 0.5, 0.5, 0.25; p=0.8), grey (p=0.2), blur (sigma 0.1-2, p=0.5); labelled and
# unlabelled frames in equal numbers per batch.
# Differences: a supervised burn-in (the first 400 of the 1000 iterations learn from the 46
# labels alone: from scratch, the network's first guesses are no labels to learn from); an EMA
# teacher (decay 0.99; UniMatch pseudo-labels with the student itself,
# MeanTeacherHook decay=0 comes closest) that also predicts at validation and test; the CamVid
# recipe's network and schedule (U-Net/ResNet-18 from scratch, AdamW + warm-up + poly, fp32,
# configs/camvid/; UniMatch: DeepLabV3+ ResNet-50/101, ImageNet weights, SGD); the supervised
# loss is focal (ENet class weights, c=1.2 as the recipe's, from the 46 labels) + dice, not
# cross-entropy; batch 8 (4 + 4) of 256x256 crops with random scale 0.5-1.25; CPU-sized; the
# student's forward passes on the unlabelled views leave its BatchNorm running statistics to
# the labelled frames (unsup_running_stats=False; UniMatch's code lets the strong views update
# them, which cost FixMatch 1.2 and 1.9 val mIoU on seeds 0 and 1, docs/camvid.md).
# Baselines, same network, labelled frames per batch (4) and iterations:
# supervised-only_unet-r18_camvid-1-8.py (the 46 alone) and fully-supervised_unet-r18_camvid.py
# (all 367 labelled).
#   python tools/train.py configs/semi/fixmatch_unet-r18_camvid-1-8.py
_base_ = [
    '../_base_/models/unet_r18_camvid.py',
    '../_base_/semi/camvid_1-8_weak_strong.py',
    '../_base_/schedules/camvid_semi-uda.py',
    '../_base_/default_runtime.py',
]
model = dict(_delete_=True, type='FixMatch', student={{_base_.model}},
             semi_cfg=dict(predict_on='teacher', burn_in=400,
                           unsup_running_stats=False))
custom_hooks = [
    dict(type='ClassWeightHook', method='enet', c=1.2),  # the recipe's, from the labelled frames
    dict(type='MeanTeacherHook', decay=0.99),
    dict(type='TrainingCurvesHook'),
]
