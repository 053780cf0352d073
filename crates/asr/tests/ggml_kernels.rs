//! The ggml CPU kernels callscope patched (vendor/whisper-rs-sys/PATCHES.md,
//! patch 4), run through a ggml graph the way whisper.cpp runs them.
//!
//! The vector max in the softmax must see every element: with one row
//! holding a single large value at any position (inside the 64-wide loop,
//! the 16-wide loop or the scalar tail), a max that missed it makes
//! `exp(x - max)` overflow and the row NaN. The vector GELU must give the
//! scalar loop's results to the bit: the same values are laid out once
//! where the 16-wide path takes them and once in the scalar tail.
//!
//! The repacked q8_0 matrix product (patch 9) must give what the plain
//! layout gives: the same weights, once in the CPU's repacked buffer and
//! once in a plain one, times the same activations, for every path through
//! the kernels (one row, four, tails of 1-3 rows; 1-3 column tiles and their
//! tails; one and two threads).

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

/// The CPU backend's repacked buffer type ("CPU_REPACK").
fn repack_buffer_type() -> ggml::ggml_backend_buffer_type_t {
    unsafe {
        let reg = ggml::ggml_backend_cpu_reg();
        let address = ggml::ggml_backend_reg_get_proc_address(
            reg,
            c"ggml_backend_dev_get_extra_bufts".as_ptr(),
        );
        assert!(
            !address.is_null(),
            "the CPU backend lists no extra buffer types"
        );
        let get_extra: unsafe extern "C" fn(
            ggml::ggml_backend_dev_t,
        ) -> *mut ggml::ggml_backend_buffer_type_t = std::mem::transmute(address);
        let mut list = get_extra(ggml::ggml_backend_reg_dev_get(reg, 0));
        while !(*list).is_null() {
            let name = std::ffi::CStr::from_ptr(ggml::ggml_backend_buft_name(*list));
            if name.to_bytes() == b"CPU_REPACK" {
                return *list;
            }
            list = list.add(1);
        }
        panic!("no CPU_REPACK buffer type");
    }
}

/// `weights` (q8_0, `n` rows of `k`) in a buffer of `buffer_type`, times
/// `x` (`m` rows of `k`) on `threads` threads: `m` rows of `n`, and whether
/// the weights took a repacked layout.
fn q8_0_mul_mat(
    weights: &[u8],
    k: usize,
    n: usize,
    x: &[f32],
    m: usize,
    threads: i32,
    buffer_type: ggml::ggml_backend_buffer_type_t,
) -> (Vec<f32>, bool) {
    unsafe {
        ggml::ggml_cpu_init();
        let weight_ctx = ggml::ggml_init(ggml::ggml_init_params {
            mem_size: ggml::ggml_tensor_overhead() * 2,
            mem_buffer: std::ptr::null_mut(),
            no_alloc: true,
        });
        let w = ggml::ggml_new_tensor_2d(
            weight_ctx,
            ggml::ggml_type_GGML_TYPE_Q8_0,
            k as i64,
            n as i64,
        );
        let buffer = ggml::ggml_backend_alloc_ctx_tensors_from_buft(weight_ctx, buffer_type);
        assert!(!buffer.is_null());
        assert_eq!(ggml::ggml_nbytes(w), weights.len());
        ggml::ggml_backend_tensor_set(w, weights.as_ptr().cast(), 0, weights.len());
        let repacked = !(*w).extra.is_null();

        let ctx = ggml::ggml_init(ggml::ggml_init_params {
            mem_size: 64 * 1024 * 1024,
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        let a = ggml::ggml_new_tensor_2d(ctx, ggml::ggml_type_GGML_TYPE_F32, k as i64, m as i64);
        std::ptr::copy_nonoverlapping(x.as_ptr(), (*a).data.cast::<f32>(), x.len());
        let product = ggml::ggml_mul_mat(ctx, w, a);
        let graph = ggml::ggml_new_graph(ctx);
        ggml::ggml_build_forward_expand(graph, product);
        let status = ggml::ggml_graph_compute_with_ctx(ctx, graph, threads);
        assert_eq!(status, ggml::ggml_status_GGML_STATUS_SUCCESS);
        let out = std::slice::from_raw_parts((*product).data.cast::<f32>(), m * n).to_vec();
        ggml::ggml_free(ctx);
        ggml::ggml_backend_buffer_free(buffer);
        ggml::ggml_free(weight_ctx);
        (out, repacked)
    }
}

/// Deterministic values in about [-1, 1], some of them large.
fn pseudo_random(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..count)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            if i % 97 == 0 {
                unit * 8.0
            } else {
                unit
            }
        })
        .collect()
}

#[test]
fn repacked_q8_0_product_matches_the_plain_layout() {
    let repack = repack_buffer_type();
    let plain = unsafe { ggml::ggml_backend_cpu_buffer_type() };
    // The kernels exist for x86 with AVX-512 VNNI; elsewhere q8_0 stays plain.
    #[cfg(target_arch = "x86_64")]
    let expect_repacked = std::arch::is_x86_feature_detected!("avx512vnni")
        && std::arch::is_x86_feature_detected!("avx512bw");
    #[cfg(not(target_arch = "x86_64"))]
    let expect_repacked = false;

    for (k, n) in [
        (32, 16),
        (96, 48),
        (512, 64),
        (512, 80),
        (2048, 512),
        (64, 51872),
    ] {
        let w = pseudo_random(k * n, (k * 31 + n) as u64);
        let mut weights =
            vec![0u8; unsafe { ggml::ggml_row_size(ggml::ggml_type_GGML_TYPE_Q8_0, k as i64) } * n];
        unsafe {
            ggml::ggml_quantize_chunk(
                ggml::ggml_type_GGML_TYPE_Q8_0,
                w.as_ptr(),
                weights.as_mut_ptr().cast(),
                0,
                n as i64,
                k as i64,
                std::ptr::null(),
            );
        }
        let rows: &[usize] = if n > 4096 {
            &[1, 5]
        } else {
            &[1, 2, 3, 4, 5, 8, 13]
        };
        for &m in rows {
            let x = pseudo_random(k * m, (m * 7 + k) as u64);
            for threads in [1, 2] {
                let (expected, plain_repacked) =
                    q8_0_mul_mat(&weights, k, n, &x, m, threads, plain);
                assert!(!plain_repacked);
                let (got, repacked) = q8_0_mul_mat(&weights, k, n, &x, m, threads, repack);
                assert_eq!(
                    repacked, expect_repacked,
                    "k {k}, n {n}: repacked layout taken"
                );
                for (index, (g, e)) in got.iter().zip(&expected).enumerate() {
                    assert!(
                        (g - e).abs() <= 1e-4 * e.abs().max(1.0),
                        "k {k}, n {n}, m {m}, threads {threads}: [{}][{}] = {g}, plain layout {e}",
                        index / n,
                        index % n
                    );
                }
            }
        }
    }
}
