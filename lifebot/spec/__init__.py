"""Task specifications: the declarative description every other part of lifebot is built from."""

from lifebot.spec.io import SpecError, dump_spec, load_spec, spec_from_dict
from lifebot.spec.model import ObjectSpec, Region, Scene, TaskSpec

__all__ = ["ObjectSpec", "Region", "Scene", "SpecError", "TaskSpec", "dump_spec", "load_spec", "spec_from_dict"]
