"""The two small ONNX graphs a foreign model is wrapped between (see :mod:`flame.export.foreign_graph`).

``prefix_graph``: frames uint8 ``[T, H, W, 3]`` BGR -> Cast -> (Gather: BGR to
RGB) -> Sub mean -> Div std -> Transpose -> Reshape ``[1, 3T, H, W]`` (-> Cast
to the model's float type). ``suffix_graph``: the model's scores -> Resize
(linear, half_pixel) to ``H, W`` -> ArgMax -> uint8 ``[H, W]``, or class ids ->
Resize (nearest: asymmetric, floor) -> uint8. Both are built with
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
        helper.make_node("Reshape", ["flame_pre_tchw", "flame_pre_shape"],
                         [PREFIX_OUT if io.input_type == TensorProto.FLOAT else "flame_pre_stacked"],
                         name="flame_pre_stack"),
    ]
    if io.input_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", ["flame_pre_stacked"], [PREFIX_OUT], to=io.input_type,
                                      name="flame_pre_cast_model"))
    graph = helper.make_graph(
        nodes, "flame_prefix",
        [helper.make_tensor_value_info("frames", TensorProto.UINT8, [window, height, width, 3])],
        [helper.make_tensor_value_info(PREFIX_OUT, io.input_type, [1, 3 * window, height, width])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", io.opset)], ir_version=ir_version)


def suffix_graph(io: ForeignIO, kind: str, model_out: tuple[int, ...], size: tuple[int, int], result: str,
            ir_version: int) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    height, width = size
    inits = [numpy_helper.from_array(np.zeros(0, np.float32), "flame_post_roi"),
             numpy_helper.from_array(np.zeros(0, np.float32), "flame_post_scales")]
    nodes = [helper.make_node("Cast", [SUFFIX_IN], ["flame_post_f"], to=TensorProto.FLOAT, name="flame_post_cast")]
    if kind == "labels":
        h, w = model_out[-2:]
        inits += [numpy_helper.from_array(np.asarray([1, 1, h, w], np.int64), "flame_post_ids_shape"),
                  numpy_helper.from_array(np.asarray([1, 1, height, width], np.int64), "flame_post_sizes"),
                  numpy_helper.from_array(np.asarray([height, width], np.int64), "flame_post_hw")]
        nodes += [
            helper.make_node("Reshape", ["flame_post_f", "flame_post_ids_shape"], ["flame_post_ids"],
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
        current = "flame_post_f"
        if tuple(model_out[2:]) != (height, width):
            inits.append(numpy_helper.from_array(np.asarray([1, classes, height, width], np.int64),
                                                 "flame_post_sizes"))
            # linear + half_pixel is torch's bilinear with align_corners=False and OpenCV's INTER_LINEAR.
            nodes.append(helper.make_node(
                "Resize", [current, "flame_post_roi", "flame_post_scales", "flame_post_sizes"], ["flame_post_up"],
                mode="linear", coordinate_transformation_mode="half_pixel", name="flame_post_resize"))
            current = "flame_post_up"
        if result == "logits":
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
                              [helper.make_tensor_value_info(SUFFIX_IN, io.output_type, list(model_out))], [out_info], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", io.opset)], ir_version=ir_version)
