# SegFormer-B4 training recipe: the B0 recipe with the MiT-B4 encoder, as mmsegmentation's
# configs/segformer/segformer_mit-b4_8xb1-160k_cityscapes-1024x1024.py; published Cityscapes
# val mIoU 81.89 (single scale, sliding window; configs/segformer/README.md). The same
# differences as the B0 recipe apply.
_base_ = ['./segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py']
model = dict(encoder_name='mit_b4')
