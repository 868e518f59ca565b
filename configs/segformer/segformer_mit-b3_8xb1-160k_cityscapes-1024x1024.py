# SegFormer-B3 training recipe: the B0 recipe with the MiT-B3 encoder, as mmsegmentation's
# configs/segformer/segformer_mit-b3_8xb1-160k_cityscapes-1024x1024.py; published Cityscapes
# val mIoU 81.94 (single scale, sliding window; configs/segformer/README.md). The same
# differences as the B0 recipe apply.
_base_ = ['./segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py']
model = dict(encoder_name='mit_b3')
