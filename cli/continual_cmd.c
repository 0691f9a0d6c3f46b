/* rewire continual: train a sequence of tasks and measure forgetting.
 * (Being written; until then the command reports that it is unavailable.) */
#include "cli.h"

int cmd_continual(int argc, char **argv)
{
    return cli_fail("continual", "continual learning is not available in this build yet");
}
