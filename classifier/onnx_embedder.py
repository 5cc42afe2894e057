"""all-MiniLM-L6-v2 served by ONNX Runtime: tokenizers, onnxruntime and numpy only, no torch.

The transformer is exported from the installed weights when the classifier is trained (:mod:`classifier.export`)
and saved beside the heads, named by a key of the weights and the export settings, so a file made from other
weights or settings is never picked up. A missing or damaged export is an error that says how to make one, never a
silent fall back to torch.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from config import split_cores

from .embedders import MiniLMEmbedder, ModelMissingError, default_model_path

PRECISIONS = ("int8", "fp32")
# Bumped when the export itself changes (opset, graph inputs, quantisation), so old files are not reused.
EXPORT_FORMAT = 1
OPSET = 17


def weights_key(model_path, precision):
    """A short hash of the weights file and the export settings: the name of the export made from them."""
    digest = hashlib.sha256(f"{EXPORT_FORMAT}:{OPSET}:{precision}:".encode())
    with open(Path(model_path) / "model.safetensors", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def export_paths(model_dir, key):
    """The ONNX file of export ``key`` and the record beside it (its checksum and settings)."""
    base = Path(model_dir) / f"embedder-{key}"
    return base.with_suffix(".onnx"), base.with_suffix(".json")


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inference_threads(setting=None):
    """Threads for this process's forward passes: ``setting``, else ``INTAKE_INFERENCE_THREADS`` (set for each
    gunicorn worker by ``gunicorn.conf.py``; ``INTAKE_TORCH_THREADS`` is its former name), else every core."""
    setting = setting or os.environ.get("INTAKE_INFERENCE_THREADS") or os.environ.get("INTAKE_TORCH_THREADS")
    return split_cores(os.cpu_count(), 1, setting)


class OnnxEmbedder(MiniLMEmbedder):
    """The same documents, windows and sentence vectors as :class:`MiniLMEmbedder`, computed by ONNX Runtime.

    :param model_dir: folder holding the export (the classifier's model folder).
    :param precision: ``"int8"`` (dynamically quantised weights) or ``"fp32"`` (the exact vectors of torch).
    :param path: folder of the original weights and tokenizer; default the installed package.
    """

    def __init__(self, model_dir, precision=PRECISIONS[0], path=None, batch_size=8, threads=None):
        super().__init__(path=path, batch_size=batch_size)
        self.model_dir = model_dir
        self.precision = precision
        self.threads = threads
        self._session = None
        self._key = None

    @property
    def source_path(self):
        return Path(self.path) if self.path else default_model_path()

    @property
    def key(self):
        """The export this embedder reads, named after the weights and the settings."""
        if self._key is None:
            if self.precision not in PRECISIONS:
                raise ModelMissingError(f"Unknown embedder precision {self.precision!r}; use one of "
                                        f"{', '.join(PRECISIONS)}.")
            weights = self.source_path / "model.safetensors"
            if not weights.is_file():
                raise ModelMissingError(f"No all-MiniLM-L6-v2 weights at {weights}.")
            self._key = weights_key(self.source_path, self.precision)
        return self._key

    @property
    def name(self):
        # Heads trained on int8 vectors must not be served with fp32 ones, nor with another export's.
        return f"all-MiniLM-L6-v2/onnx-{self.precision}-{self.key}"

    def exists(self):
        """Whether the export this embedder reads has been made."""
        onnx_path, record = export_paths(self.model_dir, self.key)
        return onnx_path.is_file() and record.is_file()

    def intact(self):
        """Whether the export exists and matches its record (same key, same checksum)."""
        onnx_path, record_path = export_paths(self.model_dir, self.key)
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return (isinstance(record, dict) and record.get("key") == self.key and onnx_path.is_file()
                and record.get("sha256") == file_sha256(onnx_path))

    def load(self):
        """Open the tokenizer and the ONNX session once.

        :raises ModelMissingError: when the export is missing, damaged or made from other weights.
        """
        if self._session is not None:
            return self
        import onnxruntime
        from tokenizers import Tokenizer

        onnx_path, record_path = export_paths(self.model_dir, self.key)
        if not onnx_path.is_file() or not record_path.is_file():
            raise ModelMissingError(
                f"The ONNX export of the embedder ({onnx_path.name}) is not in {self.model_dir}. "
                "Run `flask --app app classifier train` (or `make run`), which exports it.")
        if not self.intact():
            raise ModelMissingError(f"{onnx_path} does not match its record: it is damaged or stale. Run "
                                    "`flask --app app classifier train` to export it again.")
        settings = json.loads((self.source_path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.max_tokens = min(int(settings.get("max_seq_length", 256)), 512)
        tokenizer = Tokenizer.from_file(str(self.source_path / "tokenizer.json"))
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.no_truncation()
        self._counter.no_padding()
        self._encoder = tokenizer
        self._encoder.no_padding()
        self._encoder.enable_truncation(max_length=self.max_tokens)
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = inference_threads(self.threads)
        options.inter_op_num_threads = 1
        # The arena keeps the largest batch's buffers for good: hundreds of MB per worker for a few per cent of speed.
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._model = self._session
        return self

    def _forward(self, texts):
        ids, attn, offsets, special = self._padded(texts)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": attn,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        weights = attn[..., None].astype(hidden.dtype)
        pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        return pooled, hidden, attn, offsets, special
