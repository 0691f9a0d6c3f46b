/* libFuzzer target for the IDX reader (rw_idx_load_memory). Input layout:
 *   bytes 0-1: little-endian u16; low 15 bits = length L of the label file,
 *              top bit set = named-dataset mode (exactly 10 classes);
 *   next L bytes: the label file; the rest: the image file.
 * Any success must satisfy the dataset invariants; any failure must carry
 * a status and a message. The image bytes are also written to a scratch
 * file gzip-compressed and read through the file path (zlib), so the .gz
 * reader is fuzzed with the same inputs. */
#include "data/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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
    /* The same image file, gzip-compressed, through the file reader. */
    static char gz_path[64], lab_path[64];
    if (!gz_path[0]) {
        snprintf(gz_path, sizeof gz_path, "/tmp/rewire-fuzz-idx-%ld.gz", (long)getpid());
        snprintf(lab_path, sizeof lab_path, "/tmp/rewire-fuzz-idx-%ld.lab", (long)getpid());
    }
    gzFile gz = gzopen(gz_path, "wb1");
    FILE *lf = fopen(lab_path, "wb");
    if (gz && lf) {
        if (size - lab_len)
            gzwrite(gz, img, (unsigned)(size - lab_len));
        fwrite(lab, 1, lab_len, lf);
    }
    if (gz)
        gzclose(gz);
    if (lf)
        fclose(lf);
    rw_error_clear(&err);
    ds = rw_idx_load_files(gz_path, lab_path, classes, &err);
    if (ds)
        rw_dataset_free(ds);
    else if (err.status == RW_OK || err.msg[0] == '\0')
        abort();
    free(lab);
    free(img);
    return 0;
}
