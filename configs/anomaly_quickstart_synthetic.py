# Anomaly segmentation with the quickstart model, no download: the quickstart's val scenes with
# objects no label covers dropped on the road (tools/make_synthetic_cityscapes.py --anomalies,
# generated under data/synthetic_cityscapes_anomalies on first use), their masks in Fishyscapes'
# convention (0 in-distribution, 1 anomaly, 255 void), scored as SegmentMeIfYouCan's
# RoadObstacle21 track scores (pixel AUPRC / AUROC / FPR95, component sIoU / PPV / mean F1).
# Scores: MSP (Hendrycks & Gimpel 2017), max logit (Hendrycks et al. 2022), entropy, energy
# (Liu et al. 2020), standardised max logits (Jung et al. 2021); see docs/uncertainty.md.
#   python tools/train.py configs/quickstart_synthetic.py
#   python tools/analysis_tools/anomaly.py configs/anomaly_quickstart_synthetic.py \
#       work_dirs/quickstart_synthetic/iter_450.pth
_base_ = ['./quickstart_synthetic.py']

anomaly_root = 'data/synthetic_cityscapes_anomalies'
# The quickstart's val scenes (each image has its own random stream, so the split sizes do not
# change them): no train or test images are needed here.
anomaly_generate = dict(num_train=0, num_val=8, num_test=0, size=(512, 256), seed=0)
model = dict(test_cfg=dict(scores=['msp', 'maxlogit', 'entropy', 'energy']))
test_dataloader = dict(
    batch_size=2,
    num_workers=1,
    dataset=dict(_delete_=True, type='SyntheticAnomalyDataset', data_root=anomaly_root,
                 split='val', generate=anomaly_generate,
                 pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(_delete_=True, type='AnomalyMetric', components='obstacle')
