/* replay.c: runs a fuzz target over files, without libFuzzer, so that the seed corpus and
 * every crash ever found are replayed by `make check` under any compiler.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 * Usage: replay [FILE|DIR...]; prints one TAP line per file (a crash fails the whole run).
 * Without arguments it replays the folders named by REPLAY_DIRS (compiled in, separated by
 * ':', relative to $top_srcdir), which is how `make check` runs it. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count = 0;

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        printf("not ok %d - cannot open %s\n", ++count, path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            unsigned char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(fp);
    if (!buf) {
        printf("not ok %d - out of memory reading %s\n", ++count, path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %d - %s\n", ++count, path);
    return 0;
}

static int replay(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("not ok %d - no such file %s\n", ++count, path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
            bad |= replay_file(full);
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++)
        bad |= replay(argv[i]);
    if (argc == 1) {
        const char *top = getenv("top_srcdir");
        char dirs[] = REPLAY_DIRS;
        for (char *dir = strtok(dirs, ":"); dir; dir = strtok(NULL, ":")) {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", top ? top : ".", dir);
            bad |= replay(full);
        }
    }
    printf("1..%d\n", count);
    return bad;
}
