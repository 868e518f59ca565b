# UniMatch on CamVid, 1/8 labelled (46 of 367 train frames): FixMatch with CutMix plus two
# strong views and feature perturbation.
#   Yang et al., "Revisiting Weak-to-Strong Consistency in Semi-Supervised Semantic
#   Segmentation" (UniMatch), CVPR 2023.
# Recipe (UniMatch's Cityscapes, the UniMatch model's defaults): two strong views of each
# unlabelled frame, each CutMixed with the mix partner's by its own box; feature perturbation:
# the weak view's encoder features with Dropout2d(0.5); threshold 0.95;
# loss = (sup + 0.25 * strong1 + 0.25 * strong2 + 0.5 * fp) / 2.
# Differences: as fixmatch_unet-r18_camvid-1-8.py (EMA teacher 0.99 instead of the student
# itself, the strong views leave the BatchNorm running statistics to the labelled frames, the
# CamVid recipe's network, loss and schedule, CPU-sized); the dropout applies to
# every encoder stage (UniMatch: the two features its DeepLabV3+ decoder reads).
#   python tools/train.py configs/semi/unimatch_unet-r18_camvid-1-8.py
_base_ = ['./fixmatch_unet-r18_camvid-1-8.py']
unlabelled_pipeline = [
    dict(type='LoadCityscapesImage'),
    {{_base_.geometric}},
    dict(type='MultiBranch', branch_field={{_base_.branch_field}},
         unsup_weak=[dict(type='PackSegInputs')],
         unsup_strong=[{{_base_.strong}}, dict(type='PackSegInputs')],
         unsup_strong2=[{{_base_.strong}}, dict(type='PackSegInputs')]),
]
train_dataloader = dict(dataset=dict(unlabelled=dict(pipeline=unlabelled_pipeline)))
model = dict(type='UniMatch')
