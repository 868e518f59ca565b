# MIC on DAFormer self-training, GTA5 -> Cityscapes, smp SegFormer MiT-B5: published Cityscapes
# val mIoU 75.9 (MIC on HRDA).
#   Hoyer et al., "MIC: Masked Image Consistency for Context-Enhanced Domain Adaptation",
#   CVPR 2023 (lhoyer/MIC).
# Recipe: the DAFormer recipe plus the target image with 70 % of its 64x64 blocks masked,
# trained on the teacher's pseudo-labels of the whole image (quality weights as DACS), weight 1.
# Differences: those of the DAFormer config; MIC's published number uses HRDA's
# multi-resolution training, which cityseg does not implement.
#   python tools/train.py configs/uda/mic-daformer_segformer-mit-b5_1xb4-40k_gta2cityscapes-512x512.py
_base_ = ['./daformer_segformer-mit-b5_1xb4-40k_gta2cityscapes-512x512.py']
model = dict(type='MIC')  # masked_consistency: block_size 64, ratio 0.7, weight 1
