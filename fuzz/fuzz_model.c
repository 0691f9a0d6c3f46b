/* libFuzzer target for the model loader. The input is a model file; the
 * seeds in fuzz/corpus/model/ are valid models written by
 * `test_model_io --write-seeds DIR`. Each input is loaded twice: through
 * rw_net_load_buffer (CRC checked) and with the CRC check switched off, so
 * that mutations reach the parser. A failure must come with a message that
 * names the input and a byte offset; a success must give a network whose
 * invariants hold, whose layer views hold input indices, and that can
 * predict (with its own buffers and with a workspace, alike) and take a
 * training step. */
#include "internal.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rw_set_threads(1);
    return 0;
}

static void check_failure(const rw_error *err)
{
    if (err->status == RW_OK || strncmp(err->msg, "fuzz.rwm: ", 10) != 0)
        abort();
    if (err->status == RW_ERR_FORMAT && !strstr(err->msg, ": byte "))
        abort();
}

static void check_invariants(const rw_net *net)
{
    if (net->n_layers == 0 || net->n_layers > RW_MAX_LAYERS)
        abort();
    size_t in = net->cfg.n_inputs;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        if (L->in != in || L->out != net->cfg.layers[l].units || !L->w ||
            !L->b || !L->gw || !L->gb)
            abort();
        if (L->initial_alive > L->initial_nnz)
            abort();
        if (L->kind == RW_LAYER_SPARSE) {
            if (L->row_ptr[0] != 0 || L->row_ptr[L->out] != L->nw ||
                L->tcol_ptr[L->in] != L->nw)
                abort();
            for (size_t o = 0; o < L->out; o++)
                for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
                    uint32_t c = L->col[k] & RW_COL_MASK;
                    if (c >= L->in ||
                        (k > L->row_ptr[o] && c <= (L->col[k - 1] & RW_COL_MASK)))
                        abort();
                }
            for (size_t t = 0; t < L->nw; t++)
                if (L->t_k[t] >= L->nw || L->t_row[t] >= L->out)
                    abort();
        } else if (L->nw != L->in * L->out) {
            abort();
        }
        in = L->out;
    }
}

/* Runs the loaded network once forward and backward. */
static void exercise(rw_net *net)
{
    if (rw_net_parameters(net) > ((size_t)1 << 22))
        return;
    rw_error err;
    size_t n = 2, I = rw_net_inputs(net), C = rw_net_outputs(net);
    float *x = calloc(n * I, sizeof *x), *y = calloc(n * C, sizeof *y);
    int32_t labels[2] = {0, (int32_t)(C - 1)};
    if (!x || !y)
        abort();
    for (size_t i = 0; i < n * I; i++)
        x[i] = (float)(i % 7) - 3.0f;
    /* Finite weights may still overflow float: both predictions refuse
     * such outputs alike, naming them, and the network is not run on. */
    rw_status st = rw_net_predict(net, x, n, y, &err);
    if (st != RW_OK && !(st == RW_ERR_DIVERGED && strstr(err.msg, "is not finite")))
        abort();
    float *y2 = calloc(n * C, sizeof *y2);
    rw_workspace *ws = rw_workspace_create(net, 0, &err);
    if (!y2 || !ws || rw_net_predict_with(net, ws, x, n, y2, &err) != st ||
        (st == RW_OK && memcmp(y, y2, n * C * sizeof *y) != 0))
        abort();
    rw_workspace_free(ws);
    free(y2);
    if (st != RW_OK) {
        free(x);
        free(y);
        return;
    }
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_view v;
        if (rw_net_layer_view(net, l, &v, &err) != RW_OK)
            abort();
        for (size_t k = 0; v.cols && k < v.connections; k++)
            if (v.cols[k] >= v.inputs)
                abort();
    }
    int ce = rw_net_classes(net) > 0;
    if (rw_net_gradient(net, x, ce ? labels : NULL, ce ? NULL : y, n, NULL,
                        NULL, &err) != RW_OK)
        abort();
    rw_optim_config opt = rw_optim_defaults(RW_OPT_ADAM);
    if (rw_net_step(net, &opt, 1e-3, &err) != RW_OK)
        abort();
    free(x);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rw_error err;
    rw_error_clear(&err);
    rw_net *net = rw_net_load_buffer(data, size, "fuzz.rwm", &err);
    if (net) {
        check_invariants(net);
        rw_net_free(net);
    } else {
        check_failure(&err);
    }

    rw_error_clear(&err);
    net = rw_net_load_buffer_opts(data, size, "fuzz.rwm", 0, &err);
    if (!net) {
        check_failure(&err);
        return 0;
    }
    check_invariants(net);
    exercise(net);
    rw_net_free(net);
    return 0;
}
