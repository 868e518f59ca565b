# UniMatch, Cityscapes 1/8, DeepLabV3+ ResNet-50: published val mIoU 76.8 (supervised only:
# 70.2). The 1/16 recipe and its differences; 240 epochs of 2603 unlabelled images on 8 GPUs
# ~ 78000 iterations.
#   Yang et al., "Revisiting Weak-to-Strong Consistency in Semi-Supervised Semantic
#   Segmentation" (UniMatch), CVPR 2023.
#   python tools/train.py configs/semi/unimatch_deeplabv3plus-r50_8xb2-80k_cityscapes-1-8.py
_base_ = ['./unimatch_deeplabv3plus-r50_8xb2-80k_cityscapes-1-16.py']
train_dataloader = dict(dataset=dict(fraction=1 / 8))
train_cfg = dict(max_iters=78000)
