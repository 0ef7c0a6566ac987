"""MP4 files from rendered frames, through imageio's ffmpeg plugin (``pip install 'lifebot[video]'``).

imageio-ffmpeg ships an ffmpeg binary in its wheel, so nothing else needs installing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifebot.envs.task_env import CONTROL_FREQ


def write_mp4(frames: list[np.ndarray], path: Path, fps: int = CONTROL_FREQ) -> Path:
    """Write uint8 (H, W, 3) frames as an H.264 MP4 at the control rate (real time)."""
    try:
        import imageio
    except ImportError:
        raise RuntimeError("videos need imageio with ffmpeg: pip install 'lifebot[video]'") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as writer:
        for frame in frames:
            writer.append_data(np.asarray(frame, dtype=np.uint8))
    return path
