/* rewire: command-line front end of librewire. */
#include "cli.h"
#include "plot/plot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How OpenMP threads wait between parallel passes. Spinning for long
 * (libgomp's default) takes a busy machine's cores from the thread doing
 * the work: on this 2-core machine, with one other process running, a
 * dense epoch took 60 s against 14 s with passive waiting. Sleeping at
 * once (OMP_WAIT_POLICY=passive) makes every pass wake its threads through
 * the kernel, tens of microseconds on a virtual machine, as long as a
 * sparse layer's whole pass at 1% density. A brief spin before sleeping
 * keeps most of both: bench_train (784-1000x3-10, 2 threads) against
 * passive, idle machine: dense 5.53 -> 5.17 s, 5% 1.10 -> 0.73 s, 1% 0.55
 * -> 0.30 s; beside two busy processes: dense 9.87 -> 10.07 s, 5% 2.65 ->
 * 1.81 s, 1% 0.47 -> 0.73 s. libgomp reads the setting when it loads,
 * before main, so the tool sets it and starts itself again; a policy or
 * spin count the user sets is left alone. */
static void prefer_brief_spin(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the policy already loaded */
}

/* The commands: `rewire NAME` runs `run`; under mpirun the ones that do
 * not train run on rank 0 alone. */
static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    bool every_rank;
} commands[] = {
    {"train", cmd_train, "train a network (dense or sparse, with rewiring)", true},
    {"eval", cmd_eval, "evaluate a saved model on a dataset", false},
    {"predict", cmd_predict, "print a model's predictions, one per line", false},
    {"info", cmd_info, "describe a saved model", false},
    {"continual", cmd_continual,
     "train a sequence of tasks; measure and prevent forgetting", true},
    {"plot", rw_cli_plot, "draw learning curves, rewiring, connectivity, confusion",
     false},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
        "usage: rewire COMMAND [OPTIONS]\n"
        "\n"
        "Train neural networks whose sparse layers rewire themselves.\n"
        "\n"
        "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
        "\n"
        "Run 'rewire COMMAND --help' for a command's options.\n"
        "  --version   print versions of rewire, its GEMM kernel and the\n"
        "              SIMD path of its sparse kernels\n"
        "  --help      this text\n"
        "\n"
        "environment:\n"
        "  RW_ISA=avx512|avx2|generic|auto  force the sparse kernels' SIMD path\n"
        "              (default: the best this CPU runs; a path it cannot run\n"
        "              is refused)\n");
}

static int run(int argc, char **argv);

/* The command this rank runs, once known: a rank that fails before an
 * every-rank command's agreement must still take part in it. */
static const struct command *g_cmd;

/* Under mpirun every rank runs the command; rank 0 alone prints results.
 * A rank that fails during training ends them all (their collectives would
 * wait for it forever) with its own exit status. */
int main(int argc, char **argv)
{
    prefer_brief_spin(argv);
    rw_error err;
    if (rw_dist_init(&argc, &argv, &err) != RW_OK) {
        fprintf(stderr, "rewire: %s\n", err.msg);
        return 1;
    }
    if (rw_dist_rank() != 0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "rewire: rank %d: cannot close its output\n",
                rw_dist_rank());
        rw_dist_abort(1);
    }
    int rc = run(argc, argv);
    /* What a command printed must have reached its reader: a full disk or
     * a closed pipe (info --json > /dev/full) is a failure, not exit 0. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        fprintf(stderr, "rewire: cannot write to standard output: %s\n",
                errno ? strerror(errno) : "write error");
        rc = 1;
    }
    /* A rank that failed while the others may wait for it in a collective
     * ends them all; failures before training were agreed on by every
     * rank (cli_dist_agree), and commands of rank 0 alone wait for no
     * one, so those leave normally. */
    if (rc != 0 && rw_dist_size() > 1 &&
        (cli_dist_in_training() ||
         (g_cmd && g_cmd->every_rank && !cli_dist_agreed()))) {
        fprintf(stderr, "rewire: rank %d of %d failed (exit status %d); "
                        "stopping every rank\n", rw_dist_rank(), rw_dist_size(), rc);
        fflush(stderr);
        rw_dist_abort(rc);
    }
    if (rw_dist_leave(&err) != RW_OK) {
        fprintf(stderr, "rewire: %s; stopping every rank\n", err.msg);
        fflush(stderr);
        rw_dist_abort(rc ? rc : 1);
    }
    rw_dist_finalize();
    return rc;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    g_cmd = find_command(cmd);
    rw_error err;
    if (rw_isa_check(&err) != RW_OK) {
        /* RW_ISA may suit some machines of a job and not others: the
         * ranks that can run it wait in the command's agreement. */
        bool agree = g_cmd && g_cmd->every_rank && rw_dist_size() > 1;
        if (agree)
            cli_dist_hold_errors();
        fprintf(stderr, "rewire: %s\n", err.msg);
        if (agree)
            cli_dist_agree(g_cmd->name, false);
        return 2;
    }
    if (strcmp(cmd, "help") == 0 && argc > 2) {
        /* rewire help COMMAND = rewire COMMAND --help */
        static char help_flag[] = "--help";
        static char *args[4];
        args[0] = argv[0];
        args[1] = argv[2];
        args[2] = help_flag;
        argv = args;
        argc = 3;
        cmd = argv[1];
        g_cmd = find_command(cmd);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        if (argc > 2) {
            fprintf(stderr, "rewire: %s takes no arguments, got '%s'\n", cmd,
                    argv[2]);
            return 2;
        }
        printf("rewire %s\nGEMM: %s\nsparse kernels: %s (this CPU runs:",
               rw_version(), rw_gemm_info(), rw_isa());
        static const char *const paths[] = {"avx512", "avx2", "generic"};
        for (int i = 0; i < 3; i++)
            if (rw_isa_supported(paths[i]))
                printf(" %s", paths[i]);
        printf(")\nthreads: %d (OMP_WAIT_POLICY=%s)\n", rw_get_threads(),
               getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "default");
        printf("MPI: %s\n", rw_dist_available()
                                ? "yes (mpirun -np N rewire train ... trains data-parallel)"
                                : "no (built without MPI)");
        return 0;
    }
    if (g_cmd) {
        if (rw_dist_rank() != 0 && !g_cmd->every_rank)
            return 0;
        return g_cmd->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "rewire: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
