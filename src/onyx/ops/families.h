// The list of op families. Adding a family: write its file ending in a register_*
// function, declare it here and add it to kFamilies.
#pragma once

namespace onyx::ops {

class Registry;

void register_unary_kernels(Registry& r);
void register_binary_kernels(Registry& r);
void register_activation_kernels(Registry& r);
void register_constant_kernels(Registry& r);
void register_control_flow_kernels(Registry& r);
void register_sequence_kernels(Registry& r);
void register_quantize_kernels(Registry& r);
void register_random_kernels(Registry& r);
void register_rnn_kernels(Registry& r);
void register_string_kernels(Registry& r);
void register_signal_kernels(Registry& r);
void register_optimizer_kernels(Registry& r);
void register_shape_kernels(Registry& r);
void register_layout_kernels(Registry& r);
void register_cast_kernels(Registry& r);
void register_pad_kernels(Registry& r);
void register_reduce_kernels(Registry& r);
void register_softmax_kernels(Registry& r);
void register_argreduce_kernels(Registry& r);
void register_matmul_kernels(Registry& r);
void register_conv_kernels(Registry& r);
void register_conv_transpose_kernels(Registry& r);
void register_conv_weight_grad_kernels(Registry& r);
void register_pool_kernels(Registry& r);
void register_blocked_kernels(Registry& r);
void register_normalization_kernels(Registry& r);
void register_gather_kernels(Registry& r);
void register_loss_kernels(Registry& r);
void register_resize_kernels(Registry& r);
void register_linalg_kernels(Registry& r);
void register_detection_kernels(Registry& r);
void register_attention_kernels(Registry& r);
void register_deform_conv_kernels(Registry& r);
void register_flex_attention_kernels(Registry& r);
void register_rotary_embedding_kernels(Registry& r);
void register_causal_conv_kernels(Registry& r);
void register_linear_attention_kernels(Registry& r);
void register_tensor_scatter_kernels(Registry& r);
void register_affine_grid_kernels(Registry& r);
void register_string_split_kernels(Registry& r);
void register_regex_kernels(Registry& r);
void register_image_decoder_kernels(Registry& r);
void register_ml_map_kernels(Registry& r);
void register_roi_pool_kernels(Registry& r);
void register_ml_linear_kernels(Registry& r);
void register_ml_svm_kernels(Registry& r);
void register_ml_preprocess_kernels(Registry& r);
void register_ml_encoder_kernels(Registry& r);
void register_ml_tree_kernels(Registry& r);
void register_ml_tree_ensemble_kernels(Registry& r);

using RegisterFn = void (*)(Registry&);
inline constexpr RegisterFn kFamilies[] = {
    register_unary_kernels,
    register_binary_kernels,
    register_activation_kernels,
    register_constant_kernels,
    register_control_flow_kernels,
    register_sequence_kernels,
    register_quantize_kernels,
    register_random_kernels,
    register_rnn_kernels,
    register_string_kernels,
    register_signal_kernels,
    register_optimizer_kernels,
    register_shape_kernels,
    register_layout_kernels,
    register_cast_kernels,
    register_pad_kernels,
    register_reduce_kernels,
    register_softmax_kernels,
    register_argreduce_kernels,
    register_matmul_kernels,
    register_conv_kernels,
    register_conv_transpose_kernels,
    register_conv_weight_grad_kernels,
    register_pool_kernels,
    register_blocked_kernels,
    register_normalization_kernels,
    register_gather_kernels,
    register_loss_kernels,
    register_resize_kernels,
    register_linalg_kernels,
    register_detection_kernels,
    register_attention_kernels,
    register_deform_conv_kernels,
    register_flex_attention_kernels,
    register_rotary_embedding_kernels,
    register_causal_conv_kernels,
    register_linear_attention_kernels,
    register_tensor_scatter_kernels,
    register_affine_grid_kernels,
    register_string_split_kernels,
    register_regex_kernels,
    register_image_decoder_kernels,
    register_ml_map_kernels,
    register_roi_pool_kernels,
    register_ml_linear_kernels,
    register_ml_svm_kernels,
    register_ml_preprocess_kernels,
    register_ml_encoder_kernels,
    register_ml_tree_kernels,
    register_ml_tree_ensemble_kernels,
};

}  // namespace onyx::ops
