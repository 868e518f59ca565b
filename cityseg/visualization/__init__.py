from .curves import draw_series, load_scalars, plot_series, series
from .drawing import comparison_grid, overlay, prediction_pictures, write_prediction_pictures
from .local_visualizer import SegLocalVisualizer

__all__ = ['SegLocalVisualizer', 'comparison_grid', 'draw_series', 'load_scalars', 'overlay',
           'plot_series', 'prediction_pictures', 'series', 'write_prediction_pictures']
