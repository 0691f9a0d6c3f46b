/* Prints "name size" for every structure the Python package mirrors with
 * ctypes (python/rewire/_lib.py); tests/python/test_abi.py compares them. */
#include "rewire.h"

#include <stddef.h>
#include <stdio.h>

#define SIZE(t, name) printf("%s %zu\n", name, sizeof(t))

int main(void)
{
    SIZE(rw_error, "Error_t");
    SIZE(rw_layer_spec, "LayerSpec");
    SIZE(rw_net_config, "NetConfig");
    SIZE(rw_layer_info, "LayerInfo");
    SIZE(rw_layer_view, "LayerView");
    SIZE(rw_optim_config, "OptimConfig");
    SIZE(rw_data_options, "DataOptions");
    SIZE(rw_eval_result, "EvalResult");
    SIZE(rw_rewire_stats, "RewireStats");
    SIZE(rw_epoch_stats, "EpochStats");
    SIZE(rw_progress, "Progress");
    SIZE(rw_plasticity_config, "PlasticityConfig");
    SIZE(rw_consolidation_config, "ConsolidationConfig");
    SIZE(rw_train_config, "TrainConfig");
    SIZE(rw_train_result, "TrainResult");
    SIZE(rw_task_report, "TaskReport");
    SIZE(rw_continual_config, "ContinualConfig");
    SIZE(rw_continual_result, "ContinualResult");
    SIZE(rw_rng, "RNG");
    SIZE(rw_dist_stats, "DistStats");
    printf("offset OptimConfig.adam_global_steps %zu\n",
           offsetof(rw_optim_config, adam_global_steps));
    printf("offset DataOptions.synth_seed %zu\n",
           offsetof(rw_data_options, synth_seed));
    printf("offset TrainConfig.user %zu\n", offsetof(rw_train_config, user));
    printf("offset ContinualConfig.user %zu\n", offsetof(rw_continual_config, user));
    return 0;
}
