# CamVid (11 classes, SegNet's 360x480 release) from scratch on a CPU: the recipe meant to reach
# the highest val mIoU in about 60 minutes of training on 2 cores, with nothing downloaded.
# The iteration budget (train_cfg.max_iters, below) was calibrated to fit 60 minutes on a 2-core
# AMD EPYC with AVX512-BF16; on another machine, measure and override it (docs/camvid.md has
# the commands). The scale range and the class weights' softness were chosen by 1000-iteration
# probes (docs/camvid.md, "Choosing the recipe"); the rest is provisional.
# - Network: U-Net / ResNet-18, narrower decoder, channels_last: ../_base_/models/unet_r18_camvid.py.
# - Precision: cityseg's AmpOptimWrapper, i.e. bf16 autocast on the CPU (1.54x the fp32
#   iterations per minute on that CPU; fp16 with loss scaling on CUDA). On a CPU without fast
#   bf16 kernels (AVX2 only) the wrapper trains in fp32 instead, with a warning; there 60
#   minutes hold about 2500 iterations, not 3600. fp32 anywhere:
#   --cfg-options optim_wrapper.type=OptimWrapper
# - Data: random scale 0.5-1.25, 256x256 crops, flips, mild brightness/contrast; batch 8; the
#   decoded samples cached in data/cache/camvid (cache_dir: ~0.25 GiB, built on first use).
# - Loss: focal (softened ENet class weights from the train labels, ClassWeightHook) + dice.
# - Optimiser: AdamW 3e-3, weight decay 1e-2, 100 warm-up iterations, poly decay
#   (../_base_/schedules/camvid_cpu-60min.py).
# - Validation on the 101 val frames (full 360x480, fp32) every 250 iterations; curves in plots/.
# Reference points (CamVid test, from scratch on a GPU, ~700-900 epochs): FC-DenseNet56 58.9
# mIoU, FC-DenseNet103 66.9 (Jegou et al., CVPR-W 2017); ENet 51.3; SegNet 46.4.
#   python tools/train.py configs/camvid/unet-r18_camvid-360x480_cpu-60min.py
#   python tools/test.py configs/camvid/unet-r18_camvid-360x480_cpu-60min.py CHECKPOINT
# The dusk frames (sequence 0001TP of train) instead of val:
#   --cfg-options test_dataloader.dataset.split=train "test_dataloader.dataset.sequences=[0001TP]"
_base_ = [
    '../_base_/models/unet_r18_camvid.py',
    '../_base_/datasets/camvid.py',
    '../_base_/schedules/camvid_cpu-60min.py',
    '../_base_/default_runtime.py',
]
train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='Albu', transforms=[
        # 0.5-1.25 around val's scale 1 (not 0.5-2.0): more of each frame per crop
        dict(type='RandomScale', scale_limit=(-0.5, 0.25), p=1.0),
        dict(type='RandomCrop', height=256, width=256, pad_if_needed=True),
        dict(type='HorizontalFlip', p=0.5),
        dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    ]),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    # one worker: the two cores train; the cached samples leave it only the augmentation
    num_workers=1,
    dataset=dict(cache_dir='data/cache/camvid', pipeline=train_pipeline))
# 3600 iterations were calibrated at 0.96 s each (58 minutes) on the calibrating
# CPU; measured runs averaged 0.845 s (3600: 50.7 minutes) and 0.924 s (4000: 61.6 minutes,
# no better: docs/camvid.md). The poly decay ends at max_iters, so
# --cfg-options train_cfg.max_iters=N rescales it.
optim_wrapper = dict(type='AmpOptimWrapper')  # the header's Precision
train_cfg = dict(max_iters=3600)
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
custom_hooks = [
    # ENet weights softened (c=1.2: 2.4 for road to 5.4 for bicyclist on CamVid train, where
    # c=1.02 gives 3.3 to 44) so that the rare classes do not take the frequent ones' pixels
    dict(type='ClassWeightHook', method='enet', c=1.2),
    dict(type='TrainingCurvesHook'),
]
