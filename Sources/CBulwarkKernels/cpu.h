// Run-time CPU checks shared by the kernels that are compiled twice (for AVX2, chosen when the
// CPU has it, and for the baseline target).
#ifndef BULWARK_CPU_H
#define BULWARK_CPU_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAS_AVX2_VARIANT 1

// Whether the CPU runs AVX2 code (and FMA code, when `fma` is nonzero).
static inline int cpu_has_avx2(int fma) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && (!fma || __builtin_cpu_supports("fma"));
}
#endif

#endif
