# Evaluation-ready SegFormer-B0 on Cityscapes val: the whole trained network from the smp hub,
#   python tools/test.py configs/segformer/segformer_mit-b0_smp-hub_cityscapes-1024x1024.py
# smp-hub/segformer-b0-1024x1024-city-160k is smp's conversion (scripts/models-conversions/
# segformer-original-decoder-to-smp.py) of NVlabs' segformer.b0.1024x1024.city.160k.pth.
# Published: 76.54 mIoU, Cityscapes val, single scale, sliding window: mmsegmentation
# configs/segformer/README.md (Segformer MIT-B0, 1024x1024, 160k), for mmsegmentation's own
# training of the same recipe; the hub weights are NVlabs' run of it, so expect a number close
# to, not equal to, 76.54. Inference as the authors evaluated (NVlabs' and mmsegmentation's
# segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py): the full 1024x2048 image, RGB,
# ImageNet mean/std on 0-255 values, 1024x1024 windows with stride 768. (The hub repo's
# albumentations_config_eval.json resizes to 1024x1024 instead: a quick demo, not the protocol.)
_base_ = [
    '../_base_/models/smp_hub_cityscapes.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/schedules/schedule_2k.py',  # unused by tools/test.py; fine-tuning starts here
    '../_base_/default_runtime.py',
]
model = dict(pretrained='smp-hub/segformer-b0-1024x1024-city-160k',
             test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(768, 768)))
