from .confusion import normalize, plot_confusion
from .curves import draw_series, load_scalars, plot_series, series, training_minutes
from .drawing import (
    comparison_grid,
    error_map,
    overlay,
    prediction_pictures,
    write_prediction_pictures,
)
from .local_visualizer import SegLocalVisualizer
from .palette import Palette, colorize, palette_of

__all__ = ['Palette', 'SegLocalVisualizer', 'colorize', 'comparison_grid',
           'draw_series', 'error_map', 'load_scalars', 'normalize', 'overlay', 'palette_of',
           'plot_confusion', 'plot_series', 'prediction_pictures', 'series',
           'training_minutes', 'write_prediction_pictures']
