"""Exporting all-MiniLM-L6-v2 to ONNX at train time; the only part of serving that needs torch, run once."""

import json
import os
import tempfile
import warnings
from pathlib import Path

from .embedders import MiniLMEmbedder
from .onnx_embedder import EXPORT_FORMAT, OPSET, export_paths, file_sha256

_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def export(embedder, echo=print):
    """Write the ONNX file (and its record) that ``embedder``, an :class:`OnnxEmbedder`, reads; no-op when present.

    The fp32 graph is traced from the torch weights; ``int8`` then quantises its weights dynamically. Both files
    are written under temporary names and renamed, so a crash never leaves half an export behind.
    :return: the path of the ONNX file.
    """
    onnx_path, record_path = export_paths(embedder.model_dir, embedder.key)
    if embedder.intact():
        return onnx_path
    import torch

    source = MiniLMEmbedder(embedder.source_path).load()
    onnx_path.parent.mkdir(parents=True, exist_ok=True)

    class Encoder(torch.nn.Module):
        # Keywords, not positions: the transformer's positional parameters differ between library versions.
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    dummy = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in _NAMES)
    with tempfile.TemporaryDirectory(dir=onnx_path.parent) as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            # The TorchScript exporter warns that it is deprecated; its graph is what ONNX Runtime runs best here.
            warnings.simplefilter("ignore")
            torch.onnx.export(Encoder(source._transformer).eval(), dummy, str(fp32), input_names=list(_NAMES),
                              output_names=["last_hidden_state"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in (*_NAMES, "last_hidden_state")})
        final = fp32
        if embedder.precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            final = Path(scratch) / "int8.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(str(fp32), str(final), weight_type=QuantType.QInt8)
        os.replace(final, onnx_path)
    record = {"key": embedder.key, "precision": embedder.precision, "format": EXPORT_FORMAT, "opset": OPSET,
              "sha256": file_sha256(onnx_path), "source": str(embedder.source_path)}
    tmp = record_path.with_name(record_path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(record_path)
    echo(f"Exported the embedder to {onnx_path} ({embedder.precision}, {onnx_path.stat().st_size / 1e6:.0f} MB).")
    return onnx_path
