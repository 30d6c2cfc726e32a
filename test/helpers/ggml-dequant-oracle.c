/* Test oracle: llama.cpp's own dequantize_row_* (ggml/src/ggml-quants.c from the peer
 * tarball in ../shared/peers, compiled by test/ggml-dequant.test.ts with
 * -ffp-contract=off) run on a file of raw blocks; writes the float32 results.
 *   oracle <ggml type id> <in.bin> <out.bin>
 * The few ggml.c symbols ggml-quants.c links against are defined here the way ggml.c
 * does (the half table is filled exactly as ggml_init fills it). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"
#include "ggml-impl.h"
#include "ggml-quants.h"

float ggml_table_f32_f16[1 << 16];
void ggml_abort(const char * file, int line, const char * fmt, ...) { fprintf(stderr, "abort %s:%d\n", file, line); abort(); }
size_t ggml_type_size(enum ggml_type type) { (void) type; abort(); }
size_t ggml_row_size(enum ggml_type type, int64_t ne) { (void) type; (void) ne; abort(); }
const char * ggml_type_name(enum ggml_type type) { (void) type; return "?"; }

int main(int argc, char ** argv) {
    if (argc != 4) { fprintf(stderr, "usage: oracle type in out\n"); return 2; }
    for (int i = 0; i < (1 << 16); ++i) {
        uint16_t u = (uint16_t) i;
        ggml_fp16_t h; memcpy(&h, &u, 2);
        ggml_table_f32_f16[i] = GGML_COMPUTE_FP16_TO_FP32(h);
    }
    int type = atoi(argv[1]);
    FILE * f = fopen(argv[2], "rb");
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    unsigned char * in = malloc(n);
    if (fread(in, 1, n, f) != (size_t) n) return 1;
    fclose(f);
    int64_t k; float * y;
    switch (type) {
#define ROW(id, fn, elems, bytes) case id: k = n / bytes * elems; y = malloc(k * 4); fn((void *) in, y, k); break;
        ROW(GGML_TYPE_Q4_0, dequantize_row_q4_0, 32, 18)
        ROW(GGML_TYPE_Q4_1, dequantize_row_q4_1, 32, 20)
        ROW(GGML_TYPE_Q5_0, dequantize_row_q5_0, 32, 22)
        ROW(GGML_TYPE_Q5_1, dequantize_row_q5_1, 32, 24)
        ROW(GGML_TYPE_Q8_0, dequantize_row_q8_0, 32, 34)
        ROW(GGML_TYPE_Q2_K, dequantize_row_q2_K, 256, 84)
        ROW(GGML_TYPE_Q3_K, dequantize_row_q3_K, 256, 110)
        ROW(GGML_TYPE_Q4_K, dequantize_row_q4_K, 256, 144)
        ROW(GGML_TYPE_Q5_K, dequantize_row_q5_K, 256, 176)
        ROW(GGML_TYPE_Q6_K, dequantize_row_q6_K, 256, 210)
        ROW(GGML_TYPE_IQ4_NL, dequantize_row_iq4_nl, 32, 18)
        case GGML_TYPE_F16:
            k = n / 2; y = malloc(k * 4);
            for (int64_t i = 0; i < k; ++i) { ggml_fp16_t h; memcpy(&h, in + 2 * i, 2); y[i] = GGML_FP16_TO_FP32(h); }
            break;
        case GGML_TYPE_BF16:
            k = n / 2; y = malloc(k * 4);
            for (int64_t i = 0; i < k; ++i) { ggml_bf16_t h; memcpy(&h, in + 2 * i, 2); y[i] = GGML_BF16_TO_FP32(h); }
            break;
        default: fprintf(stderr, "type %d not in the oracle\n", type); return 2;
    }
    f = fopen(argv[3], "wb");
    fwrite(y, 4, k, f);
    fclose(f);
    return 0;
}
