# DACS self-training on CamVid, day (source: 0006R0 + 0016E5 train frames, labelled) -> dusk
# (target: the 0001TP train frames, their labels unused in training).
#   Tranheden et al., "DACS: Domain Adaptation via Cross-domain Mixed Sampling", WACV 2021;
#   Hoyer et al., "DAFormer: Improving Network Architectures and Training Strategies for
#   Domain-Adaptive Semantic Segmentation", CVPR 2022 (its self-training: the same recipe).
# Recipe (DAFormer's DACS, the DACS model's defaults): EMA teacher pseudo-labels the weak
# target view; ClassMix pastes half of the classes of the source frame (with their labels) into
# the target frame; each target pixel's loss weighs the share of the frame's pixels with
# confidence >= 0.968, source pixels weigh 1; loss = source + mixed; strong view colour jitter
# (0.2, p=0.8) + Gaussian blur; source and target frames in equal numbers; rare-class sampling
# of source frames (temperature 0.01).
# Differences: a supervised burn-in (the first 400 of the 1000 iterations learn from the
# source alone: from scratch, the network's first guesses are no labels to learn from); EMA
# decay 0.99 (DAFormer: 0.999 over 40k iterations; a run of 1k iterations needs a faster
# teacher); rare-class sampling's min_pixels 1000 for 480x360 frames (3000 at
# 1024x512, the same share) and no re-drawn crops until one holds the class; no ImageNet
# feature distance; no ignored top/bottom rows in the pseudo-weight; the confident share per
# frame (DAFormer: per batch); the CamVid recipe's network, loss and schedule (U-Net/ResNet-18
# from scratch, focal with ENet class weights from the source labels + dice, AdamW + warm-up +
# poly, fp32; DAFormer: MiT-B5 + DAFormer head, ImageNet weights), 256x256 crops with random
# scale 0.5-2.0, CPU-sized; the strong augmentation applies to the target view before mixing,
# not to the mixed image; the teacher's BatchNorm normalises the target batch by its own
# statistics (as DAFormer's EMA teacher, kept in train mode) and leaves its running ones.
# Evaluated on CamVid val (day); on the dusk frames (labels for evaluation only):
#   python tools/train.py configs/uda/dacs_unet-r18_camvid-day2dusk.py
#   python tools/test.py configs/uda/dacs_unet-r18_camvid-day2dusk.py CHECKPOINT \
#       --cfg-options test_dataloader.dataset.split=train "test_dataloader.dataset.sequences=[0001TP]"
_base_ = [
    '../_base_/models/unet_r18_camvid.py',
    '../_base_/uda/camvid_day2dusk.py',
    '../_base_/schedules/camvid_semi-uda.py',
    '../_base_/default_runtime.py',
]
model = dict(_delete_=True, type='DACS', student={{_base_.model}}, semi_cfg=dict(burn_in=400))
train_dataloader = dict(sampler=dict(rare_class_sampling=dict(temperature=0.01, min_pixels=1000)))
custom_hooks = [
    dict(type='ClassWeightHook', method='enet'),  # from the source labels
    dict(type='MeanTeacherHook', decay=0.99),
    dict(type='TrainingCurvesHook'),
]
