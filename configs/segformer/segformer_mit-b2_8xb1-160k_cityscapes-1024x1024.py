# SegFormer-B2 training recipe: the B0 recipe with the MiT-B2 encoder, as mmsegmentation's
# configs/segformer/segformer_mit-b2_8xb1-160k_cityscapes-1024x1024.py; published Cityscapes
# val mIoU 81.08 (single scale, sliding window; configs/segformer/README.md). The same
# differences as the B0 recipe apply.
_base_ = ['./segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py']
model = dict(encoder_name='mit_b2')
