/* main.c: the moefit command: parses the subcommand and hands over to it. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "moe.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("moefit %s\n", moe_version());
        return 0;
    }
    fprintf(stderr, "moefit: fitting is not available yet in this build\n");
    return 70;
}
