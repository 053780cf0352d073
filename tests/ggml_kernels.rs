//! The ggml CPU kernels callscope patched (vendor/whisper-rs-sys/PATCHES.md,
//! patch 4), run through a ggml graph the way whisper.cpp runs them.
//!
//! The vector max in the softmax must see every element: with one row
//! holding a single large value at any position (inside the 64-wide loop,
//! the 16-wide loop or the scalar tail), a max that missed it makes
//! `exp(x - max)` overflow and the row NaN. The vector GELU must give the
//! scalar loop's results to the bit: the same values are laid out once
//! where the 16-wide path takes them and once in the scalar tail.

#![allow(unsafe_code)] // ggml's C API, on tensors this file sizes

use whisper_rs::whisper_rs_sys as ggml;

/// Runs `op` on `input` (one f32 row) on one CPU thread; the output row.
fn run_row(
    input: &[f32],
    op: unsafe extern "C" fn(
        *mut ggml::ggml_context,
        *mut ggml::ggml_tensor,
    ) -> *mut ggml::ggml_tensor,
) -> Vec<f32> {
    unsafe {
        ggml::ggml_cpu_init();
        let ctx = ggml::ggml_init(ggml::ggml_init_params {
            mem_size: 4 * 1024 * 1024,
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        assert!(!ctx.is_null());
        let a = ggml::ggml_new_tensor_1d(ctx, ggml::ggml_type_GGML_TYPE_F32, input.len() as i64);
        std::ptr::copy_nonoverlapping(input.as_ptr(), (*a).data.cast::<f32>(), input.len());
        let result = op(ctx, a);
        let graph = ggml::ggml_new_graph(ctx);
        ggml::ggml_build_forward_expand(graph, result);
        let status = ggml::ggml_graph_compute_with_ctx(ctx, graph, 1);
        assert_eq!(status, ggml::ggml_status_GGML_STATUS_SUCCESS);
        let output = std::slice::from_raw_parts((*result).data.cast::<f32>(), input.len()).to_vec();
        ggml::ggml_free(ctx);
        output
    }
}

#[test]
fn softmax_finds_the_max_wherever_it_lies() {
    // Lengths around the 64- and 16-wide steps; the peak at every position.
    for n in [1, 15, 16, 17, 63, 64, 65, 100, 129, 1000] {
        for peak in 0..n {
            let mut row = vec![0.0f32; n];
            row[peak] = 500.0;
            let out = run_row(&row, ggml::ggml_soft_max);
            for (index, value) in out.iter().enumerate() {
                let expected = if index == peak { 1.0 } else { 0.0 };
                assert!(
                    (value - expected).abs() < 1e-6,
                    "n {n}, peak {peak}: [{index}] = {value}"
                );
            }
        }
    }
    // An ordinary row against the definition.
    let row: Vec<f32> = (0..777)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
        .collect();
    let max = row
        .iter()
        .cloned()
        .fold(f64::MIN, |m, v| m.max(f64::from(v)));
    let sum: f64 = row.iter().map(|&v| (f64::from(v) - max).exp()).sum();
    for (value, out) in row.iter().zip(run_row(&row, ggml::ggml_soft_max)) {
        let expected = (f64::from(*value) - max).exp() / sum;
        assert!(
            (f64::from(out) - expected).abs() < 1e-6,
            "{out} vs {expected}"
        );
    }
}

#[test]
fn gelu_vector_path_matches_the_scalar_path() {
    // Values across the table's range and past its ±10 cut-offs, fp16
    // rounding boundaries included.
    let mut values: Vec<f32> = (-1200..=1200).map(|i| i as f32 / 100.0).collect();
    values.extend([
        -10.0, 10.0, -9.999, 9.999, 0.0, -0.0, 1e-8, -1e-8, 65504.0, -65504.0,
    ]);
    for chunk in values.chunks(15) {
        // 16 values for the vector loop (the chunk and one pad), then the
        // chunk again in the scalar tail.
        let mut row = chunk.to_vec();
        row.resize(16, 0.5);
        row.extend_from_slice(chunk);
        let out = run_row(&row, ggml::ggml_gelu);
        for (k, value) in chunk.iter().enumerate() {
            let vector = out[k];
            let scalar = out[16 + k];
            assert_eq!(
                vector.to_bits(),
                scalar.to_bits(),
                "gelu({value}): {vector} vs {scalar}"
            );
            // And near GELU itself (the table holds fp16 values).
            let x = f64::from(*value);
            let exact = 0.5
                * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh());
            assert!(
                (f64::from(vector) - exact).abs() <= 2e-3 * exact.abs().max(1.0),
                "gelu({value}) = {vector}, expected {exact}"
            );
        }
    }
}
