# Evaluation-ready SegFormer-B2 on Cityscapes val: the whole trained network from the smp hub,
#   python tools/test.py configs/segformer/segformer_mit-b2_smp-hub_cityscapes-1024x1024.py
# smp's conversion of NVlabs' segformer.b2.1024x1024.city.160k.pth; the B0 config's notes on
# the published figure and the authors' inference (slide 1024x1024, stride 768) apply.
# Published: 81.08 mIoU, Cityscapes val, single scale (mmsegmentation configs/segformer/README.md,
# Segformer MIT-B2, 1024x1024, 160k).
_base_ = ['./segformer_mit-b0_smp-hub_cityscapes-1024x1024.py']
model = dict(pretrained='smp-hub/segformer-b2-1024x1024-city-160k')
