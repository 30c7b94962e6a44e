/* fuzz_model.c: libFuzzer target for the model-file loader.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 * The input is written to an in-memory file (memfd) and loaded by path, exactly as a user's
 * file would be. A model that loads must be usable: its accessors and a prediction on a few
 * rows must give finite numbers. */
#define _GNU_SOURCE
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "moe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-model", 0);
    if (fd < 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            close(fd);
            return 0;
        }
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    moe_model *m = NULL;
    moe_error err;
    int status = moe_model_load(path, &m, &err);
    close(fd);
    if (status != MOE_SUCCESS) {
        if (m || err.message[0] == '\0')
            abort();
        return 0;
    }
    size_t k = moe_model_k(m), nx = moe_model_nx(m), nz = moe_model_nz(m);
    if (k == 0 || k > 64 || nx > 1000 || nz > 1000)
        abort(); /* the loader must have rejected these */
    double x[4 * 1000], z[4 * 1000];
    for (size_t i = 0; i < 4 * nx; i++)
        x[i] = (double)(i % 7) - 3.0;
    for (size_t i = 0; i < 4 * nz; i++)
        z[i] = (double)(i % 5) - 2.0;
    moe_dataset *d = NULL;
    if (moe_dataset_from_arrays(4, nx, x, nz, z, NULL, &d, &err) == MOE_SUCCESS) {
        moe_prediction *p = NULL;
        if (moe_predict(m, d, 0, &p, &err) == MOE_SUCCESS) {
            for (size_t r = 0; r < p->n; r++)
                if (!isfinite(p->mean[r]) || !isfinite(p->sd[r]))
                    abort();
            moe_prediction_free(p);
        }
        moe_dataset_free(d);
    }
    moe_model_free(m);
    return 0;
}
