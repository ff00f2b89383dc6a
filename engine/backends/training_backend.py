"""Full fine-tuning with llama.cpp's own training API (ggml-opt), through ctypes.

llama.cpp trains F32 tensors only, so the model is first dequantized to all-F32; the context has
n_ctx = n_batch = n_ubatch (a multiple of 256), flash attention off and F32 K/V. The training
loop reads the model's *trained* context length as its window, so the F32 model is loaded with
that length overridden to the window. llama-cpp-python binds `llama_opt_params` without its
`optimizer_type` field and does not bind the dataset and result functions of ggml-opt: they are
declared here. The optimizer's parameters come from ggml's own "constant parameters" function
reading a struct this module owns (a Python callback cannot return a struct by value).
The token embedding is never trained by llama.cpp (and tied output weights with it)."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FTYPE_ALL_F32, FTYPE_Q8_0, FTYPE_F16 = 0, 7, 1
GGML_TYPE_I32 = 26
WINDOW = 256  # tokens per training sequence: llama.cpp's training needs a multiple of 256

_f = ctypes.c_float


class _OptimizerParams(ctypes.Structure):
    _fields_ = [("alpha", _f), ("beta1", _f), ("beta2", _f), ("eps", _f), ("wd", _f),
                ("sgd_alpha", _f), ("sgd_wd", _f)]  # fmt: skip


_ParamFilter = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p)
_EpochCallback = ctypes.CFUNCTYPE(
    None,
    ctypes.c_bool,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.c_int64,
)


class _OptParams(ctypes.Structure):  # llama.h's llama_opt_params, all of it
    _fields_ = [("n_ctx_train", ctypes.c_uint32), ("param_filter", _ParamFilter),
                ("param_filter_ud", ctypes.c_void_p), ("get_opt_pars", ctypes.c_void_p),
                ("get_opt_pars_ud", ctypes.c_void_p), ("optimizer_type", ctypes.c_int)]  # fmt: skip


@dataclass
class _Native:
    L: Any  # llama_cpp.llama_cpp
    base: Any  # libggml-base
    constant_params: int  # the address of ggml_opt_get_constant_optimizer_params


def _native() -> _Native:
    import llama_cpp.llama_cpp as L

    base = ctypes.CDLL(str(Path(L.__file__).parent / "lib" / "libggml-base.so"))
    vp, i64 = ctypes.c_void_p, ctypes.c_int64
    base.ggml_opt_dataset_init.restype = vp
    base.ggml_opt_dataset_init.argtypes = [ctypes.c_int, ctypes.c_int, i64, i64, i64, i64]
    for name in ("ggml_opt_dataset_data", "ggml_opt_dataset_labels"):
        getattr(base, name).restype = vp
        getattr(base, name).argtypes = [vp]
    base.ggml_opt_dataset_free.argtypes = [vp]
    base.ggml_backend_tensor_set.argtypes = [vp, vp, ctypes.c_size_t, ctypes.c_size_t]
    base.ggml_opt_result_init.restype = vp
    base.ggml_opt_result_free.argtypes = [vp]
    base.ggml_opt_result_reset.argtypes = [vp]
    base.ggml_opt_result_loss.argtypes = [vp, ctypes.POINTER(ctypes.c_double),
                                          ctypes.POINTER(ctypes.c_double)]  # fmt: skip
    base.ggml_get_name.restype = ctypes.c_char_p
    base.ggml_get_name.argtypes = [vp]
    lib = L._lib
    lib.llama_opt_init.argtypes = [vp, vp, _OptParams]
    lib.llama_opt_init.restype = None
    lib.llama_opt_epoch.argtypes = [vp, vp, vp, vp, i64, _EpochCallback, _EpochCallback]
    lib.llama_opt_epoch.restype = None
    lib.llama_model_save_to_file.argtypes = [vp, ctypes.c_char_p]
    lib.llama_model_save_to_file.restype = None
    address = ctypes.cast(base.ggml_opt_get_constant_optimizer_params, vp).value or 0
    return _Native(L, base, address)


def quantize(
    source: Path, target: Path, ftype: int, threads: int, context: int | None = None
) -> None:
    """Write `source` as `target` in `ftype` (ALL_F32 dequantizes); `context` restores the
    trained context length in the metadata (training saves its window instead)."""
    native = _native()
    L = native.L
    params = L.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize, params.nthread = ftype, True, threads
    overrides = None
    if context is not None:
        overrides = _context_override(L, source, context)
        params.kv_overrides = ctypes.cast(overrides, ctypes.POINTER(L.llama_model_kv_override))
    if L.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params)):
        raise RuntimeError("llama.cpp could not write the model")


def architecture(path: Path) -> str:
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields["general.architecture"]
    return bytes(field.parts[-1]).decode()


def context_length(path: Path) -> int:
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields[f"{architecture(path)}.context_length"]
    return int(field.parts[-1][0])


def _context_override(L: Any, path: Path, length: int) -> Any:
    overrides = (L.llama_model_kv_override * 2)()  # the second, empty, ends the list
    overrides[0].tag = L.LLAMA_KV_OVERRIDE_TYPE_INT
    overrides[0].key = f"{architecture(path)}.context_length".encode()
    overrides[0].value.val_i64 = length
    return overrides


@dataclass
class EpochResult:
    train_loss: float
    eval_loss: float | None


class Trainer:
    """One F32 model being trained. Blocking, and heavy: run it in a process of its own."""

    def __init__(self, f32_path: Path, threads: int, learning_rate: float, upper_layers: int):
        self._native = native = _native()
        L = native.L
        L.llama_backend_init()
        self._overrides = _context_override(L, f32_path, WINDOW)
        params = L.llama_model_default_params()
        params.load_mode = 0  # read into memory: training writes the weights
        params.kv_overrides = ctypes.cast(
            self._overrides, ctypes.POINTER(L.llama_model_kv_override)
        )
        self._model = L.llama_model_load_from_file(str(f32_path).encode(), params)
        if not self._model:
            raise RuntimeError("llama.cpp could not load the model for training")
        context = L.llama_context_default_params()
        context.n_ctx = context.n_batch = context.n_ubatch = WINDOW
        context.n_threads = context.n_threads_batch = threads
        context.flash_attn_type = 0
        context.type_k = context.type_v = 0  # F32
        self._ctx = L.llama_init_from_model(self._model, context)
        if not self._ctx:
            raise RuntimeError("llama.cpp could not make a training context")
        self.n_layer = int(L.llama_model_n_layer(self._model))
        lowest = self.n_layer - upper_layers if upper_layers else 0
        self.trained_tensors = 0

        def trainable(tensor: int, _ud: int) -> bool:
            name = (native.base.ggml_get_name(tensor) or b"").decode()
            keep = not name.startswith("blk.") or int(name.split(".")[1]) >= lowest
            keep = keep and (not upper_layers or name.startswith(("blk.", "output_norm")))
            self.trained_tensors += keep
            return keep

        self._filter = _ParamFilter(trainable)  # kept alive as long as the context
        self._optimizer = _OptimizerParams(learning_rate, 0.9, 0.999, 1e-8, 0.0, learning_rate, 0.0)
        user_data = ctypes.cast(ctypes.pointer(self._optimizer), ctypes.c_void_p)
        opt = _OptParams(0, self._filter, None, native.constant_params, user_data, 0)
        native.L._lib.llama_opt_init(self._ctx, self._model, opt)

    def set_learning_rate(self, rate: float) -> None:
        """Read by llama.cpp before each step."""
        self._optimizer.alpha = self._optimizer.sgd_alpha = rate

    def dataset(self, tokens: Sequence[int], stride: int = WINDOW // 2) -> tuple[Any, int]:
        """Windows of the token stream (overlapping by half), each with its next tokens as
        labels, as llama.cpp's own examples build them."""
        base = self._native.base
        count = max(1, (len(tokens) - WINDOW - 1) // stride + 1)
        padded = list(tokens) + [tokens[-1]] * max(
            0, (count - 1) * stride + WINDOW + 1 - len(tokens)
        )
        data = base.ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, WINDOW, WINDOW, count, 1)
        inputs, labels = base.ggml_opt_dataset_data(data), base.ggml_opt_dataset_labels(data)
        row = ctypes.c_int32 * WINDOW
        for i in range(count):
            start = i * stride
            base.ggml_backend_tensor_set(inputs, row(*padded[start : start + WINDOW]),
                                         i * WINDOW * 4, WINDOW * 4)  # fmt: skip
            base.ggml_backend_tensor_set(labels, row(*padded[start + 1 : start + WINDOW + 1]),
                                         i * WINDOW * 4, WINDOW * 4)  # fmt: skip
        return data, count

    def epoch(
        self,
        data: Any,
        count: int,
        split: int,
        on_batch: Callable[[int, int, float | None], None],
    ) -> EpochResult:
        """Train on the first `split` windows, evaluate on the rest; `on_batch(done, total,
        loss)` after each step, with the epoch's mean training loss so far."""
        base = self._native.base
        train, evaluate = base.ggml_opt_result_init(), base.ggml_opt_result_init()

        def report(
            is_train: bool, _o: int, _d: int, result: int, done: int, total: int, _t: int
        ) -> None:
            if is_train:
                loss = self._loss(result)
                on_batch(int(done), int(total), loss if math.isfinite(loss) else None)

        callback = _EpochCallback(report)
        try:
            self._native.L._lib.llama_opt_epoch(self._ctx, data, train, evaluate, split, callback,
                                                 _EpochCallback())  # fmt: skip
            return EpochResult(self._loss(train), self._loss(evaluate) if split < count else None)
        finally:
            base.ggml_opt_result_free(train)
            base.ggml_opt_result_free(evaluate)

    def _loss(self, result: int) -> float:
        loss, spread = ctypes.c_double(), ctypes.c_double()
        self._native.base.ggml_opt_result_loss(result, ctypes.byref(loss), ctypes.byref(spread))
        return float(loss.value)

    def free_dataset(self, data: Any) -> None:
        self._native.base.ggml_opt_dataset_free(data)

    def save(self, path: Path) -> None:
        self._native.L._lib.llama_model_save_to_file(self._model, str(path).encode())

    def close(self) -> None:
        L = self._native.L
        L.llama_free(self._ctx)
        L.llama_model_free(self._model)
