/* dataset.h: the internal layout of moe_dataset, shared by the trainers, inference,
 * simulation and plots. */
#ifndef MOE_DATA_DATASET_H
#define MOE_DATA_DATASET_H

#include "moe.h"

/* Design matrices carry the intercept as column 0, so X has px = nx + 1 columns and Z has
 * pz = nz + 1 columns, both row-major: X[n * px + j]. */
struct moe_dataset {
    size_t n;          /* rows */
    size_t nx, nz;     /* expert and gate inputs, without the intercept */
    double *x;         /* n x (nx+1) design, column 0 all ones */
    double *z;         /* n x (nz+1) design, column 0 all ones */
    double *y;         /* n responses, or NULL when there is no response */
    char *y_name;      /* response name ("y" when built from arrays) */
    char **x_names;    /* nx input names */
    char **z_names;    /* nz gate-input names */
    size_t omitted;    /* rows dropped by MOE_NA_OMIT */
};

/* Allocates a data set of the given shape with the intercept columns set to 1, names NULL
 * and y allocated only when WITH_Y. NULL when out of memory. */
moe_dataset *moe_dataset_alloc(size_t n, size_t nx, size_t nz, int with_y);

/* Sets every name from the given arrays (NULL entries get x1.., z1.., y). MOE_ENOMEM. */
int moe_dataset_set_names(moe_dataset *d, const char *y_name, const char *const *x_names,
                          const char *const *z_names);

#endif
