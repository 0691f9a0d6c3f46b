/* The options of the maintenance methods and diagnostics (CBP, ReDo,
 * shrink and perturb, L2 Init; the probe set), shared by rewire train and
 * rewire continual. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

const char *const cli_maintain_help =
    "keeping the ability to learn (docs/plasticity.md):\n"
    "  --maintain M           none (default), cbp (continual backprop), redo,\n"
    "                         snp (shrink and perturb), l2init\n"
    "  --cbp-eta F            CBP utility decay (default 0.99)\n"
    "  --cbp-maturity N       CBP: steps before a unit may be replaced (100)\n"
    "  --cbp-rho F            CBP: replacements per eligible unit and step (1e-4)\n"
    "  --cbp-adaptable        CBP: the adaptable-contribution utility\n"
    "  --redo-every N         ReDo: steps between recycling (default 1000)\n"
    "  --redo-tau F           ReDo: dormancy threshold (default 0.1)\n"
    "  --snp-lambda F, --snp-sigma F   S&P: shrink and noise (0.999, 1e-4)\n"
    "  --snp-at-task          S&P at task boundaries only (continual; it is then\n"
    "                         told where tasks begin)\n"
    "  --l2-lambda F          L2 Init strength (default 1e-3)\n"
    "  --probe N              diagnostics on the first N training samples\n"
    "                         (dormant fraction, effective rank; default 1000,\n"
    "                         0: off)\n"
    "  --dormant-tau F        dormancy threshold of the diagnostics (0: dead)\n"
    "  --drop-by-usage        SET/RigL drop by contribution |w| x mean |input|,\n"
    "                         so connections from unused inputs go first\n";

static const struct option cli_maintain_opts[] = {
    {"maintain", required_argument, 0, CLI_M_KIND},
    {"cbp-eta", required_argument, 0, CLI_M_ETA},
    {"cbp-maturity", required_argument, 0, CLI_M_MATURITY},
    {"cbp-rho", required_argument, 0, CLI_M_RHO},
    {"cbp-adaptable", no_argument, 0, CLI_M_ADAPT},
    {"redo-every", required_argument, 0, CLI_M_REDOEVERY},
    {"redo-tau", required_argument, 0, CLI_M_REDOTAU},
    {"snp-lambda", required_argument, 0, CLI_M_SNPL},
    {"snp-sigma", required_argument, 0, CLI_M_SNPS},
    {"snp-at-task", no_argument, 0, CLI_M_SNPTASK},
    {"l2-lambda", required_argument, 0, CLI_M_L2},
    {"probe", required_argument, 0, CLI_M_PROBE},
    {"dormant-tau", required_argument, 0, CLI_M_DTAU},
    {"drop-by-usage", no_argument, 0, CLI_M_USAGE},
    {0, 0, 0, 0},
};

const struct option *const cli_maintain_table = cli_maintain_opts;
const char *const cli_maintain_names[] = {"none", "cbp", "redo", "snp", "l2init"};

int cli_maintain_option(const char *C, int ch, const char *arg,
                        rw_train_config *tc)
{
    rw_maintain_config *m = &tc->maintain;
    switch (ch) {
    case CLI_M_USAGE: tc->drop_by_usage = 1; return -1;
    case CLI_M_KIND:
        for (int i = 0; i < 5; i++)
            if (strcmp(arg, cli_maintain_names[i]) == 0) {
                m->kind = (rw_maintain_kind)i;
                return -1;
            }
        return cli_fail(C, "--maintain must be none, cbp, redo, snp or l2init, "
                           "got \"%s\"", arg) + 1;
    case CLI_M_ETA:
        return cli_parse_double(C, "--cbp-eta", arg, 0.0, 0.999999, &m->cbp_eta) ? -1 : 2;
    case CLI_M_MATURITY:
        return cli_parse_size(C, "--cbp-maturity", arg, 0, SIZE_MAX, &m->cbp_maturity) ? -1 : 2;
    case CLI_M_RHO:
        return cli_parse_double(C, "--cbp-rho", arg, 0.0, 1.0, &m->cbp_rho) ? -1 : 2;
    case CLI_M_ADAPT: m->cbp_adaptable = 1; return -1;
    case CLI_M_REDOEVERY:
        return cli_parse_size(C, "--redo-every", arg, 1, SIZE_MAX, &m->redo_every) ? -1 : 2;
    case CLI_M_REDOTAU:
        return cli_parse_double(C, "--redo-tau", arg, 0.0, 1e6, &m->redo_tau) ? -1 : 2;
    case CLI_M_SNPL:
        return cli_parse_double(C, "--snp-lambda", arg, 0.0, 1.0, &m->snp_lambda) ? -1 : 2;
    case CLI_M_SNPS:
        return cli_parse_double(C, "--snp-sigma", arg, 0.0, 1e3, &m->snp_sigma) ? -1 : 2;
    case CLI_M_SNPTASK: m->snp_at_task = 1; return -1;
    case CLI_M_L2:
        return cli_parse_double(C, "--l2-lambda", arg, 0.0, 1e6, &m->l2_lambda) ? -1 : 2;
    case CLI_M_PROBE:
        return cli_parse_size(C, "--probe", arg, 0, 65536, &m->probe) ? -1 : 2;
    case CLI_M_DTAU:
        return cli_parse_double(C, "--dormant-tau", arg, 0.0, 1e6, &m->dormant_tau) ? -1 : 2;
    default:
        return -2; /* not ours */
    }
}

/* A JSON array of n numbers (NaN as null, as json_num writes them). */
void cli_json_array(FILE *f, const double *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        json_num(f, v[i]);
    }
    fputc(']', f);
}

void cli_print_diagnostics(FILE *f, const char *sep, const double *dormant,
                           const double *rank, const double *mean_abs_w,
                           size_t layers)
{
    fprintf(f, "%sdormant", sep);
    for (size_t l = 0; l + 1 < layers; l++)
        fprintf(f, " %.3f", dormant[l]);
    fprintf(f, "%seffective rank", sep);
    for (size_t l = 0; l + 1 < layers; l++)
        fprintf(f, " %.1f", rank[l]);
    fprintf(f, "%smean |w|", sep);
    for (size_t l = 0; l < layers; l++)
        fprintf(f, " %.4f", mean_abs_w[l]);
    fputc('\n', f);
}
