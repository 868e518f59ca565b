# UniMatch, Cityscapes 1/4, DeepLabV3+ ResNet-50: published val mIoU 77.5 (supervised only:
# 73.1). The 1/16 recipe and its differences; 240 epochs of 2231 unlabelled images on 8 GPUs
# ~ 67000 iterations.
#   Yang et al., "Revisiting Weak-to-Strong Consistency in Semi-Supervised Semantic
#   Segmentation" (UniMatch), CVPR 2023.
#   python tools/train.py configs/semi/unimatch_deeplabv3plus-r50_8xb2-80k_cityscapes-1-4.py
_base_ = ['./unimatch_deeplabv3plus-r50_8xb2-80k_cityscapes-1-16.py']
train_dataloader = dict(dataset=dict(fraction=1 / 4))
train_cfg = dict(max_iters=67000)
