"""Classifies descriptions of AI use cases by the vendors' high-risk domains, audience and prohibited uses."""

from .dataset import DatasetError, load_examples
from .embedders import BaseEmbedder, EmbeddingTransformer, MiniLMEmbedder, ModelMissingError
from .model import UseCaseHeads, build_pipeline
from .predictor import Classifier, ModelFileError
from .text import DescriptionError

__all__ = [
    "BaseEmbedder",
    "Classifier",
    "DatasetError",
    "DescriptionError",
    "EmbeddingTransformer",
    "MiniLMEmbedder",
    "ModelFileError",
    "ModelMissingError",
    "UseCaseHeads",
    "build_pipeline",
    "load_examples",
]
