/* gnuplot.c: finds the plot templates and runs gnuplot with its messages captured.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * gnuplot is started with fork/exec rather than popen so that no shell parses the folder's
 * name, its working directory is the output folder (the .gp programs name their data files
 * relatively, so that a user can re-run them there), and its stderr comes back through a
 * pipe. A close-on-exec pipe tells the parent whether exec itself failed (gnuplot missing). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "plot/gnuplot.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* 1 when DIR/style.gp can be read. */
static int has_templates(const char *dir)
{
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/style.gp", dir);
    return len > 0 && (size_t)len < sizeof path && access(path, R_OK) == 0;
}

static int take(const char *dir, char *buf, size_t size)
{
    if (!dir || !*dir || !has_templates(dir) || strlen(dir) >= size)
        return 0;
    memcpy(buf, dir, strlen(dir) + 1);
    return 1;
}

int moe_plot_find_templates(const moe_plot_options *opt, char *buf, size_t size,
                            moe_error *err)
{
    if (opt && opt->templates) {
        if (take(opt->templates, buf, size))
            return MOE_SUCCESS;
        return moe_error_set(err, MOE_EOPEN, "no plot templates in %s (style.gp missing)",
                             opt->templates);
    }
    const char *env = getenv("MOE_PLOTDIR");
    if (take(env, buf, size))
        return MOE_SUCCESS;
#ifdef MOE_PLOTDIR
    if (take(MOE_PLOTDIR, buf, size))
        return MOE_SUCCESS;
#endif
    /* Beside the executable: moefit in the build tree, or libtool's .libs/lt-moefit. */
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            static const char *const rel[] = {"/plots", "/../plots", "/../share/moefit/plots"};
            *slash = '\0';
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                char cand[PATH_MAX];
                int n = snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
                if (n > 0 && (size_t)n < sizeof cand && take(cand, buf, size))
                    return MOE_SUCCESS;
            }
        }
    }
    return moe_error_set(err, MOE_EOPEN,
                         "cannot find the plot templates (style.gp): tried $MOE_PLOTDIR%s%s%s, "
                         "and plots/ beside the program",
#ifdef MOE_PLOTDIR
                         " (", MOE_PLOTDIR, ")"
#else
                         "", "", ""
#endif
    );
}

const char *moe_plot_gnuplot_program(const moe_plot_options *opt)
{
    if (opt && opt->gnuplot && *opt->gnuplot)
        return opt->gnuplot;
    const char *env = getenv("MOE_GNUPLOT");
    if (env && *env)
        return env;
    return "gnuplot";
}

int moe_plot_check_program(const char *program, moe_error *err)
{
    if (strchr(program, '/')) {
        if (access(program, X_OK) == 0)
            return MOE_SUCCESS;
    } else {
        const char *path = getenv("PATH");
        if (!path || !*path)
            path = "/usr/local/bin:/usr/bin:/bin";
        while (*path) {
            const char *colon = strchr(path, ':');
            size_t len = colon ? (size_t)(colon - path) : strlen(path);
            char cand[PATH_MAX];
            int n = snprintf(cand, sizeof cand, "%.*s/%s", (int)len, len ? path : ".", program);
            if (len == 0)
                n = snprintf(cand, sizeof cand, "./%s", program);
            if (n > 0 && (size_t)n < sizeof cand && access(cand, X_OK) == 0)
                return MOE_SUCCESS;
            path += len + (colon != NULL);
            if (!colon)
                break;
        }
    }
    return moe_error_set(err, MOE_EUNAVAIL,
                         "cannot run gnuplot ('%s' not found%s); plots need gnuplot "
                         "(Debian: apt-get install gnuplot-nox)",
                         program, strchr(program, '/') ? "" : " on PATH");
}

/* Trims trailing white space and turns newlines into "; " so that the message is one line. */
static void one_line(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
        s[--n] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

int moe_plot_run_gnuplot(const char *program, const char *dir, const char *script,
                         moe_error *err)
{
    /* A relative path to the program ("./gnuplot") means relative to where we are, not to
     * DIR, where the child will be when it calls exec. */
    char abs_program[PATH_MAX];
    if (strchr(program, '/') && program[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            int n = snprintf(abs_program, sizeof abs_program, "%s/%s", cwd, program);
            if (n > 0 && (size_t)n < sizeof abs_program)
                program = abs_program;
        }
    }
    int out[2], ex[2];
    if (pipe(out) != 0)
        return moe_error_set(err, MOE_EWRITE, "cannot create a pipe for gnuplot: %s",
                             strerror(errno));
    if (pipe(ex) != 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        return moe_error_set(err, MOE_EWRITE, "cannot create a pipe for gnuplot: %s",
                             strerror(e));
    }
    fcntl(ex[0], F_SETFD, FD_CLOEXEC);
    fcntl(ex[1], F_SETFD, FD_CLOEXEC);
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        close(ex[0]);
        close(ex[1]);
        return moe_error_set(err, MOE_EWRITE, "cannot start gnuplot: %s", strerror(e));
    }
    if (pid == 0) {
        /* The child: only async-signal-safe calls until exec. The first byte written to EX
         * says what failed: 'd' chdir, 'x' exec, followed by errno. */
        int e;
        char what = 'd';
        if (chdir(dir) == 0) {
            int null = open("/dev/null", O_RDONLY);
            if (null >= 0) {
                dup2(null, 0);
                close(null);
            }
            dup2(out[1], 1);
            dup2(out[1], 2);
            close(out[1]);
            execlp(program, program, script, (char *)NULL);
            what = 'x';
        }
        e = errno;
        ssize_t w1 = write(ex[1], &what, 1);
        ssize_t w2 = write(ex[1], &e, sizeof e);
        (void)w1;
        (void)w2;
        _exit(127);
    }
    close(out[1]);
    close(ex[1]);
    char what = 0;
    int child_errno = 0;
    ssize_t got = read(ex[0], &what, 1);
    if (got == 1 && read(ex[0], &child_errno, sizeof child_errno) != sizeof child_errno)
        child_errno = 0;
    close(ex[0]);

    /* Collect everything gnuplot says; keep the first part for the message. */
    char msg[700];
    size_t used = 0;
    int said = 0;
    for (;;) {
        char chunk[512];
        ssize_t r = read(out[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        said = 1;
        size_t room = sizeof msg - 1 - used;
        size_t take_n = (size_t)r < room ? (size_t)r : room;
        memcpy(msg + used, chunk, take_n);
        used += take_n;
    }
    msg[used] = '\0';
    close(out[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) {
            wstatus = -1;
            break;
        }
    }
    if (got == 1) {
        if (what == 'd')
            return moe_error_set(err, MOE_EWRITE, "cannot enter %s: %s", dir,
                                 strerror(child_errno));
        return moe_error_set(err, MOE_EUNAVAIL,
                             "cannot run gnuplot ('%s': %s); plots need gnuplot "
                             "(Debian: apt-get install gnuplot-nox)",
                             program, strerror(child_errno));
    }
    one_line(msg);
    if (wstatus == -1 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        if (WIFSIGNALED(wstatus))
            return moe_error_set(err, MOE_EWRITE, "gnuplot was killed by signal %d on %s/%s%s%s",
                                 WTERMSIG(wstatus), dir, script, *msg ? ": " : "", msg);
        return moe_error_set(err, MOE_EWRITE, "gnuplot failed on %s/%s: %s", dir, script,
                             *msg ? msg : "(no message)");
    }
    if (said)
        return moe_error_set(err, MOE_EWRITE, "gnuplot complained about %s/%s: %s", dir,
                             script, msg);
    return MOE_SUCCESS;
}
