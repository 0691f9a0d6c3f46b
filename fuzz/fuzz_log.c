/* libFuzzer target for the readers of rewire's own JSON files: the JSON
 * parser itself, the training-log reader (JSON Lines, truncated last line
 * allowed) and the continual-learning report reader used by `rewire plot`.
 * The readers take a path, so each input is written to a scratch file. */
#include "../cli/json.h"
#include "../cli/plot/plot_data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rw_json_error jerr;
    rw_json *v = rw_json_parse((const char *)data, size, &jerr);
    rw_json_free(v);

    if (!scratch[0]) {
        snprintf(scratch, sizeof scratch, "/tmp/rewire-fuzz-log-%ld.json",
                 (long)getpid());
    }
    FILE *f = fopen(scratch, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    char errbuf[512];
    rwp_log log;
    if (rwp_log_load(scratch, &log, errbuf, sizeof errbuf) == 0)
        rwp_log_free(&log);
    rwp_continual c;
    if (rwp_continual_load(scratch, &c, errbuf, sizeof errbuf) == 0)
        rwp_continual_free(&c);
    return 0;
}
