/* rewire: command-line front end of librewire. */
#include "cli.h"
#include "plot.h"

#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: rewire COMMAND [OPTIONS]\n"
        "\n"
        "Train neural networks whose sparse layers rewire themselves.\n"
        "\n"
        "commands:\n"
        "  train     train a network (dense or sparse, with rewiring)\n"
        "  eval      evaluate a saved model on a dataset\n"
        "  predict   print a model's predictions, one per line\n"
        "  info      describe a saved model\n"
        "  continual train a sequence of tasks; measure and prevent forgetting\n"
        "  plot      draw learning curves, rewiring, connectivity, confusion\n"
        "\n"
        "Run 'rewire COMMAND --help' for a command's options.\n"
        "  --version   print versions of rewire and its GEMM kernel\n"
        "  --help      this text\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("rewire %s\nGEMM: %s\nthreads: %d\n", rw_version(),
               rw_gemm_info(), rw_get_threads());
        return 0;
    }
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0)
        return cmd_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "continual") == 0)
        return cmd_continual(argc - 1, argv + 1);
    if (strcmp(cmd, "plot") == 0)
        return rw_cli_plot(argc - 1, argv + 1);
    fprintf(stderr, "rewire: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
