from .confusion import normalize, plot_confusion
from .curves import draw_series, load_scalars, plot_series, series
from .drawing import (
    colorize_palette,
    comparison_grid,
    error_map,
    overlay,
    prediction_pictures,
    write_prediction_pictures,
)
from .local_visualizer import SegLocalVisualizer

__all__ = ['SegLocalVisualizer', 'colorize_palette', 'comparison_grid', 'draw_series', 'error_map',
           'load_scalars', 'normalize', 'overlay', 'plot_confusion', 'plot_series',
           'prediction_pictures', 'series', 'write_prediction_pictures']
