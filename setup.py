"""The wheel ships the top-level data folders inside the package (read through ``lifebot.resources``).

``task_suites/`` and ``policies/`` stay at the top of the repository, where the product fixes them; a build copies
their files into ``lifebot/_data/`` so that a non-editable install finds them.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# What of each folder ships: the suite files, the agents' configs (not the checkpoints written beside them).
ROOT = Path(__file__).resolve().parent
SHIPPED = {"task_suites": ("*/suite.json", "*/init_states/*.npy"), "policies": ("*.yaml", "README.md")}


class BuildWithData(build_py):
    def run(self):
        super().run()
        for folder, patterns in SHIPPED.items():
            for pattern in patterns:
                for source in sorted((ROOT / folder).glob(pattern)):
                    target = Path(self.build_lib, "lifebot", "_data", source.relative_to(ROOT))
                    self.mkpath(str(target.parent))
                    self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildWithData})
