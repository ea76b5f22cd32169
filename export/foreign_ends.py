"""The two small ONNX graphs a foreign model is wrapped between (see :mod:`flame.export.foreign_graph`).

``prefix_graph``: frames uint8 ``[T, H, W, 3]`` BGR -> Cast -> (Gather: BGR to
RGB) -> Sub mean -> Div std -> Transpose -> Reshape ``[1, 3T, H, W]`` (-> Transpose
to ``[1, H, W, 3T]`` for an NHWC model) (-> Cast to the model's float type).
``suffix_graph``: the model's output (Transposed to channels first for an NHWC
model) -> scores: Resize (linear, half_pixel) to ``H, W`` -> ArgMax -> uint8
``[H, W]``; one score channel: Resize -> Greater than the threshold -> uint8;
class ids: Resize (nearest: asymmetric, floor) -> uint8. Both are built with
``onnx.helper`` at the foreign model's opset and IR version, from ops that keep
their signature from opset 11 on, so ``onnx.compose`` can join them to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from flame.export.host_reference import Preprocessing

if TYPE_CHECKING:
    from flame.export.foreign_graph import ForeignIO

#: The prefix's output, joined to the model's image input.
PREFIX_OUT = "flame_pre_out"
#: The suffix's input, joined to the model's output.
SUFFIX_IN = "flame_post_in"


def prefix_graph(io: ForeignIO, pre: Preprocessing, window: int, size: tuple[int, int], ir_version: int) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    height, width = size
    nodes = [helper.make_node("Cast", ["frames"], ["flame_pre_f"], to=TensorProto.FLOAT, name="flame_pre_cast")]
    current = "flame_pre_f"
    inits = [numpy_helper.from_array(np.asarray(pre.mean, np.float32), "flame_pre_mean"),
             numpy_helper.from_array(np.asarray(pre.std, np.float32), "flame_pre_std"),
             numpy_helper.from_array(np.asarray([1, 3 * window, height, width], np.int64), "flame_pre_shape")]
    if pre.channels == "rgb":  # frames arrive BGR
        inits.append(numpy_helper.from_array(np.asarray([2, 1, 0], np.int64), "flame_pre_rgb"))
        nodes.append(helper.make_node("Gather", [current, "flame_pre_rgb"], ["flame_pre_ordered"], axis=3,
                                      name="flame_pre_channels"))
        current = "flame_pre_ordered"
    nodes += [
        helper.make_node("Sub", [current, "flame_pre_mean"], ["flame_pre_centred"], name="flame_pre_sub"),
        helper.make_node("Div", ["flame_pre_centred", "flame_pre_std"], ["flame_pre_norm"], name="flame_pre_div"),
        helper.make_node("Transpose", ["flame_pre_norm"], ["flame_pre_tchw"], perm=[0, 3, 1, 2],
                         name="flame_pre_transpose"),
        helper.make_node("Reshape", ["flame_pre_tchw", "flame_pre_shape"], ["flame_pre_nchw"], name="flame_pre_stack"),
    ]
    current = "flame_pre_nchw"
    if io.layout == "nhwc":  # channel c of frame t at position 3t + c, as in NCHW: oldest frame first
        nodes.append(helper.make_node("Transpose", [current], ["flame_pre_nhwc"], perm=[0, 2, 3, 1],
                                      name="flame_pre_channels_last"))
        current = "flame_pre_nhwc"
    if io.input_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [current], ["flame_pre_typed"], to=io.input_type,
                                      name="flame_pre_cast_model"))
        current = "flame_pre_typed"
    nodes.append(helper.make_node("Identity", [current], [PREFIX_OUT], name="flame_pre_out"))
    graph = helper.make_graph(
        nodes, "flame_prefix",
        [helper.make_tensor_value_info("frames", TensorProto.UINT8, [window, height, width, 3])],
        [helper.make_tensor_value_info(PREFIX_OUT, io.input_type, list(io.input_dims(window, size)))], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", io.opset)], ir_version=ir_version)


def channels_first(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """A rank-4 NHWC output shape as NCHW (other shapes and layouts as they are)."""
    return (shape[0], shape[3], shape[1], shape[2]) if layout == "nhwc" and len(shape) == 4 else tuple(shape)


def suffix_graph(io: ForeignIO, kind: str, model_out: tuple[int, ...], size: tuple[int, int], result: str,
                 ir_version: int, threshold: float = 0.5) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    height, width = size
    inits = [numpy_helper.from_array(np.zeros(0, np.float32), "flame_post_roi"),
             numpy_helper.from_array(np.zeros(0, np.float32), "flame_post_scales")]
    nodes = [helper.make_node("Cast", [SUFFIX_IN], ["flame_post_f"], to=TensorProto.FLOAT, name="flame_post_cast")]
    graph_out = tuple(model_out)
    model_out = channels_first(graph_out, io.layout)
    if io.layout == "nhwc" and len(graph_out) == 4:
        nodes.append(helper.make_node("Transpose", ["flame_post_f"], ["flame_post_nchw"], perm=[0, 3, 1, 2],
                                      name="flame_post_channels_first"))
        nodes.append(helper.make_node("Identity", ["flame_post_nchw"], ["flame_post_in_f"], name="flame_post_in"))
    else:
        nodes.append(helper.make_node("Identity", ["flame_post_f"], ["flame_post_in_f"], name="flame_post_in"))
    if kind == "labels":
        h, w = model_out[-2:]
        inits += [numpy_helper.from_array(np.asarray([1, 1, h, w], np.int64), "flame_post_ids_shape"),
                  numpy_helper.from_array(np.asarray([1, 1, height, width], np.int64), "flame_post_sizes"),
                  numpy_helper.from_array(np.asarray([height, width], np.int64), "flame_post_hw")]
        nodes += [
            helper.make_node("Reshape", ["flame_post_in_f", "flame_post_ids_shape"], ["flame_post_ids"],
                             name="flame_post_ids4d"),
            # asymmetric + floor is OpenCV's INTER_NEAREST (the host reference and flame's label resizing).
            helper.make_node("Resize", ["flame_post_ids", "flame_post_roi", "flame_post_scales", "flame_post_sizes"],
                             ["flame_post_up"], mode="nearest", coordinate_transformation_mode="asymmetric",
                             nearest_mode="floor", name="flame_post_resize"),
            helper.make_node("Reshape", ["flame_post_up", "flame_post_hw"], ["flame_post_hw_ids"],
                             name="flame_post_flatten"),
            helper.make_node("Cast", ["flame_post_hw_ids"], [result], to=TensorProto.UINT8, name="flame_post_labels"),
        ]
        out_info = helper.make_tensor_value_info(result, TensorProto.UINT8, [height, width])
    else:
        classes = model_out[1]
        current = "flame_post_in_f"
        if tuple(model_out[2:]) != (height, width):
            inits.append(numpy_helper.from_array(np.asarray([1, classes, height, width], np.int64),
                                                 "flame_post_sizes"))
            # linear + half_pixel is torch's bilinear with align_corners=False and OpenCV's INTER_LINEAR.
            nodes.append(helper.make_node(
                "Resize", [current, "flame_post_roi", "flame_post_scales", "flame_post_sizes"], ["flame_post_up"],
                mode="linear", coordinate_transformation_mode="half_pixel", name="flame_post_resize"))
            current = "flame_post_up"
        if kind == "binary":
            # One score channel: the model's class where the score exceeds the threshold. As logits, the two
            # classes' scores are (threshold - s, s - threshold), whose argmax is the same decision.
            inits.append(numpy_helper.from_array(np.asarray(threshold, np.float32), "flame_post_threshold"))
            nodes.append(helper.make_node("Sub", [current, "flame_post_threshold"], ["flame_post_margin"],
                                          name="flame_post_margin"))
            if result == "logits":
                nodes += [helper.make_node("Neg", ["flame_post_margin"], ["flame_post_background"],
                                           name="flame_post_background"),
                          helper.make_node("Concat", ["flame_post_background", "flame_post_margin"],
                                           ["flame_post_two"], axis=1, name="flame_post_two")]
                current, classes = "flame_post_two", 2
        if kind == "binary" and result != "logits":
            inits += [numpy_helper.from_array(np.asarray(0.0, np.float32), "flame_post_zero"),
                      numpy_helper.from_array(np.asarray([height, width], np.int64), "flame_post_hw")]
            nodes += [
                helper.make_node("Greater", ["flame_post_margin", "flame_post_zero"], ["flame_post_mask"],
                                 name="flame_post_greater"),
                helper.make_node("Reshape", ["flame_post_mask", "flame_post_hw"], ["flame_post_hw_mask"],
                                 name="flame_post_flatten"),
                helper.make_node("Cast", ["flame_post_hw_mask"], [result], to=TensorProto.UINT8,
                                 name="flame_post_labels"),
            ]
            out_info = helper.make_tensor_value_info(result, TensorProto.UINT8, [height, width])
        elif result == "logits":
            inits.append(numpy_helper.from_array(np.asarray([classes, height, width], np.int64), "flame_post_chw"))
            nodes.append(helper.make_node("Reshape", [current, "flame_post_chw"], [result], name="flame_post_logits"))
            out_info = helper.make_tensor_value_info(result, TensorProto.FLOAT, [classes, height, width])
        else:
            inits.append(numpy_helper.from_array(np.asarray([height, width], np.int64), "flame_post_hw"))
            nodes += [
                helper.make_node("ArgMax", [current], ["flame_post_ids"], axis=1, keepdims=0, name="flame_post_argmax"),
                helper.make_node("Reshape", ["flame_post_ids", "flame_post_hw"], ["flame_post_hw_ids"],
                                 name="flame_post_flatten"),
                helper.make_node("Cast", ["flame_post_hw_ids"], [result], to=TensorProto.UINT8,
                                 name="flame_post_labels"),
            ]
            out_info = helper.make_tensor_value_info(result, TensorProto.UINT8, [height, width])
    graph = helper.make_graph(nodes, "flame_suffix",
                              [helper.make_tensor_value_info(SUFFIX_IN, io.output_type, list(graph_out))], [out_info], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", io.opset)], ir_version=ir_version)
