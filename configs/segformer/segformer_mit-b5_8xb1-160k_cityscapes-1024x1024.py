# SegFormer-B5 training recipe: the B0 recipe with the MiT-B5 encoder, as mmsegmentation's
# configs/segformer/segformer_mit-b5_8xb1-160k_cityscapes-1024x1024.py; published Cityscapes
# val mIoU 82.25 (single scale, sliding window; configs/segformer/README.md). The same
# differences as the B0 recipe apply.
_base_ = ['./segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py']
model = dict(encoder_name='mit_b5')
