/* fuzz_csv.c: libFuzzer target for the CSV reader and the column selection behind it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 * The first byte chooses the reader's options (separator, header mode, NA policy); the rest
 * is the file. Every outcome must be a clean status: no crash, no leak, no undefined
 * behaviour, and on success every value of a built data set must be finite. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "moe.h"
#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char seps[] = {0, ',', ';', '\t'};
    moe_csv_options opt = moe_csv_options_default();
    opt.sep = seps[data[0] & 3];
    opt.header = (int)((data[0] >> 2) % 3) - 1;
    moe_na_policy na = (data[0] & 0x20) ? MOE_NA_OMIT : MOE_NA_FAIL;
    data++;
    size--;

    FILE *fp = fmemopen(size ? (void *)data : (void *)"", size ? size : 1, "r");
    if (!fp)
        return 0;
    if (!size)
        fgetc(fp); /* an empty stream */
    moe_table *t = NULL;
    moe_error err;
    int status = moe_table_read_stream(fp, "fuzz.csv", &opt, &t, &err);
    fclose(fp);
    if (status != MOE_SUCCESS) {
        if (t || err.status != status || err.message[0] == '\0')
            abort(); /* an error must leave no object and carry a message */
        return 0;
    }
    moe_selection sel = moe_selection_default();
    sel.na = na;
    moe_dataset *d = NULL;
    if (moe_dataset_from_table(t, &sel, &d, &err) == MOE_SUCCESS) {
        size_t px = d->nx + 1;
        for (size_t i = 0; i < d->n * px; i++)
            if (!isfinite(d->x[i]))
                abort();
        for (size_t i = 0; d->y && i < d->n; i++)
            if (!isfinite(d->y[i]))
                abort();
        moe_dataset_free(d);
    } else if (d) {
        abort();
    }
    moe_table_free(t);
    return 0;
}
