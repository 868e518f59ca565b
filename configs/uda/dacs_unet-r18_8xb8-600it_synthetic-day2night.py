# DACS self-training, synthetic day (source, labelled) -> synthetic night (target, unlabelled).
#   Tranheden et al., "DACS: Domain Adaptation via Cross-domain Mixed Sampling", WACV 2021;
#   Hoyer et al., "DAFormer: Improving Network Architectures and Training Strategies for
#   Domain-Adaptive Semantic Segmentation", CVPR 2022 (its self-training: the same recipe).
# Recipe (DAFormer's DACS, the DACS model's defaults): EMA teacher pseudo-labels the weak
# target view; ClassMix pastes half of the classes of the source image (with their labels) into
# the target image; each target pixel's loss weighs the share of the image's pixels with
# confidence >= 0.968, source pixels weigh 1; loss = source + mixed; strong view colour jitter
# (0.2, p=0.8) + Gaussian blur; source and target images in equal numbers; rare-class sampling
# of source images (temperature 0.01).
# Differences: EMA decay 0.99 (DAFormer: 0.999 over 40k iterations; a 600-iteration run
# needs a faster teacher), rare-class sampling's min_pixels 750 for 512x256 images (3000 at
# 1024x512) and no re-drawn crops until one holds the class, no ImageNet feature distance,
# no ignored top/bottom rows in the pseudo-weight, the confident share per image (DAFormer:
# one per batch); a U-Net/ResNet-18 from scratch (DAFormer: MiT-B5 + DAFormer head, ImageNet
# weights), AdamW + poly, 128x256 crops, CPU-sized; the strong augmentation applies to the
# target view before mixing, not to the mixed image; the teacher predicts in eval mode
# (DAFormer: train mode without dropout, so BatchNorm would use the batch's statistics).
#   python tools/train.py configs/uda/dacs_unet-r18_8xb8-600it_synthetic-day2night.py
_base_ = [
    '../_base_/uda/synthetic_day2night.py',
    '../_base_/schedules/schedule_2k.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='DACS',
    student=dict(type='SMPSegmentor', arch='Unet', encoder_name='resnet18', encoder_weights=None,
                 num_classes=19, dropout=0.1),
)
# fp32: bf16 autocast is ~20x slower than fp32 on CPUs without AVX512-BF16 (measured here)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=3e-3))
train_dataloader = dict(sampler=dict(rare_class_sampling=dict(temperature=0.01, min_pixels=750)))
train_cfg = dict(max_iters=600, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300, max_keep_ckpts=2))
custom_hooks = [dict(type='MeanTeacherHook', decay=0.99)]
env_cfg = dict(cudnn_benchmark=False)
