/* main.c — `kiln COMMAND ...`: dispatch to the command files. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char main_help[] =
    "usage: kiln COMMAND [ARGS]\n"
    "\n"
    "kiln compiles static tensor graphs.  Graph files use the text format\n"
    "of docs/text-format.md.\n"
    "\n"
    "commands:\n"
    "  check FILE      parse and verify a graph, print a summary\n"
    "  print FILE      print a graph in canonical text form\n"
    "  run FILE        compile and run a graph (or N training steps), print\n"
    "                  its outputs\n"
    "  grad FILE       append gradients of a loss, print the graph\n"
    "  compile FILE    ahead-of-time compile to an object file and C header\n"
    "  explain FILE    the kernels and every fusion decision\n"
    "  dot FILE        Graphviz of the graph, one cluster per kernel\n"
    "  bench FILE      time fused against unfused execution\n"
    "  help [COMMAND]  this text, or a command's help\n"
    "\n"
    "Run 'kiln COMMAND --help' for a command's options.  Exit status: 0 ok,\n"
    "1 bad input (the message says why), 2 bad usage.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"check", cli_check, cli_check_help},
    {"print", cli_print, cli_print_help},
    {"run", cli_run, cli_run_help},
    {"grad", cli_grad, cli_grad_help},
    {"compile", cli_compile, cli_compile_help},
    {"explain", cli_explain, cli_explain_help},
    {"dot", cli_dot, cli_dot_help},
    {"bench", cli_bench, cli_bench_help},
};

static const command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int help(int argc, char **argv)
{
    if (argc == 0) {
        fputs(main_help, stdout);
        return CLI_OK;
    }
    const command *c = find(argv[0]);
    if (!c || argc > 1)
        return cli_fail(CLI_USAGE, "help", "no command '%s'\n%s", argv[0],
                        "usage: kiln help [COMMAND]");
    fputs(c->help, stdout);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || cli_is_help(argv[1]))
        return help(argc - 2, argv + 2);
    const command *c = find(argv[1]);
    if (!c)
        return cli_fail(CLI_USAGE, NULL,
                        "unknown command '%s' (try 'kiln help')", argv[1]);
    return c->run(argc - 2, argv + 2);
}
