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
    double *w;         /* n observation (frequency) weights >= 0, or NULL: every weight 1 */
    double *offset;    /* n offsets of the linear predictor (log exposure), or NULL: 0 */
    double *trials;    /* n binomial sizes (logistic experts), or NULL: 1 */
    char *y_name;      /* response name ("y" when built from arrays) */
    char **x_names;    /* nx input names */
    char **z_names;    /* nz gate-input names */
    char *w_name;      /* the weights' column name, or NULL ("weights" in CSV output) */
    char *offset_name; /* the offset's column name, or NULL ("offset" in CSV output) */
    char *trials_name; /* the trials' column name, or NULL ("trials" in CSV output) */
    size_t omitted;    /* rows dropped by MOE_NA_OMIT */
    /* Where the rows come from, for messages about their values (moe_dataset_row_error). */
    char *source;      /* the table's name (path or "<stdin>"), or NULL when built from arrays */
    size_t *line;      /* n physical lines (1-based) of the rows in source, or NULL */
    size_t y_column;   /* 1-based file column of the response, 0 when none or unknown */
    size_t trials_column; /* 1-based file column of the trials, 0 when none or unknown */
};

/* Allocates a data set of the given shape with the intercept columns set to 1, names NULL
 * and y allocated only when WITH_Y. NULL when out of memory. */
moe_dataset *moe_dataset_alloc(size_t n, size_t nx, size_t nz, int with_y);

/* A data set with room for N rows shaped like D: its inputs, a response when D has one, and
 * weights, offset and trials wherever D has them (values unset; names NULL). NULL when out
 * of memory. */
moe_dataset *moe_dataset_alloc_like(const moe_dataset *d, size_t n);

/* A new data set of the N rows ROWS[0..N-1] of D, in that order: its design rows, response,
 * weights, offset and trials as D has them (names and the rows' source are not copied: the
 * trainers' working copies need neither). NULL when out of memory. */
moe_dataset *moe_dataset_pick(const moe_dataset *d, const size_t *rows, size_t n);

/* Row ROWS[t] of D becomes row t of S for t < N: S has D's shape and at least N rows, with
 * weights, offset and trials wherever D has them. */
void moe_dataset_copy_rows(const moe_dataset *d, const size_t *rows, size_t n, moe_dataset *s);

/* Sets every name from the given arrays (NULL entries get x1.., z1.., y). MOE_ENOMEM. */
int moe_dataset_set_names(moe_dataset *d, const char *y_name, const char *const *x_names,
                          const char *const *z_names);

/* Sets ERR to MOE_EFORMAT for a bad value in row ROW (0-based) of D and returns MOE_EFORMAT.
 * The message is "SOURCE:LINE:COLUMN: text" when D knows where its rows come from (COLUMN is
 * the 1-based file column, 0 leaves it out: "SOURCE:LINE: text"), else "row R: text" with
 * R = ROW + 1; the text is printf-style FMT with its arguments. */
int moe_dataset_row_error(moe_error *err, const moe_dataset *d, size_t row, size_t column,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Builds a data set from columns of T found by their exact names (never by index): the
 * response RESPONSE (NULL: none, d->y NULL), NX expert inputs X_NAMES, NZ gate inputs
 * Z_NAMES, and the optional OFFSET and TRIALS columns (NULL: none). Bad cells in those
 * columns are handled by NA as in moe_dataset_from_table, and trials must be positive
 * integers. The names keep the table's (hence the given) spelling. MOE_EINVAL "no column
 * 'c', the model's input (columns are: ...)" when a column is missing (response, input, gate
 * input, offset, trials); MOE_EFORMAT for bad cells; MOE_ENOMEM. Knows nothing of models: the
 * model layer calls it with a model's names. */
int moe_dataset_from_names(const moe_table *t, const char *response, const char *const *x_names,
                           size_t nx, const char *const *z_names, size_t nz, const char *offset,
                           const char *trials, moe_na_policy na, moe_dataset **out,
                           moe_error *err);

#endif
