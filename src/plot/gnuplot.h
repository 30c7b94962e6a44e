/* gnuplot.h: internal helpers of the plot module: finding the templates and running gnuplot.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_PLOT_GNUPLOT_H
#define MOE_PLOT_GNUPLOT_H

#include "moe.h"

/* Finds the folder of the .gp templates (the first that holds style.gp): OPT->templates,
 * else $MOE_PLOTDIR, else the compiled-in MOE_PLOTDIR, else plots/ beside the running
 * executable or its parent (so an uninstalled ./moefit and libtool's .libs/ find the source
 * tree's plots/). Writes it into BUF (SIZE bytes). MOE_EOPEN naming the places tried. */
int moe_plot_find_templates(const moe_plot_options *opt, char *buf, size_t size,
                            moe_error *err);

/* The gnuplot program to run: OPT->gnuplot, else $MOE_GNUPLOT, else "gnuplot". */
const char *moe_plot_gnuplot_program(const moe_plot_options *opt);

/* MOE_SUCCESS when PROGRAM (a path, or a name looked up in $PATH) is an executable file,
 * else MOE_EUNAVAIL with a message saying how to get gnuplot. Checked before anything is
 * written, so that a missing gnuplot leaves no half-filled folder. */
int moe_plot_check_program(const char *program, moe_error *err);

/* Runs PROGRAM on SCRIPT (a file name relative to DIR) with DIR as the working directory,
 * standard input from /dev/null, standard output and error captured through a pipe.
 * MOE_EUNAVAIL when the program cannot be started; MOE_EWRITE with gnuplot's own message when
 * it exits with a failure or writes anything at all (a warning counts as a failure). */
int moe_plot_run_gnuplot(const char *program, const char *dir, const char *script,
                         moe_error *err);

#endif
