/* dispatch.c: the choice of the kernel set, once per process, from CPUID, XCR0 and MOE_ARCH.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * A set is usable when it is compiled in (configure found the compiler flags), the CPU
 * reports its instructions (CPUID) and the OS saves their registers on a context switch
 * (XCR0, read with XGETBV only when CPUID says OSXSAVE): AVX2 needs AVX2, FMA, AVX and the
 * XMM+YMM state; AVX-512 needs AVX512F and AVX512DQ as well and the opmask, ZMM_Hi256 and
 * Hi16_ZMM state. Without MOE_ARCH the best usable set is taken; MOE_ARCH=ref|avx2|avx512
 * forces one, and an unknown or unusable name leaves ref in place and is reported by
 * moe_kernels_init. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MOE_X86 1
#endif

#include "core/error.h"
#include "kernels/kernels.h"

static moe_kernels set_ref, set_avx2, set_avx512;
static const moe_kernels *active = &set_ref;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char choice_error[256];  /* "" when the choice succeeded */

#ifdef MOE_X86
static unsigned long long xcr0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

/* 1 when CPUID leaf 1 says AVX, FMA and OSXSAVE and XCR0 has every bit of MASK. */
static int os_saves(unsigned long long mask)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_FMA))
        return 0;
    return (xcr0() & mask) == mask;
}

static unsigned int leaf7_ebx(void)
{
    unsigned int a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return b;
}
#endif

int moe_kernels_cpu_has_avx2(void)
{
#ifdef MOE_X86
    return os_saves(0x6) && (leaf7_ebx() & bit_AVX2) != 0;  /* XMM | YMM state */
#else
    return 0;
#endif
}

int moe_kernels_cpu_has_avx512(void)
{
#ifdef MOE_X86
    unsigned int b = leaf7_ebx();
    /* XMM | YMM | opmask | ZMM_Hi256 | Hi16_ZMM state */
    return moe_kernels_cpu_has_avx2() && os_saves(0xe6) && (b & bit_AVX512F) &&
           (b & bit_AVX512DQ);
#else
    return 0;
#endif
}

/* The ISA files' fill functions are compiled with their ISA flags, so the compiler may use
 * those instructions even to store the table's pointers (GCC merges the stores into one
 * 512-bit store): they are called only where the CPU runs that set, never just to fill a set
 * that find() then refuses (that was a SIGILL at start-up on CPUs, and under valgrind, without
 * AVX-512). */
static void fill_all(void)
{
    moe_kernels_fill_ref(&set_ref);
    set_avx2 = set_ref;
    set_avx2.name = "avx2";
#ifdef MOE_HAVE_AVX2_KERNELS
    if (moe_kernels_cpu_has_avx2())
        moe_kernels_fill_avx2(&set_avx2);
#endif
    set_avx512 = set_avx2;  /* AVX-512 keeps the AVX2 kernels it does not override */
    set_avx512.name = "avx512";
#ifdef MOE_HAVE_AVX512_KERNELS
    if (moe_kernels_cpu_has_avx512())
        moe_kernels_fill_avx512(&set_avx512);
#endif
}

static const moe_kernels *find(const char *name, const char **why)
{
    if (strcmp(name, "ref") == 0)
        return &set_ref;
    if (strcmp(name, "avx2") == 0) {
#ifdef MOE_HAVE_AVX2_KERNELS
        if (moe_kernels_cpu_has_avx2())
            return &set_avx2;
        *why = "this CPU or operating system does not support AVX2 and FMA";
#else
        *why = "this build has no AVX2 kernels (the compiler lacked -mavx2 -mfma)";
#endif
        return NULL;
    }
    if (strcmp(name, "avx512") == 0) {
#ifdef MOE_HAVE_AVX512_KERNELS
        if (moe_kernels_cpu_has_avx512())
            return &set_avx512;
        *why = "this CPU or operating system does not support AVX-512 (F and DQ)";
#else
        *why = "this build has no AVX-512 kernels (the compiler lacked -mavx512f -mavx512dq)";
#endif
        return NULL;
    }
    *why = "unknown kernel set (expected ref, avx2 or avx512)";
    return NULL;
}

static void choose(void)
{
    fill_all();
    const char *env = getenv("MOE_ARCH"), *why = NULL;
    if (env && *env) {
        const moe_kernels *t = find(env, &why);
        if (t)
            active = t;
        else {
            snprintf(choice_error, sizeof choice_error, "MOE_ARCH=%.64s: %s", env, why);
            active = &set_ref;
        }
        return;
    }
    const char *best[] = {"avx512", "avx2"};
    for (size_t i = 0; i < sizeof best / sizeof *best; i++) {
        const moe_kernels *t = find(best[i], &why);
        if (t) {
            active = t;
            return;
        }
    }
    active = &set_ref;
}

const moe_kernels *moe_kernels_get(void)
{
    (void)pthread_once(&once, choose);
    return active;
}

const moe_kernels *moe_kernels_find(const char *name, const char **why)
{
    const char *reason = NULL;
    (void)pthread_once(&once, choose);
    const moe_kernels *t = find(name ? name : "", &reason);
    if (why)
        *why = reason;
    return t;
}

void moe_kernels_force(const moe_kernels *t)
{
    (void)pthread_once(&once, choose);
    if (t)
        active = t;
}

int moe_kernels_init(moe_error *err)
{
    (void)pthread_once(&once, choose);
    if (choice_error[0])
        return moe_error_set(err, MOE_EINVAL, "%s", choice_error);
    moe_error_clear(err);
    return MOE_SUCCESS;
}

const char *moe_kernels_name(void) { return moe_kernels_get()->name; }
