/* The options of the maintenance methods and diagnostics (CBP, ReDo,
 * shrink and perturb, L2 Init; the probe set), shared by rewire train and
 * rewire continual. */
#include "cli.h"
#include "opts.h"

#define T train_opts_t
#define M tc.maintain

const char *const cli_maintain_names[] = {"none", "cbp", "redo", "snp", "l2init",
                                          NULL};

const cli_opt cli_maintain_table[] = {
    {.type = CLI_HEADING, .name = "keeping the ability to learn (docs/plasticity.md):"},
    {.type = CLI_CHOICE, .name = "maintain", .arg = "M", CLI_FIELD(T, M.kind),
     .choices = cli_maintain_names,
     .help = "none (default), cbp (continual backprop), redo,\n"
             "snp (shrink and perturb), l2init"},
    {.type = CLI_DOUBLE, .name = "cbp-eta", .given = CLI_GIVEN_CBP_ETA,
     .arg = "F", CLI_FIELD(T, M.cbp_eta),
     .min = 0.0, .max = 0.999999, .help = "CBP utility decay (default 0.99)"},
    {.type = CLI_SIZE, .name = "cbp-maturity", .given = CLI_GIVEN_CBP_MATURITY,
     .arg = "N", CLI_FIELD(T, M.cbp_maturity),
     .min = 0, .max = (double)SIZE_MAX,
     .help = "CBP: steps before a unit may be replaced (100)"},
    {.type = CLI_DOUBLE, .name = "cbp-rho", .given = CLI_GIVEN_CBP_RHO,
     .arg = "F", CLI_FIELD(T, M.cbp_rho),
     .min = 0.0, .max = 1.0,
     .help = "CBP: replacements per eligible unit and step (1e-4)"},
    {.type = CLI_FLAG, .name = "cbp-adaptable", .given = CLI_GIVEN_CBP_ADAPTABLE,
     CLI_FIELD(T, M.cbp_adaptable),
     .flag = 1, .help = "CBP: the adaptable-contribution utility"},
    {.type = CLI_SIZE, .name = "redo-every", .given = CLI_GIVEN_REDO_EVERY,
     .arg = "N", CLI_FIELD(T, M.redo_every),
     .min = 1, .max = (double)SIZE_MAX,
     .help = "ReDo: steps between recycling (default 1000)"},
    {.type = CLI_DOUBLE, .name = "redo-tau", .given = CLI_GIVEN_REDO_TAU,
     .arg = "F", CLI_FIELD(T, M.redo_tau),
     .min = 0.0, .max = 1e6, .help = "ReDo: dormancy threshold (default 0.1)"},
    {.type = CLI_DOUBLE, .name = "snp-lambda", .given = CLI_GIVEN_SNP_LAMBDA,
     .arg = "F", CLI_FIELD(T, M.snp_lambda),
     .min = 0.0, .max = 1.0, .usage = "--snp-lambda F, --snp-sigma F",
     .help = "S&P: shrink and noise (0.999, 1e-4)"},
    {.type = CLI_DOUBLE, .name = "snp-sigma", .given = CLI_GIVEN_SNP_SIGMA,
     .arg = "F", CLI_FIELD(T, M.snp_sigma),
     .min = 0.0, .max = 1e3},
    {.type = CLI_FLAG, .name = "snp-at-task", .given = CLI_GIVEN_SNP_AT_TASK,
     CLI_FIELD(T, M.snp_at_task), .flag = 1,
     .help = "S&P at task boundaries only (continual; it is then\n"
             "told where tasks begin)"},
    {.type = CLI_DOUBLE, .name = "l2-lambda", .given = CLI_GIVEN_L2_LAMBDA,
     .arg = "F", CLI_FIELD(T, M.l2_lambda),
     .min = 0.0, .max = 1e6, .help = "L2 Init strength (default 1e-3)"},
    {.type = CLI_SIZE, .name = "probe", .arg = "N", CLI_FIELD(T, M.probe),
     .min = 0, .max = 65536,
     .help = "diagnostics on the first N training samples\n"
             "(dormant fraction, effective rank; default 1000,\n"
             "0: off)"},
    {.type = CLI_DOUBLE, .name = "dormant-tau", .given = CLI_GIVEN_DORMANT_TAU,
     .arg = "F", CLI_FIELD(T, M.dormant_tau),
     .min = 0.0, .max = 1e6,
     .help = "dormancy threshold of the diagnostics (0: dead)"},
    {.type = CLI_FLAG, .name = "drop-by-usage", CLI_FIELD(T, tc.drop_by_usage),
     .flag = 1,
     .help = "SET/RigL drop by contribution |w| x mean |input|,\n"
             "so connections from unused inputs go first"},
    {.type = CLI_END},
};
#undef M
#undef T

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
