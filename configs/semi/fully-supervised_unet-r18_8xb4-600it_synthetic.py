# Upper bound of fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py: every synthetic train image
# labelled; otherwise as supervised-only_unet-r18_8xb4-600it_synthetic-1-8.py.
#   python tools/train.py configs/semi/fully-supervised_unet-r18_8xb4-600it_synthetic.py
_base_ = ['./supervised-only_unet-r18_8xb4-600it_synthetic-1-8.py']
train_dataloader = dict(dataset=dict(fraction=1.0))
