# FixMatch-style weak-to-strong self-training with CutMix, on 1/8 of the synthetic train split.
#   Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with Consistency and
#   Confidence", NeurIPS 2020; Yang et al., "Revisiting Weak-to-Strong Consistency in
#   Semi-Supervised Semantic Segmentation" (UniMatch), CVPR 2023: its FixMatch baseline.
# Recipe (UniMatch's, the FixMatch model's defaults): pseudo-labels from the weak view,
# confidence threshold 0.95, loss = (supervised + unsupervised) / 2, CutMix (p=0.5, 2-40 % of
# the image) with another unlabelled image (its mix partner, drawn from a stream of its own as
# UniMatch's second unlabelled loader), strong view = colour jitter (0.5, 0.5, 0.5, 0.25;
# p=0.8), grey (p=0.2), blur (sigma 0.1-2, p=0.5); labelled and unlabelled images in equal
# numbers per batch.
# Differences: an EMA teacher (decay 0.99, mean-teacher style; UniMatch pseudo-labels with the
# student itself, in train mode: MeanTeacherHook decay=0 comes closest), a small
# U-Net/ResNet-18 from scratch (UniMatch: DeepLabV3+ ResNet-50/101, ImageNet weights), AdamW +
# poly for 600 iterations of batch 8 (4 + 4) on 128x256 crops of synthetic scenes, CPU-sized.
#   python tools/train.py configs/semi/fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py
_base_ = [
    '../_base_/semi/synthetic_weak_strong.py',
    '../_base_/schedules/schedule_2k.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='FixMatch',
    student=dict(type='SMPSegmentor', arch='Unet', encoder_name='resnet18', encoder_weights=None,
                 num_classes=19, dropout=0.1),
    semi_cfg=dict(predict_on='teacher'),
)
# fp32: bf16 autocast is ~20x slower than fp32 on CPUs without AVX512-BF16 (measured here)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=3e-3))
train_cfg = dict(max_iters=600, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300, max_keep_ckpts=2))
custom_hooks = [dict(type='MeanTeacherHook', decay=0.99)]
env_cfg = dict(cudnn_benchmark=False)
