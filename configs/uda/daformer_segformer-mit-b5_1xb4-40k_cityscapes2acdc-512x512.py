# DAFormer-style self-training, Cityscapes (source, labelled) -> ACDC (target: fog, night, rain,
# snow train images, unlabelled), smp SegFormer MiT-B5, evaluated on ACDC val.
#   Hoyer et al., DAFormer (CVPR 2022) / HRDA (ECCV 2022) / MIC (CVPR 2023) report
#   Cityscapes -> ACDC with this self-training; their published numbers are on ACDC test
#   (the benchmark server), not on the val split evaluated here.
# Recipe and differences: daformer_segformer-mit-b5_1xb4-40k_gta2cityscapes-512x512.py, with
# Cityscapes at 1024x512 as the source and ACDC at 960x540 (x 0.5) as the target.
#   python tools/train.py configs/uda/daformer_segformer-mit-b5_1xb4-40k_cityscapes2acdc-512x512.py
_base_ = ['./daformer_segformer-mit-b5_1xb4-40k_gta2cityscapes-512x512.py']
acdc_root = '{{$ACDC_DATASET:data/acdc}}'
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='CityscapesDataset', data_root={{_base_.data_root}}, split='train',
         pipeline=[dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel'),
                   dict(type='ResizeByRatio', ratio=0.5), {{_base_.geometric}},
                   dict(type='MultiBranch', branch_field={{_base_.branch_field}},
                        sup=[dict(type='PackSegInputs')])]),
    dict(type='ACDCDataset', data_root=acdc_root, split='train', with_labels=False,
         pipeline={{_base_.target_pipeline}}),
]))
val_dataloader = dict(dataset=dict(_delete_=True, type='ACDCDataset', data_root=acdc_root,
                                   split='val', pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
