/* libFuzzer target for the IDX reader (rw_idx_load_memory). Input layout:
 *   bytes 0-1: little-endian u16; low 15 bits = length L of the label file,
 *              top bit set = named-dataset mode (exactly 10 classes);
 *   next L bytes: the label file; the rest: the image file.
 * Any success must satisfy the dataset invariants; any failure must carry
 * a status and a message. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t head = (size_t)data[0] | ((size_t)data[1] << 8);
    size_t classes = (head & 0x8000) ? 10 : 0;
    size_t lab_len = head & 0x7fff;
    data += 2;
    size -= 2;
    if (lab_len > size)
        lab_len = size;

    /* Copies, so that ASan sees the exact end of each file. */
    uint8_t *lab = malloc(lab_len ? lab_len : 1);
    uint8_t *img = malloc(size - lab_len ? size - lab_len : 1);
    memcpy(lab, data, lab_len);
    memcpy(img, data + lab_len, size - lab_len);

    rw_error err;
    rw_error_clear(&err);
    rw_dataset *ds = rw_idx_load_memory(img, size - lab_len, "images", lab,
                                        lab_len, "labels", classes, &err);
    if (ds) {
        if (ds->n == 0 || ds->f == 0 || ds->classes == 0 || !ds->labels ||
            (classes && ds->classes != classes))
            abort();
        for (size_t i = 0; i < ds->n * ds->f; i++)
            if (!(ds->x[i] >= 0.0f && ds->x[i] <= 1.0f))
                abort();
        for (size_t i = 0; i < ds->n; i++)
            if (ds->labels[i] < 0 || (size_t)ds->labels[i] >= ds->classes)
                abort();
        if (ds->img_h && ds->img_h * ds->img_w != ds->f)
            abort();
        rw_dataset_free(ds);
    } else if (err.status == RW_OK || err.msg[0] == '\0' ||
               !memchr(err.msg, '\0', sizeof err.msg)) {
        abort();
    }
    free(lab);
    free(img);
    return 0;
}
